"""Taking a pupil off a school's roll as a correction: marks withdrawn on the record, the
feed told, a receipt kept; only the school, or its trust over the whole enrolment."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.ingest.conftest import School
from tests.ingest.factories import json_body, pupil, week_of_marks
from tests.support.system import System

JSON = {"Content-Type": "application/json"}


def enrol_with_a_week(system: System, school: School, serial: int = 1) -> str:
    p = pupil(serial)
    response = system.ingest.post(
        school.returns_url(),
        content=json_body([p], week_of_marks(p)),
        headers={**school.headers, **JSON},
    )
    assert response.status_code == 201, response.text
    return p.upn


def remove(system: System, school: School, upn: str, headers: dict[str, str] | None = None) -> Any:
    return system.ingest.delete(
        f"/v1/schools/{school.urn}/pupils/{upn}", headers=headers or school.headers
    )


def feed(system: System) -> list[dict[str, Any]]:
    response = system.ingest.get(
        "/v1/changes", params={"limit": 10_000}, headers=system.service_headers(["changes:read"])
    )
    changes: list[dict[str, Any]] = response.json()["changes"]
    return changes


def test_removing_a_pupil_withdraws_every_mark_and_gives_a_receipt(
    system: System, school: School
) -> None:
    upn = enrol_with_a_week(system, school)
    response = remove(system, school, upn)
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert (receipt["format"], receipt["pupils"]["removed"], receipt["marks"]["withdrawn"]) == (
        "removal",
        1,
        10,
    )
    assert system.ingest.get(response.headers["Location"], headers=school.headers).json() == (
        receipt
    )


def test_the_feed_withdraws_each_mark_then_removes_the_enrolment(
    system: System, school: School
) -> None:
    upn = enrol_with_a_week(system, school)
    remove(system, school, upn)
    after = [c for c in feed(system) if c["kind"] != "mark.upserted"][1:]
    assert [c["kind"] for c in after] == ["mark.withdrawn"] * 10 + ["enrolment.removed"]
    assert {(c["school_urn"], c["upn"]) for c in after} == {(school.urn, upn)}


def test_the_history_keeps_the_withdrawn_marks(system: System, school: School) -> None:
    upn = enrol_with_a_week(system, school)
    removal = remove(system, school, upn).json()
    marks = system.ingest.get(
        f"/v1/schools/{school.urn}/pupils/{upn}/marks",
        params={"history": "true"},
        headers=school.headers,
    ).json()["marks"]
    assert len(marks) == 10
    assert all(m["code"] is None for m in marks)
    assert marks[0]["history"][-1]["return_id"] == removal["id"]
    assert marks[0]["history"][-1]["previous_code"] == "/"


def test_the_pupil_is_off_the_roll_so_a_second_removal_is_404(
    system: System, school: School
) -> None:
    upn = enrol_with_a_week(system, school)
    assert remove(system, school, upn).status_code == 200
    again = remove(system, school, upn)
    assert (again.status_code, again.json()["type"].rsplit("/", 1)[-1]) == (
        404,
        "pupil-not-on-roll",
    )


def test_another_school_cannot_remove_a_pupil(system: System, school: School) -> None:
    upn = enrol_with_a_week(system, school)
    other = system.create_organisation("school")
    headers = system.headers_for(other["id"], "school_system", ["returns:write"])
    assert remove(system, school, upn, headers).status_code == 403


def test_a_trust_that_joined_after_the_pupil_did_cannot_remove_it(
    system: System, school: School
) -> None:
    upn = enrol_with_a_week(system, school)  # on roll since 2019
    trust = system.create_organisation("trust")
    system.add_trust_membership(school.org["id"], trust["id"], date(2024, 9, 1), None)
    headers = system.headers_for(trust["id"], "trust_system", ["returns:write"])
    assert remove(system, school, upn, headers).status_code == 403
    assert remove(system, school, upn).status_code == 200


def test_removal_needs_returns_write(system: System, school: School) -> None:
    upn = enrol_with_a_week(system, school)
    reader = system.headers_for(school.org["id"], "school_system", ["returns:read"])
    assert remove(system, school, upn, reader).status_code == 403


def test_a_malformed_upn_is_a_problem_naming_it(system: System, school: School) -> None:
    response = remove(system, school, "TOO-SHORT")
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"].endswith("upn")
