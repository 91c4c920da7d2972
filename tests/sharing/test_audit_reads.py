"""Every pupil-level read of ingest and metrics lands on the audit trail, the school it is
about sees it in GET /v1/audit, and a read that cannot be recorded is not served."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tests.metrics.factories import enrolment, marks_for, school_days
from tests.metrics.support import feed
from tests.sharing.audit_support import audit_headers, read_audit, upn, withdraw_audit_write
from tests.support.system import System

WEEK = school_days(dt.date(2024, 9, 2), dt.date(2024, 9, 6))
PUPIL = upn(7)


@pytest.fixture
def system_settings() -> dict[str, dict[str, Any]]:
    # The feed is applied by hand (feed()), so the metrics consumer thread stays off.
    return {"metrics": {"feed_consumer_enabled": False}}


@pytest.fixture
def camden(system: System) -> dict[str, Any]:
    return system.create_organisation("local_authority", la_code="202")


@pytest.fixture
def school(system: System, camden: dict[str, Any]) -> dict[str, Any]:
    return system.create_organisation("school", la_code="202")


def submit_marks(system: System, school: dict[str, Any]) -> dict[str, str]:
    """A return with one pupil's week; the school's headers to read it back."""
    headers = system.headers_for(school["id"], "school_system", ["returns:write", "returns:read"])
    body = {
        "pupils": [
            {
                "upn": PUPIL,
                "legal_surname": "S",
                "legal_forename": "F",
                "date_of_birth": "2014-03-01",
                "gender": "F",
                "nc_year": "5",
                "sen_provision": "N",
                "fsm_eligible": False,
                "ethnicity": "WBRI",
                "enrolment_status": "C",
                "entry_date": "2019-09-04",
                "leaving_date": None,
            }
        ],
        "marks": [
            {"upn": PUPIL, "date": d.isoformat(), "session": s, "code": "/" if s == "AM" else "\\"}
            for d in WEEK
            for s in ("AM", "PM")
        ],
    }
    response = system.ingest.post(
        f"/v1/schools/{school['urn']}/returns",
        content=json.dumps(body),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    return headers


def marks_url(school: dict[str, Any]) -> str:
    return f"/v1/schools/{school['urn']}/pupils/{PUPIL}/marks"


def metrics_reader(
    system: System, school: dict[str, Any], camden: dict[str, Any]
) -> dict[str, str]:
    """The pupil in metrics' read model; Camden's attendance team's headers to read it."""
    urn = school["urn"]
    feed(system, [enrolment(PUPIL, school_urn=urn), *marks_for(PUPIL, WEEK, "/", school_urn=urn)])
    return system.headers_for(camden["id"], "la_attendance", ["attendance:read"])


def test_reading_a_pupils_marks_is_on_record(system: System, school: dict[str, Any]) -> None:
    headers = submit_marks(system, school)
    system.ingest.get(marks_url(school), headers={**headers, "X-Purpose": "attendance_support"})
    (entry,) = read_audit(system, audit_headers(system, school))
    assert (entry["endpoint"], entry["purpose"], entry["children"]) == (
        "GET /v1/schools/{urn}/pupils/{upn}/marks",
        "attendance_support",
        [{"upn": PUPIL, "school_urn": school["urn"]}],
    )


def test_reading_marks_of_nobody_records_nothing(system: System, school: dict[str, Any]) -> None:
    headers = submit_marks(system, school)
    system.ingest.get(f"/v1/schools/{school['urn']}/pupils/{upn(99)}/marks", headers=headers)
    assert read_audit(system, system.admin_headers()) == []


def test_an_unknown_purpose_is_422(system: System, school: dict[str, Any]) -> None:
    headers = submit_marks(system, school)
    response = system.ingest.get(marks_url(school), headers={**headers, "X-Purpose": "curiosity"})
    assert response.status_code == 422


def test_a_purpose_the_role_may_not_state_is_403_and_nothing_is_recorded(
    system: System, school: dict[str, Any]
) -> None:
    headers = submit_marks(system, school)
    response = system.ingest.get(marks_url(school), headers={**headers, "X-Purpose": "statistics"})
    problem = response.json()
    assert (response.status_code, [(e["location"], e["code"]) for e in problem["errors"]]) == (
        403,
        [("header:X-Purpose", "purpose_not_allowed")],
    )
    assert read_audit(system, system.admin_headers()) == []


def test_marks_are_not_served_when_the_read_cannot_be_recorded(
    system: System, school: dict[str, Any]
) -> None:
    headers = submit_marks(system, school)
    withdraw_audit_write(system)
    response = system.ingest.get(marks_url(school), headers=headers)
    assert (response.status_code, "marks" in response.json()) == (503, False)


def test_listing_pupils_in_metrics_is_on_record(
    system: System, school: dict[str, Any], camden: dict[str, Any]
) -> None:
    assert system.metrics is not None
    headers = metrics_reader(system, school, camden)
    response = system.metrics.get(
        "/v1/pupils", params={"academic_year": "2024/25"}, headers=headers
    )
    assert response.status_code == 200, response.text
    (entry,) = read_audit(system, audit_headers(system, school))
    assert (entry["endpoint"], entry["children"]) == (
        "GET /v1/pupils",
        [{"upn": PUPIL, "school_urn": school["urn"]}],
    )


def test_one_pupils_attendance_in_metrics_is_on_record(
    system: System, school: dict[str, Any], camden: dict[str, Any]
) -> None:
    assert system.metrics is not None
    headers = metrics_reader(system, school, camden)
    response = system.metrics.get(
        f"/v1/pupils/{PUPIL}/attendance", params={"academic_year": "2024/25"}, headers=headers
    )
    assert response.status_code == 200, response.text
    (entry,) = read_audit(system, audit_headers(system, school))
    assert (entry["endpoint"], entry["purpose"]) == (
        "GET /v1/pupils/{upn}/attendance",
        "attendance_support",
    )


def test_pupils_are_not_listed_when_the_read_cannot_be_recorded(
    system: System, school: dict[str, Any], camden: dict[str, Any]
) -> None:
    assert system.metrics is not None
    headers = metrics_reader(system, school, camden)
    withdraw_audit_write(system)
    response = system.metrics.get(
        "/v1/pupils", params={"academic_year": "2024/25"}, headers=headers
    )
    assert (response.status_code, "items" in response.json()) == (503, False)
