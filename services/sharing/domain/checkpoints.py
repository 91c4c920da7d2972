"""Signed checkpoints of the audit chain: the service's own word on its head at a moment.

A checkpoint is a compact JWS (ES256, with the signing key's `kid`, `typ`
`audit-checkpoint+jwt`) whose claims are the issuer, the time and the chain's head
(position and hash). Anyone who may read the audit trail can fetch one and keep it
elsewhere (a school, a trust, an LA); `attx audit verify --checkpoint TOKEN` later checks
the signature against the service's keys and that the chain still holds that head.

Unlike a head copied down by hand (`--recorded-head`), a checkpoint shows that the
service itself stated that head: whoever rewrites and rehashes the chain afterwards (with
the database owner's rights) cannot make it hold the head again, nor deny what it was.

Plain values in, plain values out: no database here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from services.sharing.domain.audit import RecordedHead
from services.sharing.domain.keys import SIGNING_ALG

CHECKPOINT_TYPE = "audit-checkpoint+jwt"
_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint attests, and which key signed it."""

    head: RecordedHead
    issuer: str
    issued_at: datetime
    kid: str


class InvalidCheckpoint(ValueError):
    """A token that is not a checkpoint signed by one of the keys given."""


def sign_checkpoint(head: RecordedHead, *, issuer: str, at: datetime, key: ECKey) -> str:
    """The head as a checkpoint signed with `key`."""
    header = {"alg": SIGNING_ALG, "typ": CHECKPOINT_TYPE, "kid": key.kid}
    claims = {
        "iss": issuer,
        "iat": int(at.timestamp()),
        "audit_position": head.position,
        "audit_hash": head.entry_hash,
    }
    return jwt.encode(header, claims, key)


def read_checkpoint(token: str, keys: KeySet) -> Checkpoint:
    """The checkpoint `token` holds, once its signature checks against `keys`."""
    try:
        found = jwt.decode(token.strip(), keys, algorithms=[SIGNING_ALG])
    except (JoseError, ValueError) as exc:
        raise InvalidCheckpoint(
            f"not signed by any of this service's keys ({type(exc).__name__})"
        ) from exc
    if found.header.get("typ") != CHECKPOINT_TYPE:
        raise InvalidCheckpoint("a token, but not an audit checkpoint")
    claims = found.claims
    position, digest = claims.get("audit_position"), claims.get("audit_hash")
    issuer, issued_at = claims.get("iss"), claims.get("iat")
    if (
        not isinstance(position, int)
        or position < 0
        or not isinstance(digest, str)
        or _HASH.fullmatch(digest) is None
        or not isinstance(issuer, str)
        or not isinstance(issued_at, int)
    ):
        raise InvalidCheckpoint("a signed checkpoint whose claims are malformed")
    return Checkpoint(
        RecordedHead(position, digest),
        issuer,
        datetime.fromtimestamp(issued_at, UTC),
        str(found.header.get("kid", "")),
    )
