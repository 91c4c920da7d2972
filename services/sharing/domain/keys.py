"""Token-signing keys: ES256 key pairs as JWKs, and the key sets built from them."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from enum import StrEnum

from joserfc.jwk import ECKey, KeySet

SIGNING_ALG = "ES256"


class KeyStatus(StrEnum):
    """Where a key is in its life: signing, still published for verification, or gone."""

    ACTIVE = "active"
    PUBLISHED = "published"
    RETIRED = "retired"


def new_kid() -> str:
    """A random key id; random rather than sequential so kids reveal nothing."""
    return secrets.token_urlsafe(12)


def generate_private_jwk(kid: str) -> str:
    """A new P-256 private key as JWK JSON, tagged with its kid, alg and use."""
    key = ECKey.generate_key(
        "P-256", parameters={"kid": kid, "alg": SIGNING_ALG, "use": "sig"}, private=True
    )
    return json.dumps(key.as_dict(private=True))


def private_key(private_jwk: str) -> ECKey:
    """The key object of a stored private JWK."""
    return ECKey.import_key(json.loads(private_jwk))


def public_key_set(private_jwks: Iterable[str]) -> KeySet:
    """The public halves of these keys, as a key set."""
    return KeySet([ECKey.import_key(private_key(j).as_dict(private=False)) for j in private_jwks])
