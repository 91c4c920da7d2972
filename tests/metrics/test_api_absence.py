"""GET /v1/absence: who may ask, what they see, and that the numbers are DfE's."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest

from shared.contracts.changes import Change
from tests.metrics.factories import enrolment, marks_for, page, school_days
from tests.metrics.reference import Register, reference_measures
from tests.metrics.support import feed, headers
from tests.support.system import System

WEEK = school_days(dt.date(2023, 9, 4), dt.date(2023, 9, 8))
YEAR = {"academic_year": "2023/24"}


@dataclass
class Area:
    la: dict[str, Any]
    school_a: dict[str, Any]
    school_b: dict[str, Any]
    changes: list[Change]


def pupils(urn: str, n: int, codes: list[list[str]], *, prefix: str) -> list[Change]:
    out: list[Change] = []
    for i in range(n):
        upn = f"{prefix}{i:03d}"
        out.append(enrolment(upn, school_urn=urn, fsm_eligible=i % 2 == 0))
        out += marks_for(upn, WEEK, codes[i % len(codes)], school_urn=urn)
    return out


@pytest.fixture
def area(system: System) -> Area:
    la = system.create_organisation("local_authority", la_code="202")
    school_a = system.create_organisation("school", la_code="202")
    school_b = system.create_organisation("school", la_code="202")
    changes = [
        # A: 8 pupils; pupil 0 absent one session in ten (exactly 10%), pupil 1 half.
        *pupils(school_a["urn"], 8, [["I", *["/"] * 9], ["O", "/"], ["/"]], prefix="A"),
        # B: 3 pupils, one of them persistently absent.
        *pupils(school_b["urn"], 3, [["N", "N", *["/"] * 8], ["/"]], prefix="B"),
    ]
    feed(system, changes)
    return Area(la, school_a, school_b, changes)


def get(system: System, hdrs: dict[str, str], **params: Any) -> Any:
    assert system.metrics is not None
    return system.metrics.get("/v1/absence", params=params, headers=hdrs)


def test_anonymous_callers_are_refused(system: System, area: Area) -> None:
    response = get(system, {}, scope=f"school:{area.school_a['urn']}", **YEAR)
    assert response.status_code == 401


def test_a_token_without_metrics_read_is_refused(system: System, area: Area) -> None:
    hdrs = headers(system, area.school_a, ["attendance:read"])
    response = get(system, hdrs, scope=f"school:{area.school_a['urn']}", **YEAR)
    assert response.status_code == 403


def test_a_school_sees_its_own_measures_as_dfe_counts_them(system: System, area: Area) -> None:
    hdrs = headers(system, area.school_a, ["metrics:read"])
    response = get(system, hdrs, scope=f"school:{area.school_a['urn']}", **YEAR)
    assert response.status_code == 200, response.text
    register = Register()
    register.apply(page(area.changes))
    (expected,) = reference_measures(
        register, dt.date(2023, 9, 1), dt.date(2024, 8, 31), schools={area.school_a["urn"]}
    ).values()
    (row,) = response.json()["rows"]
    m = row["measures"]
    assert (m["enrolments"], m["sess_possible"], m["sess_overall"]) == (
        expected.enrolments,
        expected.possible,
        expected.authorised + expected.unauthorised,
    )
    assert (m["enrolments_pa_10_exact"], m["enrolments_pa_50_exact"]) == (
        expected.persistent,
        expected.severe,
    )


def test_a_school_cannot_see_another_school(system: System, area: Area) -> None:
    hdrs = headers(system, area.school_a, ["metrics:read"])
    response = get(system, hdrs, scope=f"school:{area.school_b['urn']}", **YEAR)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_school_cannot_ask_for_its_whole_local_authority(system: System, area: Area) -> None:
    hdrs = headers(system, area.school_a, ["metrics:read"])
    assert get(system, hdrs, scope="la:202", **YEAR).status_code == 404


def test_a_local_authority_sees_every_school_of_its_area_unsuppressed(
    system: System, area: Area
) -> None:
    hdrs = headers(system, area.la, ["metrics:read"])
    body = get(system, hdrs, scope="la:202", group_by="school", **YEAR).json()
    assert body["suppressed"] is False
    by_school = {r["group"]["school"]: r["measures"] for r in body["rows"]}
    assert by_school[area.school_b["urn"]]["enrolments"] == 3
    assert by_school["Total"]["enrolments"] == 11


def test_the_dfe_sees_small_groups_suppressed(system: System, area: Area) -> None:
    dfe = system.create_organisation("dfe")
    hdrs = headers(system, dfe, ["metrics:read"])
    body = get(system, hdrs, scope="la:202", group_by="school", **YEAR).json()
    assert body["suppressed"] is True
    by_school = {r["group"]["school"]: r["measures"] for r in body["rows"]}
    assert by_school[area.school_b["urn"]]["enrolments"] == "c"
    # School B alone would be recoverable from the total: A is suppressed with it.
    assert by_school[area.school_a["urn"]]["enrolments"] == "c"


def test_the_dfe_cannot_recover_a_suppressed_cell_from_the_margins(
    system: System, area: Area
) -> None:
    dfe = system.create_organisation("dfe")
    hdrs = headers(system, dfe, ["metrics:read"])
    body = get(system, hdrs, scope="la:202", group_by=["school", "fsm_eligible"], **YEAR).json()
    rows = body["rows"]
    for dim in ("school", "fsm_eligible"):
        others = [d for d in ("school", "fsm_eligible") if d != dim]
        lines: dict[tuple[str, ...], list[Any]] = {}
        for r in rows:
            lines.setdefault(tuple(r["group"][o] for o in others), []).append(r)
        for members in lines.values():
            hidden = [r for r in members if r["measures"]["enrolments"] == "c"]
            assert len(hidden) != 1


def test_groups_are_broken_down_with_every_margin(system: System, area: Area) -> None:
    hdrs = headers(system, area.school_a, ["metrics:read"])
    body = get(
        system, hdrs, scope=f"school:{area.school_a['urn']}", group_by="fsm_eligible", **YEAR
    ).json()
    groups = [r["group"]["fsm_eligible"] for r in body["rows"]]
    assert groups == ["false", "true", "Total"]
    assert body["rows"][0]["measures"]["enrolments"] == 4


def test_an_unknown_dimension_and_a_bad_year_are_both_reported(system: System, area: Area) -> None:
    hdrs = headers(system, area.school_a, ["metrics:read"])
    response = get(
        system,
        hdrs,
        scope=f"school:{area.school_a['urn']}",
        group_by="shoe_size",
        academic_year="2023/25",
    )
    assert response.status_code == 422
    codes = {e["code"] for e in response.json()["errors"]}
    assert codes == {"invalid_year", "unknown_dimension"}


@pytest.mark.parametrize(
    ("period", "named"),
    [
        ({"from": "0001-01-01", "to": "9999-12-31"}, {"query:from", "query:to"}),
        ({"week": "9999-12-31"}, {"query:week"}),
        ({"academic_year": "9999/00"}, {"query:academic_year"}),
    ],
)
def test_a_period_outside_the_dates_reported_on_is_a_problem_naming_each_date(
    system: System, area: Area, period: dict[str, str], named: set[str]
) -> None:
    hdrs = headers(system, area.school_a, ["metrics:read"])
    response = get(system, hdrs, scope=f"school:{area.school_a['urn']}", **period)
    assert response.status_code == 422
    assert {e["location"] for e in response.json()["errors"]} == named


def test_two_period_forms_at_once_are_refused(system: System, area: Area) -> None:
    hdrs = headers(system, area.school_a, ["metrics:read"])
    response = get(system, hdrs, scope=f"school:{area.school_a['urn']}", week="2023-09-04", **YEAR)
    assert response.status_code == 422


def test_a_school_is_compared_with_its_local_authority_and_england(
    system: System, area: Area
) -> None:
    hdrs = headers(system, area.school_a, ["metrics:read"])
    body = get(
        system,
        hdrs,
        scope=f"school:{area.school_a['urn']}",
        compare=["la", "national", "last_year"],
        **YEAR,
    ).json()
    by = {c["comparator"]: c for c in body["comparisons"]}
    assert by["la"]["scope"] == "la:202"
    assert by["la"]["rows"][0]["measures"]["enrolments"] == 11
    assert by["national"]["suppressed"] is True
    assert by["last_year"]["period"]["time_period"] == "202223"


def test_csv_uses_dfe_variable_names(system: System, area: Area) -> None:
    hdrs = headers(system, area.la, ["metrics:read"])
    response = system.metrics.get(  # type: ignore[union-attr]
        "/v1/absence",
        params={"scope": "la:202", **YEAR},
        headers={**hdrs, "Accept": "text/csv"},
    )
    assert response.headers["content-type"].startswith("text/csv")
    (line,) = list(csv.DictReader(io.StringIO(response.text)))
    assert line["time_period"] == "202324"
    assert line["geographic_level"] == "Local authority"
    assert line["old_la_code"] == "202"
    assert line["enrolments"] == "11"
    assert "sess_unauth_noyet" in line
