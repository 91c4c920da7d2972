"""A period splits into disjoint whole years, whole weeks and days that cover it exactly."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from services.metrics.domain.buckets import bucket_count, covered_days, decompose
from services.metrics.domain.calendar import Period


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
