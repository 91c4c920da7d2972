"""Queries over the read model, constructed with a connection, named for what they answer.

Every aggregate follows DfE's order of work: sum each enrolment's sessions over the
period (adding the largest buckets that fit), drop enrolments without possible
sessions, judge persistent and severe absence per enrolment, then group.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    Date,
    Engine,
    Integer,
    Select,
    String,
    Subquery,
    Table,
    and_,
    case,
    cast,
    create_engine,
    event,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)

from services.metrics.domain.buckets import decompose, window
from services.metrics.domain.calendar import Period
from services.metrics.domain.early_warning import PatternFacts
from services.metrics.domain.measures import (
    COUNT_COLUMNS,
    PERSISTENT_PERCENT,
    SEVERE_PERCENT,
    GroupMeasures,
    Population,
    SessionCounts,
)
from services.metrics.domain.reach import Slice
from services.metrics.store import week_columns
from services.metrics.store.projection import (
    HEADLINE,
    day_t,
    enrolment_t,
    mark_t,
    week_t,
    year_t,
)
from services.metrics.store.pupil_rows import (
    ROW_COLUMNS,
    EnrolmentRow,
    Mark,
    enrolment_rows,
    marks_of_enrolments,
)
from services.metrics.store.ranges import IntArray, Ranges
from services.metrics.store.week_columns import Source, WeekColumns
from shared.sql import one_of, values_table

GROUP_COLUMNS = {
    "school": "school_urn",
    "nc_year": "nc_year",
    "gender": "gender",
    "sen_provision": "sen_provision",
    "fsm_eligible": "fsm_eligible",
    "ethnicity_group": "ethnicity_group",
    "upn": "upn",
}
"""Group-by names the read model answers itself, and their enrolment columns."""


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

_ALONGSIDE_THREADS = 4
_ALONGSIDE = ThreadPoolExecutor(_ALONGSIDE_THREADS, thread_name_prefix="metrics-alongside")
"""Threads for reads run alongside a request's own (`MetricsRepository.alongside`); their
work is waiting on PostgreSQL, so a few serve every request of the process."""

_side_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_sides: weakref.WeakSet[Engine] = weakref.WeakSet()
_side_engines_lock = threading.Lock()


def _side_engine(engine: Engine) -> Engine:
    """The engine reads alongside use for `engine`'s database (itself, for such an
    engine), disposed with it.

    Its pool is its own, two connections for each thread (a read alongside may open a
    consistent reader, `MetricsRepository._consistent_reader`): the requests waiting on
    those reads may hold every connection of `engine`'s pool, and a read waiting for one
    of them would wait until the pool's timeout.
    """
    with _side_engines_lock:
        if engine in _sides:
            return engine
        side = _side_engines.get(engine)
        if side is None:
            side = create_engine(
                engine.url, pool_size=2 * _ALONGSIDE_THREADS, max_overflow=0, pool_pre_ping=True
            )
            _side_engines[engine] = side
            _sides.add(side)
            event.listen(engine, "engine_disposed", lambda _engine: side.dispose())
        return side


class MetricsRepository:
    """Read-model queries for one connection (one request's transaction)."""

    def __init__(self, connection: Connection, held: WeekColumns | None = None) -> None:
        """`held`: the week rows held for the connection's database (default: those its
        engine holds, `store.week_columns`)."""
        self.connection = connection
        self._held = held or week_columns.for_engine(connection.engine)
        # One per repository (one question): the held reads probe what changed once.
        self._source = Source(connection, self._consistent_reader)
        if connection.dialect.name == "postgresql":
            # For this request's transaction only (set_config's `true`, as SET LOCAL), in
            # one round trip: per-enrolment sums over a whole LA are hashed in memory
            # rather than sorted on disk (the 4 MB default spills); and index lookups per
            # enrolment cost little more than sequential reads on SSD or cached pages, so
            # at the default 4.0 (spinning disks) the planner scans the whole week table
            # for a few thousand enrolments (measured: 9 ms vs 44 ms).
            connection.execute(
                text(
                    "SELECT set_config('work_mem', '64MB', true),"
                    " set_config('random_page_cost', '1.1', true)"
                )
            )

    def alongside(self, read: Callable[[MetricsRepository], T]) -> Future[T]:
        """`read` with a repository of its own, concurrently with this one's statements.

        It reads the same held weeks as this one. On PostgreSQL it runs on a connection
        of its own (`_side_engine`), in its own transaction (a request reads at READ
        COMMITTED, each statement under its own snapshot, so a read alongside sees no
        less consistent a state than one more statement would).
        On SQLite it runs here and now: every transaction there takes the write lock
        (`shared.db`), so a second one would wait for this one. So it does when the
        engine holds the read model in memory (`store.week_columns`), which then answers
        the reads run alongside: a thread would only wait for this one's interpreter lock.
        """
        if self.connection.dialect.name != "postgresql" or self._held is not None:
            done: Future[T] = Future()
            try:
                done.set_result(read(self))
            except Exception as exc:  # raised where the caller asks for the result
                done.set_exception(exc)
            return done
        engine = _side_engine(self.connection.engine)

        def on_own_connection() -> T:
            with engine.connect() as connection, connection.begin():
                return read(MetricsRepository(connection, self._held))

        return _ALONGSIDE.submit(on_own_connection)

    @contextmanager
    def _consistent_reader(self) -> Iterator[Connection]:
        """A connection whose statements all see one state of the database: on PostgreSQL
        a REPEATABLE READ transaction of its own; on SQLite this one (a transaction there
        is serialisable, and holds the write lock a second would wait for)."""
        if self.connection.dialect.name != "postgresql":
            yield self.connection
            return
        with _side_engine(self.connection.engine).connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection

    def _in_schools(self, column: Any, schools: Sequence[str] | None) -> ColumnElement[bool]:
        """`column` (an enrolment id) belongs to one of the schools (None: any school)."""
        if schools is None:
            return literal(True)
        ids = select(enrolment_t.c.id).where(
            one_of(self.connection, enrolment_t.c.school_urn, sorted(schools))
        )
        return column.in_(ids.scalar_subquery())  # type: ignore[no-any-return]

    def _per_enrolment(
        self, slices: Sequence[Slice], population: Population = Population.HEADLINE
    ) -> Subquery:
        """Per enrolment as DfE counts them (each stay of a pupil who left and came back
        is one) with possible sessions of `population`: its counts summed over its slices."""
        parts: list[Select[Any]] = []

        def part(table: Any, where: ColumnElement[bool], schools: Any) -> Select[Any]:
            return select(
                table.c.enrolment_id, table.c.stay_entry, *(table.c[c] for c in COUNT_COLUMNS)
            ).where(
                where,
                table.c.population == population.value,
                self._in_schools(table.c.enrolment_id, schools),
            )

        one = self._one_bucket(slices)
        if one is not None:  # its rows are already per enrolment: nothing to sum
            table, where = one
            only = part(table, where, slices[0].schools)
            return only.where(table.c.sess_possible > 0).subquery("per_enrolment")
        for piece in slices:
            buckets = decompose(piece.period)
            if buckets.years:
                where = year_t.c.academic_year.between(*buckets.years)
                parts.append(part(year_t, where, piece.schools))
            for first, last in buckets.weeks:
                where = week_t.c.week_start.between(first, last)
                parts.append(part(week_t, where, piece.schools))
            for days in buckets.days:
                where = day_t.c.date.between(days.start, days.end)
                parts.append(part(day_t, where, piece.schools))
        if not parts:  # nothing within reach: an empty result of the right shape
            parts.append(part(day_t, literal(False), ()))
        rows = union_all(*parts).subquery("buckets") if len(parts) > 1 else parts[0].subquery()
        return (
            select(
                rows.c.enrolment_id,
                rows.c.stay_entry,
                *(func.sum(rows.c[c]).label(c) for c in COUNT_COLUMNS),
            )
            .group_by(rows.c.enrolment_id, rows.c.stay_entry)
            .having(func.sum(rows.c.sess_possible) > 0)
            .subquery("per_enrolment")
        )

    @staticmethod
    def _measure_columns(per: Any) -> list[Any]:
        overall = per.c.sess_authorised + per.c.sess_unauthorised
        possible = per.c.sess_possible
        return [
            func.count().label("enrolments"),
            *(func.sum(per.c[c]).label(c) for c in COUNT_COLUMNS),
            func.sum(case((overall * 100 >= possible * PERSISTENT_PERCENT, 1), else_=0)).label(
                "persistent"
            ),
            func.sum(case((overall * 100 >= possible * SEVERE_PERCENT, 1), else_=0)).label(
                "severe"
            ),
        ]

    @staticmethod
    def _measures(row: Any) -> GroupMeasures:
        m = row._mapping
        counts = SessionCounts.of({c: m[c] for c in COUNT_COLUMNS})
        return GroupMeasures(int(m["enrolments"]), counts, int(m["persistent"]), int(m["severe"]))

    @staticmethod
    def _one_bucket(slices: Sequence[Slice]) -> tuple[Table, ColumnElement[bool]] | None:
        """The table and condition when the slices are one period that is one bucket per
        enrolment (a whole academic year, or one whole week), else None: a bucket table's
        key is (enrolment, bucket, stay)."""
        if len(slices) != 1:
            return None
        buckets = decompose(slices[0].period)
        if buckets.years and not buckets.weeks and not buckets.days:
            first, last = buckets.years
            return (year_t, year_t.c.academic_year == first) if first == last else None
        if len(buckets.weeks) == 1 and not buckets.years and not buckets.days:
            first_week, last_week = buckets.weeks[0]
            if first_week == last_week:
                return week_t, week_t.c.week_start == first_week
        return None

    def grouped_measures(
        self,
        slices: Sequence[Slice],
        group_by: Sequence[str],
        population: Population = Population.HEADLINE,
    ) -> list[tuple[tuple[str, ...], GroupMeasures]]:
        """Measures of `population` per combination of `group_by` (keys of
        GROUP_COLUMNS), cells only: from the week rows held in memory when the engine
        holds them (`store.week_columns`) and they can answer, else in SQL."""
        held = self._held
        if held is not None:
            found = held.grouped_measures(
                self._source,
                slices,
                [GROUP_COLUMNS[g] for g in group_by],
                population,
            )
            if found is not None:
                return found
        dims = [enrolment_t.c[GROUP_COLUMNS[g]] for g in group_by]
        one = self._one_bucket(slices)
        if one is not None:
            # A whole academic year (the common question): one join to the enrolments,
            # filtered by school, and group (no per-enrolment sums, one enrolment scan).
            table, where = one
            schools = slices[0].schools
            stmt = (
                select(*dims, *self._measure_columns(table))
                .select_from(table.join(enrolment_t, enrolment_t.c.id == table.c.enrolment_id))
                .where(
                    where,
                    table.c.sess_possible > 0,
                    table.c.population == population.value,
                    literal(True)
                    if schools is None
                    else one_of(self.connection, enrolment_t.c.school_urn, sorted(schools)),
                )
                .group_by(*dims)
            )
        else:
            per = self._per_enrolment(slices, population)
            stmt = (
                select(*dims, *self._measure_columns(per))
                .select_from(per.join(enrolment_t, enrolment_t.c.id == per.c.enrolment_id))
                .group_by(*dims)
            )
        return [
            (tuple(_value(v) for v in row[: len(dims)]), self._measures(row))
            for row in self.connection.execute(stmt)
            if row.enrolments  # no GROUP BY: one all-NULL row over no enrolments
        ]

    def weekly_measures(
        self,
        slices: Sequence[Slice],
        group_by: Sequence[str],
        population: Population = Population.HEADLINE,
    ) -> list[tuple[dt.date, tuple[str, ...], GroupMeasures]]:
        """Measures of `population` per Monday-start week starting in a slice, per
        `group_by` combination.

        Persistent absence is judged per enrolment per week. From the held week rows
        when they can answer, as `grouped_measures`.
        """
        held = self._held
        if held is not None:
            found = held.weekly_measures(
                self._source,
                slices,
                [GROUP_COLUMNS[g] for g in group_by],
                population,
            )
            if found is not None:
                return found
        dims = [enrolment_t.c[GROUP_COLUMNS[g]] for g in group_by]
        parts = [
            select(week_t).where(
                week_t.c.week_start.between(piece.period.start, piece.period.end),
                week_t.c.sess_possible > 0,
                week_t.c.population == population.value,
                self._in_schools(week_t.c.enrolment_id, piece.schools),
            )
            for piece in slices
        ] or [select(week_t).where(literal(False))]
        per = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("weeks")
        stmt = (
            select(per.c.week_start, *dims, *self._measure_columns(per))
            .select_from(per.join(enrolment_t, enrolment_t.c.id == per.c.enrolment_id))
            .group_by(per.c.week_start, *dims)
            .order_by(per.c.week_start)
        )
        return [
            (row[0], tuple(_value(v) for v in row[1 : 1 + len(dims)]), self._measures(row))
            for row in self.connection.execute(stmt)
        ]

    def enrolment_counts(self, slices: Sequence[Slice]) -> dict[int, SessionCounts]:
        """Each enrolment row's counts over its slices, every stay of a pupil who came
        back summed (pupil views show a pupil at a school as one); enrolments with
        possible sessions only."""
        found: dict[int, SessionCounts] = {}
        for row in self.connection.execute(select(self._per_enrolment(slices))):
            counts = SessionCounts.of(dict(row._mapping))
            earlier = found.get(row.enrolment_id)
            found[row.enrolment_id] = counts if earlier is None else earlier + counts
        return found

    def enrolments(
        self,
        schools: Sequence[str] | None,
        *,
        ids: Sequence[int] | None = None,
        upn: str | None = None,
        filters: dict[str, str] | None = None,
        or_upns: Sequence[str] = (),
    ) -> list[EnrolmentRow]:
        """Enrolments of the schools, and of the pupils `or_upns` at any school; optionally
        only `ids`, one UPN, or given characteristics."""
        stmt = select(*(enrolment_t.c[c] for c in ROW_COLUMNS)).order_by(enrolment_t.c.id)
        if schools is not None:
            stmt = stmt.where(
                or_(
                    one_of(self.connection, enrolment_t.c.school_urn, sorted(schools)),
                    one_of(self.connection, enrolment_t.c.upn, sorted(or_upns)),
                )
            )
        if ids is not None:
            stmt = stmt.where(enrolment_t.c.id.in_(sorted(ids)))
        if upn is not None:
            stmt = stmt.where(enrolment_t.c.upn == upn)
        for name, value in (filters or {}).items():
            column = enrolment_t.c[GROUP_COLUMNS[name]]
            stmt = stmt.where(
                column == (value == "true") if name == "fsm_eligible" else column == value
            )
        return enrolment_rows(self.connection.execute(stmt).all())

    def _window_table(
        self, ranges: Sequence[tuple[int, int, Period]], today: dt.date | None = None
    ) -> CTE | None:
        """Each (key number, enrolment, period) as the rows of its `buckets.window` (read
        as of `today`, if given): kind `y` the academic year in column `y`, `w` a range
        of weeks, `d` days, and to subtract, `n` a range of weeks and `m` days.

        Sent as two tables joined by the server: the ranges naming their period, and each
        distinct period's pieces once (most pupils share their periods, so thousands of
        pupils send a few hundred pieces, not tens of thousands).
        """
        numbers: dict[Period, int] = {}
        rows = [
            (k, e, numbers.setdefault(period, len(numbers)))
            for k, e, period in ranges
            if period.start <= period.end  # an empty period counts nothing
        ]
        if not rows:
            return None
        pieces: list[tuple[int, str, dt.date, dt.date, int]] = []
        for period, n in numbers.items():
            w = window(period, today)
            if w.year is not None:
                pieces.append((n, "y", period.start, period.start, w.year))
            pieces += [
                *((n, "w", a, b, 0) for a, b in w.weeks),
                *((n, "d", q.start, q.end, 0) for q in w.days),
                *((n, "n", a, b, 0) for a, b in w.less_weeks),
                *((n, "m", q.start, q.end, 0) for q in w.less),
            ]
        named = values_table(
            self.connection, "ranges", {"k": Integer(), "e": Integer(), "p": Integer()}, rows
        )
        table = values_table(
            self.connection,
            "pieces",
            {"p": Integer(), "t": String(), "lo": Date(), "hi": Date(), "y": Integer()},
            pieces,
        )
        # A CTE of the join, read once per kind: its dates then bound the bucket index
        # scans, which they do not when joined in each branch.
        return (
            select(named.c.k, named.c.e, table.c.t, table.c.lo, table.c.hi, table.c.y)
            .select_from(named.join(table, table.c.p == named.c.p))
            .cte("window_rows")
        )

    @staticmethod
    def _window_rows(r: CTE, columns: Sequence[str]) -> Subquery:
        """The bucket rows of a window table: key, enrolment, week (Monday; null for a
        year) and `columns`, negated for the rows to subtract."""
        w, d, y = week_t.c, day_t.c, year_t.c

        def signed(table: Any, kind: str, add: str) -> list[Any]:
            return [table[c] if kind == add else (-table[c]).label(c) for c in columns]

        on_weeks = r.join(
            week_t, and_(w.enrolment_id == r.c.e, w.week_start.between(r.c.lo, r.c.hi))
        )
        on_days = r.join(day_t, and_(d.enrolment_id == r.c.e, d.date.between(r.c.lo, r.c.hi)))
        years = (
            select(r.c.k, r.c.e, null().cast(Date).label("week"), *(y[c] for c in columns))
            .select_from(r.join(year_t, and_(y.enrolment_id == r.c.e, y.academic_year == r.c.y)))
            .where(r.c.t == "y", y.population == HEADLINE)
        )
        parts = [
            select(r.c.k, r.c.e, w.week_start.label("week"), *signed(w, kind, "w"))
            .select_from(on_weeks)
            .where(r.c.t == kind, w.population == HEADLINE)
            for kind in ("w", "n")
        ] + [
            select(r.c.k, r.c.e, d.week_start.label("week"), *signed(d, kind, "d"))
            .select_from(on_days)
            .where(r.c.t == kind, d.population == HEADLINE)
            for kind in ("d", "m")
        ]
        return union_all(years, *parts).subquery("counted")

    def window_counts(
        self,
        ranges: Sequence[tuple[str, int, Period]],
        columns: Sequence[str] = COUNT_COLUMNS,
        *,
        today: dt.date | None = None,
    ) -> dict[tuple[str, int], SessionCounts]:
        """Counts per (key, enrolment id) over each enrolment's own periods, all at once.

        From the days held in memory when the engine holds them (`store.week_columns`;
        a view of 2,000 children sums them in a few milliseconds), else in SQL: each
        period reads whole weeks from the week table and only its ragged edges from the
        day table, a year to date as of `today` (default: the real one) its year's row
        (`buckets.window`). Periods of one key and enrolment must not overlap (merge
        them first). Only `columns` are summed (the others read as 0).
        """
        held = self._held
        if held is not None:
            found = held.window_counts(self._source, ranges, columns)
            if found is not None:
                return found
        return self._sql_window_counts(ranges, columns, today or dt.date.today())

    def window_totals(
        self,
        ranges: Ranges,
        slots: int,
        columns: Sequence[str] = COUNT_COLUMNS,
        *,
        today: dt.date | None = None,
    ) -> IntArray:
        """`window_counts` added up by slot, as an array for views of thousands of
        pupils: each range adds its counts `columns` to row `slot` of a (slots, column)
        array. The same rules as `window_counts`; a slot no range names is all zeros."""
        totals = np.zeros((slots, len(columns)), np.int64)
        held = self._held
        if held is not None:
            sums = held.window_sums(self._source, ranges, columns)
            if sums is not None:
                np.add.at(totals, ranges.slot, sums)
                return totals
        for (slot, _), counts in self._sql_window_counts(
            ranges.triples(), columns, today or dt.date.today()
        ).items():
            totals[slot] += [counts[c] for c in columns]
        return totals

    def _sql_window_counts(
        self, ranges: Sequence[tuple[K, int, Period]], columns: Sequence[str], today: dt.date
    ) -> dict[tuple[K, int], SessionCounts]:
        """`window_counts` read by the database."""
        # Keys travel as numbers: grouping by a text column sorts by collation, slowly.
        numbers: dict[K, int] = {}
        r = self._window_table(
            [(numbers.setdefault(key, len(numbers)), e, period) for key, e, period in ranges],
            today,
        )
        if r is None:
            return {}
        u = self._window_rows(r, columns)
        stmt = select(u.c.k, u.c.e, *(func.sum(u.c[c]).label(c) for c in columns)).group_by(
            u.c.k, u.c.e
        )
        keys = list(numbers)
        # Sums of integer columns come back as ints on both backends.
        return {
            (keys[k], e): SessionCounts(dict(zip(columns, sums, strict=True)))
            for k, e, *sums in self.connection.execute(stmt).all()
        }

    def pattern_facts(
        self, ranges: Ranges | Sequence[tuple[int, int, Period]]
    ) -> dict[int, PatternFacts]:
        """The early-warning pattern facts of each group (a pupil: one or more enrolments)
        over its enrolments' periods, `(group, enrolment id, period)` (or `Ranges`, the
        group their slot), in one statement returning one row per group:
        `early_warning.pattern_facts` computed in SQL. Periods of one enrolment must not
        overlap. Groups with no rows are absent. From the days held in memory when the
        engine holds them, as `window_counts`."""
        held = self._held
        if held is not None:
            found = held.pattern_facts(
                self._source,
                ranges
                if isinstance(ranges, Ranges)
                else Ranges.of([(g, e, p.start, p.end) for g, e, p in ranges]),
            )
            if found is not None:
                return found
        if isinstance(ranges, Ranges):
            ranges = ranges.triples()
        r = self._window_table(ranges)
        if r is None:
            return {}
        spans = values_table(
            self.connection,
            "spans",
            {"g": Integer(), "e": Integer(), "lo": Date(), "hi": Date()},
            [(g, e, p.start, p.end) for g, e, p in ranges],
        )
        d = day_t.c
        # Days with absence only, through ix_enrolment_day_absent (its predicate repeated
        # with a literal 0, so a prepared plan can use it); a date on two rolls (dual
        # registration) once.
        absent_dates = (
            select(
                spans.c.g,
                # SQL's day of week counts from Sunday (0); Python's from Monday. An
                # integer, made once per date (PostgreSQL's extract gives a numeric).
                cast(func.extract("dow", d.date), Integer).label("dow"),
                func.sum(d.sess_unauth_noyet).label("noyet"),
            )
            .select_from(
                spans.join(
                    day_t, and_(d.enrolment_id == spans.c.e, d.date.between(spans.c.lo, spans.c.hi))
                )
            )
            .where(
                d.sess_authorised + d.sess_unauthorised > literal_column("0"),
                d.population == HEADLINE,
            )
            .group_by(spans.c.g, d.date)
            .subquery("absent_dates")
        )
        dow = absent_dates.c.dow
        per_date = (
            select(
                absent_dates.c.g,
                func.sum(absent_dates.c.noyet).label("noyet"),
                *(func.count().filter(dow == (wd + 1) % 7) for wd in range(7)),
            )
            .group_by(absent_dates.c.g)
            .subquery("per_date")
        )
        u = self._window_rows(r, ("sess_possible", "sess_authorised", "sess_unauthorised"))
        weeks = (
            select(
                u.c.k.label("g"),
                func.sum(u.c.sess_possible).label("possible"),
                func.sum(u.c.sess_authorised + u.c.sess_unauthorised).label("absent"),
            )
            .group_by(u.c.k, u.c.week)
            .subquery("weeks")
        )
        broken = (
            select(
                weeks.c.g,
                func.sum(
                    case((and_(weeks.c.absent > 0, weeks.c.absent < weeks.c.possible), 1), else_=0)
                ).label("broken"),
            )
            .group_by(weeks.c.g)
            .subquery("broken")
        )
        stmt = select(
            broken.c.g, broken.c.broken, per_date.c.noyet, *list(per_date.c)[2:]
        ).select_from(broken.outerjoin(per_date, per_date.c.g == broken.c.g))
        return {
            int(row[0]): PatternFacts(
                absent_weekdays=tuple(int(n or 0) for n in row[3:10]),
                broken_weeks=int(row[1]),
                unexplained_sessions=int(row[2] or 0),
            )
            for row in self.connection.execute(stmt).all()
        }

    def prepare(self, days: Period, marks: Period) -> None:
        """Bring the read model held in memory (`store.week_columns`) up to what this
        connection sees, holding the days of `days` and the marks of `marks`, so the
        reads about them that follow need not; nothing when none is held."""
        if self._held is not None:
            self._held.refresh(self._source, days, marks)

    def enrolments_of_pupils(self, upns: Sequence[str]) -> list[EnrolmentRow]:
        """Every enrolment of these pupils, at any school, in id order: from the rows held
        in memory when the engine holds them (`store.week_columns`), else in SQL."""
        held = self._held
        if held is not None:
            found = held.enrolments_of_pupils(self._source, upns)
            if found is not None:
                return found
        return self.enrolments([], or_upns=upns)

    def recent_marks(
        self, upns: Sequence[str], period: Period
    ) -> dict[tuple[str, str], tuple[Mark, ...]]:
        """Marks in the period of these pupils at every school they are enrolled at, by
        (school, UPN), in date and session order: from the weeks of marks held in memory
        when the engine holds them and the period spans few enough weeks
        (`store.week_columns`), else in SQL. Enrolments at one school with the same marks
        share one tuple of them (a school's pupils often have the same week): readers may
        publish each tuple once."""
        if not upns:
            return {}
        held = self._held
        if held is not None:
            found = held.recent_marks(self._source, upns, period)
            if found is not None:
                return found
        listed = one_of(self.connection, enrolment_t.c.upn, sorted(set(upns)))
        return {
            (urn, upn): marks
            for _, urn, upn, marks in marks_of_enrolments(self.connection, listed, period)
        }

    def marks(self, school_urn: str, upn: str, period: Period) -> list[tuple[dt.date, str, str]]:
        """The raw register of one enrolment in the period: (date, session, code)."""
        stmt = (
            select(mark_t.c.date, mark_t.c.session, mark_t.c.code)
            .where(
                mark_t.c.school_urn == school_urn,
                mark_t.c.upn == upn,
                mark_t.c.date.between(period.start, period.end),
            )
            .order_by(mark_t.c.date, mark_t.c.session)
        )
        return [(r.date, r.session, r.code) for r in self.connection.execute(stmt)]

    def school_urns(self) -> list[str]:
        """Every school the read model holds enrolments of."""
        stmt = select(enrolment_t.c.school_urn).distinct().order_by(enrolment_t.c.school_urn)
        return list(self.connection.execute(stmt).scalars())

    def school_weeks(self, enrolment_ids: Sequence[int], period: Period) -> list[dt.date]:
        """Weeks (Mondays) in the period in which these enrolments had possible sessions:
        from the weeks held in memory when the engine holds them, else in SQL."""
        held = self._held
        if held is not None:
            found = held.school_weeks(self._source, enrolment_ids, period)
            if found is not None:
                return found
        # The ids as a table joined on the week key: an index range per enrolment (the
        # planner scans the whole table for a long IN list).
        ids = values_table(
            self.connection, "ids", {"e": Integer()}, [(i,) for i in sorted(enrolment_ids)]
        )
        stmt = (
            select(week_t.c.week_start)
            .select_from(ids.join(week_t, week_t.c.enrolment_id == ids.c.e))
            .where(
                week_t.c.week_start.between(period.start, period.end),
                week_t.c.sess_possible > 0,
                week_t.c.population == HEADLINE,
            )
            .distinct()
            .order_by(week_t.c.week_start)
        )
        return list(self.connection.execute(stmt).scalars())
