"""Ingest's queries: the set-based write of a return, the feed, history and receipts.

Two ways a return's marks are written, chosen under the per-school lock by one cheap
probe (`write_marks`):

- **Direct**: none of the return's pupils has a stored mark in the days it covers (a
  backfill, or the first return of a new day), so every mark is an insert and nothing
  is withdrawn. The marks are written straight into `ingest_mark_day` with binary COPY on
  PostgreSQL (chunked executemany on SQLite), and published as one `ingest_change` row
  per pupil, a run (`mark_runs`), numbered as one change per mark.
- **Merge**: otherwise they go through a per-transaction staging table (COPY /
  executemany), are compared with `ingest_mark_day` and merged into it by a handful of
  set-based statements, the same SQL on both backends.

No ORM object is built per mark written.

Ordering of the change feed (why readers never skip a change): sequence numbers come
from `ingest_change.sequence` and are assigned only while holding a single global
PostgreSQL advisory transaction lock (`FEED_LOCK`), taken as the very last step before
commit. Two writers therefore cannot hold uncommitted sequence numbers at the same time,
so numbers become visible in increasing order and a reader that has seen N never later
finds a committed change below N. The expensive work (parsing, validation, the writes
to `ingest_mark_day`) happens before the lock under the per-school lock only, so the global
section is the append to `ingest_change` (one INSERT ... SELECT or one COPY) plus the
commit. A run reserves its numbers under the same lock (`_reserve_sequences`). SQLite
has one writer at a time (BEGIN IMMEDIATE), which gives the same guarantee for free.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from itertools import groupby
from operator import itemgetter
from typing import cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Date,
    String,
    Table,
    and_,
    any_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlmodel import Session

from services.ingest.domain.model import DateRange, Pupil
from services.ingest.domain.parsing import MarkRow
from services.ingest.store import mark_runs
from services.ingest.store.models import (
    UNRESOLVED_N,
    ChangeRecord,
    EnrolmentRecord,
    MarkDayRecord,
    ReturnRecord,
)
from shared.contracts.changes import (
    STAYS_JSON,
    EnrolmentStatus,
    SenProvision,
    Stay,
    stays_from_json,
)

FEED_LOCK = 0x1A77_0001
"""The advisory lock key serialising sequence assignment across schools (PostgreSQL)."""
STAGE = "ingest_stage_marks"
RETURNS = cast(Table, ReturnRecord.__table__)  # type: ignore[attr-defined]
ENROLMENTS = cast(Table, EnrolmentRecord.__table__)  # type: ignore[attr-defined]
MARK_DAYS = cast(Table, MarkDayRecord.__table__)  # type: ignore[attr-defined]
CHANGES = cast(Table, ChangeRecord.__table__)  # type: ignore[attr-defined]
STAGE_WITHDRAWN = "ingest_stage_withdrawn"


@dataclass(frozen=True)
class MarkCounts:
    """What a return did to the stored marks."""

    inserted: int
    changed: int
    unchanged: int
    withdrawn: int


@dataclass(frozen=True)
class CurrentMark:
    """A pupil-session's current mark and the return that gave it."""

    date: date
    session: str
    code: str
    return_id: str


@dataclass(frozen=True, slots=True)
class FeedChange:
    """One change as the feed and the history give it: an `ingest_change` row, or one
    mark of a run. A plain object, not a table model: a page is a thousand of them."""

    sequence: int
    kind: str
    recorded_at: datetime
    school_urn: str
    upn: str
    date: date | None
    session: str | None
    code: str | None
    previous_code: str | None
    return_id: str | None
    enrolment: str | None


_FEED_COLUMNS = (*(CHANGES.c[f.name] for f in fields(FeedChange)), CHANGES.c.marks)
"""A feed row's columns: `FeedChange`'s fields in order, then the run's marks, if one."""


@dataclass(frozen=True)
class MarksWritten:
    """What `write_marks` did, and what `publish_changes` must publish.

    `direct` holds the marks written straight into the register (every one new, nothing
    withdrawn), sorted; None means they went through the staging merge, whose tables
    hold the changes to publish.
    """

    counts: MarkCounts
    direct: Sequence[MarkRow] | None


_CHUNK = 5000
"""Rows (or IN-list values) per statement where a backend has no COPY."""
FIRST_FEED_ROWS = 16
"""Feed rows read by a page's first statement, four times as many by each next one: a
page of runs needs few rows, a page of single changes more."""


class IngestRepository:
    """Queries over ingest's tables, within the request's one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _conn(self) -> Connection:
        return self.session.connection()

    @property
    def _postgres(self) -> bool:
        return self._conn.dialect.name == "postgresql"

    # --- locks ----------------------------------------------------------------------

    def lock_school(self, urn: str) -> None:
        """Serialise writers of one school until commit (SQLite already is: BEGIN IMMEDIATE)."""
        if self._postgres:
            self._conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"school:{urn}"}
            )

    def _lock_feed(self) -> None:
        if self._postgres:
            self._conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK})

    # --- receipts -------------------------------------------------------------------

    def _one_receipt(self, *conditions: ColumnElement[bool]) -> ReturnRecord | None:
        row = self._conn.execute(select(RETURNS).where(*conditions)).mappings().first()
        return ReturnRecord.model_validate(dict(row)) if row else None

    def receipt_by_key(self, client_id: str, key: str) -> ReturnRecord | None:
        """The return this client sent before with this Idempotency-Key, if any."""
        return self._one_receipt(RETURNS.c.client_id == client_id, RETURNS.c.idempotency_key == key)

    def receipt(self, urn: str, return_id: str) -> ReturnRecord | None:
        """One receipt of one school."""
        return self._one_receipt(RETURNS.c.school_urn == urn, RETURNS.c.id == return_id)

    def receipts(
        self, urn: str, *, after_seq: int, limit: int, windows: Sequence[DateRange] | None
    ) -> list[ReturnRecord]:
        """Receipts of a school in submission order; `windows` limits them to those dates."""
        query = select(RETURNS).where(RETURNS.c.school_urn == urn, RETURNS.c.seq > after_seq)
        if windows is not None:
            day = func.date(RETURNS.c.submitted_at, type_=Date)
            query = query.where(
                or_(
                    false(),
                    *[and_(day >= w.start, day <= w.end) for w in windows],
                )
            )
        rows = self._conn.execute(query.order_by(RETURNS.c.seq).limit(limit)).mappings()
        return [ReturnRecord.model_validate(dict(r)) for r in rows]

    def add_receipt(self, record: ReturnRecord) -> None:
        """Store a receipt."""
        self.session.add(record)
        self.session.flush()

    # --- roll -----------------------------------------------------------------------

    def roll_stays(self, urn: str) -> dict[str, tuple[tuple[date, date | None], ...]]:
        """The stays of every pupil on a school's stored roll, by UPN: what checking a
        return's marks needs (a daily return names every pupil, and no roll entry)."""
        e = ENROLMENTS.c
        rows = self._conn.execute(
            select(e.upn, e.entry_date, e.leaving_date, e.earlier_stays).where(e.school_urn == urn)
        ).all()
        return {upn: (*_stays(earlier), (entry, leaving)) for upn, entry, leaving, earlier in rows}

    def roll(self, urn: str, upns: Iterable[str]) -> dict[str, Pupil]:
        """These pupils' entries on a school's stored roll, by UPN (absent: not on it)."""
        e = ENROLMENTS.c
        wanted = sorted(set(upns))
        if not wanted:
            return {}
        pupil = (
            e.upn == any_(literal(wanted, ARRAY(String)))
            if self._postgres
            else e.upn.in_(bindparam("upns", wanted, expanding=True))
        )
        # Positional rows (in Pupil's field order) and enum look-ups by dict: a full roll
        # is 1,500 entries, and named rows cost double.
        rows = self._conn.execute(
            select(
                e.upn,
                e.legal_surname,
                e.legal_forename,
                e.date_of_birth,
                e.gender,
                e.nc_year,
                e.sen_provision,
                e.fsm_eligible,
                e.ethnicity,
                e.enrolment_status,
                e.entry_date,
                e.leaving_date,
                e.upn_temporary,
                e.earlier_stays,
            ).where(e.school_urn == urn, pupil)
        ).all()
        return {
            r[0]: Pupil(
                *r[:6],
                _SEN_PROVISION[r[6]],
                bool(r[7]),
                r[8],
                _ENROLMENT_STATUS[r[9]],
                r[10],
                r[11],
                bool(r[12]),
                _stays(r[13]),
            )
            for r in rows
        }

    def upsert_pupils(
        self, urn: str, pupils: Sequence[Pupil], stored: dict[str, Pupil], return_id: str
    ) -> list[Pupil]:
        """Write new and changed roll entries; returns them (unchanged ones are skipped)."""
        changed = [p for p in pupils if stored.get(p.upn) != p]
        if not changed:
            return []
        table = ENROLMENTS
        rows = [_enrolment_row(urn, p, return_id) for p in changed]
        keys = [{"urn": urn, "upn": p.upn} for p in changed if p.upn in stored]
        if keys:
            self._conn.execute(
                table.delete().where(
                    table.c.school_urn == bindparam("urn"), table.c.upn == bindparam("upn")
                ),
                keys,
            )
        self._conn.execute(table.insert(), rows)
        return changed

    # --- marks ----------------------------------------------------------------------

    def _create_stage(self) -> None:
        suffix = " ON COMMIT DROP" if self._postgres else ""
        self._conn.execute(
            text(
                f"CREATE TEMPORARY TABLE {STAGE} (upn varchar(13) NOT NULL, date date NOT NULL, "
                "session varchar(2) NOT NULL, code varchar(2) NOT NULL, "
                f"previous_code varchar(2), existed boolean NOT NULL DEFAULT false){suffix}"
            )
        )
        self._conn.execute(
            text(
                f"CREATE TEMPORARY TABLE {STAGE_WITHDRAWN} (upn varchar(13) NOT NULL, "
                "date date NOT NULL, session varchar(2) NOT NULL, "
                f"previous_code varchar(2) NOT NULL){suffix}"
            )
        )

    def _drop_stage(self) -> None:
        if not self._postgres:
            self._conn.execute(text(f"DROP TABLE {STAGE}"))
            self._conn.execute(text(f"DROP TABLE {STAGE_WITHDRAWN}"))

    def _fill_stage(self, marks: Sequence[MarkRow]) -> None:
        if not marks:
            return
        if self._postgres:
            self._copy(
                f"{STAGE} (upn, date, session, code)",
                ["text", "date", "text", "text"],
                ((u, d, s, c) for u, d, s, c, _ref in marks),
            )
            return
        self._conn.exec_driver_sql(
            f"INSERT INTO {STAGE} (upn, date, session, code) VALUES (?, ?, ?, ?)",
            [(u, d.isoformat(), s, c) for u, d, s, c, _ in marks],
        )

    def _marks_stored(self, urn: str, upns: Iterable[str], span: DateRange) -> bool:
        """Whether any of these pupils has a stored mark at this school within `span`.

        Probes the primary key (school, upn, date) once per pupil, so it costs the same
        however many marks the school already holds outside the span.
        """
        pupils = sorted(set(upns))
        # PostgreSQL takes the pupils as one array parameter (a 1,500-value IN list costs
        # more to build and parse than the probe itself); SQLite gets IN lists in chunks.
        chunks = [pupils] if self._postgres else _chunks(pupils)
        for chunk in chunks:
            pupil = (
                MARK_DAYS.c.upn == any_(literal(chunk, ARRAY(String)))
                if self._postgres
                else MARK_DAYS.c.upn.in_(chunk)
            )
            found = self._conn.execute(
                select(MARK_DAYS.c.upn)
                .where(
                    MARK_DAYS.c.school_urn == urn,
                    pupil,
                    MARK_DAYS.c.date.between(span.start, span.end),
                )
                .limit(1)
            ).first()
            if found is not None:
                return True
        return False

    def write_marks(
        self,
        urn: str,
        marks: Sequence[MarkRow],
        replace_range: DateRange | None,
        return_id: str,
        *,
        span: DateRange | None,
        roll: Iterable[str],
    ) -> MarksWritten:
        """Merge a return's marks into the register; withdraw absent ones in `replace_range`.

        `marks` are sorted, as `validate_return` leaves them. `span` is every day the
        return speaks for; `roll` the UPNs of the stored roll (the only pupils who can
        have stored marks to withdraw). Call under the school lock. When none of the
        pupils concerned has a stored mark in the span — a backfill, or the first return
        of a new day — every mark is new and nothing can be withdrawn, so they are written
        straight into `ingest_mark_day` (COPY on PostgreSQL). Otherwise they go through
        the staging merge, leaving the changes to publish in its tables.
        """
        concerned = set(map(itemgetter(0), marks))
        if replace_range is not None:
            concerned.update(roll)
        if span is None or not self._marks_stored(urn, concerned, span):
            self._insert_marks(urn, marks, return_id)
            return MarksWritten(MarkCounts(len(marks), 0, 0, 0), direct=marks)
        return MarksWritten(self._merge_marks(urn, marks, replace_range, return_id), None)

    def _insert_marks(self, urn: str, marks: Sequence[MarkRow], return_id: str) -> None:
        if not marks:
            return
        days = _register_days(marks, return_id)
        if self._postgres:
            self._copy(
                "ingest_mark_day (school_urn, upn, date, am_code, am_return_id, pm_code, "
                "pm_return_id)",
                ["text", "text", "date", "text", "text", "text", "text"],
                ((urn, *day) for day in days),
            )
            return
        columns = ("upn", "date", "am_code", "am_return_id", "pm_code", "pm_return_id")
        self._insert_chunked(
            MARK_DAYS, ({"school_urn": urn, **dict(zip(columns, day, strict=True))} for day in days)
        )

    def _copy(self, target: str, types: list[str], rows: Iterable[tuple[object, ...]]) -> None:
        """COPY rows into `target` ("table (columns)") in binary format (PostgreSQL)."""
        raw = self._conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {target} FROM STDIN (FORMAT binary)") as copy,
        ):
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)

    def _insert_chunked(self, table: Table, rows: Iterable[dict[str, object]]) -> None:
        """executemany INSERT a chunk at a time, so no list of every row is built."""
        chunk: list[dict[str, object]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == _CHUNK:
                self._conn.execute(table.insert(), chunk)
                chunk = []
        if chunk:
            self._conn.execute(table.insert(), chunk)

    def _merge_marks(
        self,
        urn: str,
        marks: Sequence[MarkRow],
        replace_range: DateRange | None,
        return_id: str,
    ) -> MarkCounts:
        self._create_stage()
        self._fill_stage(marks)
        params = {"urn": urn, "rid": return_id}
        stored = f"CASE {STAGE}.session WHEN 'AM' THEN m.am_code ELSE m.pm_code END"
        self._conn.execute(
            text(
                f"UPDATE {STAGE} SET previous_code = {stored}, existed = {stored} IS NOT NULL "
                "FROM ingest_mark_day m WHERE m.school_urn = :urn "
                f"AND m.upn = {STAGE}.upn AND m.date = {STAGE}.date"
            ),
            params,
        )
        inserted, changed, unchanged = self._conn.execute(
            text(
                f"SELECT coalesce(sum(CASE WHEN NOT existed THEN 1 ELSE 0 END), 0), "
                f"coalesce(sum(CASE WHEN existed AND previous_code <> code THEN 1 ELSE 0 END), 0), "
                f"coalesce(sum(CASE WHEN existed AND previous_code = code THEN 1 ELSE 0 END), 0) "
                f"FROM {STAGE}"
            )
        ).one()
        withdrawn = 0
        if replace_range is not None:
            withdrawn = self._withdraw_absent(urn, replace_range)
        # One statement per session column; `WHERE` before ON CONFLICT lets SQLite parse it.
        for session, column in (("AM", "am"), ("PM", "pm")):
            self._conn.execute(
                text(
                    f"INSERT INTO ingest_mark_day (school_urn, upn, date, {column}_code, "
                    f"{column}_return_id) SELECT :urn, upn, date, code, :rid FROM {STAGE} "
                    f"WHERE session = '{session}' AND (NOT existed OR previous_code <> code) "
                    "ON CONFLICT (school_urn, upn, date) DO UPDATE "
                    f"SET {column}_code = excluded.{column}_code, "
                    f"{column}_return_id = excluded.{column}_return_id"
                ),
                params,
            )
        return MarkCounts(int(inserted), int(changed), int(unchanged), int(withdrawn))

    def _withdraw_absent(self, urn: str, replace_range: DateRange) -> int:
        """Withdraw the stored marks in `replace_range` the staged return does not hold,
        noting each in the withdrawn stage; returns how many."""
        params = {"urn": urn, "start": replace_range.start, "end": replace_range.end}
        for session, column in (("AM", "am"), ("PM", "pm")):
            self._conn.execute(
                text(
                    f"INSERT INTO {STAGE_WITHDRAWN} (upn, date, session, previous_code) "
                    f"SELECT m.upn, m.date, '{session}', m.{column}_code FROM ingest_mark_day m "
                    "WHERE m.school_urn = :urn AND m.date BETWEEN :start AND :end "
                    f"AND m.{column}_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {STAGE} s "
                    f"WHERE s.upn = m.upn AND s.date = m.date AND s.session = '{session}')"
                ),
                params,
            )
            self._conn.execute(
                text(
                    f"UPDATE ingest_mark_day SET {column}_code = NULL, {column}_return_id = NULL "
                    f"WHERE school_urn = :urn AND EXISTS (SELECT 1 FROM {STAGE_WITHDRAWN} w "
                    "WHERE w.upn = ingest_mark_day.upn AND w.date = ingest_mark_day.date "
                    f"AND w.session = '{session}')"
                ),
                params,
            )
        self._conn.execute(
            text(
                "DELETE FROM ingest_mark_day WHERE school_urn = :urn "
                "AND date BETWEEN :start AND :end AND am_code IS NULL AND pm_code IS NULL"
            ),
            params,
        )
        return int(self._conn.execute(text(f"SELECT count(*) FROM {STAGE_WITHDRAWN}")).scalar_one())

    def publish_changes(
        self,
        urn: str,
        pupils: Sequence[Pupil],
        marks: MarksWritten,
        return_id: str,
        recorded_at: datetime,
    ) -> None:
        """Append this return's changes to the feed. Call last: it takes the feed lock."""
        self._lock_feed()
        table = CHANGES
        if pupils:
            self._conn.execute(
                table.insert(),
                [
                    {
                        "kind": "enrolment.upserted",
                        "recorded_at": recorded_at,
                        "school_urn": urn,
                        "upn": p.upn,
                        "return_id": return_id,
                        "enrolment": p.to_enrolment(urn).model_dump_json(),
                    }
                    for p in pupils
                ],
            )
        if marks.direct is not None:
            self._publish_new_marks(urn, marks.direct, return_id, recorded_at)
            return
        params = {"urn": urn, "rid": return_id, "at": recorded_at}
        self._conn.execute(
            text(
                "INSERT INTO ingest_change (kind, recorded_at, school_urn, upn, date, session, "
                "code, previous_code, return_id) "
                "SELECT 'mark.upserted', :at, :urn, upn, date, session, code, previous_code, :rid "
                f"FROM {STAGE} WHERE NOT existed OR previous_code <> code "
                "ORDER BY upn, date, session"
            ),
            params,
        )
        self._conn.execute(
            text(
                "INSERT INTO ingest_change (kind, recorded_at, school_urn, upn, date, session, "
                "previous_code, return_id) "
                "SELECT 'mark.withdrawn', :at, :urn, upn, date, session, previous_code, :rid "
                f"FROM {STAGE_WITHDRAWN} ORDER BY upn, date, session"
            ),
            params,
        )
        self._drop_stage()

    def _publish_new_marks(
        self, urn: str, marks: Sequence[MarkRow], return_id: str, recorded_at: datetime
    ) -> None:
        """mark.upserted for marks written directly: a run per pupil, pupils in UPN order."""
        if not marks:
            return
        last = self._reserve_sequences(len(marks))
        rows = _numbered_runs(marks, first=last - len(marks) + 1)
        if self._postgres:
            self._copy(
                "ingest_change (sequence, kind, recorded_at, school_urn, upn, return_id, marks)",
                ["int8", "text", "timestamptz", "text", "text", "text", "text"],
                (
                    (sequence, "mark.upserted", recorded_at, urn, upn, return_id, run)
                    for sequence, upn, run in rows
                ),
            )
            return
        self._insert_chunked(
            CHANGES,
            (
                {
                    "sequence": sequence,
                    "kind": "mark.upserted",
                    "recorded_at": recorded_at,
                    "school_urn": urn,
                    "upn": upn,
                    "return_id": return_id,
                    "marks": run,
                }
                for sequence, upn, run in rows
            ),
        )

    def _reserve_sequences(self, count: int) -> int:
        """Reserve the next `count` feed numbers; returns the last. Call under the feed lock.

        A run's row carries the last of its numbers, so a row added later by default
        (PostgreSQL's next sequence value, SQLite's largest key plus one) follows it.
        """
        if self._postgres:
            return int(
                self._conn.execute(
                    text(
                        "SELECT setval(s::regclass, nextval(s::regclass) + :n - 1) "
                        "FROM pg_get_serial_sequence('ingest_change', 'sequence') AS s"
                    ),
                    {"n": count},
                ).scalar_one()
            )
        last = self._conn.execute(select(func.coalesce(func.max(CHANGES.c.sequence), 0)))
        return int(last.scalar_one()) + count

    def remove_from_roll(self, urn: str, upn: str, return_id: str, recorded_at: datetime) -> int:
        """Take a pupil off a school's stored roll as a correction, with all its marks.

        Each mark is withdrawn on the record (`mark.withdrawn`, its code kept as the
        previous one) before `enrolment.removed`, so the history and the feed keep what
        was there. Call under the school lock, last (it takes the feed lock). Returns the
        number of marks withdrawn.
        """
        self._lock_feed()
        pupil = {"urn": urn, "upn": upn, "rid": return_id, "at": recorded_at}
        withdrawn = self._conn.execute(
            text(
                "INSERT INTO ingest_change (kind, recorded_at, school_urn, upn, date, session, "
                "previous_code, return_id) "
                "SELECT 'mark.withdrawn', :at, :urn, upn, date, session, code, :rid FROM ("
                f"{_sessions('school_urn = :urn AND upn = :upn')}) m ORDER BY date, session"
            ),
            pupil,
        ).rowcount
        self._conn.execute(
            CHANGES.insert().values(
                kind="enrolment.removed",
                recorded_at=recorded_at,
                school_urn=urn,
                upn=upn,
                return_id=return_id,
            )
        )
        self._conn.execute(
            MARK_DAYS.delete().where(MARK_DAYS.c.school_urn == urn, MARK_DAYS.c.upn == upn)
        )
        self._conn.execute(
            ENROLMENTS.delete().where(ENROLMENTS.c.school_urn == urn, ENROLMENTS.c.upn == upn)
        )
        return int(withdrawn)

    def unresolved_n(
        self, urn: str, before: date, limit: int
    ) -> tuple[list[tuple[str, date, str]], int]:
        """Stored `N` marks of a school dated before `before`: the first `limit`, and how many."""
        # The code is a literal, not a parameter, so even a prepared (generic) plan
        # matches the partial index of days with an N (`UNRESOLVED_N`).
        params = {"urn": urn, "before": before, "limit": limit}
        days = "school_urn = :urn AND date < :before"
        unresolved = _sessions(days, "= 'N'")
        total = self._conn.execute(
            text(
                "SELECT coalesce(sum(CASE WHEN am_code = 'N' THEN 1 ELSE 0 END "
                "+ CASE WHEN pm_code = 'N' THEN 1 ELSE 0 END), 0) FROM ingest_mark_day "
                f"WHERE {days} AND ({UNRESOLVED_N})"
            ),
            params,
        ).scalar_one()
        rows = self._conn.execute(
            text(
                f"SELECT upn, date, session FROM ({unresolved}) n "
                "ORDER BY date, upn, session LIMIT :limit"
            ).columns(upn=String, date=Date, session=String),
            params,
        ).all()
        return [(r[0], r[1], r[2]) for r in rows], int(total)

    # --- reads ----------------------------------------------------------------------

    def marks_of_pupil(self, urn: str, upn: str, windows: Sequence[DateRange]) -> list[CurrentMark]:
        """The current marks of one pupil at one school within `windows`, by date, session."""
        m = MARK_DAYS.c
        query = select(m.date, m.am_code, m.am_return_id, m.pm_code, m.pm_return_id).where(
            m.school_urn == urn, m.upn == upn, _within(m.date, windows)
        )
        marks: list[CurrentMark] = []
        for day, am_code, am_return, pm_code, pm_return in self._conn.execute(
            query.order_by(m.date)
        ):
            if am_code is not None:
                marks.append(CurrentMark(day, "AM", am_code, am_return))
            if pm_code is not None:
                marks.append(CurrentMark(day, "PM", pm_code, pm_return))
        return marks

    def history_of_pupil(
        self, urn: str, upn: str, windows: Sequence[DateRange]
    ) -> list[tuple[FeedChange, str | None]]:
        """Every mark change of one pupil at one school, with the client that made it."""
        query = (
            select(*_FEED_COLUMNS, RETURNS.c.client_id)
            .join(RETURNS, RETURNS.c.id == CHANGES.c.return_id, isouter=True)
            .where(
                CHANGES.c.school_urn == urn,
                CHANGES.c.upn == upn,
                CHANGES.c.kind.in_(("mark.upserted", "mark.withdrawn")),
                or_(CHANGES.c.marks.is_not(None), _within(CHANGES.c.date, windows)),
            )
            .order_by(CHANGES.c.sequence)
        )
        out: list[tuple[FeedChange, str | None]] = []
        for *columns, run, client in self._conn.execute(query):
            change = FeedChange(*columns)
            if run is None:
                out.append((change, client))
                continue
            out += [(m, client) for m in _expand(change, run) if any(m.date in w for w in windows)]
        return out

    def changes(self, after: int, limit: int) -> list[FeedChange]:
        """At most `limit` feed entries after sequence `after`, in order, runs expanded."""
        out: list[FeedChange] = []
        position = after
        batch = FIRST_FEED_ROWS
        while len(out) < limit:
            # Each row numbers at least one change after `after` (a run's row carries its
            # last number), so the rows still wanted never exceed the changes still
            # wanted; but a run may hold hundreds, so rows are read in growing batches
            # rather than a page's worth of runs read to use a few.
            batch = min(batch, limit - len(out))
            rows = self._conn.execute(
                select(*_FEED_COLUMNS)
                .where(CHANGES.c.sequence > position)
                .order_by(CHANGES.c.sequence)
                .limit(batch)
            ).all()
            for *columns, run in rows:
                change = FeedChange(*columns)
                position = change.sequence
                if run is None:
                    out.append(change)
                else:
                    out.extend(_expand(change, run, after=after, room=limit - len(out)))
                if len(out) >= limit:
                    break
            if len(rows) < batch:
                break
            batch *= 4
        return out


def _sessions(where: str, code: str = "IS NOT NULL") -> str:
    """SQL giving (upn, date, session, code) for each session of the register days that
    `where` picks whose code satisfies `code`."""
    return (
        f"SELECT upn, date, 'AM' AS session, am_code AS code FROM ingest_mark_day "
        f"WHERE {where} AND am_code {code} UNION ALL "
        f"SELECT upn, date, 'PM', pm_code FROM ingest_mark_day WHERE {where} AND pm_code {code}"
    )


RegisterDay = tuple[str, date, str | None, str | None, str | None, str | None]
"""(upn, date, AM code, its return id, PM code, its return id): a row of ingest_mark_day."""


def _register_days(marks: Sequence[MarkRow], return_id: str) -> Iterator[RegisterDay]:
    """The register days of sorted marks, all from one return."""
    for (upn, day), sessions in groupby(marks, key=itemgetter(0, 1)):
        am: str | None = None
        pm: str | None = None
        for _upn, _day, session, code, _ref in sessions:
            if session == "AM":
                am = code
            else:
                pm = code
        yield (
            upn,
            day,
            am,
            return_id if am is not None else None,
            pm,
            return_id if pm is not None else None,
        )


def _numbered_runs(marks: Sequence[MarkRow], first: int) -> Iterator[tuple[int, str, str]]:
    """(sequence, upn, run text) of each pupil's sorted marks, numbered from `first`: a
    run's sequence is its last number."""
    sequence = first - 1
    for run in mark_runs.runs(marks):
        sequence += run.count
        yield sequence, run.upn, run.text


def _expand(
    run: FeedChange, text: str, *, after: int = 0, room: int | None = None
) -> list[FeedChange]:
    """The changes a run's row (`run`, its marks `text`) numbers, one per mark, in
    order: those after sequence `after`, at most `room` of them."""
    marks = mark_runs.unpack(text)
    first = run.sequence - len(marks) + 1
    skip = max(0, after + 1 - first)
    wanted = marks[skip:] if room is None else marks[skip : skip + room]
    return [
        replace(run, sequence=first + skip + offset, date=day, session=session, code=code)
        for offset, (day, session, code) in enumerate(wanted)
    ]


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _within(column: ColumnElement[date], windows: Sequence[DateRange]) -> ColumnElement[bool]:
    return or_(false(), *[column.between(w.start, w.end) for w in windows])


_SEN_PROVISION = {p.value: p for p in SenProvision}
_ENROLMENT_STATUS = {s.value: s for s in EnrolmentStatus}


def _enrolment_row(urn: str, p: Pupil, return_id: str) -> dict[str, object]:
    return {
        "school_urn": urn,
        "upn": p.upn,
        "upn_temporary": p.upn_temporary,
        "legal_surname": p.legal_surname,
        "legal_forename": p.legal_forename,
        "date_of_birth": p.date_of_birth,
        "gender": p.gender,
        "nc_year": p.nc_year,
        "sen_provision": p.sen_provision.value,
        "fsm_eligible": p.fsm_eligible,
        "ethnicity": p.ethnicity,
        "enrolment_status": p.enrolment_status.value,
        "entry_date": p.entry_date,
        "leaving_date": p.leaving_date,
        "earlier_stays": STAYS_JSON.dump_json(
            [Stay(entry_date=lo, leaving_date=hi) for lo, hi in p.earlier_stays]
        ).decode(),
        "return_id": return_id,
    }


def _stays(stored: str) -> tuple[tuple[date, date], ...]:
    return tuple((s.entry_date, s.leaving_date) for s in stays_from_json(stored))


def warnings_json(warnings: Iterable[object]) -> str:
    """Serialise receipt warnings for the `warnings` column."""
    return json.dumps(list(warnings), default=str)
