"""`GET /v1/early-warnings`: pupils whose attendance is slipping, each flag with its reason."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.metrics.api.csv_export import csv_response
from services.metrics.api.deps import CanReadAttendance, SessionDep, SettingsDep, SharingDep
from services.metrics.api.params import CSV_RESPONSE, IsoDate, wants_csv
from services.metrics.domain import early_warning
from services.metrics.domain.reach import parse_scope
from services.metrics.reports import caller_of, coverage, pupil_histories
from services.metrics.schemas import EarlyWarning, EarlyWarningList, FlagPublic
from services.metrics.store.repository import MetricsRepository

router = APIRouter(tags=["early-warnings"])

DESCRIPTION = (
    "Pupil-level (scope attendance:read; callers the policy allows pupil-level data, "
    "others 404). Every visible enrolment is judged as of `as_of` (default today) by these "
    "rules, thresholds from the service settings (`METRICS_EARLY_WARNING__*`); "
    "'school weeks' are Monday-start weeks in which the pupil's schools recorded possible "
    "sessions this academic year, and counts follow DfE's headline rules:\n\n"
    + (early_warning.__doc__ or "").split("\n\n", 1)[1]
)


@router.get(
    "/early-warnings",
    description=DESCRIPTION,
    response_model=EarlyWarningList,
    responses=CSV_RESPONSE,
)
def early_warnings(
    request: Request,
    principal: CanReadAttendance,
    session: SessionDep,
    settings: SettingsDep,
    sharing: SharingDep,
    scope: Annotated[
        str | None, Query(description="Limit to a scope (default: every visible school).")
    ] = None,
    as_of: Annotated[IsoDate | None, Query(description="The day to judge on.")] = None,
) -> EarlyWarningList | Response:
    """Visible pupils with at least one early-warning flag."""
    day = as_of or dt.date.today()
    cover = coverage(
        parse_scope(scope) if scope else None, caller_of(principal, sharing), sharing.directory()
    )
    repo = MetricsRepository(session.connection())
    rows = repo.enrolments(cover.schools())
    rules = settings.early_warning.rules()
    histories = pupil_histories(repo, cover, [r.id for r in rows], day, rules)
    items = []
    for r in rows:
        found = early_warning.flags(histories[r.id], rules)
        if found:
            items.append(
                EarlyWarning(
                    upn=r.upn,
                    school_urn=r.school_urn,
                    legal_surname=r.legal_surname,
                    legal_forename=r.legal_forename,
                    nc_year=r.nc_year,
                    flags=[FlagPublic(rule=f.rule.value, reason=f.reason) for f in found],
                )
            )
    if wants_csv(request):
        columns = [
            "school_urn",
            "upn",
            "legal_surname",
            "legal_forename",
            "nc_year",
            "rule",
            "reason",
        ]
        return csv_response(
            columns,
            [
                {**i.model_dump(exclude={"flags"}), "rule": f.rule, "reason": f.reason}
                for i in items
                for f in i.flags
            ],
            "early-warnings",
        )
    return EarlyWarningList(as_of=day, items=items)
