"""What a caller may see of each enrolment, from sharing's Reach: the days and fields."""

from __future__ import annotations

import datetime as dt

from services.metrics.domain.pupil_reach import PupilReach
from shared.contracts.policy import (
    REACH_DATA,
    Basis,
    BasisKind,
    ChildWindow,
    PupilField,
    Reach,
    SchoolReach,
    SchoolWindow,
    Terms,
)

D = dt.date
CHILD, SCHOOL, OTHER_SCHOOL = "A123456789012", "100001", "100002"
ATTENDANCE, IDENTITY = PupilField.ATTENDANCE, PupilField.IDENTITY
EPISODE = Basis(kind=BasisKind.STATUTORY, id="statutory:social_care", legal_basis="Children Act")
SCHOOLS = Basis(kind=BasisKind.STATUTORY, id="statutory:la", legal_basis="Education Act")
ON_EPISODE = Terms(fields=[ATTENDANCE], basis=EPISODE)
ON_SCHOOLS = Terms(fields=[ATTENDANCE, IDENTITY], basis=SCHOOLS)
TERMS = [ON_EPISODE, ON_SCHOOLS]
"""Every test's Reach lists both; its windows name them by place."""


def child_window(
    start: dt.date, end: dt.date | None = None, *, schools: list[SchoolWindow] | None = None
) -> ChildWindow:
    return ChildWindow(
        upn=CHILD, from_date=start, to_date=end, terms=TERMS.index(ON_EPISODE), schools=schools
    )


def reach(*children: ChildWindow, schools: tuple[SchoolReach, ...] = ()) -> PupilReach:
    decision = Reach(
        organisation_id="org",
        organisation_type="social_care",
        as_of=D(2024, 12, 13),
        terms=TERMS,
        children=list(children),
        schools=list(schools),
    )
    return PupilReach(REACH_DATA.validate_python(decision.model_dump()))


ON_ROLL = ((D(2019, 9, 2), None),)


def test_an_open_window_is_seen_from_its_first_day_while_on_roll() -> None:
    access = reach(child_window(D(2024, 10, 1))).access(CHILD, SCHOOL, ON_ROLL)
    assert access is not None
    assert (access.spans, access.fields) == ([(D(2024, 10, 1), dt.date.max)], {ATTENDANCE})


def test_a_window_opened_before_the_pupil_joined_starts_on_the_entry_date() -> None:
    access = reach(child_window(D(2019, 1, 1))).access(CHILD, SCHOOL, ON_ROLL)
    assert access is not None
    assert access.spans == [(D(2019, 9, 2), dt.date.max)]


def test_the_days_between_two_stays_are_never_seen() -> None:
    stays = ((D(2023, 9, 4), D(2024, 2, 9)), (D(2024, 4, 15), None))
    access = reach(child_window(D(2023, 1, 1))).access(CHILD, SCHOOL, stays)
    assert access is not None
    assert access.spans == [(D(2023, 9, 4), D(2024, 2, 9)), (D(2024, 4, 15), dt.date.max)]


def test_two_windows_give_their_fields_together_and_their_days_merged() -> None:
    school_window = SchoolReach(urn=SCHOOL, from_date=D(2024, 9, 1), terms=TERMS.index(ON_SCHOOLS))
    decided = reach(child_window(D(2024, 6, 1), D(2024, 9, 30)), schools=(school_window,))
    access = decided.access(CHILD, SCHOOL, ON_ROLL)
    assert access is not None
    assert (access.spans, access.fields) == (
        [(D(2024, 6, 1), dt.date.max)],
        {ATTENDANCE, IDENTITY},
    )
    assert len(access.grants) == 2  # each names its own legal basis


def test_a_window_limited_to_a_school_shows_nothing_at_another() -> None:
    at_school = [SchoolWindow(urn=SCHOOL, from_date=D(2024, 9, 1))]
    decided = reach(child_window(D(2024, 1, 1), schools=at_school))
    assert decided.access(CHILD, OTHER_SCHOOL, ON_ROLL) is None
    access = decided.access(CHILD, SCHOOL, ON_ROLL)
    assert access is not None
    assert access.spans == [(D(2024, 9, 1), dt.date.max)]


def test_a_window_that_ended_before_the_pupil_joined_shows_nothing() -> None:
    decided = reach(child_window(D(2018, 1, 1), D(2019, 8, 31)))
    assert decided.access(CHILD, SCHOOL, ON_ROLL) is None
