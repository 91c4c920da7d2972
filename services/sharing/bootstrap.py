"""Seed a fresh sharing database with the operator and the platform's own two clients.

`attx` calls `bootstrap` before the first start; tests call it on every fresh database.
Running it again is harmless: it finds what exists and resets the two secrets to the ones
given (so rotating a secret is: change the setting, re-run bootstrap).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from services.sharing.domain.organisations import OrganisationDraft, OrganisationType
from services.sharing.domain.roles import Role
from services.sharing.store.models import Organisation
from services.sharing.store.repository import ClientRepository, OrganisationRepository
from shared.auth import Scope
from shared.db import create_db_engine

OPERATOR_NAME = "Attendance Exchange operator"
ADMIN_SCOPES = [Scope.DIRECTORY_READ, Scope.DIRECTORY_WRITE, Scope.AUDIT_READ]
SERVICE_SCOPES = [
    Scope.CHANGES_READ,
    Scope.DIRECTORY_READ,
    Scope.POLICY_READ,
    Scope.FEED_NOTIFY,
    Scope.ATTENDANCE_READ,
    Scope.METRICS_READ,
    Scope.AUDIT_WRITE,
    Scope.ALERTS_WRITE,
]


@dataclass(frozen=True)
class Bootstrapped:
    """What bootstrap ensured exists."""

    operator_id: str
    admin_client_id: str
    service_client_id: str


def bootstrap(
    engine: Engine,
    *,
    admin_client_id: str,
    admin_client_secret: str,
    service_client_id: str,
    service_client_secret: str,
) -> Bootstrapped:
    """Ensure the operator organisation and its admin and service clients (the service
    makes its first signing key when it starts, sealed under its own keys)."""
    with Session(engine, expire_on_commit=False) as session:
        operator = _ensure_operator(session)
        clients = ClientRepository(session)
        for client_id, secret, role, scopes, name in (
            (admin_client_id, admin_client_secret, Role.ADMIN, ADMIN_SCOPES, "Administrator"),
            (
                service_client_id,
                service_client_secret,
                Role.SERVICE,
                SERVICE_SCOPES,
                "Platform services",
            ),
        ):
            existing = clients.get(client_id)
            if existing is None:
                clients.add(
                    client_id=client_id,
                    organisation_id=operator.id,
                    role=role,
                    scopes=list(scopes),
                    name=name,
                    secret=secret,
                )
            else:
                clients.set_secret(existing, secret)
        session.commit()
        return Bootstrapped(operator.id, admin_client_id, service_client_id)


def _ensure_operator(session: Session) -> Organisation:
    organisations = OrganisationRepository(session)
    existing = organisations.first_of_type(OrganisationType.OPERATOR)
    if existing is not None:
        return existing
    return organisations.add(OrganisationDraft(type=OrganisationType.OPERATOR, name=OPERATOR_NAME))


def seed_operator(
    database_url: str,
    *,
    admin_client_id: str,
    admin_client_secret: str,
    service_client_id: str,
    service_client_secret: str,
) -> Bootstrapped:
    """`bootstrap` on the database at `database_url` (already migrated), for the CLI."""
    engine = create_db_engine(database_url)
    try:
        return bootstrap(
            engine,
            admin_client_id=admin_client_id,
            admin_client_secret=admin_client_secret,
            service_client_id=service_client_id,
            service_client_secret=service_client_secret,
        )
    finally:
        engine.dispose()
