"""GET /v1/trends and GET /v1/early-warnings through the app."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.metrics.factories import enrolment, marks_for, school_days
from tests.metrics.support import feed, headers
from tests.support.system import System

AUTUMN = school_days(dt.date(2023, 9, 4), dt.date(2023, 10, 27))  # 8 weeks
LAST_FOUR = school_days(dt.date(2023, 10, 2), dt.date(2023, 10, 27))
EARLIER = school_days(dt.date(2023, 9, 4), dt.date(2023, 9, 29))


@pytest.fixture
def school(system: System) -> dict[str, Any]:
    school = system.create_organisation("school", la_code="202")
    urn = school["urn"]
    feed(
        system,
        [
            enrolment("W00000000001A", school_urn=urn),
            *marks_for("W00000000001A", AUTUMN, "/", school_urn=urn),
            # Good for four weeks, then every Monday off: 80% recently, 90% for the term.
            enrolment("W00000000002A", school_urn=urn),
            *marks_for("W00000000002A", EARLIER, "/", school_urn=urn),
            *[
                c
                for d in LAST_FOUR
                for c in marks_for(
                    "W00000000002A", [d], "O" if d.weekday() == 0 else "/", school_urn=urn
                )
            ],
        ],
    )
    return school


def test_trends_give_one_row_per_week_and_group(system: System, school: dict[str, Any]) -> None:
    assert system.metrics is not None
    hdrs = headers(system, school, ["metrics:read"])
    body = system.metrics.get(
        "/v1/trends",
        params={"scope": f"school:{school['urn']}", "from": "2023-09-01", "to": "2023-10-31"},
        headers=hdrs,
    ).json()
    weeks = [w["week_start"] for w in body["weeks"]]
    assert weeks[0] == "2023-09-04"
    assert len(weeks) == 8
    last = body["weeks"][-1]["measures"]
    assert (last["sess_possible"], last["sess_overall"]) == (20, 2)


def test_trends_refuse_a_grouping_they_do_not_offer(system: System, school: dict[str, Any]) -> None:
    assert system.metrics is not None
    hdrs = headers(system, school, ["metrics:read"])
    response = system.metrics.get(
        "/v1/trends",
        params={
            "scope": f"school:{school['urn']}",
            "academic_year": "2023/24",
            "group_by": "phase",
        },
        headers=hdrs,
    )
    assert response.status_code == 422


def test_early_warnings_name_the_pupil_and_the_reason(
    system: System, school: dict[str, Any]
) -> None:
    assert system.metrics is not None
    hdrs = headers(system, school, ["attendance:read"])
    body = system.metrics.get(
        "/v1/early-warnings", params={"as_of": "2023-10-27"}, headers=hdrs
    ).json()
    (item,) = body["items"]
    assert item["upn"] == "W00000000002A"
    rules = {f["rule"]: f["reason"] for f in item["flags"]}
    assert "4 Mondays" in rules["weekday_pattern"]
    assert "80.0%" in rules["recent_drop"]


def test_early_warnings_are_pupil_level(system: System, school: dict[str, Any]) -> None:
    assert system.metrics is not None
    dfe = system.create_organisation("dfe")
    hdrs = headers(system, dfe, ["attendance:read"])
    response = system.metrics.get("/v1/early-warnings", headers=hdrs)
    assert response.status_code == 404


def test_at_risk_pupils_are_listed_with_their_flags(system: System, school: dict[str, Any]) -> None:
    assert system.metrics is not None
    hdrs = headers(system, school, ["attendance:read"])
    body = system.metrics.get(
        "/v1/pupils",
        params={"at_risk": True, "as_of": "2023-10-27", "academic_year": "2023/24"},
        headers=hdrs,
    ).json()
    assert [p["upn"] for p in body["items"]] == ["W00000000002A"]
    assert body["items"][0]["early_warnings"]
