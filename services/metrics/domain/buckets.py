"""How a period splits into the read model's buckets: whole academic years, whole weeks, days.

Summing the largest buckets that fit keeps a full-year query at one row per enrolment
and a six-week window at six; only the ragged edges of a period read day rows.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from services.metrics.domain.calendar import Period, academic_year_of, academic_year_period

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Buckets:
    """A period as disjoint ranges: academic years, week starts (Mondays), days (inclusive)."""

    years: tuple[int, int] | None = None
    weeks: list[tuple[dt.date, dt.date]] = field(default_factory=list)
    days: list[Period] = field(default_factory=list)


def _weeks_and_days(span: Period) -> tuple[list[tuple[dt.date, dt.date]], list[Period]]:
    first_monday = span.start + dt.timedelta(days=(7 - span.start.weekday()) % 7)
    last_sunday = span.end - dt.timedelta(days=(span.end.weekday() + 1) % 7)
    if first_monday + dt.timedelta(days=6) > span.end:
        return [], [span]
    days = []
    if first_monday > span.start:
        days.append(Period(span.start, first_monday - _DAY))
    if last_sunday < span.end:
        days.append(Period(last_sunday + _DAY, span.end))
    return [(first_monday, last_sunday - dt.timedelta(days=6))], days


@dataclass(frozen=True)
class Window:
    """A period read per enrolment: the academic `year`'s row, `weeks` (first and last
    Monday) and `days`, less `less_weeks` and `less`, count each of its days exactly once."""

    weeks: tuple[tuple[dt.date, dt.date], ...]
    days: tuple[Period, ...]
    less: tuple[Period, ...]
    year: int | None = None
    less_weeks: tuple[tuple[dt.date, dt.date], ...] = ()


def _school_days(p: Period) -> int:
    """Mondays to Fridays in a period inside one week."""
    return max(0, min(p.end.weekday(), 4) - p.start.weekday() + 1)


@functools.lru_cache(maxsize=4096)  # a view asks it of the same few periods for every pupil
def window(span: Period, today: dt.date | None = None) -> Window:
    """Split `span` into buckets to read, each of its days counted once.

    A whole academic year is its year's row. A span from the first day of an academic
    year to `today` or later (a year to date) is that year's row less the rest of the
    year, which holds no rows yet, since no mark is dated in the future: one row instead
    of one per week. Any other span is whole Monday-start weeks and edge days
    (`_weeks_and_edges`).
    """
    year = academic_year_of(span.start)
    whole = academic_year_period(year)
    if span.start == whole.start and span.end <= whole.end:
        if span.end == whole.end:
            return Window((), (), (), year=year)
        if today is not None and today <= span.end:
            rest = _weeks_and_edges(Period(span.end + _DAY, whole.end))
            return Window((), rest.less, rest.days, year=year, less_weeks=rest.weeks)
    return _weeks_and_edges(span)


def _weeks_and_edges(span: Period) -> Window:
    """Split `span` into whole Monday-start weeks and edge days, reading an edge with
    more school days (Monday to Friday) than one row plus the rest of its week as that
    whole week less the rest: a period ending on a Friday reads its last week's row
    less a weekend that normally holds no rows, instead of five day rows."""
    week = dt.timedelta(days=7)
    first = span.start - dt.timedelta(days=span.start.weekday())
    last = span.end - dt.timedelta(days=span.end.weekday())
    days: list[Period] = []
    less: list[Period] = []
    whole: list[dt.date] = []  # edge weeks read whole
    for monday in sorted({first, last}):
        piece = Period(max(monday, span.start), min(monday + week - _DAY, span.end))
        rest = [
            p
            for p in (
                Period(monday, piece.start - _DAY),
                Period(piece.end + _DAY, monday + week - _DAY),
            )
            if p.start <= p.end
        ]
        if not rest or 1 + sum(map(_school_days, rest)) < _school_days(piece):
            whole.append(monday)
            less += rest
        else:
            days.append(piece)
    lo = first if first in whole else first + week
    hi = last if last in whole else last - week
    return Window(((lo, hi),) if lo <= hi else (), tuple(days), tuple(less))


def decompose(period: Period) -> Buckets:
    """Split `period` into whole academic years, then whole weeks, then single days."""
    whole = [
        y
        for y in range(academic_year_of(period.start), academic_year_of(period.end) + 1)
        if academic_year_period(y).start >= period.start
        and academic_year_period(y).end <= period.end
    ]
    spans: list[Period] = []
    years: tuple[int, int] | None = None
    if whole:
        years = (whole[0], whole[-1])
        before = academic_year_period(whole[0]).start - _DAY
        after = academic_year_period(whole[-1]).end + _DAY
        if before >= period.start:
            spans.append(Period(period.start, before))
        if after <= period.end:
            spans.append(Period(after, period.end))
    else:
        spans.append(period)
    weeks: list[tuple[dt.date, dt.date]] = []
    days: list[Period] = []
    for span in spans:
        w, d = _weeks_and_days(span)
        weeks += w
        days += d
    return Buckets(years, weeks, days)


def covered_days(buckets: Buckets) -> set[dt.date]:
    """Every day the buckets cover (for tests of the decomposition)."""
    found: set[dt.date] = set()
    if buckets.years:
        for y in range(buckets.years[0], buckets.years[1] + 1):
            p = academic_year_period(y)
            found |= {p.start + dt.timedelta(days=i) for i in range(p.days())}
    for first, last in buckets.weeks:
        n = ((last - first).days // 7 + 1) * 7
        found |= {first + dt.timedelta(days=i) for i in range(n)}
    for p in buckets.days:
        found |= {p.start + dt.timedelta(days=i) for i in range(p.days())}
    return found


def bucket_count(buckets: Buckets) -> int:
    """How many (possibly overlapping, if wrong) day-slots the buckets hold."""
    total = 0
    if buckets.years:
        total += sum(
            academic_year_period(y).days() for y in range(buckets.years[0], buckets.years[1] + 1)
        )
    total += sum(((last - first).days // 7 + 1) * 7 for first, last in buckets.weeks)
    total += sum(p.days() for p in buckets.days)
    return total
