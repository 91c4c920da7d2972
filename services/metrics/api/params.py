"""Query parameters several routes share, described once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from services.metrics.domain.calendar import Term
from services.metrics.domain.reach import PeriodAsked, Scope, parse_scope, resolve_period

CSV_MEDIA_TYPE = "text/csv"

ScopeText = Annotated[
    str,
    Query(
        alias="scope",
        description="`school:<urn>`, `trust:<group uid>`, `la:<3-digit code>` or `national`.",
        examples=["school:100001", "la:202", "national"],
    ),
]
GroupBy = Annotated[
    list[str],
    Query(
        description="Dimensions, repeated or comma-separated: school, phase, nc_year, gender, "
        "sen_provision, fsm_eligible, ethnicity_group, social_care_status.",
    ),
]


def period_asked(
    start: Annotated[dt.date | None, Query(alias="from", description="First day.")] = None,
    end: Annotated[dt.date | None, Query(alias="to", description="Last day.")] = None,
    academic_year: Annotated[
        str | None, Query(description="An academic year such as 2023/24.", examples=["2023/24"])
    ] = None,
    term: Annotated[Term | None, Query(description="A term of `academic_year`.")] = None,
    week: Annotated[
        dt.date | None, Query(description="Any day of a week; the Monday-to-Sunday week.")
    ] = None,
) -> PeriodAsked:
    """One of from+to, academic_year (+term), or week; none: the academic year to date."""
    return resolve_period(
        start=start,
        end=end,
        academic_year=academic_year,
        term=term,
        week=week,
        today=dt.date.today(),
    )


def scope_of(scope: ScopeText) -> Scope:
    return parse_scope(scope)


PeriodDep = Annotated[PeriodAsked, Depends(period_asked)]
ScopeDep = Annotated[Scope, Depends(scope_of)]


def wants_csv(request: Request) -> bool:
    """Whether the client asked for CSV (`Accept: text/csv`)."""
    return CSV_MEDIA_TYPE in request.headers.get("accept", "")


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV_MEDIA_TYPE: {}}, "description": "JSON, or CSV on request."}
}
