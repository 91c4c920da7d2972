"""Answering a question end to end: reach, scope, read-model query, grouping, suppression.

The handlers stay thin; this module joins the sharing client (who may see what, the
directory), the repository (the numbers) and the domain (margins, suppression).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from services.metrics.clients.sharing import Directory, SharingClient
from services.metrics.domain.calendar import Period, academic_year_of, academic_year_period
from services.metrics.domain.early_warning import EarlyWarningRules, PatternFacts, PupilHistory
from services.metrics.domain.errors import InvalidQuery, NotVisible
from services.metrics.domain.groups import NO_SOCIAL_CARE, Dimension
from services.metrics.domain.measures import GroupMeasures, Population, SessionCounts
from services.metrics.domain.pupil_reach import (
    EnrolmentAccess,
    PupilReach,
    by_legal_basis,
    clip,
    within,
)
from services.metrics.domain.reach import (
    OPEN,
    Scope,
    ScopeKind,
    Slice,
    Window,
    reach_of,
)
from services.metrics.domain.suppression import Family, redact, suppress
from services.metrics.domain.tables import Key, ordered, regroup, with_margins
from services.metrics.store.pupil_rows import EnrolmentRow
from services.metrics.store.repository import GROUP_COLUMNS, MetricsRepository
from shared.audit import AuditRecorder, purpose_for
from shared.auth import Principal
from shared.contracts.audit import Purpose
from shared.contracts.social_care import SocialCareCategory
from shared.problems import ProblemItem

UNKNOWN = "Unknown"
_SOCIAL_CARE_ORDER = (
    SocialCareCategory.LOOKED_AFTER,
    SocialCareCategory.CHILD_PROTECTION_PLAN,
    SocialCareCategory.CHILD_IN_NEED,
)


@dataclass(frozen=True)
class Caller:
    """A caller's reach: windows per school (None: every school) and the detail allowed."""

    reach: dict[str, list[Window]] | None
    pupil_level: bool


def caller_of(principal: Principal, sharing: SharingClient) -> Caller:
    """Ask sharing what the caller's organisation may see; no organisation sees nothing."""
    if principal.organisation_id is None:
        return Caller({}, pupil_level=False)
    visible = sharing.visible_schools(principal.organisation_id)
    reach = reach_of(
        visible.all_schools, [(s.urn, s.from_date, s.to_date) for s in visible.schools]
    )
    return Caller(reach, visible.pupil_level)


def scope_windows(scope: Scope, directory: Directory) -> dict[str, list[Window]] | None:
    """The schools a scope names, each with the dates it belongs to it (None: national)."""
    if scope.kind is ScopeKind.NATIONAL:
        return None
    if scope.kind is ScopeKind.SCHOOL:
        return {scope.id: [OPEN]}
    if scope.kind is ScopeKind.LOCAL_AUTHORITY:
        return {urn: [OPEN] for urn in directory.in_area(scope.id)}
    found: dict[str, list[Window]] = {}
    for urn, spell in directory.in_trust(scope.id):
        found.setdefault(urn, []).append((spell.start_date, spell.end_date))
    return found


def parse_group_by(values: Sequence[str]) -> list[str]:
    """`group_by` as repeated or comma-separated names; every unknown name reported."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    known = {d.value for d in Dimension}
    problems = [
        ProblemItem(
            location="query:group_by",
            code="unknown_dimension",
            detail=f"{n!r} is not one of {', '.join(sorted(known))}",
        )
        for n in names
        if n not in known
    ]
    if len(set(names)) != len(names):
        problems.append(
            ProblemItem(location="query:group_by", code="repeated", detail="a name is repeated")
        )
    if problems:
        raise InvalidQuery("group_by names unknown dimensions.", problems)
    return names


def social_care_status(
    sharing: SharingClient, upns: Sequence[str], period: Period
) -> dict[str, str]:
    """Each child's most intensive social-care status overlapping the period (CLA > CPP > CIN)."""
    found: dict[str, set[SocialCareCategory]] = {}
    for e in sharing.social_care_episodes(upns):
        if e.start_date <= period.end and (e.end_date is None or e.end_date >= period.start):
            found.setdefault(e.upn, set()).add(e.category)
    status: dict[str, str] = {}
    for upn in upns:
        held = found.get(upn, set())
        status[upn] = next((c.value for c in _SOCIAL_CARE_ORDER if c in held), NO_SOCIAL_CARE)
    return status


@dataclass(frozen=True)
class TableRow:
    group: dict[str, str]
    measures: dict[str, int | float | str | None]


def cells(
    repo: MetricsRepository,
    sharing: SharingClient,
    pieces: Sequence[Slice],
    group_by: Sequence[str],
    period: Period,
    population: Population,
) -> dict[Key, GroupMeasures]:
    """The cells of a breakdown of `population`, including dimensions the read model
    does not hold."""
    sql = [g for g in group_by if g in GROUP_COLUMNS]
    if Dimension.PHASE in group_by and Dimension.SCHOOL not in sql:
        sql.append(Dimension.SCHOOL)
    if Dimension.SOCIAL_CARE_STATUS in group_by:
        sql.append("upn")
    rows = repo.grouped_measures(pieces, sql, population)
    directory = sharing.directory() if Dimension.PHASE in group_by else Directory()
    care = (
        social_care_status(sharing, sorted({k[sql.index("upn")] for k, _ in rows}), period)
        if "upn" in sql
        else {}
    )

    def to_key(key: Key) -> Key:
        values = dict(zip(sql, key, strict=True))
        out = []
        for g in group_by:
            if g == Dimension.PHASE:
                school = directory.schools.get(values[Dimension.SCHOOL])
                out.append(school.phase if school and school.phase else UNKNOWN)
            elif g == Dimension.SOCIAL_CARE_STATUS:
                out.append(care.get(values["upn"], NO_SOCIAL_CARE))
            else:
                out.append(values[g])
        return tuple(out)

    return regroup(rows, to_key)


def table(
    cells_by_key: dict[Key, GroupMeasures],
    group_by: Sequence[str],
    *,
    suppressed: bool,
    threshold: int,
) -> list[TableRow]:
    """Cells plus every margin, suppressed when the caller may see aggregates only."""
    full = with_margins(cells_by_key, len(group_by))
    hidden: dict[Key, frozenset[Family]] = suppress(full, threshold=threshold) if suppressed else {}
    return [
        TableRow(
            dict(zip(group_by, key, strict=True)),
            redact(full[key].as_dict(), hidden.get(key, frozenset())),
        )
        for key in ordered(full)
    ]


def weekly_table(
    repo: MetricsRepository,
    pieces: Sequence[Slice],
    group_by: Sequence[str],
    population: Population,
    *,
    suppressed: bool,
    threshold: int,
) -> list[tuple[dt.date, TableRow]]:
    """Per week: cells plus margins of `population`, each week's table suppressed on its
    own."""
    by_week: dict[dt.date, list[tuple[Key, GroupMeasures]]] = {}
    for week, key, measures in repo.weekly_measures(pieces, group_by, population):
        by_week.setdefault(week, []).append((key, measures))
    out: list[tuple[dt.date, TableRow]] = []
    for week in sorted(by_week):
        rows = table(dict(by_week[week]), group_by, suppressed=suppressed, threshold=threshold)
        out += [(week, r) for r in rows]
    return out


def geography(scope: Scope, directory: Directory) -> dict[str, str]:
    """DfE geography columns of a scope. `new_la_code` (the 9-character ONS code) is not
    held by the directory, so it stays empty; `old_la_code` is the 3-digit code."""
    if scope.kind is ScopeKind.SCHOOL:
        school = directory.schools.get(scope.id)
        return {"school_urn": scope.id, "old_la_code": school.la_code if school else ""}
    if scope.kind is ScopeKind.LOCAL_AUTHORITY:
        return {"old_la_code": scope.id}
    if scope.kind is ScopeKind.TRUST:
        return {"trust_uid": scope.id}
    return {}


def pupil_reach_of(principal: Principal, sharing: SharingClient) -> PupilReach:
    """The caller's Reach for pupil-level views; callers given aggregates only find nothing."""
    if principal.organisation_id is None:
        raise NotVisible("Pupil-level data is not available to this caller.")
    reach = sharing.reach(principal.organisation_id, principal.actor, PupilReach)
    if not reach.pupil_level:
        raise NotVisible("Pupil-level data is not available to this caller.")
    return reach


_REACH_THREADS = ThreadPoolExecutor(16, thread_name_prefix="metrics-reach")
"""Threads that wait for sharing's Reach while their requests read (`pupil_reach_meanwhile`)."""


def pupil_reach_meanwhile(principal: Principal, sharing: SharingClient) -> Future[PupilReach]:
    """`pupil_reach_of` on a thread of its own, so the request can do meanwhile what needs
    no Reach; its `result()` raises what `pupil_reach_of` raised."""
    return _REACH_THREADS.submit(pupil_reach_of, principal, sharing)


def scope_limit(
    scope: Scope | None, reach: PupilReach, directory: Directory
) -> dict[str, list[Window]] | None:
    """The schools (and their dates) a `scope` parameter limits a pupil view to.

    A scope must lie wholly within the caller's school windows, otherwise it is not found,
    as for the aggregates; None (no scope) is everything the caller may see.
    """
    if scope is None:
        return None
    windows = scope_windows(scope, directory)
    visible = set(reach.school_urns)
    if not windows or windows is None or any(urn not in visible for urn in windows):
        raise NotVisible(f"The scope {scope} is not visible to this caller.")
    return windows


@dataclass(frozen=True)
class Visible:
    """An enrolment the caller may see, with what it may see of it."""

    row: EnrolmentRow
    access: EnrolmentAccess


def visible_enrolments(
    repo: MetricsRepository,
    reach: PupilReach,
    limit_to: dict[str, list[Window]] | None = None,
    *,
    upn: str | None = None,
    filters: dict[str, str] | None = None,
) -> list[Visible]:
    """Enrolments of the caller's schools and named children it may see, in id order.

    With `limit_to` (a scope), only those schools over those dates.
    """
    rows = repo.enrolments(reach.school_urns, or_upns=reach.upns, upn=upn, filters=filters)
    out = []
    for r in rows:
        access = reach.access(r.upn, r.school_urn, r.stays)
        if access is not None and limit_to is not None:
            access = within(access, limit_to.get(r.school_urn, []))
        if access is not None:
            out.append(Visible(r, access))
    return out


def read_records(
    audit: AuditRecorder,
    principal: Principal,
    reads: Iterable[tuple[str, str, EnrolmentAccess]],
    *,
    endpoint: str,
    purpose: Purpose | None,
) -> list[bytes]:
    """The audit records of a read (`AuditRecorder.read_record`), one per legal basis
    relied on. A purpose the caller's role may not state is refused (PurposeNotAllowed)
    even for a read of no child."""
    purpose_for(purpose, principal.role)
    records = (
        audit.read_record(
            principal=principal,
            children=children,
            endpoint=endpoint,
            purpose=purpose,
            decision_basis=basis,
        )
        for basis, children in by_legal_basis(reads).items()
    )
    return [r for r in records if r is not None]


def record_reads(
    audit: AuditRecorder,
    principal: Principal,
    reads: Iterable[tuple[str, str, EnrolmentAccess]],
    *,
    endpoint: str,
    purpose: Purpose | None,
) -> None:
    """Put the read on the audit trail before it is answered (`read_records`; raises
    AuditUnavailable, so nothing is served, if it cannot)."""
    for record in read_records(audit, principal, reads, endpoint=endpoint, purpose=purpose):
        audit.send(record)


def start_recording_reads(
    audit: AuditRecorder,
    principal: Principal,
    reads: Sequence[tuple[str, str, EnrolmentAccess]],
    *,
    endpoint: str,
    purpose: Purpose | None,
) -> Future[None]:
    """`record_reads` with the sending in the background while the answer is assembled;
    its `result()` must be had before answering. The records are written here, first: on
    the sending thread they waited for the interpreter lock the answer's work holds, and
    the record reached sharing ~6 ms later (benchmarks/README.md, stop 28)."""
    return audit.send_in_background(
        read_records(audit, principal, reads, endpoint=endpoint, purpose=purpose)
    )


def counts_over(
    repo: MetricsRepository, visible: Sequence[Visible], period: Period
) -> dict[int, SessionCounts]:
    """Each visible enrolment's counts over the days of the period it may be seen on."""
    ranges = [("p", v.row.id, p) for v in visible for p in clip(v.access.spans, period)]
    return {i: c for (_k, i), c in repo.window_counts(ranges).items()}


def pupil_histories(
    repo: MetricsRepository,
    visible: Sequence[Visible],
    as_of: dt.date,
    rules: EarlyWarningRules,
) -> dict[int, PupilHistory]:
    """What the early-warning rules need of each enrolment, as of a day, within its windows.

    Three statements whatever the number of pupils: the school weeks, the counts of every
    period (one window table), the pattern facts.
    """
    ids = [v.row.id for v in visible]
    if not ids:
        return {}
    year_start = academic_year_period(academic_year_of(as_of)).start
    weeks = repo.school_weeks(ids, Period(year_start, as_of))
    recent_start = weeks[-rules.recent_weeks] if len(weeks) >= rules.recent_weeks else year_start
    recent = Period(recent_start, as_of)
    year_ago = dt.timedelta(weeks=52)
    periods = {
        "ytd": Period(year_start, as_of),
        "recent": recent,
        "last_year": Period(recent.start - year_ago, recent.end - year_ago),
    }
    counts = repo.window_counts(
        [
            (key, v.row.id, p)
            for v in visible
            for key, period in periods.items()
            for p in clip(v.access.spans, period)
        ]
    )
    pattern = Period(as_of - dt.timedelta(weeks=rules.pattern_weeks) + dt.timedelta(1), as_of)
    facts = repo.pattern_facts(
        [(v.row.id, v.row.id, p) for v in visible for p in clip(v.access.spans, pattern)]
    )
    empty, no_pattern = SessionCounts(), PatternFacts()
    return {
        v.row.id: PupilHistory(
            counts.get(("ytd", v.row.id), empty),
            counts.get(("recent", v.row.id), empty),
            counts.get(("last_year", v.row.id), empty),
            facts.get(v.row.id, no_pattern),
        )
        for v in visible
    }


def require_read_model_dimensions(group_by: Sequence[str]) -> None:
    """Refuse dimensions the read model does not hold itself (phase, social care status)."""
    problems = [
        ProblemItem(
            location="query:group_by",
            code="dimension_not_offered",
            detail=f"{g!r} cannot group this view",
        )
        for g in group_by
        if g not in GROUP_COLUMNS
    ]
    if problems:
        raise InvalidQuery("group_by names a dimension this view does not offer.", problems)
