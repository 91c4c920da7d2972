"""The access policy's version: a counter raised in the transaction of every change the
policy reads (organisations, trust memberships, social-care episodes, agreements).

Services cache the policy's answers; asking the version first (`GET /v1/policy/version`)
tells them whether an answer they hold is still the one sharing would give, so a closed
episode or a revoked agreement applies from the next request instead of when a cache
expires. Raised from the ORM's flush events, so no write path can forget it; the row is
locked until the writing transaction ends, which serialises changes to the policy (they
are rare: episodes, agreements, memberships).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session

from services.sharing.store.care_models import CareEpisode, SharingAgreement
from services.sharing.store.models import Organisation, SharingTable, TrustMembership

POLICY_MODELS = (Organisation, TrustMembership, CareEpisode, SharingAgreement)
"""The rows the access policy decides from (an agreement's pupils are written with it)."""


class PolicyVersionRow(SharingTable, table=True):
    """One row: how many changes the access policy has seen."""

    __tablename__ = "policy_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0)


_TABLE: Table = PolicyVersionRow.__table__  # type: ignore[attr-defined]


def _raise_version(_mapper: Any, connection: Connection, _target: Any) -> None:
    # An upsert: the row is made by the migration, but a database emptied by TRUNCATE
    # (the test harness does) must not lose the count of its first change.
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    connection.execute(
        insert(_TABLE)
        .values(id=1, version=1)
        .on_conflict_do_update(index_elements=[_TABLE.c.id], set_={"version": _TABLE.c.version + 1})
    )


for _model in POLICY_MODELS:
    for _event in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _event, _raise_version)


def policy_version(session: Session) -> int:
    """The current version (0 before any change)."""
    found = session.connection().execute(select(_TABLE.c.version).where(_TABLE.c.id == 1))
    return int(found.scalar() or 0)
