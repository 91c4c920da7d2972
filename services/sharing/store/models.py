"""Sharing's tables, declared on its own registry so its metadata holds only them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Index, Text, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from shared.db import new_registry

registry = new_registry()
metadata = registry.metadata
VERSION_TABLE = "alembic_version_sharing"


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every backend: SQLite drops the zone, so it is put back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value if isinstance(value, datetime) else None


class SharingTable(SQLModel, registry=registry):
    """Base of every sharing table."""


class Organisation(SharingTable, table=True):
    """One organisation of the directory; which columns are set depends on `type`.

    `la_code` is the local-authority area: a school's comes from its DfE number, a local
    authority's is its own code (unique among local authorities), a virtual school's and
    a children's social care's is that of the authority they belong to.
    """

    __tablename__ = "organisation"
    __table_args__ = (
        Index(
            "uq_organisation_local_authority_la_code",
            "la_code",
            unique=True,
            sqlite_where=text("type = 'local_authority'"),
            postgresql_where=text("type = 'local_authority'"),
        ),
    )

    id: str = Field(primary_key=True, max_length=36)
    type: str = Field(max_length=32, index=True)
    name: str = Field(max_length=200)
    urn: str | None = Field(default=None, max_length=6, unique=True)
    dfe_number: str | None = Field(default=None, max_length=7, unique=True)
    phase: str | None = Field(default=None, max_length=32)
    group_uid: str | None = Field(default=None, max_length=20, unique=True)
    la_code: str | None = Field(default=None, max_length=3, index=True)
    created_at: datetime = Field(sa_type=UtcDateTime)


class TrustMembership(SharingTable, table=True):
    """A school's time in a trust, from `start_date` to `end_date` inclusive (open if null)."""

    __tablename__ = "trust_membership"

    id: str = Field(primary_key=True, max_length=36)
    school_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    trust_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    start_date: date
    end_date: date | None = None


class OAuthClient(SharingTable, table=True):
    """A confidential OAuth client of one organisation, acting in one role.

    The secret is stored only as a salted scrypt hash (`domain.secrets`).
    """

    __tablename__ = "oauth_client"

    client_id: str = Field(primary_key=True, max_length=64)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    name: str = Field(max_length=200)
    role: str = Field(max_length=32)
    scopes: str = Field(sa_type=Text, description="Allowed scopes, space-separated.")
    secret_hash: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UtcDateTime)
    secret_rotated_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SigningKey(SharingTable, table=True):
    """A token-signing key pair. `active` signs new tokens; `published` ones (the previous
    keys) stay in the JWKS so their tokens keep verifying; `retired` ones are gone from it.
    """

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=10)
    status: str = Field(max_length=10, index=True)
    private_jwk: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


# The alerts' and the audit trail's tables live in their own modules; importing them here
# puts them on this registry whenever the models are loaded (Alembic autogenerate, test
# fixtures, the app).
from services.sharing.store import alert_models as _alert_models  # noqa: E402, F401
from services.sharing.store import audit_models as _audit_models  # noqa: E402, F401

# The access policy's tables (care episodes, data-sharing agreements) live in their own
# module; importing it here registers them whenever the models are loaded.
# (It imports the policy's version counter in turn, once the tables it watches exist.)
from services.sharing.store import care_models as _care_models  # noqa: E402, F401
