"""Breakdowns by social-care status come from sharing's episodes and are always suppressed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stdnum.gb.upn import calc_check_digit

from tests.metrics.factories import enrolment, marks_for, school_days
from tests.metrics.support import feed, headers
from tests.support.system import System

WEEK = school_days(dt.date(2023, 9, 4), dt.date(2023, 9, 8))


def upn(serial: int) -> str:
    body = f"2024001{23:02d}{serial:03d}"
    return calc_check_digit(body) + body


def test_a_breakdown_by_social_care_status_counts_children_by_their_episodes(
    system: System,
) -> None:
    assert system.metrics is not None
    la = system.create_organisation("local_authority", la_code="202")
    school = system.create_organisation("school", la_code="202")
    care = system.create_organisation("social_care", la_code="202")
    changes: list[Any] = []
    for i in range(12):
        changes += [
            enrolment(upn(i), school_urn=school["urn"]),
            *marks_for(upn(i), WEEK, "/", school_urn=school["urn"]),
        ]
    feed(system, changes)
    care_headers = system.headers_for(care["id"], "social_care", ["social_care:write"])
    for i in range(6):
        response = system.sharing.post(
            "/v1/episodes",
            json={"child": {"upn": upn(i)}, "category": "CLA", "start_date": "2023-06-01"},
            headers=care_headers,
        )
        assert response.status_code == 201, response.text
    hdrs = headers(system, la, ["metrics:read"])
    body = system.metrics.get(
        "/v1/absence",
        params={"scope": "la:202", "academic_year": "2023/24", "group_by": "social_care_status"},
        headers=hdrs,
    ).json()
    by = {r["group"]["social_care_status"]: r["measures"]["enrolments"] for r in body["rows"]}
    assert by == {"CLA": 6, "None": 6, "Total": 12}
    assert body["suppressed"] is True
