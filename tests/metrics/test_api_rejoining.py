"""A pupil who left a school and came back: seen over every stay, never between them,
and counted by DfE's rules for each stay."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.metrics.factories import enrolment, marks_for, school_days
from tests.metrics.support import feed, headers
from tests.support.system import System

FIRST_STAY = school_days(dt.date(2023, 9, 4), dt.date(2023, 9, 8))
AWAY = school_days(dt.date(2023, 9, 11), dt.date(2023, 9, 15))
SECOND_STAY = school_days(dt.date(2023, 9, 18), dt.date(2023, 9, 22))
UPN = "A00000000001A"


def on_roll_twice(urn: str) -> Any:
    """On roll 4-8 September, away the next week, back from 18 September."""
    return enrolment(
        UPN,
        school_urn=urn,
        entry_date=dt.date(2023, 9, 18),
        earlier_stays=((dt.date(2023, 9, 4), dt.date(2023, 9, 8)),),
    )


def came_back(urn: str) -> list[Any]:
    """The pupil of `on_roll_twice`. The read model also holds marks of the week away
    (sent before the school corrected them)."""
    return [
        on_roll_twice(urn),
        *marks_for(UPN, FIRST_STAY, "/", school_urn=urn),
        *marks_for(UPN, AWAY, "O", school_urn=urn),
        *marks_for(UPN, SECOND_STAY, "I", school_urn=urn),
    ]


def attendance(system: System, school: dict[str, Any]) -> dict[str, Any]:
    assert system.metrics is not None
    response = system.metrics.get(
        f"/v1/pupils/{UPN}/attendance",
        params={"academic_year": "2023/24"},
        headers=headers(system, school, ["attendance:read"]),
    )
    assert response.status_code == 200, response.text
    (only,) = response.json()["enrolments"]
    result: dict[str, Any] = only
    return result


def test_a_school_sees_the_marks_of_every_stay_of_a_pupil_who_came_back(
    system: System,
) -> None:
    school = system.create_organisation("school", la_code="202")
    feed(system, came_back(school["urn"]))
    weeks = [w["week_start"] for w in attendance(system, school)["weeks"]]
    assert weeks == ["2023-09-04", "2023-09-18"]


def test_the_days_between_two_stays_are_not_shown(system: System) -> None:
    school = system.create_organisation("school", la_code="202")
    feed(system, came_back(school["urn"]))
    codes = {m["code"] for m in attendance(system, school)["marks"]}
    assert codes == {"/", "I"}


def test_the_earlier_stays_are_listed_with_the_enrolment(system: System) -> None:
    school = system.create_organisation("school", la_code="202")
    feed(system, came_back(school["urn"]))
    e = attendance(system, school)
    assert (e["entry_date"], e["earlier_stays"]) == (
        "2023-09-18",
        [{"entry_date": "2023-09-04", "leaving_date": "2023-09-08"}],
    )


def measures(system: System, school: dict[str, Any], **period: str) -> dict[str, Any]:
    assert system.metrics is not None
    response = system.metrics.get(
        "/v1/absence",
        params={"scope": f"school:{school['urn']}", **period},
        headers=headers(system, school, ["metrics:read"]),
    )
    assert response.status_code == 200, response.text
    (row,) = response.json()["rows"]
    result: dict[str, Any] = row["measures"]
    return result


def judged(m: dict[str, Any]) -> tuple[int, int, int, int]:
    return (m["enrolments"], m["sess_possible"], m["enrolments_pa_10_exact"], m["sess_overall"])


def present_then_ill(urn: str) -> list[Any]:
    """The pupil of `on_roll_twice`, present through the first stay and ill through the
    second."""
    return [
        on_roll_twice(urn),
        *marks_for(UPN, FIRST_STAY, "/", school_urn=urn),
        *marks_for(UPN, SECOND_STAY, "I", school_urn=urn),
    ]


def test_each_stay_is_its_own_enrolment_in_the_measures(system: System) -> None:
    # DfE judges each stay apart: the first (all present) is not persistently absent,
    # the second (all ill) is severely; summed they would be one enrolment at 50%.
    school = system.create_organisation("school", la_code="202")
    feed(system, present_then_ill(school["urn"]))
    year = measures(system, school, academic_year="2023/24")
    assert judged(year) == (2, 20, 1, 10)
    assert year["enrolments_pa_50_exact"] == 1


def test_a_period_of_one_stay_counts_one_enrolment(system: System) -> None:
    school = system.create_organisation("school", la_code="202")
    feed(system, present_then_ill(school["urn"]))
    second = measures(system, school, **{"from": "2023-09-11", "to": "2023-09-30"})
    assert judged(second) == (1, 10, 1, 10)


def test_a_week_holding_both_stays_counts_each_stay_apart(system: System) -> None:
    # Off roll on Wednesday 6 September only: the week holds two stays.
    school = system.create_organisation("school", la_code="202")
    days = school_days(dt.date(2023, 9, 4), dt.date(2023, 9, 8))
    feed(
        system,
        [
            enrolment(
                UPN,
                school_urn=school["urn"],
                entry_date=dt.date(2023, 9, 7),
                earlier_stays=((dt.date(2023, 9, 4), dt.date(2023, 9, 5)),),
            ),
            *marks_for(UPN, days[:2], "/", school_urn=school["urn"]),
            *marks_for(UPN, days[3:], "O", school_urn=school["urn"]),
        ],
    )
    week = measures(system, school, week="2023-09-04")
    assert judged(week) == (2, 8, 1, 4)


def test_the_pupil_view_judges_the_pupil_over_every_stay(system: System) -> None:
    school = system.create_organisation("school", la_code="202")
    feed(system, present_then_ill(school["urn"]))
    m = attendance(system, school)["measures"]
    assert (m["sess_possible"], m["sess_overall"], m["persistent_absentee"]) == (20, 10, True)
