"""OAuth clients, administered by the operator's admin clients only.

A secret is shown once, in the response that creates or rotates it; it is stored hashed.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from services.sharing.api.deps import CanAdminister, Cursor, Limit, SessionDep
from services.sharing.domain.secrets import new_secret
from services.sharing.schemas import ClientCreate, ClientPage, ClientPublic, ClientWithSecret
from services.sharing.store.models import OAuthClient
from services.sharing.store.pagination import DEFAULT_LIMIT, decode_cursor, next_cursor
from services.sharing.store.repository import ClientRepository

router = APIRouter(tags=["clients"])

ClientId = Annotated[str, Path(description="The client's id.")]


def client_public(row: OAuthClient) -> ClientPublic:
    return ClientPublic(
        client_id=row.client_id,
        organisation_id=row.organisation_id,
        name=row.name,
        role=row.role,
        scopes=row.scopes.split(),
        created_at=row.created_at,
        secret_rotated_at=row.secret_rotated_at,
        revoked_at=row.revoked_at,
    )


def with_secret(row: OAuthClient, secret: str) -> ClientWithSecret:
    return ClientWithSecret(**client_public(row).model_dump(), client_secret=secret)


@router.post("/clients", status_code=status.HTTP_201_CREATED)
def create_client(
    body: ClientCreate, session: SessionDep, _admin: CanAdminister
) -> ClientWithSecret:
    """A new client with a fresh secret (in this response only)."""
    secret = new_secret()
    row = ClientRepository(session).add(
        client_id=f"cl_{secrets.token_hex(10)}",
        organisation_id=body.organisation_id,
        role=body.role,
        scopes=body.scopes,
        name=body.name,
        secret=secret,
    )
    return with_secret(row, secret)


@router.get("/clients")
def list_clients(
    session: SessionDep,
    _admin: CanAdminister,
    organisation_id: Annotated[str | None, Query(description="Only this organisation's.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> ClientPage:
    """Clients (revoked ones included), a page at a time."""
    rows = ClientRepository(session).page(
        organisation_id=organisation_id, after=decode_cursor(cursor), limit=limit
    )
    return ClientPage(
        items=[client_public(r) for r in rows[:limit]],
        next_cursor=next_cursor([r.client_id for r in rows], limit),
    )


@router.get("/clients/{client_id}")
def get_client(client_id: ClientId, session: SessionDep, _admin: CanAdminister) -> ClientPublic:
    """One client."""
    return client_public(ClientRepository(session).require(client_id))


@router.post("/clients/{client_id}/secret")
def rotate_client_secret(
    client_id: ClientId, session: SessionDep, _admin: CanAdminister
) -> ClientWithSecret:
    """Replace the secret; the old one stops working now. Tokens already issued run out."""
    repository = ClientRepository(session)
    secret = new_secret()
    return with_secret(repository.set_secret(repository.require(client_id), secret), secret)


@router.post("/clients/{client_id}/revoke")
def revoke_client(client_id: ClientId, session: SessionDep, _admin: CanAdminister) -> ClientPublic:
    """Refuse the client any further token (invalid_client). Tokens already issued run out."""
    repository = ClientRepository(session)
    return client_public(repository.revoke(repository.require(client_id)))
