"""Pupil-level views, for callers the policy allows them (scope attendance:read)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from services.metrics.api.csv_export import csv_response
from services.metrics.api.deps import CanReadAttendance, SessionDep, SettingsDep, SharingDep
from services.metrics.api.params import (
    CSV_RESPONSE,
    PEER_UNAVAILABLE,
    IsoDate,
    PeriodDep,
    wants_csv,
)
from services.metrics.domain.calendar import week_start
from services.metrics.domain.early_warning import flags
from services.metrics.domain.errors import InvalidQuery, NotVisible
from services.metrics.domain.measures import (
    SessionCounts,
    is_persistent_absentee,
    is_severe_absentee,
    percent,
    session_contribution,
)
from services.metrics.domain.reach import PeriodAsked, Slice, parse_scope
from services.metrics.reports import caller_of, coverage, pupil_histories
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
from services.metrics.store.repository import EnrolmentRow, MetricsRepository
from shared.audit import AuditRecorderDep, PurposeHeader
from shared.codes import category_on, lookup
from shared.problems import ProblemItem

router = APIRouter(tags=["pupils"])

ACCESS = """
Only for callers whose organisation may see pupil-level data (sharing's policy): others,
including aggregate-only callers such as the DfE, get 404. A pupil at a school outside
the caller's reach is not found (404); lists only ever hold visible pupils.
Measures follow DfE's headline rules (see `GET /v1/absence`).
Every pupil returned is put on the audit trail first (503 if it cannot be); send
`X-Purpose` to say why you read.
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


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"e:{last_id}".encode()).decode()


def _decode(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("e:"):
            raise ValueError(text)
        return int(text[2:])
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidQuery(
            "The cursor is not one this API gave out.",
            [ProblemItem(location="query:cursor", code="invalid_cursor", detail=cursor)],
        ) from exc


def _public(row: EnrolmentRow, counts: SessionCounts) -> PupilPublic:
    return PupilPublic(
        upn=row.upn,
        school_urn=row.school_urn,
        legal_surname=row.legal_surname,
        legal_forename=row.legal_forename,
        date_of_birth=row.date_of_birth,
        gender=row.gender,
        nc_year=row.nc_year,
        sen_provision=row.sen_provision,
        fsm_eligible=row.fsm_eligible,
        ethnicity=row.ethnicity,
        ethnicity_group=row.ethnicity_group,
        entry_date=row.entry_date,
        leaving_date=row.leaving_date,
        measures=pupil_measures(counts),
    )


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
        str | None, Query(description="Limit to a scope (default: every visible school).")
    ] = None,
    persistent: Annotated[bool | None, Query(description="Persistent absentees only.")] = None,
    severe: Annotated[bool | None, Query(description="Severe absentees only.")] = None,
    at_risk: Annotated[bool | None, Query(description="Pupils with early warnings.")] = None,
    as_of: Annotated[IsoDate | None, Query(description="Day for at_risk; default today.")] = None,
    nc_year: Annotated[str | None, Query(description="National curriculum year.")] = None,
    gender: Annotated[str | None, Query(description="M, F or U.")] = None,
    sen_provision: Annotated[str | None, Query(description="N, K or E.")] = None,
    fsm_eligible: Annotated[bool | None, Query(description="FSM eligibility.")] = None,
    ethnicity_group: Annotated[str | None, Query(description="A DfE major group.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the last page.")] = None,
) -> PupilPage | Response:
    """Pupils with their measures over the period."""
    after = _decode(cursor)
    cover = coverage(
        parse_scope(scope) if scope else None, caller_of(principal, sharing), sharing.directory()
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
    rows = repo.enrolments(cover.schools(), filters=characteristics)
    counts = repo.enrolment_counts(cover.slices(asked.period))
    empty = SessionCounts()
    chosen = [
        r
        for r in rows
        if r.id > after
        and (persistent is None or is_persistent_absentee(counts.get(r.id, empty)) == persistent)
        and (severe is None or is_severe_absentee(counts.get(r.id, empty)) == severe)
    ]
    warnings: dict[int, list[FlagPublic]] = {}
    if at_risk is not None:
        day = as_of or dt.date.today()
        histories = pupil_histories(
            repo, cover, [r.id for r in chosen], day, settings.early_warning.rules()
        )
        for r in chosen:
            found = flags(histories[r.id], settings.early_warning.rules())
            warnings[r.id] = [FlagPublic(rule=f.rule.value, reason=f.reason) for f in found]
        chosen = [r for r in chosen if bool(warnings[r.id]) == at_risk]
    page = chosen[:limit]
    items = []
    for r in page:
        item = _public(r, counts.get(r.id, empty))
        if at_risk is not None:
            item.early_warnings = warnings[r.id]
        items.append(item)
    result = PupilPage(
        items=items, next_cursor=_encode(page[-1].id) if len(chosen) > limit else None
    )
    audit.record_read(
        principal=principal,
        children=[(i.upn, i.school_urn) for i in items],
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
            [{**i.model_dump(exclude={"measures"}), **i.measures.model_dump()} for i in items],
            "pupils",
        )
    return result


@router.get("/pupils/{upn}/attendance", description=ACCESS, responses=PEER_UNAVAILABLE)
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
    cover = coverage(None, caller_of(principal, sharing), sharing.directory())
    repo = MetricsRepository(session.connection())
    enrolments = repo.enrolments(cover.schools(), upn=upn)
    if not enrolments:
        raise NotVisible(f"No visible pupil with UPN {upn}.")
    mine = {e.school_urn for e in enrolments}
    counts = repo.enrolment_counts(
        [
            Slice(tuple(sorted(mine if s.schools is None else mine & set(s.schools))), s.period)
            for s in cover.slices(asked.period)
        ]
    )
    windows = cover.windows
    out = []
    for e in enrolments:
        allowed = windows[e.school_urn] if windows is not None else [(None, None)]
        marks = [
            (d, s, c)
            for d, s, c in repo.marks(e.school_urn, e.upn, asked.period)
            if any((lo is None or d >= lo) and (hi is None or d <= hi) for lo, hi in allowed)
        ]
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
        out.append(
            EnrolmentAttendance(
                school_urn=e.school_urn,
                entry_date=e.entry_date,
                leaving_date=e.leaving_date,
                marks=public_marks,
                weeks=[
                    WeekAttendance(
                        week_start=w,
                        sess_possible=c.possible,
                        sess_attended=c.attended,
                        sess_attended_percent=percent(c.attended, c.possible),
                    )
                    for w, c in sorted(weeks.items())
                ],
                measures=pupil_measures(counts.get(e.id, SessionCounts())),
            )
        )
    audit.record_read(
        principal=principal,
        children=[(upn, e.school_urn) for e in enrolments],
        endpoint="GET /v1/pupils/{upn}/attendance",
        purpose=purpose,
    )
    return PupilAttendance(upn=upn, period=_period(asked), enrolments=out)
