"""Queries over the audit trail: append under the chain lock, scoped reads, the chain walk.

Appending assigns positions under a lock so two writers never chain onto the same head:
on PostgreSQL a transaction-scoped advisory lock (released at commit), on SQLite the
database write lock every transaction already takes (`shared.db` begins IMMEDIATE).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, exists, false, insert, or_, text
from sqlmodel import Session, col, select

from services.sharing.domain.audit import (
    GENESIS_HASH,
    AuditReach,
    ChainedEntry,
    Child,
    EntryContent,
    chain,
    sorted_children,
)
from services.sharing.store.audit_models import AuditEntry, AuditEntryChild

CHAIN_LOCK_KEY = 0x6174747861756469
"""The advisory lock id of the chain ("attxaudi" in ASCII); any fixed bigint would do."""

WALK_BATCH = 1000


@dataclass(frozen=True)
class AuditFilters:
    """What a reader narrows the trail to; dates are inclusive, in UTC."""

    from_date: date | None = None
    to_date: date | None = None
    upn: str | None = None
    accessor_organisation_id: str | None = None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def children_json(children: Sequence[Child]) -> str:
    """The stored form of an entry's children: canonical [upn, urn] pairs."""
    return json.dumps(
        [[c.upn, c.school_urn] for c in sorted_children(children)], separators=(",", ":")
    )


def _children_of_json(raw: str) -> tuple[Child, ...]:
    return tuple(Child(upn=str(p[0]), school_urn=str(p[1])) for p in json.loads(raw))


def _content(row: AuditEntry) -> EntryContent:
    return EntryContent(
        id=row.id,
        recorded_at=row.recorded_at,
        occurred_at=row.occurred_at,
        service=row.service,
        endpoint=row.endpoint,
        accessor_organisation_id=row.accessor_organisation_id,
        accessor_organisation_type=row.accessor_organisation_type,
        client_id=row.client_id,
        role=row.role,
        actor=row.actor,
        purpose=row.purpose,
        legal_basis=row.legal_basis,
        reported_by=row.reported_by,
        children=_children_of_json(row.children),
    )


class AuditRepository:
    """The append-only, hash-chained audit trail."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _lock_chain(self) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY}
            )

    def head(self) -> tuple[int, str]:
        """The last entry's position and hash; (0, GENESIS_HASH) on an empty trail."""
        statement = (
            select(col(AuditEntry.position), col(AuditEntry.entry_hash))
            .order_by(col(AuditEntry.position).desc())
            .limit(1)
        )
        row = self.session.exec(statement).first()
        return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS_HASH)

    def append(self, contents: Sequence[EntryContent]) -> list[ChainedEntry]:
        """Chain `contents` onto the head, in order, with two bulk inserts."""
        self._lock_chain()
        head_position, head_hash = self.head()
        entries = chain(contents, head_position=head_position, head_hash=head_hash)
        self.session.execute(
            insert(AuditEntry),
            [
                {
                    "position": e.position,
                    "id": e.content.id,
                    "recorded_at": e.content.recorded_at,
                    "occurred_at": e.content.occurred_at,
                    "service": e.content.service,
                    "endpoint": e.content.endpoint,
                    "accessor_organisation_id": e.content.accessor_organisation_id,
                    "accessor_organisation_type": e.content.accessor_organisation_type,
                    "client_id": e.content.client_id,
                    "role": e.content.role,
                    "actor": e.content.actor,
                    "purpose": e.content.purpose,
                    "legal_basis": e.content.legal_basis,
                    "reported_by": e.content.reported_by,
                    "children": children_json(e.content.children),
                    "previous_hash": e.previous_hash,
                    "entry_hash": e.entry_hash,
                }
                for e in entries
            ],
        )
        self.session.execute(
            insert(AuditEntryChild),
            [
                {"position": e.position, "school_urn": c.school_urn, "upn": c.upn}
                for e in entries
                for c in sorted_children(e.content.children)
            ],
        )
        return entries

    def _reach_condition(self, reach: AuditReach, upn: str | None) -> ColumnElement[bool]:
        """An EXISTS over the children index: some child of the entry is in reach (and is `upn`)."""
        child = AuditEntryChild
        terms: list[ColumnElement[bool]] = [col(child.position) == col(AuditEntry.position)]
        if upn is not None:
            terms.append(col(child.upn) == upn)
        if not reach.everything:
            unbounded = sorted(
                {s.urn for s in reach.schools if s.from_date is None and s.to_date is None}
            )
            windows: list[ColumnElement[bool]] = []
            if unbounded:
                windows.append(col(child.school_urn).in_(unbounded))
            for s in reach.schools:
                if s.from_date is None and s.to_date is None:
                    continue
                window = [col(child.school_urn) == s.urn]
                if s.from_date is not None:
                    window.append(col(AuditEntry.occurred_at) >= _start_of(s.from_date))
                if s.to_date is not None:
                    window.append(
                        col(AuditEntry.occurred_at) < _start_of(s.to_date + timedelta(days=1))
                    )
                windows.append(and_(*window))
            terms.append(or_(*windows) if windows else false())
        return exists().where(*terms)

    def page(
        self, reach: AuditReach, filters: AuditFilters, *, before: int | None, limit: int
    ) -> Sequence[AuditEntry]:
        """Up to `limit + 1` entries in reach, newest first, before position `before`."""
        if not reach.everything and not reach.schools:
            return []
        statement = select(AuditEntry).order_by(col(AuditEntry.position).desc()).limit(limit + 1)
        if before is not None:
            statement = statement.where(col(AuditEntry.position) < before)
        if filters.from_date is not None:
            statement = statement.where(col(AuditEntry.occurred_at) >= _start_of(filters.from_date))
        if filters.to_date is not None:
            statement = statement.where(
                col(AuditEntry.occurred_at) < _start_of(filters.to_date + timedelta(days=1))
            )
        if filters.accessor_organisation_id is not None:
            statement = statement.where(
                col(AuditEntry.accessor_organisation_id) == filters.accessor_organisation_id
            )
        if not reach.everything or filters.upn is not None:
            statement = statement.where(self._reach_condition(reach, filters.upn))
        return self.session.exec(statement).all()

    def walk(self) -> Iterator[ChainedEntry]:
        """Every entry in position order, with its children index rows, a batch at a time."""
        after = 0
        while True:
            rows = self.session.exec(
                select(AuditEntry)
                .where(col(AuditEntry.position) > after)
                .order_by(col(AuditEntry.position))
                .limit(WALK_BATCH)
            ).all()
            if not rows:
                return
            indexed: dict[int, list[Child]] = {r.position: [] for r in rows}
            index_rows = self.session.exec(
                select(AuditEntryChild).where(
                    col(AuditEntryChild.position) >= rows[0].position,
                    col(AuditEntryChild.position) <= rows[-1].position,
                )
            ).all()
            for index_row in index_rows:
                indexed.setdefault(index_row.position, []).append(
                    Child(upn=index_row.upn, school_urn=index_row.school_urn)
                )
            for row in rows:
                yield ChainedEntry(
                    position=row.position,
                    content=_content(row),
                    previous_hash=row.previous_hash,
                    entry_hash=row.entry_hash,
                    indexed_children=tuple(indexed[row.position]),
                )
            after = rows[-1].position

    @staticmethod
    def children(row: AuditEntry) -> tuple[Child, ...]:
        """The children an entry records (its hashed list)."""
        return _children_of_json(row.children)
