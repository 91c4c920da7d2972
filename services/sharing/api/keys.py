"""Rotation of the token-signing keys, by the operator's admin clients.

Rotating makes a new active key; the previous one stays in the JWKS, so tokens it signed
keep verifying until they expire. Retire the previous keys once those tokens have run
out (after the access-token lifetime plus the verifiers' leeway).
"""

from __future__ import annotations

from fastapi import APIRouter, status

from services.sharing.api.deps import CanAdminister, SealerDep, SessionDep
from services.sharing.schemas import SigningKeyList, SigningKeyPublic
from services.sharing.store.models import SigningKey
from services.sharing.store.repository import SigningKeyRepository

router = APIRouter(tags=["signing-keys"])


def key_list(rows: list[SigningKey]) -> SigningKeyList:
    return SigningKeyList(
        items=[SigningKeyPublic.model_validate(r, from_attributes=True) for r in rows]
    )


@router.get("/signing-keys")
def list_signing_keys(
    session: SessionDep, sealer: SealerDep, _admin: CanAdminister
) -> SigningKeyList:
    """Every signing key, newest first, without key material."""
    return key_list(list(SigningKeyRepository(session, sealer).all()))


@router.post("/signing-keys", status_code=status.HTTP_201_CREATED)
def rotate_signing_key(
    session: SessionDep, sealer: SealerDep, _admin: CanAdminister
) -> SigningKeyList:
    """Start signing with a new key; the previous key stays published."""
    repository = SigningKeyRepository(session, sealer)
    repository.rotate()
    return key_list(list(repository.all()))


@router.post("/signing-keys/retire-previous")
def retire_previous_signing_keys(
    session: SessionDep, sealer: SealerDep, _admin: CanAdminister
) -> SigningKeyList:
    """Withdraw every no-longer-active key from the JWKS; its tokens stop verifying."""
    repository = SigningKeyRepository(session, sealer)
    repository.retire_previous()
    return key_list(list(repository.all()))
