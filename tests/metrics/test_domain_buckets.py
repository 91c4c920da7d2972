"""A period splits into disjoint whole years, whole weeks and days that cover it exactly."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from services.metrics.domain.buckets import Window, bucket_count, covered_days, decompose, window
from services.metrics.domain.calendar import Period, academic_year_period


@given(st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31)), st.integers(0, 900))
def test_buckets_cover_every_day_of_the_period_exactly_once(start: dt.date, length: int) -> None:
    period = Period(start, start + dt.timedelta(days=length))
    buckets = decompose(period)
    days = covered_days(buckets)
    assert days == {start + dt.timedelta(days=i) for i in range(length + 1)}
    assert bucket_count(buckets) == len(days)


def test_a_full_academic_year_is_one_year_bucket() -> None:
    buckets = decompose(Period(dt.date(2023, 9, 1), dt.date(2024, 8, 31)))
    assert buckets.years == (2023, 2023)
    assert not buckets.weeks
    assert not buckets.days


def test_six_whole_weeks_are_week_buckets_only() -> None:
    buckets = decompose(Period(dt.date(2024, 1, 8), dt.date(2024, 2, 18)))
    assert buckets.weeks == [(dt.date(2024, 1, 8), dt.date(2024, 2, 12))]
    assert not buckets.days


def _times(pieces: Window) -> Counter[dt.date]:
    """How many times the pieces count each day (negative: subtracted more than added)."""
    times: Counter[dt.date] = Counter()

    def days(first: dt.date, n: int) -> list[dt.date]:
        return [first + dt.timedelta(days=i) for i in range(n)]

    if pieces.year is not None:
        whole = academic_year_period(pieces.year)
        times.update(days(whole.start, whole.days()))
    for first, last in pieces.weeks:
        times.update(days(first, (last - first).days + 7))
    for first, last in pieces.less_weeks:
        times.subtract(days(first, (last - first).days + 7))
    for p in pieces.days:
        times.update(days(p.start, p.days()))
    for p in pieces.less:
        times.subtract(days(p.start, p.days()))
    return times


@given(
    st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31)),
    st.integers(0, 400),
    st.none() | st.dates(dt.date(2019, 1, 1), dt.date(2027, 12, 31)),
)
def test_a_window_counts_every_day_of_the_period_once(
    start: dt.date, length: int, today: dt.date | None
) -> None:
    period = Period(start, start + dt.timedelta(days=length))
    times = _times(window(period, today))
    assert +times == {period.start + dt.timedelta(days=i): 1 for i in range(length + 1)}
    assert not -times


@given(st.integers(2019, 2026), st.integers(0, 364), st.integers(0, 364))
def test_a_year_to_date_counts_every_day_of_the_period_once(
    year: int, length: int, after: int
) -> None:
    start = academic_year_period(year).start
    period = Period(start, start + dt.timedelta(days=length))
    times = _times(window(period, period.end - dt.timedelta(days=after)))
    assert +times == {period.start + dt.timedelta(days=i): 1 for i in range(length + 1)}
    assert not -times


def test_a_year_to_date_reaching_today_is_its_year_less_the_rest() -> None:
    pieces = window(Period(dt.date(2024, 9, 1), dt.date(2024, 12, 13)), dt.date(2024, 12, 13))
    assert (pieces.year, pieces.weeks, pieces.days) == (2024, (), ())
    assert pieces.less_weeks == ((dt.date(2024, 12, 16), dt.date(2025, 8, 25)),)
    assert pieces.less == (Period(dt.date(2024, 12, 14), dt.date(2024, 12, 15)),)


def test_a_year_to_date_ending_before_today_is_read_by_weeks() -> None:
    pieces = window(Period(dt.date(2024, 9, 1), dt.date(2024, 12, 13)), dt.date(2024, 12, 16))
    assert (pieces.year, pieces.less_weeks) == (None, ())


def test_a_monday_to_friday_window_is_its_week_less_the_weekend() -> None:
    pieces = window(Period(dt.date(2024, 12, 9), dt.date(2024, 12, 13)))
    assert pieces.weeks == ((dt.date(2024, 12, 9), dt.date(2024, 12, 9)),)
    assert pieces.days == ()
    assert pieces.less == (Period(dt.date(2024, 12, 14), dt.date(2024, 12, 15)),)


def test_a_window_edge_of_two_school_days_is_read_as_days() -> None:
    pieces = window(Period(dt.date(2024, 12, 2), dt.date(2024, 12, 10)))
    assert pieces.weeks == ((dt.date(2024, 12, 2), dt.date(2024, 12, 2)),)
    assert pieces.days == (Period(dt.date(2024, 12, 9), dt.date(2024, 12, 10)),)
    assert pieces.less == ()
