"""How a period splits into the read model's buckets: whole academic years, whole weeks, days.

Summing the largest buckets that fit keeps a full-year query at one row per enrolment
and a six-week window at six; only the ragged edges of a period read day rows.
"""

from __future__ import annotations

import datetime as dt
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


def weeks_and_days(span: Period) -> tuple[list[tuple[dt.date, dt.date]], list[Period]]:
    """Split `span` into whole Monday-start weeks (first and last Monday) and edge days."""
    return _weeks_and_days(span)


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
