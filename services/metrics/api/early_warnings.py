"""`GET /v1/early-warnings`: pupils whose attendance is slipping, each flag with its reason."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.metrics.api.csv_export import csv_response
from services.metrics.api.deps import CanReadAttendance, SessionDep, SettingsDep, SharingDep
from services.metrics.api.params import CSV_RESPONSE, ReportDate, wants_csv
from services.metrics.domain import early_warning
from services.metrics.domain.pupil_reach import EnrolmentAccess, shown_columns
from services.metrics.domain.reach import SCOPE_PATTERN, parse_scope
from services.metrics.reports import (
    pupil_histories,
    pupil_reach_of,
    record_reads,
    scope_limit,
    visible_enrolments,
)
from services.metrics.schemas import EarlyWarning, EarlyWarningList, FlagPublic
from services.metrics.store.repository import MetricsRepository
from shared.audit import AuditRecorderDep, PurposeHeader
from shared.contracts.policy import PupilField

router = APIRouter(tags=["early-warnings"])

DESCRIPTION = (
    "Pupil-level (scope attendance:read): the pupils and days the caller's access policy "
    "allows, as for `GET /v1/pupils` (aggregate-only callers 404); recorded on the audit "
    "trail before the answer. Every visible enrolment is judged as of `as_of` (default "
    "today) by these "
    "rules, thresholds from the service settings (`METRICS_EARLY_WARNING__*`); "
    "'school weeks' are Monday-start weeks in which the pupil's schools recorded possible "
    "sessions this academic year, and counts follow DfE's headline rules:\n\n"
    + (early_warning.__doc__ or "").split("\n\n", 1)[1]
)


@router.get(
    "/early-warnings",
    description=DESCRIPTION,
    response_model=EarlyWarningList,
    response_model_exclude_unset=True,
    responses=CSV_RESPONSE,
)
def early_warnings(
    request: Request,
    principal: CanReadAttendance,
    session: SessionDep,
    settings: SettingsDep,
    sharing: SharingDep,
    audit: AuditRecorderDep,
    purpose: PurposeHeader,
    scope: Annotated[
        str | None,
        Query(
            description="Limit to a scope (default: every visible school).",
            json_schema_extra={"pattern": SCOPE_PATTERN},
        ),
    ] = None,
    as_of: Annotated[ReportDate | None, Query(description="The day to judge on.")] = None,
) -> EarlyWarningList | Response:
    """Visible pupils with at least one early-warning flag."""
    day = as_of or dt.date.today()
    reach = pupil_reach_of(principal, sharing)
    limit_to = scope_limit(
        parse_scope(scope) if scope is not None else None, reach, sharing.directory()
    )
    repo = MetricsRepository(session.connection())
    visible = [
        v for v in visible_enrolments(repo, reach, limit_to) if v.access.sees(PupilField.ATTENDANCE)
    ]
    rules = settings.early_warning.rules()
    histories = pupil_histories(repo, visible, day, rules)
    items = []
    relied_on: list[tuple[str, str, EnrolmentAccess]] = []
    for v in visible:
        found = early_warning.flags(histories[v.row.id], rules)
        if found:
            shown = shown_columns(v.access.fields) & {"legal_surname", "legal_forename", "nc_year"}
            items.append(
                EarlyWarning(
                    upn=v.row.upn,
                    school_urn=v.row.school_urn,
                    flags=[FlagPublic(rule=f.rule.value, reason=f.reason) for f in found],
                    **{c: getattr(v.row, c) for c in sorted(shown)},
                )
            )
            relied_on.append((v.row.upn, v.row.school_urn, v.access))
    record_reads(audit, principal, relied_on, endpoint="GET /v1/early-warnings", purpose=purpose)
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
