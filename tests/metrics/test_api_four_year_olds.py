"""Four-year-olds: outside DfE's headline figures, and reported apart by the same rules."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from tests.metrics.factories import enrolment, marks_for, school_days
from tests.metrics.support import feed, headers
from tests.support.system import System

DAYS = school_days(dt.date(2023, 9, 4), dt.date(2023, 9, 15))
RECEPTION = "A00000000001A"  # aged 4 on 31 August 2023
YEAR_ONE = "A00000000002A"  # aged 5


def reception_and_year_one(urn: str) -> list[Any]:
    """A reception child absent every Friday (4 of 20 sessions); a Year 1 child always in."""
    fridays = [d for d in DAYS if d.weekday() == 4]
    return [
        enrolment(RECEPTION, school_urn=urn, date_of_birth=dt.date(2019, 3, 1), nc_year="R"),
        enrolment(YEAR_ONE, school_urn=urn, date_of_birth=dt.date(2018, 3, 1), nc_year="1"),
        *marks_for(RECEPTION, [d for d in DAYS if d not in fridays], "/", school_urn=urn),
        *marks_for(RECEPTION, fridays, "I", school_urn=urn),
        *marks_for(YEAR_ONE, DAYS, "/", school_urn=urn),
    ]


def ask(
    system: System, school: dict[str, Any], path: str, *, accept: str = "", **params: str
) -> Any:
    assert system.metrics is not None
    return system.metrics.get(
        path,
        params={"scope": f"school:{school['urn']}", "academic_year": "2023/24", **params},
        headers={**headers(system, school, ["metrics:read"]), "Accept": accept},
    )


def only_row(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    (row,) = response.json()["rows"]
    measures: dict[str, Any] = row["measures"]
    return measures


def test_the_headline_figures_leave_four_year_olds_out(system: System) -> None:
    school = system.create_organisation("school", la_code="202")
    feed(system, reception_and_year_one(school["urn"]))
    m = only_row(ask(system, school, "/v1/absence"))
    assert (m["enrolments"], m["sess_possible"], m["sess_overall"]) == (1, 20, 0)


def test_four_year_olds_are_reported_apart(system: System) -> None:
    school = system.create_organisation("school", la_code="202")
    feed(system, reception_and_year_one(school["urn"]))
    response = ask(system, school, "/v1/absence", population="four_year_olds")
    m = only_row(response)
    assert response.json()["population"] == "four_year_olds"
    assert (m["enrolments"], m["sess_possible"], m["sess_overall"]) == (1, 20, 4)
    assert (m["sess_overall_percent"], m["enrolments_pa_10_exact"]) == (20.0, 1)


def test_a_four_year_olds_trend_counts_each_week(system: System) -> None:
    school = system.create_organisation("school", la_code="202")
    feed(system, reception_and_year_one(school["urn"]))
    response = ask(system, school, "/v1/trends", population="four_year_olds")
    assert response.status_code == 200, response.text
    weeks = [(w["week_start"], w["measures"]["sess_overall"]) for w in response.json()["weeks"]]
    assert weeks == [("2023-09-04", 2), ("2023-09-11", 2)]


def test_the_csv_names_the_population(system: System) -> None:
    school = system.create_organisation("school", la_code="202")
    feed(system, reception_and_year_one(school["urn"]))
    response = ask(system, school, "/v1/absence", accept="text/csv", population="four_year_olds")
    (line,) = csv.DictReader(io.StringIO(response.text))
    assert (line["population"], line["sess_overall"]) == ("four_year_olds", "4")


def test_an_unknown_population_is_named_with_the_other_problems(system: System) -> None:
    school = system.create_organisation("school", la_code="202")
    response = ask(system, school, "/v1/absence", population="toddlers", group_by="shoe_size")
    assert response.status_code == 422
    locations = {e["location"] for e in response.json()["errors"]}
    assert {"query:population", "query:group_by"} <= locations
