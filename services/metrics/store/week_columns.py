"""The read model's week rows, held in memory as arrays, for breakdowns over weeks,
weekly series and the children view's per-enrolment reads (window counts over each
child's own spans, pattern facts, school weeks).

A breakdown over a window (six weeks of a term, say) sums each enrolment's sessions
before judging persistent absence, then groups. PostgreSQL does it by aggregating
every week row (180,000 rows x 17 counts for an LA of 30,000 pupils and six weeks:
~160-230 ms); summing the same counts as arrays takes a few milliseconds.

What is held, per academic year asked about, for each enrolment, stay and population:
a byte per count per week (weeks whose Monday falls in that academic year; at most
53), and each day's pattern of counts (two bytes a day, an index into the year's few
hundred distinct days, from the codes the week rows carry): ~50 MB for 30,000 pupils.
`WeekColumns` keeps the `years` most recently asked about. For the children view it also
holds every enrolment's row (`EnrolmentRow`) and the marks of the (at most `MARK_WEEKS`)
weeks asked about, each enrolment's as one tuple shared by a school's pupils with the
same week.

A period is split as the children view splits its spans (`buckets.window`): whole
Monday-to-Sunday weeks summed from the weeks, and edge days added, or taken from a
whole week, from the days (a window from Monday to Friday is its weeks less a weekend).
A whole academic year is left to SQL, which reads one row per enrolment (~30 ms).
The children view's reads instead gather each of a few thousand enrolments' daily counts
over a run of weeks (`_SpanDays`): any span of a child is then one subtraction of
running totals, and the pattern facts a few sums over its days.

Freshness: the projection appends what it changes to `read_model_change` (an enrolment's
buckets of one week, or all of an enrolment), numbered in commit order
(`projection.log_changes`). Each question first reads the last number (one index probe,
once a question however many reads it makes: `Source`); when it moved, the rows named
since are read again, in one transaction with that number (REPEATABLE READ on
PostgreSQL), into copies of the week slots they touch (each week slot is an array of its
own, so a school's register copies one week, not the year), so an answer is never older
than the read model was when it was asked, and a question being answered meanwhile keeps
its own. A gap in the numbers (the log was trimmed past the last one read) or a rebuild
reloads everything; a quarter of a year's enrolments changed whole reloads the year. An
enrolment changed whole has its row, and its marks of the weeks held, read again (a
removed one leaves them); a changed week of an enrolment, its marks of that week.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import weakref
from bisect import bisect_left, bisect_right
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Engine,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
)

from services.metrics.domain.buckets import window
from services.metrics.domain.calendar import Period, academic_year_of
from services.metrics.domain.early_warning import PatternFacts
from services.metrics.domain.measures import (
    COUNT_COLUMNS,
    DAY_CODE_BASE,
    DAY_CODE_WEIGHTS,
    PERSISTENT_PERCENT,
    SEVERE_PERCENT,
    GroupMeasures,
    Population,
    SessionCounts,
    day_code,
)
from services.metrics.domain.reach import Slice
from services.metrics.store.models import DAY_COLUMNS
from services.metrics.store.projection import change_t, enrolment_t, week_t
from services.metrics.store.pupil_rows import (
    ROW_COLUMNS,
    EnrolmentRow,
    Mark,
    enrolment_rows,
    marks_of_enrolments,
)
from services.metrics.store.ranges import IntArray, Ranges
from shared.sql import one_of

WEEKS_IN_YEAR = 53
"""Monday-start weeks whose Monday falls in one academic year (1 September to 31 August)."""

MARK_WEEKS = 4
"""Weeks of marks held at most (the children view's latest days span two)."""

_NOTHING_READ = -1
"""The change number of a state nothing has been read into."""

RELOAD_SHARE = 0.25
"""Reload a whole year rather than patch it when more than this share of its enrolments
changed whole (rebuilt, removed or re-characterised: a replay, a whole roll sent again).
Changed weeks (a whole LA's day) are always patched: a row each."""

_POPULATIONS = {p.value: i for i, p in enumerate(Population)}
_POSSIBLE = COUNT_COLUMNS.index("sess_possible")
_AUTHORISED = COUNT_COLUMNS.index("sess_authorised")
_UNAUTHORISED = COUNT_COLUMNS.index("sess_unauthorised")
_NOYET = COUNT_COLUMNS.index("sess_unauth_noyet")

HELD_COLUMNS = (
    "school_urn",
    "nc_year",
    "gender",
    "sen_provision",
    "fsm_eligible",
    "ethnicity_group",
    "upn",
)
"""The enrolment columns held for grouping; a breakdown by any other is asked of SQL."""

Int32Array = npt.NDArray[np.int32]
"""Rows read from the database: their columns are 32-bit (a year's is ~130 MB so)."""
Piece = tuple[tuple[str, ...] | None, dt.date, dt.date]
"""Schools (None: any) and the first and last Monday of a run of whole weeks."""
EdgeDays = tuple[tuple[str, ...] | None, Period, int]
"""Schools (None: any), days within one week, and 1 to add them or -1 to take them away."""
Reader = Callable[[], AbstractContextManager[Connection]]
"""Opens the connection a refresh reads through: all its statements see one state."""
Cells = list[tuple[tuple[str, ...], GroupMeasures]]


class Source:
    """What one question's held reads stand on: its own connection, asked once how far
    the read model has got, and the reader a refresh reads through.

    The change log's last number is read at the question's first held read and kept for
    the rest: each later read takes the held state if it is at least that new, so the
    answer is never older than the read model was when the question was asked, its reads
    agree with one another, and a question of several reads (the children view makes
    six) probes the log once.
    """

    def __init__(self, connection: Connection, reader: Reader) -> None:
        self.reader = reader
        self._connection = connection
        self._last: int | None = None

    def last_change(self) -> int:
        """The change log's last number as the question first saw it."""
        if self._last is None:
            self._last = (
                self._connection.execute(select(func.max(change_t.c.seq))).scalar_one() or 0
            )
        return self._last


class WeekColumns:
    """Week rows of the `years` most recently asked academic years, every enrolment's
    row, and the marks of the weeks lately asked about, for one database."""

    def __init__(self, years: int) -> None:
        self.max_years = years
        self._columns = list(HELD_COLUMNS)
        self._state = _State(
            _NOTHING_READ, _Enrolments.empty(self._columns), OrderedDict(), _Pupils.of([])
        )
        self._lock = threading.Lock()

    # -- answering -------------------------------------------------------------------

    def grouped_measures(
        self,
        source: Source,
        slices: Sequence[Slice],
        group_by: Sequence[str],
        population: Population,
    ) -> Cells | None:
        """Measures per combination of `group_by` columns (enrolment column names), as
        `MetricsRepository.grouped_measures` gives them; None when the database should
        answer (a slice is a whole academic year, more academic years than kept are
        asked, or a column is not held)."""
        if not set(group_by) <= set(HELD_COLUMNS):
            return None
        pieces: list[Piece] = []
        edges: list[EdgeDays] = []
        for piece in slices:
            split = window(piece.period)
            if split.year is not None:
                return None  # one row per enrolment in SQL already
            pieces += [(piece.schools, first, last) for first, last in split.weeks]
            edges += [(piece.schools, days, 1) for days in split.days]
            edges += [(piece.schools, days, -1) for days in split.less]
        mondays = [d.start - dt.timedelta(days=d.start.weekday()) for _, d, _ in edges]
        years = _years_of([*pieces, *((None, m, m) for m in mondays)])
        if len(years) > self.max_years:
            return None
        state = self._fresh(source, years)
        if state is None:
            return None
        return _measures(state, pieces, edges, years, group_by, population)

    def weekly_measures(
        self,
        source: Source,
        slices: Sequence[Slice],
        group_by: Sequence[str],
        population: Population,
    ) -> list[tuple[dt.date, tuple[str, ...], GroupMeasures]] | None:
        """Measures per Monday-start week starting in a slice and per `group_by`
        combination, as `MetricsRepository.weekly_measures` gives them; None when the
        database should answer (more academic years than kept, a column not held)."""
        if not set(group_by) <= set(HELD_COLUMNS):
            return None
        pieces: list[Piece] = []
        for piece in slices:
            start, end = piece.period.start, piece.period.end
            first = start + dt.timedelta(days=(7 - start.weekday()) % 7)
            last = end - dt.timedelta(days=end.weekday())
            if first <= last:
                pieces.append((piece.schools, first, last))
        years = _years_of(pieces)
        if not pieces:
            return []
        if len(years) > self.max_years:
            return None
        state = self._fresh(source, years)
        return None if state is None else _weekly(state, pieces, years, group_by, population)

    def window_counts(
        self,
        source: Source,
        ranges: Sequence[tuple[str, int, Period]],
        columns: Sequence[str],
    ) -> dict[tuple[str, int], SessionCounts] | None:
        """Headline counts per (key, enrolment id) over that enrolment's periods, every
        stay added, as `MetricsRepository.window_counts` gives them (only `columns`
        summed; pairs with nothing counted absent); None when the database should answer
        (more academic years than kept, an enrolment not held)."""
        sums = self.window_sums(
            source,
            Ranges.of([(i, e, p.start, p.end) for i, (_, e, p) in enumerate(ranges)]),
            columns,
        )
        if sums is None:
            return None
        listed = sums.tolist()
        found: dict[tuple[str, int], SessionCounts] = {}
        for i in np.flatnonzero(sums.any(axis=1)).tolist():
            key, e, _ = ranges[i]
            counts = SessionCounts(dict(zip(columns, listed[i], strict=True)))
            earlier = found.setdefault((key, e), counts)
            if earlier is not counts:  # a key's periods of one enrolment add up
                found[key, e] = earlier + counts
        return found

    def window_sums(
        self, source: Source, ranges: Ranges, columns: Sequence[str]
    ) -> IntArray | None:
        """Headline counts `columns` of each range (its slot aside), every stay added:
        (range, column); None when the database should answer."""
        days = self._days(source, ranges, [COUNT_COLUMNS.index(c) for c in columns])
        return None if days is None else days.sums()

    def pattern_facts(self, source: Source, ranges: Ranges) -> dict[int, PatternFacts] | None:
        """The early-warning pattern facts of each group (a range's slot) over its ranges,
        as `MetricsRepository.pattern_facts` gives them (a group with nothing to tell
        absent); None when the database should answer."""
        days = self._days(source, ranges, [_POSSIBLE, _AUTHORISED, _UNAUTHORISED, _NOYET])
        if days is None:
            return None
        groups, group_of = np.unique(ranges.slot, return_inverse=True)
        n = len(groups)
        weekdays = np.zeros((n, 7), np.int64)
        broken = np.zeros(n, np.int64)
        unexplained = np.zeros(n, np.int64)
        for which, picked in days.picked():
            # A date on two rolls (dual registration) is one date whose sessions add up.
            per_group = np.zeros((n, *picked.shape[1:]), np.int32)
            if len(np.unique(group_of[which])) == len(which):  # a range each: the common case
                per_group[group_of[which]] = picked
            else:
                np.add.at(per_group, group_of[which], picked)
            possible, absent = per_group[..., 0], per_group[..., 1] + per_group[..., 2]
            weekdays += (absent > 0).reshape(n, -1, 7).sum(axis=1)
            week_possible = possible.reshape(n, -1, 7).sum(axis=2)
            week_absent = absent.reshape(n, -1, 7).sum(axis=2)
            broken += ((week_absent > 0) & (week_absent < week_possible)).sum(axis=1)
            unexplained += per_group[..., 3].sum(axis=1)
        told = weekdays.any(axis=1) | (broken > 0) | (unexplained > 0)
        return {
            g: PatternFacts(tuple(dates), b, u)
            for g, dates, b, u in zip(
                groups[told].tolist(),
                weekdays[told].tolist(),
                broken[told].tolist(),
                unexplained[told].tolist(),
                strict=True,
            )
        }

    def school_weeks(
        self,
        source: Source,
        enrolment_ids: Sequence[int],
        period: Period,
    ) -> list[dt.date] | None:
        """The Mondays in `period` of weeks in which these enrolments had headline
        possible sessions, as `MetricsRepository.school_weeks` gives them; None when the
        database should answer."""
        first = period.start + dt.timedelta(days=(7 - period.start.weekday()) % 7)
        last = period.end - dt.timedelta(days=period.end.weekday())
        if first > last:
            return []
        years = _years_of([(None, first, last)])
        if len(years) > self.max_years:
            return None
        state = self._fresh(source, years)
        if state is None:
            return None
        try:
            rows = state.enrolments.rows_of(np.unique(np.array(enrolment_ids, np.int64)))
        except LookupError:
            return None
        found = []
        for monday, held, weeks, keys, _ in _held_weeks(state, rows, first, last):
            found += [
                monday + dt.timedelta(weeks=w)
                for w, counts in enumerate(held.weeks[weeks])
                if (counts[keys, _POSSIBLE] > 0).any()
            ]
        return found

    def enrolments_of_pupils(
        self, source: Source, upns: Sequence[str]
    ) -> list[EnrolmentRow] | None:
        """Every enrolment of these pupils, at any school, in id order, as
        `MetricsRepository.enrolments_of_pupils` gives them; None when the database
        should answer."""
        state = self._fresh(source, ())
        return None if state is None else state.pupils.of_pupils(upns)

    def recent_marks(
        self, source: Source, upns: Sequence[str], period: Period
    ) -> dict[tuple[str, str], tuple[Mark, ...]] | None:
        """The marks in `period` of these pupils' enrolments, by (school, UPN), as
        `MetricsRepository.recent_marks` gives them; None when the database should answer
        (a period of more than `MARK_WEEKS` weeks). The first question of a week reads
        that week's marks of every enrolment; later ones read again only what changed."""
        if period.start > period.end:
            return {}
        mondays = _mondays(period)
        if len(mondays) > MARK_WEEKS:
            return None
        state = self._fresh(source, (), mondays)
        if state is None:
            return None
        weeks = [state.mark_weeks[m] for m in mondays]
        # A school's children share the tuples of their weeks (`marks_of_enrolments`):
        # each distinct tuple is cut to the period once (its marks are in date order),
        # each distinct run of cut tuples joined once, and kept with the state, so the
        # same question asks again gets the same tuples (readers publish each once).
        made = state.marks_made.get(period)
        if made is None:
            if len(state.marks_made) >= _PERIODS_MADE:
                state.marks_made.clear()
            made = state.marks_made[period] = {}
        elif len(made) > _MARKS_MADE:
            made.clear()
        found: dict[tuple[str, str], tuple[Mark, ...]] = {}
        for r in state.pupils.of_pupils(upns):
            parts, sources = [], []
            for week in weeks:
                run = week.get(r.id)
                if run is None:
                    continue
                key: tuple[int, ...] = (id(run),)
                part = made.get(key)
                if part is None:
                    lo = bisect_left(run, period.start, key=_day)
                    hi = bisect_right(run, period.end, key=_day)
                    part = made[key] = run if lo == 0 and hi == len(run) else run[lo:hi]
                if part:
                    parts.append(part)
                    sources.append(id(run))
            if len(parts) == 1:
                found[r.school_urn, r.upn] = parts[0]
            elif parts:
                key = tuple(sources)
                marks = made.get(key)
                if marks is None:
                    marks = made[key] = tuple(chain.from_iterable(parts))
                found[r.school_urn, r.upn] = marks
        return found

    def refresh(self, source: Source, days: Period, marks: Period) -> None:
        """Bring the held state up to what `source` sees, holding the weeks of the
        academic years `days` touches and the marks of the weeks of `marks` (as far as it
        keeps them), so the questions about them that follow find it done."""
        years = _years_of([(None, days.start, days.end)])
        mondays = _mondays(marks) if marks.start <= marks.end else []
        self._fresh(
            source,
            years if len(years) <= self.max_years else (),
            mondays if len(mondays) <= MARK_WEEKS else (),
        )

    def _days(self, source: Source, ranges: Ranges, columns: Sequence[int]) -> _SpanDays | None:
        """The daily counts (`columns`, by index) of the enrolments of `ranges` over the
        runs of weeks the ranges cover; None when the database should answer."""
        first, last = ranges.first, ranges.last
        counted = first <= last
        run_monday, run_weeks, run_of = _runs(first[counted], last[counted])
        starts = [
            (dt.date.fromordinal(m), n)
            for m, n in zip(run_monday.tolist(), run_weeks.tolist(), strict=True)
        ]
        years = _years_of([(None, m, m + dt.timedelta(weeks=n - 1)) for m, n in starts])
        if len(years) > self.max_years:
            return None
        state = self._fresh(source, years)
        if state is None:
            return None
        ids, position = np.unique(ranges.enrolment, return_inverse=True)
        try:
            rows = state.enrolments.rows_of(ids)
        except LookupError:  # enrolled after the weeks were last read: rare, ask SQL
            return None
        # An empty range is days 0 to -1 of the first run: it counts nothing.
        run = np.zeros(len(ranges), np.int64)
        day_first, day_last = np.zeros(len(ranges), np.int64), np.full(len(ranges), -1)
        run[counted] = run_of
        day_first[counted] = first[counted] - run_monday[run_of]
        day_last[counted] = last[counted] - run_monday[run_of]
        return _SpanDays(
            [_daily(state, rows, monday, n, columns) for monday, n in starts],
            len(columns),
            run,
            position.reshape(-1),
            day_first,
            day_last,
        )

    # -- keeping fresh ---------------------------------------------------------------

    def _fresh(
        self,
        source: Source,
        years: Sequence[int],
        mark_weeks: Sequence[dt.date] = (),
    ) -> _State | None:
        """Held weeks no older than the read model was when `source`'s question first
        looked (`Source.last_change`), holding `years` (and the marks of `mark_weeks`);
        None in the rare race where they cannot be had (the database is asked instead)."""
        last = source.last_change()
        state = self._state
        if state.seq >= last and state.holds(years, mark_weeks):
            return state
        with source.reader() as connection:
            return self._fresh_at(connection, years, mark_weeks)

    def _fresh_at(
        self, source: Connection, years: Sequence[int], mark_weeks: Sequence[dt.date]
    ) -> _State | None:
        """Held weeks of exactly the state `source` sees, holding `years` and the marks of
        `mark_weeks`; None when those held are already newer."""
        seq = source.execute(select(func.max(change_t.c.seq))).scalar_one() or 0
        with self._lock:
            state = self._state
            if state.seq > seq:
                return None
            if state.seq < seq or not state.holds(years, mark_weeks):
                state = self._refreshed(source, state, seq, years, mark_weeks)
                self._state = state
            return state

    def _refreshed(
        self,
        source: Connection,
        state: _State,
        seq: int,
        years: Sequence[int],
        mark_weeks: Sequence[dt.date],
    ) -> _State:
        """`state` brought to change number `seq`, the last `source` sees, holding `years`
        and the marks of `mark_weeks`."""
        # At the same number nothing changed: only what is not held yet is read.
        changes = (
            _Changes(set(), defaultdict(set))
            if seq == state.seq
            else self._changed_since(source, state.seq)
        )
        kept: OrderedDict[int, _Year] = OrderedDict(state.years)
        enrolments, pupils = state.enrolments, state.pupils
        marks: OrderedDict[dt.date, _MarkWeek] = OrderedDict(state.mark_weeks)
        if changes is None:  # everything may have changed
            kept.clear()
            marks.clear()
            rows = _enrolment_rows(source, None)
            enrolments = _Enrolments.empty(self._columns).updated(self._group_columns(rows))
            pupils = _Pupils.of(rows)
        elif changes.whole or changes.weekly:
            rows = _enrolment_rows(source, changes.whole)
            enrolments = enrolments.updated(self._group_columns(rows))
            pupils = pupils.updated(changes.whole, rows)
            for monday, held_marks in marks.items():
                marks[monday] = _patched_marks(source, monday, held_marks, changes)
            for year, held in list(kept.items()):
                if len(changes.whole) > RELOAD_SHARE * max(len(held.keys), 1):
                    del kept[year]
                else:
                    kept[year] = self._patched_year(source, held, changes, enrolments)
        for year in years:
            if year not in kept:
                found = _read_weeks(source, year, None)
                kept[year] = _built(year, _week_rows(found, year, enrolments))
            kept.move_to_end(year)
        while len(kept) > self.max_years:
            kept.popitem(last=False)
        for monday in mark_weeks:
            if monday not in marks:
                marks[monday] = _week_marks(source, monday, None)
            marks.move_to_end(monday)
        while len(marks) > MARK_WEEKS:
            marks.popitem(last=False)
        return _State(seq, enrolments, kept, pupils, marks)

    @staticmethod
    def _patched_year(
        source: Connection, held: _Year, changes: _Changes, enrolments: _Enrolments
    ) -> _Year:
        """`held` with the week rows `changes` names read again."""
        first, after = _first_monday(held.year), _first_monday(held.year + 1)
        weekly = {
            week: ids - changes.whole
            for week, ids in changes.weekly.items()
            if first <= week < after and ids - changes.whole
        }
        if not changes.whole and not weekly:
            return held
        conditions = []
        stale: list[tuple[int | None, IntArray]] = []
        if changes.whole:
            conditions.append(one_of(source, week_t.c.enrolment_id, sorted(changes.whole)))
            stale.append((None, _held_rows(enrolments, changes.whole)))
        for week, ids in weekly.items():
            conditions.append(
                and_(
                    week_t.c.week_start == week, one_of(source, week_t.c.enrolment_id, sorted(ids))
                )
            )
            stale.append(((week - first).days // 7, _held_rows(enrolments, ids)))
        found = _read_weeks(source, held.year, or_(*conditions))
        return _patched(held, stale, _week_rows(found, held.year, enrolments))

    @staticmethod
    def _changed_since(source: Connection, seq: int) -> _Changes | None:
        """What changed after number `seq`; None when that cannot be known (the log was
        trimmed past it, or the read model was emptied since)."""
        if seq <= 0:  # nothing read yet, or read before anything was logged
            return None
        rows = source.execute(
            select(change_t.c.seq, change_t.c.enrolment_id, change_t.c.week_start)
            .where(change_t.c.seq >= seq)
            .order_by(change_t.c.seq)
        ).all()
        if not rows or rows[0].seq != seq:
            return None
        changes = _Changes(set(), defaultdict(set))
        for row in rows[1:]:
            if row.enrolment_id is None:
                return None
            if row.week_start is None:
                changes.whole.add(row.enrolment_id)
            else:
                changes.weekly[row.week_start].add(row.enrolment_id)
        return changes

    def _group_columns(self, rows: Sequence[EnrolmentRow]) -> list[tuple[Any, ...]]:
        """Each row's id, then its group columns (`_Enrolments.updated`)."""
        return [(r.id, *(getattr(r, c) for c in self._columns)) for r in rows]


_registry: weakref.WeakKeyDictionary[Engine, WeekColumns] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def enable(engine: Engine, years: int) -> None:
    """Hold week rows in memory for `engine`'s read model (`years` academic years; 0: none)."""
    with _registry_lock:
        if years > 0:
            _registry[engine] = WeekColumns(years)
        else:
            _registry.pop(engine, None)


def for_engine(engine: Engine) -> WeekColumns | None:
    """The week columns held for `engine`, if enabled."""
    return _registry.get(engine)


def _label(value: Any) -> str:
    """A group column's value as the SQL path reports it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _first_monday(year: int) -> dt.date:
    """The first Monday on or after 1 September of academic `year`."""
    start = dt.date(year, 9, 1)
    return start + dt.timedelta(days=(7 - start.weekday()) % 7)


def _weeks_in(year: int) -> int:
    """How many Mondays academic `year` holds (52 or 53)."""
    return (_first_monday(year + 1) - _first_monday(year)).days // 7


@dataclass(frozen=True)
class _Enrolments:
    """Every enrolment's group columns as integer codes, by row; rows are only appended
    (a removed enrolment keeps its row; its weeks are gone)."""

    ids: IntArray
    order: IntArray  # of `ids`, sorted
    codes: dict[str, npt.NDArray[np.int32]]
    labels: dict[str, list[str]]
    """Each column's label per code. Shared by every state and only ever appended to
    (under `WeekColumns`' lock): an older state's codes are all still there."""
    code_of: dict[str, dict[str, int]]

    @classmethod
    def empty(cls, columns: Sequence[str]) -> _Enrolments:
        return cls(
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            {c: np.zeros(0, np.int32) for c in columns},
            {c: [] for c in columns},
            {c: {} for c in columns},
        )

    def rows_of(self, ids: IntArray) -> IntArray:
        """The row of each enrolment id (every one must be held)."""
        if not len(ids):
            return ids
        at = self.order[np.searchsorted(self.ids, ids, sorter=self.order)]
        if not np.array_equal(self.ids[at], ids):
            raise LookupError("week rows of an enrolment not held")  # read in one snapshot
        return at

    def updated(self, rows: Sequence[Sequence[Any]]) -> _Enrolments:
        """With `rows` (id, then each group column) written over or appended."""
        if not rows:
            return self
        incoming = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        fresh = np.setdiff1d(incoming, self.ids)
        ids = np.concatenate([self.ids, fresh])
        codes = {
            c: np.concatenate([v, np.zeros(len(fresh), np.int32)]) for c, v in self.codes.items()
        }
        found = _Enrolments(ids, np.argsort(ids), codes, self.labels, self.code_of)
        at = found.rows_of(incoming)
        for i, column in enumerate(self.codes):
            known, labels = self.code_of[column], self.labels[column]
            values = [_label(r[i + 1]) for r in rows]
            for value in dict.fromkeys(values).keys() - known.keys():
                known[value] = len(labels)
                labels.append(value)
            codes[column][at] = [known[v] for v in values]
        return found


WeekSlots = tuple[npt.NDArray[np.uint8], ...]
"""A year's counts, an array per week slot: (row, count column)."""
DaySlots = tuple[npt.NDArray[np.uint16], ...]
"""A year's day patterns, an array per week slot: (row, weekday)."""


@dataclass(frozen=True)
class _Year:
    """One academic year's week rows: a row per (enrolment, stay, population).

    `weeks` holds each week slot's (row, count column) array, a week's counts of every
    row side by side, so a window sums whole slots. `days` holds each slot's (row,
    weekday) array: each day's pattern, an index into `patterns` (a day's counts; pattern
    0 is no row that day), so edge days of a window are a few lookups. A year holds a few
    hundred distinct days at most. An array per slot rather than one for the year: a
    change to one week (a register) copies that week's arrays, ~2 % of the year's.
    """

    year: int
    keys: IntArray  # sorted: enrolment row << 22 | stay (days since 1900) << 1 | population
    weeks: WeekSlots
    days: DaySlots
    patterns: npt.NDArray[np.uint8]  # (pattern, count column)
    pattern_codes: IntArray  # each pattern's `day_code`; 0 first

    @property
    def enrolment_row(self) -> IntArray:
        return self.keys >> 22

    @property
    def population(self) -> IntArray:
        return self.keys & 1

    def slots(self, first: dt.date, last: dt.date) -> tuple[int, int] | None:
        """The week slots of Mondays `first`..`last` that fall in this year, or None."""
        start = _first_monday(self.year)
        lo = max((first - start).days // 7, 0)
        hi = min((last - start).days // 7, _weeks_in(self.year) - 1)
        return (lo, hi) if lo <= hi else None

    def with_patterns(self, codes: IntArray) -> tuple[_Year, npt.NDArray[np.uint16]]:
        """This year with every day code of `codes` among its patterns, and their indexes."""
        new = np.setdiff1d(codes, self.pattern_codes)
        year = self
        if len(new):
            year = replace(
                self,
                patterns=np.concatenate([self.patterns, _decoded(new)]),
                pattern_codes=np.concatenate([self.pattern_codes, new]),
            )
        if len(year.pattern_codes) > np.iinfo(np.uint16).max:
            raise ValueError("more distinct days than a uint16 numbers")
        order = np.argsort(year.pattern_codes)
        at = order[np.searchsorted(year.pattern_codes, codes, sorter=order)]
        return year, at.astype(np.uint16)


_ATTENDED_DAY = day_code(SessionCounts({"sess_possible": 2, "sess_attended": 2}))
"""The code of most days: both sessions attended."""


def _decoded(codes: IntArray) -> npt.NDArray[np.uint8]:
    """Each day code's counts (`COUNT_COLUMNS` order)."""
    weights = np.array(DAY_CODE_WEIGHTS, np.int64)
    return ((codes[:, None] // weights) % DAY_CODE_BASE).astype(np.uint8)


@dataclass(frozen=True)
class _WeekRows:
    """Week rows read from the database, as arrays."""

    keys: IntArray
    slots: IntArray
    counts: npt.NDArray[np.uint8]
    codes: IntArray  # (row, weekday) day codes


_WIDTH = 4 + len(COUNT_COLUMNS) + len(DAY_COLUMNS)
"""Columns of a week row as `_read_weeks` reads it."""


def _week_rows(values: Int32Array, year: int, enrolments: _Enrolments) -> _WeekRows:
    """`values`: one row per week row, as `_read_weeks` lists its columns."""
    counts = values[:, 4 : 4 + len(COUNT_COLUMNS)]
    if len(values) and (counts.min() < 0 or counts.max() > 255):
        raise ValueError("a week count outside 0-255")  # seven days hold 14 sessions
    if len(values) and not 0 <= values[:, 1].min() <= values[:, 1].max() < 1 << 21:
        raise ValueError("a stay's entry date outside the years held keys can number")
    rows = enrolments.rows_of(values[:, 0].astype(np.int64))
    keys = (rows << 22) | (values[:, 1].astype(np.int64) << 1) | values[:, 2]
    slots = (values[:, 3].astype(np.int64) - _epoch_days(_first_monday(year))) // 7
    codes = values[:, 4 + len(COUNT_COLUMNS) :].astype(np.int64)
    return _WeekRows(keys, slots, counts.astype(np.uint8), codes)


def _built(year: int, found: _WeekRows) -> _Year:
    keys, at = np.unique(found.keys, return_inverse=True)
    weeks = np.zeros((WEEKS_IN_YEAR, len(keys), len(COUNT_COLUMNS)), np.uint8)
    weeks[found.slots, at] = found.counts
    flat = found.codes.ravel()
    # Sorting every day's code (8 million for 30,000 pupils) took seconds; most days are
    # no row or both sessions attended, so only the others are sorted.
    rare = flat[(flat != 0) & (flat != _ATTENDED_DAY)]
    codes = np.union1d(np.unique(rare), [0, _ATTENDED_DAY])
    if len(codes) > np.iinfo(np.uint16).max:
        raise ValueError("more distinct days than a uint16 numbers")
    days = np.zeros((WEEKS_IN_YEAR, len(keys), len(DAY_COLUMNS)), np.uint16)
    days[found.slots, at] = np.searchsorted(codes, flat).reshape(found.codes.shape)
    # Each slot a view of the year's one array, until a change gives it one of its own.
    return _Year(year, keys, tuple(weeks), tuple(days), _decoded(codes), codes)


def _patched(held: _Year, stale: Sequence[tuple[int | None, IntArray]], found: _WeekRows) -> _Year:
    """`held` with the stale rows replaced by those read afresh (`found`). `stale`: a week
    slot (None: every slot) and the enrolment rows whose weeks there changed; an
    enrolment with no week left there keeps empty rows. Only the slots written are
    copied: never changed in place, since a question being answered reads the old ones."""
    held, patterns = held.with_patterns(found.codes.ravel())
    new = np.setdiff1d(found.keys, held.keys)
    keys = held.keys
    weeks, days = list(held.weeks), list(held.days)
    if len(new):  # rows added: every slot made again, with the new rows
        keys = np.union1d(held.keys, new)
        at = np.searchsorted(keys, held.keys)
        for slot in range(WEEKS_IN_YEAR):
            weeks[slot] = np.zeros((len(keys), len(COUNT_COLUMNS)), np.uint8)
            weeks[slot][at] = held.weeks[slot]
            days[slot] = np.zeros((len(keys), len(DAY_COLUMNS)), np.uint16)
            days[slot][at] = held.days[slot]
    else:
        written: set[int] = set(np.unique(found.slots).tolist())
        for stale_slot, _ in stale:
            written |= set(range(WEEKS_IN_YEAR)) if stale_slot is None else {stale_slot}
        for slot in written:
            weeks[slot], days[slot] = weeks[slot].copy(), days[slot].copy()
    for stale_slot, rows in stale:
        columns = np.flatnonzero(np.isin(keys >> 22, rows))
        for cleared in range(WEEKS_IN_YEAR) if stale_slot is None else (stale_slot,):
            weeks[cleared][columns] = 0
            days[cleared][columns] = 0
    at = np.searchsorted(keys, found.keys)
    found_days = patterns.reshape(found.codes.shape)
    for slot in np.unique(found.slots).tolist():
        here = found.slots == slot
        weeks[slot][at[here]] = found.counts[here]
        days[slot][at[here]] = found_days[here]
    return replace(held, keys=keys, weeks=tuple(weeks), days=tuple(days))


@dataclass(frozen=True)
class _Changes:
    """What changed since a number: enrolments to read again whole, and the enrolments
    of each week whose rows changed."""

    whole: set[int]
    weekly: defaultdict[dt.date, set[int]]


def _held_rows(enrolments: _Enrolments, ids: set[int]) -> IntArray:
    """The rows of those of `ids` that are held (a removed enrolment may never have been)."""
    found = np.fromiter(ids, np.int64, len(ids))
    return enrolments.rows_of(found[np.isin(found, enrolments.ids)])


_MarkWeek = dict[int, tuple[Mark, ...]]
"""The marks of one Monday-to-Sunday week: each enrolment's that has any, by id."""

_day = itemgetter(1)
"""A mark's date."""

_MARKS_MADE = 200_000
"""A period's marks a state keeps made at most (then starts again)."""
_PERIODS_MADE = 16
"""Periods a state keeps marks made for at most (then starts again)."""


@dataclass(frozen=True)
class _Pupils:
    """Every enrolment's row as views list it, by id, and the ids of each UPN."""

    rows: dict[int, EnrolmentRow]
    of_upn: dict[str, list[int]]

    @classmethod
    def of(cls, rows: Sequence[EnrolmentRow]) -> _Pupils:
        found = cls({}, {})
        found.add(rows)
        return found

    def add(self, rows: Sequence[EnrolmentRow]) -> None:
        """`rows` added (only while this is being made)."""
        for r in rows:
            self.rows[r.id] = r
            self.of_upn.setdefault(r.upn, []).append(r.id)

    def updated(self, ids: set[int], rows: Sequence[EnrolmentRow]) -> _Pupils:
        """A copy with the enrolments `ids` read again as `rows` (an id without a row
        has left the read model)."""
        if not ids:
            return self
        kept = {i: r for i, r in self.rows.items() if i not in ids}
        of_upn: dict[str, list[int]] = {}
        for r in kept.values():
            of_upn.setdefault(r.upn, []).append(r.id)
        found = _Pupils(kept, of_upn)
        found.add(rows)
        return found

    def of_pupils(self, upns: Sequence[str]) -> list[EnrolmentRow]:
        """The enrolments of these UPNs, in id order."""
        ids = sorted(i for u in set(upns) for i in self.of_upn.get(u, ()))
        return [self.rows[i] for i in ids]


@dataclass(frozen=True)
class _State:
    seq: int
    """The last `read_model_change` number read."""
    enrolments: _Enrolments
    years: OrderedDict[int, _Year]
    """Least recently asked first."""
    pupils: _Pupils
    mark_weeks: OrderedDict[dt.date, _MarkWeek] = field(default_factory=OrderedDict)
    """The marks of the weeks held (by Monday), least recently asked first."""
    marks_made: dict[Period, dict[tuple[int, ...], tuple[Mark, ...]]] = field(default_factory=dict)
    """The marks of periods made from `mark_weeks` (`WeekColumns.recent_marks`): by
    period, then by the identity of the weeks' tuples they were made of (which this state
    keeps). By period first, so a question hashes its period once, not once a pupil."""

    def holds(self, years: Sequence[int], mark_weeks: Sequence[dt.date]) -> bool:
        """Whether these years' weeks and these weeks' marks are held."""
        return all(y in self.years for y in years) and all(w in self.mark_weeks for w in mark_weeks)


def _enrolment_rows(source: Connection, ids: set[int] | None) -> list[EnrolmentRow]:
    """The rows of enrolments `ids` (None: every enrolment) that the read model holds."""
    if ids is not None and not ids:
        return []
    stmt = select(*(enrolment_t.c[c] for c in ROW_COLUMNS))
    if ids is not None:
        stmt = stmt.where(one_of(source, enrolment_t.c.id, sorted(ids)))
    return enrolment_rows(source.execute(stmt).all())


def _week_marks(source: Connection, monday: dt.date, ids: set[int] | None) -> _MarkWeek:
    """The marks of the week of `monday` of enrolments `ids` (None: every enrolment)."""
    week = Period(monday, monday + dt.timedelta(days=6))
    which = true() if ids is None else one_of(source, enrolment_t.c.id, sorted(ids))
    return {e: marks for e, _, _, marks in marks_of_enrolments(source, which, week)}


def _patched_marks(
    source: Connection, monday: dt.date, held: _MarkWeek, changes: _Changes
) -> _MarkWeek:
    """`held` (the week of `monday`) with the marks of the enrolments `changes` names in
    that week, or whole, read again."""
    stale = changes.whole | changes.weekly.get(monday, set())
    if not stale:
        return held
    kept = {e: marks for e, marks in held.items() if e not in stale}
    kept.update(_week_marks(source, monday, stale))
    return kept


def _epoch_days(day: dt.date) -> int:
    return (day - _EPOCH).days


_EPOCH = dt.date(1900, 1, 1)
"""Dates are held as days since this: a stay's entry date must count up from it in 21
bits (until the year 7641), a week's start in 32."""


def _measures(
    state: _State,
    pieces: Sequence[Piece],
    edges: Sequence[EdgeDays],
    years: Sequence[int],
    group_by: Sequence[str],
    population: Population,
) -> Cells | None:
    """Sum each (enrolment, stay)'s weeks over the pieces, drop those with no possible
    sessions, judge PA/SA, then group: `_per_enrolment` and `grouped_measures`' order.
    None when the combinations of `group_by` codes outnumber a 64-bit integer."""
    enrolments = state.enrolments
    radix = _radix(enrolments, group_by)
    if radix is None:
        return None
    keys, totals = _per_enrolment(state, pieces, edges, years, population)
    rows = keys >> 21
    groups = _grouped(_combined(enrolments, group_by, rows), radix, rows, totals)
    return [(_labels(enrolments, group_by, row), measures) for _, row, measures in groups]


def _mondays(period: Period) -> list[dt.date]:
    """The Mondays of the weeks the period touches."""
    first = period.start - dt.timedelta(days=period.start.weekday())
    return [first + dt.timedelta(weeks=w) for w in range((period.end - first).days // 7 + 1)]


def _years_of(pieces: Sequence[Piece]) -> list[int]:
    """The academic years the pieces' Mondays fall in."""
    return sorted(
        {
            y
            for _, first, last in pieces
            for y in range(academic_year_of(first), academic_year_of(last) + 1)
        }
    )


def _radix(enrolments: _Enrolments, group_by: Sequence[str]) -> int | None:
    """How many combinations of `group_by` codes there can be; None beyond 2**62."""
    radix = math.prod(max(len(enrolments.labels[c]), 1) for c in group_by)
    return radix if radix < 1 << 62 else None


def _combined(enrolments: _Enrolments, group_by: Sequence[str], rows: IntArray) -> IntArray:
    """One integer per combination of `group_by` codes, for each enrolment row."""
    combined = np.zeros(len(rows), np.int64)
    for column in group_by:
        combined = combined * len(enrolments.labels[column]) + enrolments.codes[column][rows]
    return combined


def _labels(enrolments: _Enrolments, group_by: Sequence[str], row: int) -> tuple[str, ...]:
    return tuple(enrolments.labels[c][int(enrolments.codes[c][row])] for c in group_by)


def _grouped(
    group: IntArray, size: int, rows: IntArray, totals: npt.NDArray[Any]
) -> list[tuple[int, int, GroupMeasures]]:
    """Each group's measures: `group` numbers each enrolment's (below `size`), `rows` is
    its enrolment row and `totals` its counts (with possible sessions). Gives the group,
    one enrolment row of it (to name it) and its measures."""
    possible = totals[:, _POSSIBLE].astype(np.int64)
    overall = totals[:, _AUTHORISED].astype(np.int64) + totals[:, _UNAUTHORISED]
    persistent = overall * 100 >= possible * PERSISTENT_PERCENT
    severe = overall * 100 >= possible * SEVERE_PERCENT
    if size <= 1 << 20:  # few combinations (year x SEN x FSM): count them, no sort
        present = np.flatnonzero(np.bincount(group, minlength=size))
        renumber = np.zeros(size, np.int64)
        renumber[present] = np.arange(len(present))
        cell = renumber[group]
    else:
        present, cell = np.unique(group, return_inverse=True)
    n = len(present)
    sums = [np.bincount(cell, weights=totals[:, j], minlength=n) for j in range(len(COUNT_COLUMNS))]
    enrolled = np.bincount(cell, minlength=n)
    persistent_n = np.bincount(cell, weights=persistent, minlength=n)
    severe_n = np.bincount(cell, weights=severe, minlength=n)
    named_by = np.zeros(n, np.int64)
    named_by[cell[::-1]] = rows[::-1]
    out = []
    for i in range(n):
        counts = SessionCounts({c: int(sums[j][i]) for j, c in enumerate(COUNT_COLUMNS)})
        measures = GroupMeasures(int(enrolled[i]), counts, int(persistent_n[i]), int(severe_n[i]))
        out.append((int(present[i]), int(named_by[i]), measures))
    return out


def _weekly(
    state: _State,
    pieces: Sequence[Piece],
    years: Sequence[int],
    group_by: Sequence[str],
    population: Population,
) -> list[tuple[dt.date, tuple[str, ...], GroupMeasures]] | None:
    """Measures per week and `group_by` combination, each week row with possible
    sessions one enrolment (`MetricsRepository.weekly_measures`)."""
    enrolments = state.enrolments
    if _radix(enrolments, group_by) is None:
        return None
    wanted = _POPULATIONS[population.value]
    found: dict[tuple[dt.date, tuple[str, ...]], GroupMeasures] = {}
    for year in years:
        held = state.years[year]
        in_scope = _Scope(held, enrolments, wanted)
        for schools, first, last in pieces:
            slots = held.slots(first, last)
            if slots is None:
                continue
            rows = in_scope(schools)
            columns = np.arange(len(held.keys)) if rows is None else np.flatnonzero(rows)
            if not len(columns):
                continue
            # Rows side by side by group, so each group's rows are one run: add up runs.
            cell = _combined(enrolments, group_by, held.enrolment_row[columns])
            order = np.argsort(cell, kind="stable")
            columns, cell = columns[order], cell[order]
            starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
            lo, hi = slots
            weeks = np.stack([counts[columns] for counts in held.weeks[lo : hi + 1]])
            possible = weeks[:, :, _POSSIBLE].astype(np.int32)
            overall = weeks[:, :, _AUTHORISED].astype(np.int32) + weeks[:, :, _UNAUTHORISED]
            counted = possible > 0
            persistent = counted & (overall * 100 >= possible * PERSISTENT_PERCENT)
            severe = counted & (overall * 100 >= possible * SEVERE_PERCENT)
            sums = np.add.reduceat(weeks, starts, axis=1, dtype=np.int32)
            enrolled = np.add.reduceat(counted, starts, axis=1, dtype=np.int32)
            persistent_n = np.add.reduceat(persistent, starts, axis=1, dtype=np.int32)
            severe_n = np.add.reduceat(severe, starts, axis=1, dtype=np.int32)
            names = [
                _labels(enrolments, group_by, int(row))
                for row in held.enrolment_row[columns[starts]]
            ]
            for slot, group in zip(*np.nonzero(enrolled), strict=True):
                counts = SessionCounts(
                    dict(zip(COUNT_COLUMNS, sums[slot, group].tolist(), strict=True))
                )
                measures = GroupMeasures(
                    int(enrolled[slot, group]),
                    counts,
                    int(persistent_n[slot, group]),
                    int(severe_n[slot, group]),
                )
                key = (_first_monday(year) + dt.timedelta(weeks=int(lo + slot)), names[group])
                earlier = found.get(key)
                found[key] = measures if earlier is None else earlier + measures
    return sorted(
        ((week, names, measures) for (week, names), measures in found.items()),
        key=lambda f: f[0],
    )


class _Scope:
    """Which rows of a year are of a population and at some schools."""

    def __init__(self, held: _Year, enrolments: _Enrolments, population: int) -> None:
        self._population: npt.NDArray[np.bool_] = np.equal(held.population, population)
        self._schools_of_rows = enrolments.codes["school_urn"][held.enrolment_row]
        self._code = {label: i for i, label in enumerate(enrolments.labels["school_urn"])}
        self._found: dict[tuple[str, ...] | None, npt.NDArray[np.bool_] | None] = {}

    def __call__(self, schools: tuple[str, ...] | None) -> npt.NDArray[np.bool_] | None:
        """The population's rows at `schools` (None: any school); None when that is every
        row (the common case: a whole LA), so callers may skip the mask."""
        if schools not in self._found:
            rows = self._population
            if schools is not None:
                wanted = [self._code[s] for s in schools if s in self._code]
                at_schools: npt.NDArray[np.bool_] = np.isin(self._schools_of_rows, wanted)
                rows = rows & at_schools
            self._found[schools] = None if rows.all() else rows
        return self._found[schools]


def _add(
    totals: npt.NDArray[np.int32],
    counts: npt.NDArray[Any],
    counted: npt.NDArray[np.bool_],
    rows: npt.NDArray[np.bool_] | None,
) -> None:
    """Add `counts` to `totals` and mark them counted, on `rows` (None: every row)."""
    if rows is None:
        np.add(totals, counts, out=totals)
        counted[:] = True
    else:
        np.add(totals, counts, where=rows[:, None], out=totals)
        counted |= rows


def _per_enrolment(
    state: _State,
    pieces: Sequence[Piece],
    edges: Sequence[EdgeDays],
    years: Sequence[int],
    population: Population,
) -> tuple[IntArray, npt.NDArray[np.int32]]:
    """Each (enrolment row << 21 | stay) with possible sessions of `population` in the
    pieces' weeks plus (sign 1) or less (-1) the edges' days, and its counts summed."""
    enrolments = state.enrolments
    wanted = _POPULATIONS[population.value]
    key_parts: list[IntArray] = []
    total_parts: list[npt.NDArray[np.int32]] = []
    for year in years:
        held = state.years[year]
        totals = np.zeros((len(held.keys), len(COUNT_COLUMNS)), np.int32)
        counted = np.zeros(len(held.keys), bool)
        in_scope = _Scope(held, enrolments, wanted)
        for schools, first, last in pieces:
            slots = held.slots(first, last)
            if slots is None:
                continue
            lo, hi = slots
            # uint16 holds 53 weeks of 14 sessions; summing whole slots reads memory in order.
            summed = np.zeros((len(held.keys), len(COUNT_COLUMNS)), np.uint16)
            for counts in held.weeks[lo : hi + 1]:
                np.add(summed, counts, out=summed)
            _add(totals, summed, counted, in_scope(schools))
        for schools, days, sign in edges:
            monday = days.start - dt.timedelta(days=days.start.weekday())
            slot = held.slots(monday, monday)
            if slot is None:
                continue
            edge = np.zeros((len(held.keys), len(COUNT_COLUMNS)), np.int16)
            for weekday in range(days.start.weekday(), days.end.weekday() + 1):
                patterns = held.days[slot[0]][:, weekday]
                if patterns.any():  # a weekend or holiday has no rows
                    np.add(edge, held.patterns[patterns], out=edge)
            _add(totals, edge if sign > 0 else -edge, counted, in_scope(schools))
        if len(years) == 1:
            counted &= totals[:, _POSSIBLE] > 0
            return held.keys[counted] >> 1, totals[counted]  # (enrolment row, stay)
        key_parts.append(held.keys[counted] >> 1)
        total_parts.append(totals[counted])
    # A stay's weeks in two academic years are one enrolment's.
    keys, at = np.unique(np.concatenate(key_parts), return_inverse=True)
    stacked = np.concatenate(total_parts)
    totals = np.stack(
        [
            np.bincount(at, weights=stacked[:, j], minlength=len(keys))
            for j in range(len(COUNT_COLUMNS))
        ],
        axis=1,
    ).astype(np.int32)
    keep = totals[:, _POSSIBLE] > 0
    return keys[keep], totals[keep]


RUN_GAP = dt.timedelta(weeks=4)
"""Periods further apart than this are read as runs of weeks of their own (the same weeks
a year ago are not read with the whole year between)."""


def _runs(first: IntArray, last: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Runs of whole weeks covering periods of days `first` to `last` (ordinals): each
    run's first Monday (an ordinal) and its weeks, and the run of each period. Periods
    whose weeks come within `RUN_GAP` of each other share a run."""
    if not len(first):
        return first, first, first
    # Ordinal 1, 1 January of year 1, was a Monday.
    mondays, last_mondays = first - (first - 1) % 7, last - (last - 1) % 7
    order = np.argsort(mondays, kind="stable")
    begins, ends = mondays[order], last_mondays[order]
    # A period joins the run before it when it begins within the gap after the furthest
    # week that run (every period before it, sorted) reaches.
    reached = np.maximum.accumulate(ends)
    new = np.ones(len(begins), bool)
    new[1:] = begins[1:] > reached[:-1] + RUN_GAP.days
    starts = np.flatnonzero(new)
    closes = reached[np.append(starts[1:], len(begins)) - 1]
    run = np.empty(len(begins), np.int64)
    run[order] = np.cumsum(new) - 1
    return begins[starts], (closes - begins[starts]) // 7 + 1, run


def _headline_keys(held: _Year, rows: IntArray) -> tuple[IntArray, IntArray]:
    """The held year's keys (columns) of `rows`' (enrolment rows) headline population,
    every stay, and the position in `rows` of each one's enrolment."""
    if not len(rows):
        return rows, rows
    order = np.argsort(rows)
    ordered = rows[order]
    enrolment_row = held.enrolment_row
    at = np.minimum(np.searchsorted(ordered, enrolment_row), len(ordered) - 1)
    headline = _POPULATIONS[Population.HEADLINE.value]
    keys = np.flatnonzero((ordered[at] == enrolment_row) & (held.population == headline))
    return keys, order[at[keys]]


def _held_weeks(
    state: _State, rows: IntArray, first: dt.date, last: dt.date
) -> Iterator[tuple[dt.date, _Year, slice, IntArray, IntArray]]:
    """Per held year with weeks of Mondays `first`..`last` and headline keys of `rows`
    (enrolment rows): the Monday of its first such week, the year, those weeks' slots,
    the keys and the position in `rows` of each key's enrolment (`_headline_keys`)."""
    for year in _years_of([(None, first, last)]):
        held = state.years[year]
        slots = held.slots(first, last)
        if slots is None:
            continue
        keys, position = _headline_keys(held, rows)
        if len(keys):
            lo, hi = slots
            yield (
                _first_monday(year) + dt.timedelta(weeks=lo),
                held,
                slice(lo, hi + 1),
                keys,
                position,
            )


def _daily(
    state: _State, rows: IntArray, first: dt.date, weeks: int, columns: Sequence[int]
) -> Int32Array:
    """Each of `rows`' (enrolment rows) headline counts `columns` on each day of `weeks`
    weeks from Monday `first`, every stay added: (day, row, column).

    Days first, and gathered with `np.take`: on the shapes of a children view (a hundred
    days of a few thousand enrolments) fancy indexing and a cumulative sum along a
    later axis were each ~10x slower than this layout."""
    out = np.zeros((weeks * 7, len(rows), len(columns)), np.int32)
    last = first + dt.timedelta(weeks=weeks - 1)
    for monday, held, slots, keys, position in _held_weeks(state, rows, first, last):
        # (week, key, weekday) patterns
        numbers = np.stack([np.take(patterns, keys, axis=0) for patterns in held.days[slots]])
        counts = held.patterns[:, columns]
        offset = (monday - first).days
        days_at = slice(offset, offset + len(numbers) * 7)
        if len(np.unique(position)) == len(position):  # one stay each: the common case
            # The pattern numbers in the rows' order (pattern 0, no row that day, for a
            # row with no headline weeks), then each day's counts in one lookup.
            by_row = np.zeros((len(numbers), len(rows), 7), numbers.dtype)
            by_row[:, position] = numbers
            out[days_at] += np.take(counts, _by_day(by_row), axis=0)
        else:
            block = np.take(counts, _by_day(numbers), axis=0)  # (day, key, column)
            # Stays of one enrolment add up: added in place through a view.
            np.add.at(out[days_at].swapaxes(0, 1), position, block.swapaxes(0, 1))
    return out


def _by_day(numbers: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint16]:
    """(week, row, weekday) pattern numbers as (day, row)."""
    return numbers.transpose(0, 2, 1).reshape(-1, numbers.shape[1])


@dataclass(frozen=True)
class _SpanDays:
    """Some enrolments' daily counts over runs of whole weeks (`daily`: per run, (day,
    enrolment, column)), and spans of them: span i is days `first[i]` to `last[i]` of run
    `run[i]`, of the enrolment at `position[i]`."""

    daily: list[Int32Array]
    columns: int
    run: IntArray
    position: IntArray
    first: IntArray
    last: IntArray

    def sums(self) -> IntArray:
        """Each span's counts: (span, column)."""
        found = np.zeros((len(self.run), self.columns), np.int64)
        for r, daily in enumerate(self.daily):
            which = np.flatnonzero(self.run == r)
            # Running totals, so any span is one subtraction; added a day at a time
            # (np.cumsum along the first axis was ~10x slower on these shapes).
            running = np.zeros((len(daily) + 1, *daily.shape[1:]), np.int32)
            for day, counts in enumerate(daily):
                np.add(running[day], counts, out=running[day + 1])
            at = self.position[which]
            found[which] = running[self.last[which] + 1, at] - running[self.first[which], at]
        return found

    def picked(self) -> Iterator[tuple[IntArray, Int32Array]]:
        """Per run: the spans on it, and their enrolments' counts of each of the run's days,
        0 outside the span: (span, day, column)."""
        for r, daily in enumerate(self.daily):
            which = np.flatnonzero(self.run == r)
            day = np.arange(len(daily))
            inside = (day >= self.first[which, None]) & (day <= self.last[which, None])
            spans = np.take(daily, self.position[which], axis=1).transpose(1, 0, 2)
            yield which, spans * inside[:, :, None]


def _epoch_days_of(source: Connection, column: Any) -> ColumnElement[int]:
    """A date column as days since `_EPOCH`, computed by the database."""
    if source.dialect.name == "postgresql":
        return cast(column - literal(_EPOCH, Date), Integer)
    return cast(func.julianday(column) - func.julianday(_EPOCH.isoformat()), Integer)


def _read_weeks(source: Connection, year: int, only: ColumnElement[bool] | None) -> Int32Array:
    """The week rows of academic `year` (those meeting `only`; None: all), one row each
    of: enrolment id, stay entry and week start as days since `_EPOCH`, population code,
    `COUNT_COLUMNS`, then `DAY_COLUMNS`."""
    stmt = select(
        week_t.c.enrolment_id,
        _epoch_days_of(source, week_t.c.stay_entry),
        case(_POPULATIONS, value=week_t.c.population),
        _epoch_days_of(source, week_t.c.week_start),
        *(week_t.c[c] for c in COUNT_COLUMNS),
        *(week_t.c[d] for d in DAY_COLUMNS),
    ).where(
        week_t.c.week_start.between(
            _first_monday(year), _first_monday(year + 1) - dt.timedelta(weeks=1)
        )
    )
    if only is not None:
        stmt = stmt.where(only)
    if source.dialect.name == "postgresql":
        return _copy_integers(source, stmt, _WIDTH)
    return np.array(source.execute(stmt).all(), np.int32).reshape(-1, _WIDTH)


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00"
_COPY_TRAILER = b"\xff\xff"


def _copy_integers(source: Connection, stmt: Select[Any], width: int) -> Int32Array:
    """The rows of `stmt`, whose columns are all non-null `integer`s, read by a binary
    COPY straight into an array: every row of a year (a million for an LA of 30,000
    pupils) as Python objects would take seconds."""
    row = np.dtype([("fields", ">i2"), ("cells", [("length", ">i4"), ("value", ">i4")], width)])
    compiled = stmt.compile(dialect=source.dialect)
    cursor = source.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    parts: list[Int32Array] = []
    buffer = bytearray()
    header = True

    def take(buffer: bytearray) -> int:
        n = len(buffer) // row.itemsize
        found = np.frombuffer(buffer, row, count=n)
        if n and ((found["fields"] != width).any() or (found["cells"]["length"] != 4).any()):
            raise ValueError("COPY gave a row that is not all non-null integers")
        parts.append(found["cells"]["value"].astype(np.int32))
        return n * row.itemsize

    with cursor.copy(f"COPY ({compiled}) TO STDOUT (FORMAT BINARY)", compiled.params) as copy:
        for chunk in copy:
            buffer += chunk
            if header and len(buffer) >= 19:
                if bytes(buffer[:11]) != _COPY_HEADER:
                    raise ValueError("not a binary COPY")
                extension = int.from_bytes(buffer[15:19], "big")
                del buffer[: 19 + extension]
                header = False
            if not header and len(buffer) >= 1 << 22:
                del buffer[: take(buffer)]
    if header or bytes(buffer[-2:]) != _COPY_TRAILER:
        raise ValueError("a binary COPY ended early")
    del buffer[-2:]
    take(buffer)
    return np.concatenate(parts) if parts else np.zeros((0, width), np.int32)
