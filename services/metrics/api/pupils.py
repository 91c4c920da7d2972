"""Pupil-level views, for callers the policy allows them (scope attendance:read)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from services.metrics.api.csv_export import csv_response
from services.metrics.api.deps import CanReadAttendance, SessionDep, SettingsDep, SharingDep
from services.metrics.api.params import (
    CSV_RESPONSE,
    PEER_UNAVAILABLE,
    PeriodDep,
    ReportDate,
    decode_cursor,
    wants_csv,
)
from services.metrics.domain.calendar import week_start
from services.metrics.domain.early_warning import flags
from services.metrics.domain.errors import NotVisible
from services.metrics.domain.measures import (
    SessionCounts,
    is_persistent_absentee,
    is_severe_absentee,
    percent,
    session_contribution,
)
from services.metrics.domain.pupil_reach import (
    FIELD_OF_COLUMN,
    shown_columns,
)
from services.metrics.domain.reach import SCOPE_PATTERN, PeriodAsked, parse_scope
from services.metrics.reports import (
    Visible,
    counts_over,
    pupil_histories,
    pupil_reach_of,
    record_reads,
    scope_limit,
    visible_enrolments,
)
from services.metrics.schemas import (
    EnrolmentAttendance,
    FlagPublic,
    MarkPublic,
    PeriodPublic,
    PupilAttendance,
    PupilMeasures,
    PupilPage,
    PupilPublic,
    WeekAttendance,
)
from services.metrics.store.repository import MetricsRepository
from shared.audit import AuditRecorderDep, PurposeHeader
from shared.codes import category_on, lookup
from shared.contracts.policy import PupilField
from shared.cursors import encode_cursor

router = APIRouter(tags=["pupils"])

ACCESS = """
Only what sharing's access policy (its Reach for the caller's organisation, and for the
practitioner a token-exchange token acts for) allows: pupils of the caller's schools
within their school windows and their own enrolment dates, and children named in the
decision (a virtual school's, social care's open episodes, an agreement's) within their
windows, at whatever school they are on roll, in any authority. Marks and measures count
only days inside those windows; fields the policy does not give the caller are absent.
Aggregate-only callers (the DfE) get 404; a pupil the caller may not see is not found
(404). Measures follow DfE's headline rules (see `GET /v1/absence`). Every pupil returned
is put on the audit trail first, with the decision's legal basis (503 if it cannot be);
send `X-Purpose` to say why you read.
"""


def pupil_measures(counts: SessionCounts) -> PupilMeasures:
    return PupilMeasures(
        sess_possible=counts.possible,
        sess_attended=counts.attended,
        sess_authorised=counts.authorised,
        sess_unauthorised=counts.unauthorised,
        sess_overall=counts.overall,
        sess_attended_percent=percent(counts.attended, counts.possible),
        sess_overall_percent=percent(counts.overall, counts.possible),
        persistent_absentee=is_persistent_absentee(counts),
        severe_absentee=is_severe_absentee(counts),
    )


def _period(asked: PeriodAsked) -> PeriodPublic:
    return PeriodPublic(
        start=asked.period.start,
        end=asked.period.end,
        time_period=asked.time_period,
        time_identifier=asked.time_identifier,
    )


def _public(v: Visible, counts: SessionCounts) -> PupilPublic:
    """The enrolment with only the columns its access allows (others left unset: absent)."""
    row = v.row
    shown = {c: getattr(row, c) for c in sorted(shown_columns(v.access.fields))}
    if v.access.sees(PupilField.ATTENDANCE):
        shown["measures"] = pupil_measures(counts)
    return PupilPublic(upn=row.upn, school_urn=row.school_urn, **shown)


def _matches(v: Visible, filters: dict[str, str]) -> bool:
    """A characteristic filter only matches pupils whose characteristic the caller may see."""
    return all(FIELD_OF_COLUMN[name] in v.access.fields for name in filters)


@router.get(
    "/pupils",
    description=ACCESS
    + """
Filters combine (all must hold): `persistent` / `severe` (the enrolment's own absence
over the period at least 10% / 50%), `at_risk` (any early-warning flag as of `as_of`,
see `GET /v1/early-warnings`), and characteristics. Ordered by enrolment; pass
`next_cursor` back as `cursor` for the next page. `Accept: text/csv` for CSV.
""",
    response_model=PupilPage,
    response_model_exclude_unset=True,
    responses=CSV_RESPONSE,
)
def list_pupils(
    request: Request,
    principal: CanReadAttendance,
    session: SessionDep,
    settings: SettingsDep,
    sharing: SharingDep,
    asked: PeriodDep,
    audit: AuditRecorderDep,
    purpose: PurposeHeader,
    scope: Annotated[
        str | None,
        Query(
            description="Limit to a scope (default: every visible school).",
            json_schema_extra={"pattern": SCOPE_PATTERN},
        ),
    ] = None,
    persistent: Annotated[bool | None, Query(description="Persistent absentees only.")] = None,
    severe: Annotated[bool | None, Query(description="Severe absentees only.")] = None,
    at_risk: Annotated[bool | None, Query(description="Pupils with early warnings.")] = None,
    as_of: Annotated[
        ReportDate | None, Query(description="Day for at_risk; default today.")
    ] = None,
    nc_year: Annotated[str | None, Query(description="National curriculum year.")] = None,
    gender: Annotated[str | None, Query(description="M, F or U.")] = None,
    sen_provision: Annotated[str | None, Query(description="N, K or E.")] = None,
    fsm_eligible: Annotated[bool | None, Query(description="FSM eligibility.")] = None,
    ethnicity_group: Annotated[str | None, Query(description="A DfE major group.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the last page.")] = None,
) -> PupilPage | Response:
    """Pupils with their measures over the period."""
    after = int(decode_cursor("e", cursor, numeric=True)) if cursor else 0
    reach = pupil_reach_of(principal, sharing)
    limit_to = scope_limit(
        parse_scope(scope) if scope is not None else None, reach, sharing.directory()
    )
    repo = MetricsRepository(session.connection())
    characteristics = {
        k: ("true" if v else "false") if isinstance(v, bool) else v
        for k, v in {
            "nc_year": nc_year,
            "gender": gender,
            "sen_provision": sen_provision,
            "fsm_eligible": fsm_eligible,
            "ethnicity_group": ethnicity_group,
        }.items()
        if v is not None
    }
    found = [
        v
        for v in visible_enrolments(repo, reach, limit_to, filters=characteristics)
        if v.row.id > after and _matches(v, characteristics)
    ]
    judged = persistent is not None or severe is not None or at_risk is not None
    if judged:  # absence is judged only where attendance may be seen
        found = [v for v in found if v.access.sees(PupilField.ATTENDANCE)]
    counts = counts_over(repo, found, asked.period)
    empty = SessionCounts()
    chosen = [
        v
        for v in found
        if (persistent is None or is_persistent_absentee(counts.get(v.row.id, empty)) == persistent)
        and (severe is None or is_severe_absentee(counts.get(v.row.id, empty)) == severe)
    ]
    warnings: dict[int, list[FlagPublic]] = {}
    if at_risk is not None:
        rules = settings.early_warning.rules()
        histories = pupil_histories(repo, chosen, as_of or dt.date.today(), rules)
        for v in chosen:
            warnings[v.row.id] = [
                FlagPublic(rule=f.rule.value, reason=f.reason)
                for f in flags(histories[v.row.id], rules)
            ]
        chosen = [v for v in chosen if bool(warnings[v.row.id]) == at_risk]
    page = chosen[:limit]
    items = []
    for v in page:
        item = _public(v, counts.get(v.row.id, empty))
        if at_risk is not None:
            item.early_warnings = warnings[v.row.id]
        items.append(item)
    result = PupilPage(
        items=items,
        next_cursor=encode_cursor("e", page[-1].row.id) if len(chosen) > limit else None,
    )
    record_reads(
        audit,
        principal,
        [(v.row.upn, v.row.school_urn, v.access) for v in page],
        endpoint="GET /v1/pupils",
        purpose=purpose,
    )
    if wants_csv(request):
        columns = [
            "school_urn",
            "upn",
            "legal_surname",
            "legal_forename",
            "nc_year",
            "gender",
            "sen_provision",
            "fsm_eligible",
            "ethnicity_group",
            *PupilMeasures.model_fields,
        ]
        return csv_response(
            columns,
            [
                {
                    **i.model_dump(exclude_unset=True, exclude={"measures"}),
                    **(i.measures.model_dump() if i.measures else {}),
                }
                for i in items
            ],
            "pupils",
        )
    return result


@router.get(
    "/pupils/{upn}/attendance",
    description=ACCESS,
    responses=PEER_UNAVAILABLE,
    response_model=PupilAttendance,
    response_model_exclude_unset=True,
)
def pupil_attendance(
    upn: Annotated[str, Path(pattern=r"^[A-Z0-9]{13}$", description="The pupil's UPN.")],
    principal: CanReadAttendance,
    session: SessionDep,
    sharing: SharingDep,
    asked: PeriodDep,
    audit: AuditRecorderDep,
    purpose: PurposeHeader,
) -> PupilAttendance:
    """One pupil's register marks, weekly attendance and measures, per visible enrolment.

    Weeks count every possible session in the register; measures follow DfE's headline
    rules (so a pupil outside ages 5-15 has marks and weeks but no headline sessions).
    """
    reach = pupil_reach_of(principal, sharing)
    repo = MetricsRepository(session.connection())
    visible = visible_enrolments(repo, reach, upn=upn)
    if not visible:
        raise NotVisible(f"No visible pupil with UPN {upn}.")
    counts = counts_over(repo, visible, asked.period)
    out = []
    for v in visible:
        e = v.row
        shown: dict[str, Any] = {}
        if v.access.sees(PupilField.ENROLMENT):
            shown |= {
                "entry_date": e.entry_date,
                "leaving_date": e.leaving_date,
                "earlier_stays": e.earlier_stays,
            }
        if v.access.sees(PupilField.ATTENDANCE):
            marks = [
                (d, s, c)
                for d, s, c in repo.marks(e.school_urn, e.upn, asked.period)
                if v.access.shows(d)
            ]
            shown |= _attendance_of(marks) | {
                "measures": pupil_measures(counts.get(e.id, SessionCounts()))
            }
        out.append(EnrolmentAttendance(school_urn=e.school_urn, **shown))
    record_reads(
        audit,
        principal,
        [(upn, v.row.school_urn, v.access) for v in visible],
        endpoint="GET /v1/pupils/{upn}/attendance",
        purpose=purpose,
    )
    return PupilAttendance(upn=upn, period=_period(asked), enrolments=out)


def _attendance_of(marks: list[tuple[dt.date, str, str]]) -> dict[str, Any]:
    """Marks as published, and attendance per Monday-start week (every possible session)."""
    weeks: dict[dt.date, SessionCounts] = {}
    public_marks = []
    for day, session_name, code in marks:
        in_force = lookup(code, day) is not None
        public_marks.append(
            MarkPublic(
                date=day,
                session=session_name,
                code=code,
                category=category_on(code, day).value if in_force else None,
            )
        )
        monday = week_start(day)
        weeks[monday] = weeks.get(monday, SessionCounts()) + SessionCounts(
            session_contribution(code, day)
        )
    return {
        "marks": public_marks,
        "weeks": [
            WeekAttendance(
                week_start=w,
                sess_possible=c.possible,
                sess_attended=c.attended,
                sess_attended_percent=percent(c.attended, c.possible),
            )
            for w, c in sorted(weeks.items())
        ],
    }
