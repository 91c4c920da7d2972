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


def came_back(urn: str) -> list[Any]:
    """On roll 4-8 September, away the next week, back from 18 September. The read
    model also holds marks of the week away (sent before the school corrected them)."""
    return [
        enrolment(
            UPN,
            school_urn=urn,
            entry_date=dt.date(2023, 9, 18),
            earlier_stays=((dt.date(2023, 9, 4), dt.date(2023, 9, 8)),),
        ),
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
