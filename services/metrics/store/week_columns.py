"""The read model's week rows, held in memory as arrays, for breakdowns over weeks and
weekly series.

A breakdown over a window of weeks (six weeks of a term, say) sums each
enrolment's weeks before judging persistent absence, then groups. PostgreSQL does it
by aggregating every week row (150,000 rows x 17 counts for an LA of 30,000 pupils and
six weeks: ~90 ms); summing the same counts as arrays takes a few milliseconds.

What is held: per academic year asked about, one row per enrolment, stay and
population, with a byte per count per week (weeks whose Monday falls in that academic
year; at most 53): ~27 MB for 30,000 pupils. `WeekColumns` keeps the `years` most
recently asked about.

Freshness: the projection appends what it changes to `read_model_change` (an
enrolment's buckets of one week, or all of an enrolment), numbered in commit order
(`projection.log_changes`). Each question first reads the last number (one index
probe); when it moved, the rows named since are read again, in one transaction with
that number (REPEATABLE READ on PostgreSQL), into a copy of the arrays, so an answer is
never older than the read model was when it was asked, and a question being answered
meanwhile keeps its own. A gap in the numbers (the log was trimmed past the last one
read) or a rebuild reloads everything; a quarter of a year's enrolments changed whole
reloads the year.

A period is split as the children view splits its spans (`buckets.window`): whole
Monday-to-Sunday weeks, read here, and edge days added or taken away, read from the
day table in the same transaction as the held weeks' state (a window from Monday to
Friday is its weeks less a weekend, which normally holds no rows). A whole academic
year (one row per enrolment in SQL), a span within one week, edge days holding more
than `EDGE_ROWS` rows (a window starting or ending midweek in term time), or more
academic years than are kept, are asked of the database as before.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
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
    union_all,
)

from services.metrics.domain.buckets import window
from services.metrics.domain.calendar import Period, academic_year_of
from services.metrics.domain.measures import (
    COUNT_COLUMNS,
    PERSISTENT_PERCENT,
    SEVERE_PERCENT,
    GroupMeasures,
    Population,
    SessionCounts,
)
from services.metrics.domain.reach import Slice
from services.metrics.store.projection import change_t, day_t, enrolment_t, week_t
from shared.sql import one_of

WEEKS_IN_YEAR = 53
"""Monday-start weeks whose Monday falls in one academic year (1 September to 31 August)."""

EDGE_ROWS = 5_000
"""The most edge-day rows a breakdown reads into Python; beyond, PostgreSQL answers it
(a window starting midweek has a row per pupil for each school day of its edges, and
60,000 rows read into Python cost more than PostgreSQL's whole answer). Weekends and
holidays hold none or a few."""

RELOAD_SHARE = 0.25
"""Reload a whole year rather than patch it when more than this share of its enrolments
changed (a whole LA's day, a replay)."""

_POPULATIONS = {p.value: i for i, p in enumerate(Population)}
_POSSIBLE = COUNT_COLUMNS.index("sess_possible")
_AUTHORISED = COUNT_COLUMNS.index("sess_authorised")
_UNAUTHORISED = COUNT_COLUMNS.index("sess_unauthorised")

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

IntArray = npt.NDArray[np.int64]
Piece = tuple[tuple[str, ...] | None, dt.date, dt.date]
"""Schools (None: any) and the first and last Monday of a run of whole weeks."""
Edge = tuple[tuple[str, ...] | None, int, IntArray]
"""Schools (None: any), 1 to add or -1 to take away, and the day rows (enrolment id,
stay entry, `COUNT_COLUMNS`)."""
Reader = Callable[[], AbstractContextManager[Connection]]
"""Opens the connection a refresh reads through: all its statements see one state."""
Cells = list[tuple[tuple[str, ...], GroupMeasures]]


class WeekColumns:
    """Week rows of the `years` most recently asked academic years, for one database."""

    def __init__(self, years: int) -> None:
        self.max_years = years
        self._columns = list(HELD_COLUMNS)
        self._state = _State(0, _Enrolments.empty(self._columns), OrderedDict())
        self._lock = threading.Lock()

    # -- answering -------------------------------------------------------------------

    def grouped_measures(
        self,
        connection: Connection,
        slices: Sequence[Slice],
        group_by: Sequence[str],
        population: Population,
        reader: Reader,
    ) -> Cells | None:
        """Measures per combination of `group_by` columns (enrolment column names), as
        `MetricsRepository.grouped_measures` gives them; None when the database should
        answer (a slice is a whole academic year or within one week, or a column is not
        held). `reader` opens a connection whose statements all see one state."""
        if not set(group_by) <= set(HELD_COLUMNS):
            return None
        pieces: list[Piece] = []
        edges: list[tuple[tuple[str, ...] | None, Period, int]] = []
        for piece in slices:
            split = window(piece.period)
            if split.year is not None or not split.weeks:
                return None  # a whole year is one row per enrolment; a few days are few rows
            pieces += [(piece.schools, first, last) for first, last in split.weeks]
            edges += [(piece.schools, days, 1) for days in split.days]
            edges += [(piece.schools, days, -1) for days in split.less]
        years = _years_of(pieces)
        if len(years) > self.max_years:
            return None
        found = self._with_edges(connection, years, [d for _, d, _ in edges], population, reader)
        if found is None:
            return None
        state, rows = found
        edge_rows = [
            (schools, sign, rows[rows[:, 0] == i, 1:]) for i, (schools, _, sign) in enumerate(edges)
        ]
        return _measures(state, pieces, years, group_by, population, edge_rows)

    def weekly_measures(
        self,
        connection: Connection,
        slices: Sequence[Slice],
        group_by: Sequence[str],
        population: Population,
        reader: Reader,
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
        state = self._fresh(connection, years, reader)
        return None if state is None else _weekly(state, pieces, years, group_by, population)

    # -- keeping fresh ---------------------------------------------------------------

    def _with_edges(
        self,
        connection: Connection,
        years: Sequence[int],
        spans: Sequence[Period],
        population: Population,
        reader: Reader,
    ) -> tuple[_State, IntArray] | None:
        """Held weeks holding `years`, and the day rows of `spans` (`_read_days`) of the
        same state of the read model; None when the edges hold more than `EDGE_ROWS`
        rows, or in the rare race where the two cannot be had together."""
        state = self._fresh(connection, years, reader)
        if state is not None:
            if not spans:
                return state, np.zeros((0, 3 + len(COUNT_COLUMNS)), np.int64)
            found = _read_days(connection, spans, population)
            if found is None:
                return None
            if found[0] == state.seq:
                return state, found[1]
        # A page committed in between: read the edges in the held weeks' transaction.
        with reader() as source:
            state = self._fresh_at(source, years)
            found = None if state is None else _read_days(source, spans, population)
            return None if state is None or found is None else (state, found[1])

    def _fresh(self, connection: Connection, years: Sequence[int], reader: Reader) -> _State | None:
        """Held weeks no older than what `connection` sees, holding `years`; None in the
        rare race where they cannot be had (the database is asked instead)."""
        last = connection.execute(select(func.max(change_t.c.seq))).scalar_one() or 0
        state = self._state
        if state.seq >= last and all(y in state.years for y in years):
            return state
        with reader() as source:
            return self._fresh_at(source, years)

    def _fresh_at(self, source: Connection, years: Sequence[int]) -> _State | None:
        """Held weeks of exactly the state `source` sees, holding `years`; None when those
        held are already newer."""
        seq = source.execute(select(func.max(change_t.c.seq))).scalar_one() or 0
        with self._lock:
            state = self._state
            if state.seq > seq:
                return None
            if state.seq < seq or not all(y in state.years for y in years):
                state = self._refreshed(source, state, years)
                self._state = state
            return state

    def _refreshed(self, source: Connection, state: _State, years: Sequence[int]) -> _State:
        seq = source.execute(select(func.max(change_t.c.seq))).scalar_one() or 0
        changes = self._changed_since(source, state.seq)
        kept: OrderedDict[int, _Year] = OrderedDict(state.years)
        enrolments = state.enrolments
        if changes is None:  # everything may have changed
            kept.clear()
            enrolments = _Enrolments.empty(self._columns)
            enrolments = enrolments.updated(self._enrolment_rows(source, None))
        elif changes.whole or changes.weekly:
            enrolments = enrolments.updated(self._enrolment_rows(source, changes.whole))
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
        return _State(seq, enrolments, kept)

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
        if not seq:  # nothing read yet
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

    def _enrolment_rows(self, source: Connection, ids: set[int] | None) -> list[Any]:
        if ids is not None and not ids:
            return []
        stmt = select(enrolment_t.c.id, *(enrolment_t.c[c] for c in self._columns))
        if ids is not None:
            stmt = stmt.where(one_of(source, enrolment_t.c.id, sorted(ids)))
        return list(source.execute(stmt))


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


@dataclass(frozen=True)
class _Year:
    """One academic year's week rows: a row per (enrolment, stay, population); `weeks`
    is (week slot, row, count column), a week's counts of every row side by side, so a
    window sums whole slots."""

    year: int
    keys: IntArray  # sorted: enrolment row << 22 | stay (days since 1970) << 1 | population
    weeks: npt.NDArray[np.uint8]

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


@dataclass(frozen=True)
class _WeekRows:
    """Week rows read from the database, as arrays."""

    keys: IntArray
    slots: IntArray
    counts: npt.NDArray[np.uint8]


def _week_rows(values: IntArray, year: int, enrolments: _Enrolments) -> _WeekRows:
    """`values`: one row per week row, as `_week_select` lists its columns."""
    if len(values) and (values[:, 4:].min() < 0 or values[:, 4:].max() > 255):
        raise ValueError("a week count outside 0-255")  # seven days hold 14 sessions
    rows = enrolments.rows_of(values[:, 0])
    keys = (rows << 22) | (values[:, 1] << 1) | values[:, 2]
    slots = (values[:, 3] - _epoch_days(_first_monday(year))) // 7
    return _WeekRows(keys, slots, values[:, 4:].astype(np.uint8))


def _built(year: int, found: _WeekRows) -> _Year:
    keys, at = np.unique(found.keys, return_inverse=True)
    weeks = np.zeros((WEEKS_IN_YEAR, len(keys), len(COUNT_COLUMNS)), np.uint8)
    weeks[found.slots, at] = found.counts
    return _Year(year, keys, weeks)


def _patched(held: _Year, stale: Sequence[tuple[int | None, IntArray]], found: _WeekRows) -> _Year:
    """`held` with the stale rows replaced by those read afresh (`found`). `stale`: a week
    slot (None: every slot) and the enrolment rows whose weeks there changed; an
    enrolment with no week left there keeps empty rows."""
    new = np.setdiff1d(found.keys, held.keys)
    if len(new):
        keys = np.union1d(held.keys, new)
        weeks = np.zeros((WEEKS_IN_YEAR, len(keys), len(COUNT_COLUMNS)), np.uint8)
        weeks[:, np.searchsorted(keys, held.keys)] = held.weeks
    else:  # copied, not changed in place: a question being answered reads the old one
        keys, weeks = held.keys, held.weeks.copy()
    for slot, rows in stale:
        columns = np.flatnonzero(np.isin(keys >> 22, rows))
        if slot is None:
            weeks[:, columns] = 0
        else:
            weeks[slot, columns] = 0
    weeks[found.slots, np.searchsorted(keys, found.keys)] = found.counts
    return _Year(held.year, keys, weeks)


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


@dataclass(frozen=True)
class _State:
    seq: int
    """The last `read_model_change` number read."""
    enrolments: _Enrolments
    years: OrderedDict[int, _Year]
    """Least recently asked first."""


def _epoch_days(day: dt.date) -> int:
    return (day - _EPOCH).days


_EPOCH = dt.date(1970, 1, 1)


def _measures(
    state: _State,
    pieces: Sequence[Piece],
    years: Sequence[int],
    group_by: Sequence[str],
    population: Population,
    edges: Sequence[Edge],
) -> Cells | None:
    """Sum each (enrolment, stay)'s weeks over the pieces, drop those with no possible
    sessions, judge PA/SA, then group: `_per_enrolment` and `grouped_measures`' order.
    None when the combinations of `group_by` codes outnumber a 64-bit integer."""
    enrolments = state.enrolments
    radix = _radix(enrolments, group_by)
    if radix is None:
        return None
    keys, totals = _per_enrolment(state, pieces, years, population, edges)
    rows = keys >> 21
    groups = _grouped(_combined(enrolments, group_by, rows), radix, rows, totals)
    return [(_labels(enrolments, group_by, row), measures) for _, row, measures in groups]


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
    school_code = {label: i for i, label in enumerate(enrolments.labels["school_urn"])}
    found: dict[tuple[dt.date, tuple[str, ...]], GroupMeasures] = {}
    for year in years:
        held = state.years[year]
        schools_of_rows = enrolments.codes["school_urn"][held.enrolment_row]
        for schools, first, last in pieces:
            slots = held.slots(first, last)
            if slots is None:
                continue
            in_scope = held.population == wanted
            if schools is not None:
                wanted_schools = [school_code[s] for s in schools if s in school_code]
                in_scope &= np.isin(schools_of_rows, wanted_schools)
            columns = np.flatnonzero(in_scope)
            if not len(columns):
                continue
            # Rows side by side by group, so each group's rows are one run: add up runs.
            cell = _combined(enrolments, group_by, held.enrolment_row[columns])
            order = np.argsort(cell, kind="stable")
            columns, cell = columns[order], cell[order]
            starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
            lo, hi = slots
            weeks = held.weeks[lo : hi + 1][:, columns]
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


def _per_enrolment(
    state: _State,
    pieces: Sequence[Piece],
    years: Sequence[int],
    population: Population,
    edges: Sequence[Edge],
) -> tuple[IntArray, npt.NDArray[np.int32]]:
    """Each (enrolment row << 21 | stay) with possible sessions of `population` in the
    pieces, and its counts summed over them, plus (sign 1) or less (-1) its edge days."""
    enrolments = state.enrolments
    wanted = _POPULATIONS[population.value]
    school_code = {label: i for i, label in enumerate(enrolments.labels["school_urn"])}
    key_parts: list[IntArray] = []
    total_parts: list[npt.NDArray[np.int32]] = []
    for schools, sign, rows in edges:
        at = enrolments.rows_of(rows[:, 0])
        if schools is not None:
            wanted_schools = [school_code[s] for s in schools if s in school_code]
            in_scope = np.isin(enrolments.codes["school_urn"][at], wanted_schools)
            at, rows = at[in_scope], rows[in_scope]
        if len(rows):  # an edge of weekend or holiday days normally has none
            key_parts.append((at << 21) | rows[:, 1])
            total_parts.append(sign * rows[:, 2:].astype(np.int32))
    alone = len(years) == 1 and not key_parts  # every (enrolment, stay) in one row
    for year in years:
        held = state.years[year]
        totals = np.zeros((len(held.keys), len(COUNT_COLUMNS)), np.int32)
        counted = np.zeros(len(held.keys), bool)
        schools_of_rows = enrolments.codes["school_urn"][held.enrolment_row]
        for schools, first, last in pieces:
            slots = held.slots(first, last)
            if slots is None:
                continue
            in_scope = held.population == wanted
            if schools is not None:
                wanted_schools = [school_code[s] for s in schools if s in school_code]
                in_scope &= np.isin(schools_of_rows, wanted_schools)
            lo, hi = slots
            # uint16 holds 53 weeks of 14 sessions; summing whole slots reads memory in order.
            summed = held.weeks[lo : hi + 1].sum(axis=0, dtype=np.uint16)
            np.add(totals, summed, where=in_scope[:, None], out=totals)
            counted |= in_scope
        if alone:
            counted &= totals[:, _POSSIBLE] > 0
            return held.keys[counted] >> 1, totals[counted]  # (enrolment row, stay)
        key_parts.append(held.keys[counted] >> 1)
        total_parts.append(totals[counted])
    # A stay's weeks in two academic years, and its edge days, are one enrolment's.
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


def _epoch_days_of(source: Connection, column: Any) -> ColumnElement[int]:
    """A date column as days since 1970-01-01, computed by the database."""
    if source.dialect.name == "postgresql":
        return cast(column - literal(_EPOCH, Date), Integer)
    return cast(func.julianday(column) - func.julianday(_EPOCH.isoformat()), Integer)


def _read_weeks(source: Connection, year: int, only: ColumnElement[bool] | None) -> IntArray:
    """The week rows of academic `year` (those meeting `only`; None: all), one row each
    of: enrolment id, stay entry and week start as days since 1970, population code, then
    `COUNT_COLUMNS`."""
    stmt = select(
        week_t.c.enrolment_id,
        _epoch_days_of(source, week_t.c.stay_entry),
        case(_POPULATIONS, value=week_t.c.population),
        _epoch_days_of(source, week_t.c.week_start),
        *(week_t.c[c] for c in COUNT_COLUMNS),
    ).where(
        week_t.c.week_start.between(
            _first_monday(year), _first_monday(year + 1) - dt.timedelta(weeks=1)
        )
    )
    if only is not None:
        stmt = stmt.where(only)
    width = 4 + len(COUNT_COLUMNS)
    if source.dialect.name == "postgresql":
        return _copy_integers(source, stmt, width)
    return np.array(source.execute(stmt).all(), np.int64).reshape(-1, width)


def _read_days(
    source: Connection, spans: Sequence[Period], population: Population
) -> tuple[int, IntArray] | None:
    """The last `read_model_change` number and, in the same statement (so of the same
    state), the day rows of `population` in each span: one row each of the span's index,
    enrolment id, stay entry as days since 1970, then `COUNT_COLUMNS`. None when they
    are more than `EDGE_ROWS` (counted first, through the date index: ~1 ms).
    (Schools are picked from them in memory: a filter on the enrolments costs more than
    the few rows an edge normally holds.)"""
    width = 3 + len(COUNT_COLUMNS)
    within = [
        and_(day_t.c.date.between(span.start, span.end), day_t.c.population == population.value)
        for span in spans
    ]
    some = select(literal(1)).where(or_(*within)).limit(EDGE_ROWS + 1).subquery("some")
    if source.execute(select(func.count()).select_from(some)).scalar_one() > EDGE_ROWS:
        return None
    parts = [
        select(
            literal(i, Integer).label("span"),
            day_t.c.enrolment_id,
            _epoch_days_of(source, day_t.c.stay_entry).label("stay"),
            *(day_t.c[c] for c in COUNT_COLUMNS),
        ).where(condition)
        for i, condition in enumerate(within)
    ]
    days = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("days")
    last = select(func.coalesce(func.max(change_t.c.seq), 0).label("seq")).subquery("last")
    rows = source.execute(
        select(last.c.seq, days).select_from(last.outerjoin(days, literal(True)))
    ).all()
    found = [r[1:] for r in rows if r[1] is not None]  # one row of NULLs when none
    return int(rows[0][0]), np.array(found, np.int64).reshape(-1, width)


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00"
_COPY_TRAILER = b"\xff\xff"


def _copy_integers(source: Connection, stmt: Select[Any], width: int) -> IntArray:
    """The rows of `stmt`, whose columns are all non-null `integer`s, read by a binary
    COPY straight into an array: every row of a year (a million for an LA of 30,000
    pupils) as Python objects would take seconds."""
    row = np.dtype([("fields", ">i2"), ("cells", [("length", ">i4"), ("value", ">i4")], width)])
    compiled = stmt.compile(dialect=source.dialect)
    cursor = source.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    parts: list[IntArray] = []
    buffer = bytearray()
    header = True

    def take(buffer: bytearray) -> int:
        n = len(buffer) // row.itemsize
        found = np.frombuffer(buffer, row, count=n)
        if n and ((found["fields"] != width).any() or (found["cells"]["length"] != 4).any()):
            raise ValueError("COPY gave a row that is not all non-null integers")
        parts.append(found["cells"]["value"].astype(np.int64))
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
    return np.concatenate(parts) if parts else np.zeros((0, width), np.int64)
