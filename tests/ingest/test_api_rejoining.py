"""A pupil who leaves a school and comes back: each stay kept on the roll, marks of every
stay accepted, amendable and published, days between stays still off roll."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from services.ingest.domain.formats import CtfSchool, ctf_return, multipart_return
from services.ingest.domain.model import Mark, Pupil
from shared.contracts.changes import SenProvision
from tests.ingest.conftest import School
from tests.ingest.factories import AUTUMN_2024, json_body, pupil, week_of_marks
from tests.support.system import System

LEFT = AUTUMN_2024 + timedelta(days=11)  # Friday 13 September 2024
BACK = AUTUMN_2024 + timedelta(weeks=5)  # Monday 7 October 2024
FIRST_STAY = pupil(leaving_date=LEFT)
SECOND_STAY = replace(FIRST_STAY, entry_date=BACK, leaving_date=None)


def published_enrolment(system: System) -> dict[str, Any]:
    changes = system.ingest.get(
        "/v1/changes", params={"limit": 1000}, headers=system.service_headers(["changes:read"])
    ).json()["changes"]
    enrolment: dict[str, Any] = [c for c in changes if c["kind"] == "enrolment.upserted"][-1][
        "enrolment"
    ]
    return enrolment


def left_and_came_back(system: System, school: School) -> None:
    """The first stay's return, then the second's, as a school's system sends them."""
    first = school.submit(system, json_body([FIRST_STAY], week_of_marks(FIRST_STAY)))
    assert first.status_code == 201, first.text
    second = school.submit(
        system, json_body([SECOND_STAY], week_of_marks(SECOND_STAY, monday=BACK))
    )
    assert second.status_code == 201, second.text


def test_a_pupil_who_came_back_is_published_with_the_earlier_stay(
    system: System, school: School
) -> None:
    left_and_came_back(system, school)
    enrolment = published_enrolment(system)
    assert (enrolment["entry_date"], enrolment["leaving_date"], enrolment["earlier_stays"]) == (
        BACK.isoformat(),
        None,
        [{"entry_date": FIRST_STAY.entry_date.isoformat(), "leaving_date": LEFT.isoformat()}],
    )


def test_marks_of_the_earlier_stay_can_still_be_amended(system: System, school: School) -> None:
    left_and_came_back(system, school)
    amended = school.submit(system, json_body([], week_of_marks(FIRST_STAY, code="I")))
    assert amended.status_code == 201, amended.text
    assert amended.json()["marks"]["changed"] == 10


def test_a_mark_between_two_stays_is_not_on_roll(system: System, school: School) -> None:
    left_and_came_back(system, school)
    between = AUTUMN_2024 + timedelta(weeks=3)
    response = school.submit(system, json_body([], week_of_marks(FIRST_STAY, monday=between)))
    assert response.status_code == 422
    assert {e["code"] for e in response.json()["errors"]} == {"pupil_not_on_roll_on_date"}


def test_one_return_may_list_a_pupil_once_per_stay(system: System, school: School) -> None:
    marks = week_of_marks(FIRST_STAY) + week_of_marks(SECOND_STAY, monday=BACK)
    response = school.submit(system, json_body([SECOND_STAY, FIRST_STAY], marks))
    assert response.status_code == 201, response.text
    assert (response.json()["pupils"]["inserted"], response.json()["marks"]["inserted"]) == (1, 20)
    assert len(published_enrolment(system)["earlier_stays"]) == 1


def test_overlapping_stays_of_one_pupil_are_refused(system: System, school: School) -> None:
    overlapping = replace(SECOND_STAY, entry_date=LEFT)
    response = school.submit(system, json_body([FIRST_STAY, overlapping], []))
    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["pupil_duplicate"]


def test_a_return_about_the_earlier_stay_keeps_the_later_one(
    system: System, school: School
) -> None:
    left_and_came_back(system, school)
    corrected = replace(FIRST_STAY, leaving_date=LEFT - timedelta(days=1))
    response = school.submit(system, json_body([corrected], []))
    assert response.status_code == 201, response.text
    enrolment = published_enrolment(system)
    assert (enrolment["entry_date"], enrolment["earlier_stays"][0]["leaving_date"]) == (
        BACK.isoformat(),
        (LEFT - timedelta(days=1)).isoformat(),
    )


def test_a_return_about_the_earlier_stay_keeps_the_later_stays_characteristics(
    system: System, school: School
) -> None:
    left_and_came_back(system, school)
    with_plan = replace(SECOND_STAY, sen_provision=SenProvision.EHC_PLAN)
    assert school.submit(system, json_body([with_plan], [])).status_code == 201
    resent = school.submit(system, json_body([FIRST_STAY], week_of_marks(FIRST_STAY)))
    assert resent.status_code == 201, resent.text
    enrolment = published_enrolment(system)
    assert (enrolment["entry_date"], enrolment["sen_provision"]) == (BACK.isoformat(), "E")


def test_a_corrected_entry_date_replaces_the_stay_it_overlaps(
    system: System, school: School
) -> None:
    p = pupil()
    assert school.submit(system, json_body([p], [])).status_code == 201
    corrected = replace(p, entry_date=date(2019, 9, 5))
    assert school.submit(system, json_body([corrected], [])).status_code == 201
    enrolment = published_enrolment(system)
    assert (enrolment["entry_date"], enrolment["earlier_stays"]) == ("2019-09-05", [])


def both_stays() -> tuple[Pupil, list[Mark]]:
    """The pupil with both stays, and a week of marks in each."""
    p = replace(SECOND_STAY, earlier_stays=((FIRST_STAY.entry_date, LEFT),))
    return p, week_of_marks(p) + week_of_marks(p, monday=BACK)


def test_a_ctf_lists_each_stay_in_the_school_history(system: System, school: School) -> None:
    p, marks = both_stays()
    dfe = school.org["dfe_number"]
    body = ctf_return(CtfSchool(dfe[:3], dfe[3:], "Test"), [p], marks)
    response = system.ingest.post(
        school.returns_url(),
        content=body,
        headers={**school.headers, "Content-Type": "application/xml"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["marks"]["inserted"] == 20
    assert len(published_enrolment(system)["earlier_stays"]) == 1


def test_a_csv_roll_lists_each_stay_on_its_own_row(system: System, school: School) -> None:
    p, marks = both_stays()
    content_type, body = multipart_return([p], marks)
    response = system.ingest.post(
        school.returns_url(), content=body, headers={**school.headers, "Content-Type": content_type}
    )
    assert response.status_code == 201, response.text
    assert len(published_enrolment(system)["earlier_stays"]) == 1
