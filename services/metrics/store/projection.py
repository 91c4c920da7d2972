"""Applying ingest's change feed to the read model, one page per transaction.

A page is applied in the caller's transaction together with the feed cursor, so a
crash before commit loses the whole page and a restart re-reads it: nothing is lost,
nothing counted twice. Register marks are written first; then every day they touch
is recounted from the marks, and every week and academic year holding such a day is
re-summed from its days; an academic year moves by the difference of its changed days
(re-summing ~190 days per pupil for each daily return would read the whole day table).
An enrolment whose date of birth or the entry date of a stay changes (or that arrives
after its marks) has all its buckets rebuilt, since those decide which sessions count.
Each page also logs what it changed (`read_model_change`), numbered in commit order,
for readers that hold weeks in memory (`store.week_columns`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Table,
    bindparam,
    case,
    cast,
    delete,
    func,
    select,
    text,
    update,
)

from services.metrics.domain.calendar import academic_year_of, week_start
from services.metrics.domain.groups import ethnicity_group
from services.metrics.domain.measures import (
    COUNT_COLUMNS,
    DAY_CODE_WEIGHTS,
    Population,
    count_marks,
    population_of,
    stay_entry,
)
from services.metrics.store.models import (
    DAY_COLUMNS,
    Enrolment,
    EnrolmentDay,
    EnrolmentWeek,
    EnrolmentYear,
    FeedCursor,
    Mark,
    ReadModelChange,
)
from shared.contracts.changes import (
    STAYS_JSON,
    ChangePage,
    EnrolmentRemoved,
    EnrolmentUpserted,
    MarkUpserted,
    MarkWithdrawn,
    stays_from_json,
)
from shared.sql import chunks, upsert

INGEST_FEED = "ingest"

enrolment_t: Table = Enrolment.__table__  # type: ignore[attr-defined]
mark_t: Table = Mark.__table__  # type: ignore[attr-defined]
day_t: Table = EnrolmentDay.__table__  # type: ignore[attr-defined]
week_t: Table = EnrolmentWeek.__table__  # type: ignore[attr-defined]
year_t: Table = EnrolmentYear.__table__  # type: ignore[attr-defined]
cursor_t: Table = FeedCursor.__table__  # type: ignore[attr-defined]
change_t: Table = ReadModelChange.__table__  # type: ignore[attr-defined]

CHANGES_KEPT = 100_000
"""How many `read_model_change` rows are kept; a reader further behind reloads everything."""

HEADLINE = Population.HEADLINE.value
"""The bucket rows every reader of DfE's headline measures asks for (`population`)."""

PupilKey = tuple[str, str]
Changed = tuple[int | None, dt.date | None]
"""(enrolment, week start): the enrolment's buckets of that week changed; (enrolment,
None): its characteristics or all its buckets; (None, None): the whole read model."""
MarkKey = tuple[str, str, dt.date, str]


def read_cursor(connection: Connection, feed: str = INGEST_FEED) -> str | None:
    """The cursor after the last applied page, or None before the first."""
    found = connection.execute(select(cursor_t.c.cursor).where(cursor_t.c.feed == feed))
    return found.scalar_one_or_none()


def write_cursor(connection: Connection, cursor: str, feed: str = INGEST_FEED) -> None:
    stmt = upsert(connection, cursor_t).values(
        feed=feed, cursor=cursor, updated_at=dt.datetime.now(dt.UTC)
    )
    connection.execute(
        stmt.on_conflict_do_update(
            index_elements=[cursor_t.c.feed],
            set_={"cursor": stmt.excluded.cursor, "updated_at": stmt.excluded.updated_at},
        )
    )


@dataclass
class _Pending:
    """Mark writes buffered within a page (last write per session wins) and what they touch."""

    marks: dict[MarkKey, str | None] = field(default_factory=dict)
    touched_days: set[tuple[str, str, dt.date]] = field(default_factory=set)
    rebuild: set[PupilKey] = field(default_factory=set)
    changed: set[Changed] = field(default_factory=set)
    """What changed, for `read_model_change`."""


def apply_page(connection: Connection, page: ChangePage, *, feed: str = INGEST_FEED) -> None:
    """Apply one page of changes and advance the cursor, in the connection's transaction."""
    pending = _Pending()
    for change in page.changes:
        if isinstance(change, MarkUpserted | MarkWithdrawn):
            key = (change.school_urn, change.upn, change.date, change.session.value)
            pending.marks[key] = change.code if isinstance(change, MarkUpserted) else None
            pending.touched_days.add((change.school_urn, change.upn, change.date))
        elif isinstance(change, EnrolmentUpserted):
            if _upsert_enrolment(connection, change, pending.changed):
                pending.rebuild.add((change.enrolment.school_urn, change.enrolment.upn))
        elif isinstance(change, EnrolmentRemoved):
            _flush_marks(connection, pending)
            _remove_enrolment(connection, (change.school_urn, change.upn), pending.changed)
            pending.rebuild.discard((change.school_urn, change.upn))
    _flush_marks(connection, pending)
    _recount(connection, pending)
    log_changes(connection, pending.changed)
    write_cursor(connection, page.next_cursor, feed)


def log_changes(connection: Connection, changes: Iterable[Changed]) -> None:
    """Append what changed to `read_model_change` and drop rows beyond the last
    `CHANGES_KEPT`.

    On PostgreSQL the log is locked first, so its numbers are handed out, and become
    visible, in commit order: a reader that has seen number n has seen every change
    before it. (SQLite has one writer at a time.)
    """
    rows = [
        {"enrolment_id": e, "week_start": w}
        for e, w in sorted(changes, key=lambda c: (c[0] or 0, c[1] or dt.date.min))
    ]
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE read_model_change IN SHARE ROW EXCLUSIVE MODE"))
    connection.execute(change_t.insert(), rows)
    last = connection.execute(select(func.max(change_t.c.seq))).scalar_one()
    connection.execute(delete(change_t).where(change_t.c.seq <= last - CHANGES_KEPT))


def _upsert_enrolment(
    connection: Connection, change: EnrolmentUpserted, changed: set[Changed]
) -> bool:
    """Write the enrolment (its id into `changed`); True when its buckets must be rebuilt
    (new, or dob/entry changed)."""
    e = change.enrolment
    values = {
        "school_urn": e.school_urn,
        "upn": e.upn,
        "upn_temporary": e.upn_temporary,
        "legal_surname": e.legal_surname,
        "legal_forename": e.legal_forename,
        "date_of_birth": e.date_of_birth,
        "gender": e.gender,
        "nc_year": e.nc_year,
        "sen_provision": e.sen_provision.value,
        "fsm_eligible": e.fsm_eligible,
        "ethnicity": e.ethnicity,
        "ethnicity_group": ethnicity_group(e.ethnicity),
        "enrolment_status": e.enrolment_status.value,
        "entry_date": e.entry_date,
        "leaving_date": e.leaving_date,
        "earlier_stays": STAYS_JSON.dump_json(e.earlier_stays).decode(),
    }
    existing = connection.execute(
        select(
            enrolment_t.c.id,
            enrolment_t.c.date_of_birth,
            enrolment_t.c.entry_date,
            enrolment_t.c.earlier_stays,
        ).where(enrolment_t.c.school_urn == e.school_urn, enrolment_t.c.upn == e.upn)
    ).first()
    if existing is None:
        connection.execute(enrolment_t.insert().values(**values))
        return True
    connection.execute(update(enrolment_t).where(enrolment_t.c.id == existing.id).values(**values))
    changed.add((existing.id, None))
    entries = [s.entry_date for s in stays_from_json(existing.earlier_stays)]
    return bool(
        existing.date_of_birth != e.date_of_birth
        or [*entries, existing.entry_date] != [stay[0] for stay in e.stays]
    )


def _remove_enrolment(connection: Connection, key: PupilKey, changed: set[Changed]) -> None:
    urn, upn = key
    found = connection.execute(
        select(enrolment_t.c.id).where(enrolment_t.c.school_urn == urn, enrolment_t.c.upn == upn)
    ).scalar_one_or_none()
    connection.execute(delete(mark_t).where(mark_t.c.school_urn == urn, mark_t.c.upn == upn))
    if found is None:
        return
    for table in (day_t, week_t, year_t):
        connection.execute(delete(table).where(table.c.enrolment_id == found))
    connection.execute(delete(enrolment_t).where(enrolment_t.c.id == found))
    changed.add((found, None))


def _flush_marks(connection: Connection, pending: _Pending) -> None:
    writes = [
        {"school_urn": k[0], "upn": k[1], "date": k[2], "session": k[3], "code": code}
        for k, code in pending.marks.items()
        if code is not None
    ]
    removals = [
        {"u": k[0], "p": k[1], "d": k[2], "s": k[3]}
        for k, code in pending.marks.items()
        if code is None
    ]
    pending.marks.clear()
    if writes:
        stmt = upsert(connection, mark_t)
        stmt = stmt.on_conflict_do_update(
            index_elements=[mark_t.c.school_urn, mark_t.c.upn, mark_t.c.date, mark_t.c.session],
            set_={"code": stmt.excluded.code},
        )
        for part in chunks(writes):
            connection.execute(stmt, list(part))
    if removals:
        connection.execute(
            delete(mark_t).where(
                mark_t.c.school_urn == bindparam("u"),
                mark_t.c.upn == bindparam("p"),
                mark_t.c.date == bindparam("d"),
                mark_t.c.session == bindparam("s"),
            ),
            removals,
        )


@dataclass(frozen=True)
class _Known:
    id: int
    date_of_birth: dt.date
    entries: tuple[dt.date, ...]
    """The entry date of each stay, oldest first."""

    def bucket_of(self, day: dt.date) -> tuple[dt.date, Population] | None:
        """The entry date of the stay `day` belongs to and the figures its sessions
        enter, or None when they enter none."""
        entry = stay_entry(self.entries, day)
        population = population_of(self.date_of_birth, entry, day)
        return None if population is None else (entry, population)


def _known_enrolments(connection: Connection, keys: Iterable[PupilKey]) -> dict[PupilKey, _Known]:
    by_school: dict[str, list[str]] = defaultdict(list)
    for urn, upn in set(keys):
        by_school[urn].append(upn)
    found: dict[PupilKey, _Known] = {}
    for urn, upns in by_school.items():
        for part in chunks(sorted(upns)):
            rows = connection.execute(
                select(
                    enrolment_t.c.id,
                    enrolment_t.c.upn,
                    enrolment_t.c.date_of_birth,
                    enrolment_t.c.entry_date,
                    enrolment_t.c.earlier_stays,
                ).where(enrolment_t.c.school_urn == urn, enrolment_t.c.upn.in_(part))
            )
            for row in rows:
                earlier = stays_from_json(row.earlier_stays)
                entries = (*(s.entry_date for s in earlier), row.entry_date)
                found[(urn, row.upn)] = _Known(row.id, row.date_of_birth, entries)
    return found


def _marks_of(
    connection: Connection, urn: str, upns: Sequence[str], days: tuple[dt.date, dt.date] | None
) -> Iterator[Any]:
    for part in chunks(sorted(upns)):
        stmt = select(mark_t.c.upn, mark_t.c.date, mark_t.c.code).where(
            mark_t.c.school_urn == urn, mark_t.c.upn.in_(part)
        )
        if days is not None:
            stmt = stmt.where(mark_t.c.date.between(*days))
        yield from connection.execute(stmt)


def _recount(connection: Connection, pending: _Pending) -> None:
    """Recount touched days (all days of rebuilt enrolments), then their weeks and years."""
    known = _known_enrolments(
        connection, [*pending.rebuild, *((u, p) for u, p, _ in pending.touched_days)]
    )
    rebuild_ids = sorted(known[k].id for k in pending.rebuild if k in known)
    touched: dict[tuple[str, str], set[dt.date]] = defaultdict(set)
    for urn, upn, day in pending.touched_days:
        if (urn, upn) in known and (urn, upn) not in pending.rebuild:
            touched[(urn, upn)].add(day)

    # Gather the marks of every day to recount, per enrolment and day.
    marks: dict[tuple[int, dt.date], list[tuple[dt.date, str]]] = defaultdict(list)
    by_school: dict[str, list[str]] = defaultdict(list)
    for urn, upn in pending.rebuild:
        if (urn, upn) in known:
            by_school[urn].append(upn)
    for urn, upns in by_school.items():
        for row in _marks_of(connection, urn, upns, None):
            marks[(known[(urn, row.upn)].id, row.date)].append((row.date, row.code))
    touched_by_school: dict[str, list[str]] = defaultdict(list)
    for urn, upn in touched:
        touched_by_school[urn].append(upn)
    for urn, upns in touched_by_school.items():
        all_days = [d for upn in upns for d in touched[(urn, upn)]]
        for row in _marks_of(connection, urn, upns, (min(all_days), max(all_days))):
            if row.date in touched[(urn, row.upn)]:
                marks[(known[(urn, row.upn)].id, row.date)].append((row.date, row.code))

    recount_days = [(known[k].id, d) for k, days in touched.items() for d in days]
    pending.changed.update((e, None) for e in rebuild_ids)
    pending.changed.update((e, week_start(d)) for e, d in recount_days)
    for part in chunks(rebuild_ids):
        for table in (day_t, week_t, year_t):
            connection.execute(delete(table).where(table.c.enrolment_id.in_(part)))
    old_days = _day_rows(connection, recount_days)
    if recount_days:
        connection.execute(
            delete(day_t).where(
                day_t.c.enrolment_id == bindparam("e"), day_t.c.date == bindparam("d")
            ),
            [{"e": e, "d": d} for e, d in recount_days],
        )

    by_id = {k.id: k for k in known.values()}
    rows: list[dict[str, Any]] = []
    for (enrolment_id, day), day_marks in marks.items():
        bucket = by_id[enrolment_id].bucket_of(day)
        if bucket is None:
            continue
        counts = count_marks(day_marks)
        if counts.possible:
            rows.append(
                {
                    "enrolment_id": enrolment_id,
                    "date": day,
                    "stay_entry": bucket[0],
                    "population": bucket[1].value,
                    "week_start": week_start(day),
                    "academic_year": academic_year_of(day),
                    **counts.as_row(),
                }
            )
    for part in chunks(rows):
        connection.execute(day_t.insert(), list(part))

    weeks: dict[dt.date, set[int]] = defaultdict(set)
    for enrolment_id, day in recount_days:
        weeks[week_start(day)].add(enrolment_id)
    _resum(connection, week_t, "week_start", weeks, rebuild_ids)
    _resum(connection, year_t, "academic_year", {}, rebuild_ids)
    rebuilt = set(rebuild_ids)
    new_days = {(r["enrolment_id"], r["date"]): r for r in rows if r["enrolment_id"] not in rebuilt}
    _add_to_years(connection, old_days, new_days)


def _day_rows(
    connection: Connection, keys: Sequence[tuple[int, dt.date]]
) -> dict[tuple[int, dt.date], dict[str, Any]]:
    """The stored day rows of these (enrolment, day) pairs."""
    by_id: dict[int, set[dt.date]] = defaultdict(set)
    for enrolment_id, day in keys:
        by_id[enrolment_id].add(day)
    if not by_id:
        return {}
    first = min(min(d) for d in by_id.values())
    last = max(max(d) for d in by_id.values())
    found: dict[tuple[int, dt.date], dict[str, Any]] = {}
    for part in chunks(sorted(by_id)):
        stmt = select(day_t).where(
            day_t.c.enrolment_id.in_(part), day_t.c.date.between(first, last)
        )
        for row in connection.execute(stmt):
            if row.date in by_id[row.enrolment_id]:
                found[(row.enrolment_id, row.date)] = dict(row._mapping)
    return found


def _add_to_years(
    connection: Connection,
    old: dict[tuple[int, dt.date], dict[str, Any]],
    new: dict[tuple[int, dt.date], dict[str, Any]],
) -> None:
    """Move each academic-year row (of an enrolment's stay) by (new days - old days).

    A year holds ~190 days per enrolment; re-summing them for every daily return would
    read the whole day table for an LA's day. Adding the difference of the few days that
    changed is exact: the day rows before and after are both known here, in the same
    transaction, and `rebuild` recomputes every year from its days.
    """
    delta: dict[tuple[int, int, dt.date, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(COUNT_COLUMNS, 0)
    )
    for sign, rows in ((-1, old), (1, new)):
        for (enrolment_id, day), row in rows.items():
            key = (enrolment_id, academic_year_of(day), row["stay_entry"], row["population"])
            d = delta[key]
            for c in COUNT_COLUMNS:
                d[c] += sign * int(row[c])
    values = [
        {"enrolment_id": e, "academic_year": y, "stay_entry": stay, "population": p, **d}
        for (e, y, stay, p), d in sorted(delta.items())
        if any(d.values())
    ]
    if not values:
        return
    stmt = upsert(connection, year_t)
    stmt = stmt.on_conflict_do_update(
        index_elements=[
            year_t.c.enrolment_id,
            year_t.c.academic_year,
            year_t.c.stay_entry,
            year_t.c.population,
        ],
        set_={c: year_t.c[c] + stmt.excluded[c] for c in COUNT_COLUMNS},
    )
    for part in chunks(values):
        connection.execute(stmt, list(part))


def _bounds(bucket: str, value: Any) -> tuple[dt.date, dt.date]:
    """The days a week or academic year covers, so re-summing reads the day table by its key."""
    if bucket == "week_start":
        return value, value + dt.timedelta(days=6)
    return dt.date(value, 9, 1), dt.date(value + 1, 8, 31)


def _resum(
    connection: Connection,
    table: Table,
    bucket: str,
    touched: dict[Any, set[int]],
    rebuild_ids: Sequence[int],
) -> None:
    """Re-sum `table` rows from their days: touched (bucket, enrolment) pairs and rebuilt
    ids, a row for each stay and population (a week row with its days' codes too)."""
    sums = [func.sum(day_t.c[c]).label(c) for c in COUNT_COLUMNS]
    columns = ["enrolment_id", bucket, "stay_entry", "population", *COUNT_COLUMNS]
    if table is week_t:
        sums += _day_codes(connection)
        columns += DAY_COLUMNS
    key = (day_t.c.enrolment_id, day_t.c[bucket], day_t.c.stay_entry, day_t.c.population)
    for value, ids in touched.items():
        first, last = _bounds(bucket, value)
        for part in chunks(sorted(ids)):
            connection.execute(
                delete(table).where(table.c[bucket] == value, table.c.enrolment_id.in_(part))
            )
            source = (
                select(*key, *sums)
                .where(day_t.c.enrolment_id.in_(part), day_t.c.date.between(first, last))
                .group_by(*key)
            )
            connection.execute(table.insert().from_select(columns, source))
    for part in chunks(rebuild_ids):
        source = select(*key, *sums).where(day_t.c.enrolment_id.in_(part)).group_by(*key)
        connection.execute(table.insert().from_select(columns, source))


def _day_codes(connection: Connection) -> list[Any]:
    """Each weekday's `day_code` of a week's day rows, Monday first (0: no row)."""
    if connection.dialect.name == "postgresql":
        weekday = cast(day_t.c.date - day_t.c.week_start, Integer)
    else:
        weekday = cast(func.julianday(day_t.c.date) - func.julianday(day_t.c.week_start), Integer)
    code = sum(w * day_t.c[c] for w, c in zip(DAY_CODE_WEIGHTS, COUNT_COLUMNS, strict=True))
    return [
        func.coalesce(func.max(case((weekday == k, code))), 0).label(day)
        for k, day in enumerate(DAY_COLUMNS)
    ]


def clear_read_model(connection: Connection) -> None:
    """Empty every table of the read model, cursor included (the start of a rebuild), and
    log that everything changed."""
    for table in (day_t, week_t, year_t, mark_t, enrolment_t, cursor_t):
        connection.execute(delete(table))
    log_changes(connection, [(None, None)])
