"""Query parameters several routes share, described once, validated together."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import AfterValidator, WithJsonSchema

from services.metrics.domain.calendar import REPORTABLE, Term
from services.metrics.domain.errors import InvalidQuery
from services.metrics.domain.measures import Population
from services.metrics.domain.reach import (
    SCOPE_PATTERN,
    PeriodAsked,
    Scope,
    parse_scope,
    resolve_period,
)
from services.metrics.reports import parse_group_by
from shared import cursors
from shared.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemItem
from shared.types import IsoDate

CSV_MEDIA_TYPE = "text/csv"
PEER_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
        "description": "The sharing service (policy, directory) could not be asked.",
    }
}
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV_MEDIA_TYPE: {}}, "description": "JSON, or CSV on request."},
    **PEER_UNAVAILABLE,
}

ScopeText = Annotated[
    str,
    Query(
        description="`school:<urn>`, `trust:<group uid>`, `la:<3-digit code>` or `national`.",
        examples=["la:202"],
        # Stated, but checked with the period and grouping so one 422 names every problem.
        json_schema_extra={"pattern": SCOPE_PATTERN},
    ),
]


def _reportable(day: dt.date) -> dt.date:
    if day not in REPORTABLE:
        raise ValueError(f"a date from {REPORTABLE.start} to {REPORTABLE.end}")
    return day


ReportDate = Annotated[
    IsoDate,
    AfterValidator(_reportable),
    # The schema states the years (`REPORTABLE`: 1900 to 2999) as a pattern.
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^(19|2\d)\d\d-\d\d-\d\d$"}),
]
"""A date asked about (`YYYY-MM-DD`), within the dates the service reports on."""
GroupBy = Annotated[
    list[str],
    Query(
        description="Dimensions, repeated or comma-separated: school, phase, nc_year, gender, "
        "sen_provision, fsm_eligible, ethnicity_group, social_care_status.",
    ),
]


def _period(
    start: Annotated[ReportDate | None, Query(alias="from", description="First day.")] = None,
    end: Annotated[ReportDate | None, Query(alias="to", description="Last day.")] = None,
    academic_year: Annotated[
        str | None, Query(description="An academic year such as 2023/24.", examples=["2023/24"])
    ] = None,
    term: Annotated[Term | None, Query(description="A term of `academic_year`.")] = None,
    week: Annotated[
        ReportDate | None, Query(description="Any day of a week; the Monday-to-Sunday week.")
    ] = None,
) -> PeriodAsked | InvalidQuery:
    """One of from+to, academic_year (+term), or week; none: the academic year to date."""
    try:
        return resolve_period(
            start=start,
            end=end,
            academic_year=academic_year,
            term=term,
            week=week,
            today=dt.date.today(),
        )
    except InvalidQuery as exc:
        return exc


def period_asked(asked: Annotated[PeriodAsked | InvalidQuery, Depends(_period)]) -> PeriodAsked:
    if isinstance(asked, InvalidQuery):
        raise asked
    return asked


PeriodDep = Annotated[PeriodAsked, Depends(period_asked)]


@dataclass(frozen=True)
class Question:
    """Scope, period, grouping and population of a breakdown, validated together."""

    scope: Scope
    asked: PeriodAsked
    group_by: list[str]
    population: Population


def question(
    scope: ScopeText,
    asked: Annotated[PeriodAsked | InvalidQuery, Depends(_period)],
    group_by: GroupBy = [],  # noqa: B006 - FastAPI copies list defaults per request
    population: Annotated[
        str,
        Query(
            description="`headline`: pupils aged 5 to 15 on 31 August before the academic "
            "year (DfE's headline figures); `four_year_olds`: those aged 4, whom DfE reports "
            "apart, counted by the same rules.",
            # Stated, but checked with the rest so one 422 names every problem.
            json_schema_extra={"enum": [p.value for p in Population]},
        ),
    ] = Population.HEADLINE.value,
) -> Question:
    """Every problem with scope, period, group_by and population, in one 422."""
    problems: list[ProblemItem] = []
    found_scope: Scope | None = None
    dims: list[str] | None = None
    try:
        found_scope = parse_scope(scope)
    except InvalidQuery as exc:
        problems += exc.errors
    try:
        dims = parse_group_by(group_by)
    except InvalidQuery as exc:
        problems += exc.errors
    if isinstance(asked, InvalidQuery):
        problems += asked.errors
    if population not in {p.value for p in Population}:
        problems.append(
            ProblemItem(
                location="query:population",
                code="unknown_population",
                detail=f"{population!r} is not one of {', '.join(Population)}",
            )
        )
    if found_scope is None or dims is None or isinstance(asked, InvalidQuery) or problems:
        raise InvalidQuery("The question is not valid.", problems)
    return Question(found_scope, asked, dims, Population(population))


QuestionDep = Annotated[Question, Depends(question)]


def wants_csv(request: Request) -> bool:
    """Whether the client asked for CSV (`Accept: text/csv`)."""
    return CSV_MEDIA_TYPE in request.headers.get("accept", "")


def decode_cursor(kind: str, cursor: str, *, numeric: bool = False) -> str:
    """The position a cursor of this list names; a cursor not given out here is a 422."""
    position = cursors.decode_cursor(kind, cursor)
    if position is None or (numeric and not position.isdigit()):
        raise InvalidQuery(
            "The cursor is not one this API gave out.",
            [ProblemItem(location="query:cursor", code="invalid_cursor", detail=cursor)],
        )
    return position
