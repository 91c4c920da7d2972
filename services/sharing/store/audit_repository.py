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

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    exists,
    false,
    func,
    insert,
    or_,
    text,
)
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.sharing.domain.audit import (
    GENESIS_HASH,
    AuditReach,
    ChainedEntry,
    Child,
    EntryContent,
    chain,
)
from services.sharing.store.audit_models import AuditEntry, AuditEntryChild
from shared.sql import values_table

CHAIN_LOCK_KEY = 0x6174747861756469
"""The advisory lock id of the chain ("attxaudi" in ASCII); any fixed bigint would do."""

WALK_BATCH = 1000

CHILD_BATCH = 1000
"""Child windows per page query: well under SQLite's and PostgreSQL's bound-parameter limits."""


@dataclass(frozen=True)
class AuditFilters:
    """What a reader narrows the trail to; dates are inclusive, in UTC."""

    from_date: date | None = None
    to_date: date | None = None
    upn: str | None = None
    accessor_organisation_id: str | None = None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _read_between(from_date: date | None, to_date: date | None) -> list[ColumnElement[bool]]:
    """Entries read on days `from_date` to `to_date` inclusive (UTC); None is open."""
    terms: list[ColumnElement[bool]] = []
    if from_date is not None:
        terms.append(col(AuditEntry.occurred_at) >= _start_of(from_date))
    if to_date is not None and to_date < date.max:  # the last date has no next day
        terms.append(col(AuditEntry.occurred_at) < _start_of(to_date + timedelta(days=1)))
    return terms


def _batches(reach: AuditReach) -> Iterator[AuditReach]:
    """The reach in parts of at most `CHILD_BATCH` child windows; schools go with the first."""
    if len(reach.children) <= CHILD_BATCH:
        yield reach
        return
    for start in range(0, len(reach.children), CHILD_BATCH):
        yield AuditReach(
            everything=reach.everything,
            schools=reach.schools if start == 0 else (),
            children=reach.children[start : start + CHILD_BATCH],
        )


def children_json(content: EntryContent) -> str:
    """The stored form of an entry's children: [upn, urn] pairs, in canonical order."""
    return json.dumps([[c.upn, c.school_urn] for c in content.children], separators=(",", ":"))


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
                    "children": children_json(e.content),
                    "previous_hash": e.previous_hash,
                    "entry_hash": e.entry_hash,
                }
                for e in entries
            ],
        )
        # The children as one table of values: a read of 2,000 children is one statement
        # with three array parameters, not 2,000 rows of parameters for SQLAlchemy to bind.
        children = values_table(
            self.session.connection(),
            "children",
            {"position": BigInteger(), "school_urn": String(), "upn": String()},
            [(e.position, c.school_urn, c.upn) for e in entries for c in e.content.children],
        )
        self.session.execute(
            insert(AuditEntryChild).from_select(
                ["position", "school_urn", "upn"], select(*children.c)
            )
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
                windows.append(
                    and_(col(child.school_urn) == s.urn, *_read_between(s.from_date, s.to_date))
                )
            # Children sharing a window (say, episodes opened the same day) share one term.
            by_window: dict[tuple[date | None, date | None], list[str]] = {}
            for c in reach.children:
                by_window.setdefault((c.from_date, c.to_date), []).append(c.upn)
            for (from_date, to_date), upns in by_window.items():
                windows.append(
                    and_(col(child.upn).in_(sorted(upns)), *_read_between(from_date, to_date))
                )
            terms.append(or_(*windows) if windows else false())
        return exists().where(*terms)

    def _page_statement(
        self, reach: AuditReach, filters: AuditFilters, before: int | None, limit: int
    ) -> SelectOfScalar[AuditEntry]:
        statement = select(AuditEntry).order_by(col(AuditEntry.position).desc()).limit(limit + 1)
        if before is not None:
            statement = statement.where(col(AuditEntry.position) < before)
        statement = statement.where(*_read_between(filters.from_date, filters.to_date))
        if filters.accessor_organisation_id is not None:
            statement = statement.where(
                col(AuditEntry.accessor_organisation_id) == filters.accessor_organisation_id
            )
        if not reach.everything or filters.upn is not None:
            statement = statement.where(self._reach_condition(reach, filters.upn))
        return statement

    def page(
        self, reach: AuditReach, filters: AuditFilters, *, before: int | None, limit: int
    ) -> Sequence[AuditEntry]:
        """Up to `limit + 1` entries in reach, newest first, before position `before`.

        A reach of many children is asked in batches of `CHILD_BATCH` windows (bound
        parameters are limited per statement); the newest `limit + 1` of the union are
        among the newest `limit + 1` of each batch, so one query per batch is enough.
        """
        if not reach.everything and not reach.schools and not reach.children:
            return []
        rows: dict[int, AuditEntry] = {}
        for part in _batches(reach):
            for row in self.session.exec(self._page_statement(part, filters, before, limit)):
                rows[row.position] = row
        return [rows[p] for p in sorted(rows, reverse=True)[: limit + 1]]

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

    def first_index_position_beyond(self, head: int) -> int | None:
        """The first position outside 1 to `head` (the chain's last entry) that children
        index rows name, or None. `walk` reads every index row of the chain's positions
        with its entry; rows outside them name no entry, and no foreign key refuses them
        (migration 0008), so `attx audit verify` asks."""
        position = col(AuditEntryChild.position)
        beyond = select(func.min(position)).where(or_(position > head, position < 1))
        found = self.session.exec(beyond).one()
        return None if found is None else int(found)

    @staticmethod
    def children(row: AuditEntry) -> tuple[Child, ...]:
        """The children an entry records (its hashed list)."""
        return _children_of_json(row.children)
