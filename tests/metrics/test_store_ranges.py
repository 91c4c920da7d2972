"""Ranges as arrays: what a view counts of each enrolment, clipped to its periods."""

from __future__ import annotations

import datetime as dt

from services.metrics.domain.calendar import Period
from services.metrics.store.ranges import Ranges

D = dt.date
TERM = Period(D(2024, 9, 2), D(2024, 12, 20))
WEEK = Period(D(2024, 12, 9), D(2024, 12, 13))


def test_ranges_read_back_as_the_triples_they_were_made_of() -> None:
    made = [(0, 11, TERM), (3, 12, WEEK)]
    assert Ranges.of([(s, e, p.start, p.end) for s, e, p in made]).triples() == made


def test_a_range_is_clipped_to_each_period_under_its_own_slot() -> None:
    shown = Ranges.of([(0, 11, D(2024, 12, 11), dt.date.max), (1, 12, dt.date.min, D(2024, 9, 30))])
    assert shown.clipped([TERM, WEEK]).triples() == [
        (0, 11, Period(D(2024, 12, 11), D(2024, 12, 20))),  # child 0, the term
        (1, 11, Period(D(2024, 12, 11), D(2024, 12, 13))),  # child 0, the week
        (2, 12, Period(D(2024, 9, 2), D(2024, 9, 30))),  # child 1, the term; not the week
    ]


def test_a_range_touching_a_period_on_one_day_keeps_that_day() -> None:
    shown = Ranges.of([(0, 11, D(2024, 12, 13), D(2024, 12, 31))])
    assert shown.clipped([WEEK]).triples() == [(0, 11, Period(D(2024, 12, 13), D(2024, 12, 13)))]


def test_nothing_is_left_of_a_range_outside_every_period() -> None:
    shown = Ranges.of([(0, 11, D(2025, 1, 6), D(2025, 1, 10))])
    assert len(shown.clipped([TERM, WEEK])) == 0
