"""Pupil-level views: lists with filters and pages, one pupil's register, who may see them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from tests.metrics.factories import enrolment, marks_for, school_days
from tests.metrics.support import feed, headers
from tests.support.system import System

WEEK = school_days(dt.date(2023, 9, 4), dt.date(2023, 9, 8))
YEAR = {"academic_year": "2023/24"}


@dataclass
class Schools:
    a: dict[str, Any]
    b: dict[str, Any]


@pytest.fixture
def schools(system: System) -> Schools:
    a = system.create_organisation("school", la_code="202")
    b = system.create_organisation("school", la_code="202")
    feed(
        system,
        [
            enrolment("A00000000001A", school_urn=a["urn"]),
            *marks_for("A00000000001A", WEEK, ["I", "I", *["/"] * 8], school_urn=a["urn"]),
            enrolment("A00000000002A", school_urn=a["urn"], fsm_eligible=True),
            *marks_for("A00000000002A", WEEK, "/", school_urn=a["urn"]),
            enrolment("A00000000003A", school_urn=a["urn"]),
            *marks_for("A00000000003A", WEEK, ["O", "/"], school_urn=a["urn"]),
            enrolment("B00000000001B", school_urn=b["urn"]),
            *marks_for("B00000000001B", WEEK, "/", school_urn=b["urn"]),
        ],
    )
    return Schools(a, b)


def pupils(system: System, hdrs: dict[str, str], **params: Any) -> Any:
    assert system.metrics is not None
    return system.metrics.get("/v1/pupils", params={**YEAR, **params}, headers=hdrs)


def test_listing_pupils_needs_a_token(system: System, schools: Schools) -> None:
    assert pupils(system, {}).status_code == 401


def test_listing_pupils_needs_attendance_read(system: System, schools: Schools) -> None:
    hdrs = headers(system, schools.a, ["metrics:read"])
    assert pupils(system, hdrs).status_code == 403


def test_a_school_lists_only_its_own_pupils(system: System, schools: Schools) -> None:
    hdrs = headers(system, schools.a, ["attendance:read"])
    body = pupils(system, hdrs).json()
    assert {p["school_urn"] for p in body["items"]} == {schools.a["urn"]}
    assert len(body["items"]) == 3


def test_persistent_absentees_are_those_at_ten_percent_or_more(
    system: System, schools: Schools
) -> None:
    hdrs = headers(system, schools.a, ["attendance:read"])
    body = pupils(system, hdrs, persistent=True).json()
    assert [p["upn"] for p in body["items"]] == ["A00000000001A", "A00000000003A"]
    assert body["items"][0]["measures"]["sess_overall_percent"] == 20.0


def test_severe_absentees_are_those_at_fifty_percent_or_more(
    system: System, schools: Schools
) -> None:
    hdrs = headers(system, schools.a, ["attendance:read"])
    body = pupils(system, hdrs, severe=True).json()
    assert [p["upn"] for p in body["items"]] == ["A00000000003A"]


def test_pupils_filter_by_characteristics(system: System, schools: Schools) -> None:
    hdrs = headers(system, schools.a, ["attendance:read"])
    body = pupils(system, hdrs, fsm_eligible=True).json()
    assert [p["upn"] for p in body["items"]] == ["A00000000002A"]


def test_pages_follow_the_cursor_to_the_end(system: System, schools: Schools) -> None:
    hdrs = headers(system, schools.a, ["attendance:read"])
    first = pupils(system, hdrs, limit=2).json()
    second = pupils(system, hdrs, limit=2, cursor=first["next_cursor"]).json()
    upns = [p["upn"] for p in first["items"] + second["items"]]
    assert upns == ["A00000000001A", "A00000000002A", "A00000000003A"]
    assert second["next_cursor"] is None


def test_a_forged_cursor_is_a_problem_not_a_crash(system: System, schools: Schools) -> None:
    hdrs = headers(system, schools.a, ["attendance:read"])
    assert pupils(system, hdrs, cursor="bm9wZQ==").status_code == 422


def test_the_dfe_sees_no_pupils(system: System, schools: Schools) -> None:
    dfe = system.create_organisation("dfe")
    hdrs = headers(system, dfe, ["attendance:read"])
    assert pupils(system, hdrs).status_code == 404


def test_a_pupil_list_is_also_csv(system: System, schools: Schools) -> None:
    hdrs = headers(system, schools.a, ["attendance:read"])
    response = pupils(system, {**hdrs, "Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0].startswith("school_urn,upn,")


def attendance(system: System, hdrs: dict[str, str], upn: str) -> Any:
    assert system.metrics is not None
    return system.metrics.get(f"/v1/pupils/{upn}/attendance", params=YEAR, headers=hdrs)


def test_a_pupils_register_weeks_and_measures(system: System, schools: Schools) -> None:
    hdrs = headers(system, schools.a, ["attendance:read"])
    body = attendance(system, hdrs, "A00000000001A").json()
    (e,) = body["enrolments"]
    assert len(e["marks"]) == 10
    assert e["marks"][0] == {
        "date": "2023-09-04",
        "session": "AM",
        "code": "I",
        "category": "authorised_absence",
    }
    assert e["weeks"] == [
        {
            "week_start": "2023-09-04",
            "sess_possible": 10,
            "sess_attended": 8,
            "sess_attended_percent": 80.0,
        }
    ]
    assert e["measures"]["persistent_absentee"] is True


def test_another_schools_pupil_is_not_found(system: System, schools: Schools) -> None:
    hdrs = headers(system, schools.a, ["attendance:read"])
    assert attendance(system, hdrs, "B00000000001B").status_code == 404


def test_a_local_authority_sees_every_pupil_of_its_area(system: System, schools: Schools) -> None:
    la = system.create_organisation("local_authority", la_code="202")
    hdrs = headers(system, la, ["attendance:read"])
    assert attendance(system, hdrs, "B00000000001B").status_code == 200
    assert len(pupils(system, hdrs).json()["items"]) == 4
