"""Who may submit and read: the school, or its trust on the dates covered; nobody else."""

from __future__ import annotations

from datetime import date

from tests.ingest.conftest import School
from tests.ingest.factories import json_body, pupil, week_of_marks
from tests.support.system import System

JSON = {"Content-Type": "application/json"}


def test_anonymous_is_401(system: System, school: School) -> None:
    response = system.ingest.post(school.returns_url(), content=b"{}", headers=JSON)
    assert response.status_code == 401


def test_missing_scope_is_403(system: System, school: School) -> None:
    headers = system.headers_for(school.org["id"], "school_system", ["returns:read"])
    response = system.ingest.post(school.returns_url(), content=b"{}", headers={**headers, **JSON})
    assert response.status_code == 403


def test_another_school_is_403(system: System, school: School) -> None:
    other = system.create_organisation("school")
    headers = system.headers_for(other["id"], "school_system", ["returns:write"])
    p = pupil()
    response = system.ingest.post(
        school.returns_url(), content=json_body([p], week_of_marks(p)), headers={**headers, **JSON}
    )
    assert response.status_code == 403


def test_an_unknown_school_is_404(system: System, school: School) -> None:
    response = system.ingest.post(
        "/v1/schools/999999/returns", content=b"{}", headers={**school.headers, **JSON}
    )
    assert response.status_code == 404


def _trust_of(system: System, school: School, start: date, end: date | None) -> dict[str, str]:
    trust = system.create_organisation("trust")
    system.add_trust_membership(school.org["id"], trust["id"], start, end)
    return system.headers_for(trust["id"], "trust_system", ["returns:write", "returns:read"])


def test_a_trust_submits_within_its_membership(system: System, school: School) -> None:
    headers = _trust_of(system, school, date(2024, 9, 1), None)
    p = pupil()
    response = system.ingest.post(
        school.returns_url(), content=json_body([p], week_of_marks(p)), headers={**headers, **JSON}
    )
    assert response.status_code == 201, response.text


def test_a_trust_is_refused_outside_its_membership(system: System, school: School) -> None:
    headers = _trust_of(system, school, date(2024, 9, 4), None)
    p = pupil()
    response = system.ingest.post(
        school.returns_url(), content=json_body([p], week_of_marks(p)), headers={**headers, **JSON}
    )
    assert response.status_code == 403


def test_a_trust_reads_only_marks_within_its_membership(system: System, school: School) -> None:
    p = pupil()
    system.ingest.post(
        school.returns_url(),
        content=json_body([p], week_of_marks(p)),
        headers={**school.headers, **JSON},
    )
    headers = _trust_of(system, school, date(2024, 9, 5), None)
    marks = system.ingest.get(
        f"/v1/schools/{school.urn}/pupils/{p.upn}/marks", headers=headers
    ).json()["marks"]
    assert {m["date"] for m in marks} == {"2024-09-05", "2024-09-06"}


def test_another_school_cannot_read_marks(system: System, school: School) -> None:
    other = system.create_organisation("school")
    headers = system.headers_for(other["id"], "school_system", ["returns:read"])
    p = pupil()
    response = system.ingest.get(f"/v1/schools/{school.urn}/pupils/{p.upn}/marks", headers=headers)
    assert response.status_code == 404


def test_the_change_feed_needs_changes_read(system: System, school: School) -> None:
    response = system.ingest.get("/v1/changes", headers=school.headers)
    assert response.status_code == 403


def test_a_leaver_is_published_as_an_enrolment_upsert(system: System, school: School) -> None:
    p = pupil()
    system.ingest.post(
        school.returns_url(), content=json_body([p], []), headers={**school.headers, **JSON}
    )
    left = pupil(leaving_date=date(2024, 10, 1))
    system.ingest.post(
        school.returns_url(), content=json_body([left], []), headers={**school.headers, **JSON}
    )
    changes = system.ingest.get(
        "/v1/changes", headers=system.service_headers(["changes:read"])
    ).json()["changes"]
    assert [c["enrolment"]["leaving_date"] for c in changes] == [None, "2024-10-01"]
