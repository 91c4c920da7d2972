"""Secrets the service must read back are stored sealed.

The token-signing private keys and the webhook signing secrets cannot be hashed like
client secrets: the service signs with them. So they are encrypted with Fernet
(AES-128-CBC with HMAC-SHA256, from the `cryptography` library) under keys from the
settings (`SHARING_SEALING_KEYS`), and a copy of the database alone yields none of them.

The first key seals; every key opens, so a key is rotated by putting a new one first:
the service reseals what it holds under the new key when it starts (`reseal`), after
which the old key can be dropped. Values from before sealing (a private JWK, a `whsec_`
secret) are read as they are and sealed at that same start.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

DEV_SEALING_KEY = "ZGV2LXNlYWxpbmcta2V5LWNoYW5nZS1tZS0wMDAwMDA="
"""The development key (refused in production): base64 of 32 known bytes."""

_LEGACY_PREFIXES = ("{", "whsec_")


class SealBroken(ValueError):
    """A sealed value that none of the keys opens (a wrong or dropped key)."""


class Sealer:
    """Seals and opens secrets under the configured keys (the first one seals)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one sealing key is needed")
        self._primary = Fernet(keys[0])
        self._all = MultiFernet([Fernet(k) for k in keys])

    def seal(self, secret: str) -> str:
        """The secret, encrypted under the first key."""
        return self._primary.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret behind a stored value (a value from before sealing is returned as is)."""
        if stored.startswith(_LEGACY_PREFIXES):
            return stored
        try:
            return self._all.decrypt(stored.encode()).decode()
        except InvalidToken as exc:
            raise SealBroken("a stored secret opens with none of the sealing keys") from exc

    def reseal(self, stored: str) -> str | None:
        """The value sealed under the first key, or None if it already is."""
        if stored.startswith(_LEGACY_PREFIXES):
            return self.seal(stored)
        try:
            self._primary.decrypt(stored.encode())
            return None
        except InvalidToken:
            return self.seal(self.open(stored))
