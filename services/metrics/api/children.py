"""`GET /v1/children-with-social-worker/attendance`: what social-care platforms read daily."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response

from services.metrics.api.collector import collector_paused
from services.metrics.api.csv_export import csv_response
from services.metrics.api.deps import CanReadAttendance, SessionDep, SettingsDep, SharingDep
from services.metrics.api.params import CSV_RESPONSE, ReportDate, decode_cursor, wants_csv
from services.metrics.children import (
    LATEST_DAYS,
    ChildEpisode,
    ChildrenFigures,
    children_enrolments,
    children_figures,
    current_reads,
    episodes_in_reach,
    prepare_children_view,
)
from services.metrics.domain.calendar import Period
from services.metrics.domain.early_warning import EarlyWarningRules, Flag
from services.metrics.domain.measures import RateCounts, percent
from services.metrics.domain.pupil_reach import PupilReach
from services.metrics.reports import pupil_reach_meanwhile, start_recording_reads
from services.metrics.schemas import ChildrenPage
from services.metrics.store.pupil_rows import Mark
from services.metrics.store.repository import MetricsRepository
from shared.audit import AuditRecorder, AuditRecorderDep, PurposeHeader
from shared.auth import Principal
from shared.codes import category_on, lookup
from shared.contracts.audit import Purpose
from shared.contracts.policy import PupilField
from shared.contracts.social_care import SocialCareCategory
from shared.cursors import encode_cursor

router = APIRouter(tags=["children-with-social-worker"])

DESCRIPTION = f"""
Every child the caller's access policy names through a social-care episode (a virtual
school: its authority's episodes, past ones within their dates; children's social care:
episodes of its authority open today, and acting for a practitioner only that
practitioner's caseload), at whatever school the child is on roll, in any authority.
Each child is listed under the episode open on `as_of` (the most intensive, CLA > CPP >
CIN), else its last, with the school on roll on `as_of`, headline attendance this week,
over the last 4 school weeks and the year to date (only days inside the child's
windows; for a child outside the headline ages, every possible session of its register,
as `sessions_counted` says), persistent (≥ 10%) and severe (≥ 50%) absence over the
year to date, the early-warning flags of `GET /v1/early-warnings`, and the last
{LATEST_DAYS} days' marks. A child with no known enrolment is listed with no school and no sessions.
Filters `category` and `practitioner` apply to that episode. Ordered by UPN; pass
`next_cursor` back as `cursor`. `Accept: text/csv` for CSV. Recorded on the audit trail
with the decision's legal basis before the answer (503 if it cannot be).
"""


def _summary(span: Period, c: RateCounts) -> dict[str, Any]:
    """A span's published figures (`AttendanceSummary`) as data."""
    return {
        "start": span.start,
        "end": span.end,
        "sess_possible": c.possible,
        "sess_attended": c.attended,
        "sess_overall": c.overall,
        "sess_attended_percent": percent(c.attended, c.possible),
    }


_SHOWN_SPANS = ("this_week", "last_4_weeks", "year_to_date")
"""The spans a child's item shows (the same weeks last year only feed the flags)."""


def child_items(
    figures: ChildrenFigures, episodes: Mapping[str, ChildEpisode]
) -> list[dict[str, Any]]:
    """The published view of each child's figures, under its episode: `ChildAttendance`
    as data, without a model object per child (the test suite checks the shape against
    the model); items share their equal parts, so they are read, never changed: each
    span's figures are made once per distinct counts (`Distinct`), each flag once.
    `latest_marks` is already JSON (`orjson.Fragment`): 2,000 children bring 20,000
    marks, a few hundred distinct, each written once; CSV leaves them out."""
    marks_json = _MarksJson()
    summaries = [
        (
            name,
            [_summary(figures.spans[name], c) for c in figures.counts[name].values],
            figures.counts[name].index,
        )
        for name in _SHOWN_SPANS
    ]
    warning_json: dict[Flag, dict[str, str]] = {}  # each distinct flag's, made once
    items = []
    for n, upn in enumerate(figures.upns):
        e, current = episodes[upn], figures.current[n]
        item: dict[str, Any] = {
            "upn": upn,
            "category": e.category.value,
            "practitioner_ref": e.practitioner_ref,
            "episode_start": e.start_date,
            "episode_end": e.end_date,
            "school_urn": current[0].school_urn if current else None,
        }
        if current is not None and current[1].sees(PupilField.IDENTITY):
            item["legal_surname"] = current[0].legal_surname
            item["legal_forename"] = current[0].legal_forename
        for name, made, index in summaries:
            item[name] = made[index[n]]
        item["persistent_absentee"] = figures.persistent[n]
        item["severe_absentee"] = figures.severe[n]
        warnings = []
        for w in figures.warnings[n]:
            written = warning_json.get(w)
            if written is None:
                written = warning_json[w] = {"rule": w.rule.value, "reason": w.reason}
            warnings.append(written)
        item["early_warnings"] = warnings
        item["sessions_counted"] = figures.counted[n]
        item["latest_marks"] = marks_json(figures.marks[n])
        items.append(item)
    return items


class _MarksJson:
    """Runs of latest marks as JSON (`ChildMark` arrays), each distinct run written once:
    a school's children often share their week. Each distinct mark is written once by
    the process (`_mark_json`), and a run it has seen as the same tuple (the read model
    held in memory gives the same tuples to the same question, `store.week_columns`) is
    found by identity (`_SEEN_RUNS`), without hashing its marks."""

    def __init__(self) -> None:
        self._runs: dict[tuple[Mark, ...], orjson.Fragment] = {}

    def __call__(self, marks: tuple[Mark, ...]) -> orjson.Fragment:
        seen = _SEEN_RUNS.get(id(marks))
        if seen is not None and seen[0] is marks:
            return seen[1]
        run = self._runs.get(marks)
        if run is None:
            run = self._runs[marks] = orjson.Fragment(
                b"[" + b",".join([_mark_json(m) for m in marks]) + b"]"
            )
        with _SEEN_RUNS_LOCK:
            # Kept with its JSON, so its id stays its own while it is kept.
            _SEEN_RUNS[id(marks)] = (marks, run)
            while len(_SEEN_RUNS) > _SEEN_RUNS_KEPT:
                _SEEN_RUNS.popitem(last=False)
        return run


_SEEN_RUNS: OrderedDict[int, tuple[tuple[Mark, ...], orjson.Fragment]] = OrderedDict()
"""Runs of marks written lately, by identity, oldest first."""
_SEEN_RUNS_LOCK = threading.Lock()
_SEEN_RUNS_KEPT = 20_000
"""A few pages of all 2,000 children's runs."""


@functools.lru_cache(maxsize=50_000)
def _mark_json(mark: Mark) -> bytes:
    """A mark as JSON (`ChildMark`)."""
    urn, day, session, code = mark
    return orjson.dumps(
        {
            "date": day,
            "session": session,
            "code": code,
            "category": category_on(code, day).value if lookup(code, day) else None,
            "school_urn": urn,
        }
    )


def children_page_json(
    as_of: dt.date, items: Sequence[Mapping[str, Any]], next_cursor: str | None
) -> bytes:
    """A `ChildrenPage` as JSON, from the items (`child_items`) in one call of orjson:
    a page of 2,000 children is 3.7 MB, and orjson writes it in a third of the time
    pydantic's `to_json` took item by item (benchmarks/children_view_bench.py)."""
    return orjson.dumps({"as_of": as_of, "items": items, "next_cursor": next_cursor})


@router.get(
    "/children-with-social-worker/attendance",
    description=DESCRIPTION,
    response_model=ChildrenPage,
    responses=CSV_RESPONSE,
)
def children_with_social_worker(
    request: Request,
    principal: CanReadAttendance,
    session: SessionDep,
    settings: SettingsDep,
    sharing: SharingDep,
    audit: AuditRecorderDep,
    purpose: PurposeHeader,
    category: Annotated[
        SocialCareCategory | None, Query(description="Only children under this category.")
    ] = None,
    practitioner: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$",
            description="Only this practitioner's children (the episode's practitioner_ref).",
        ),
    ] = None,
    as_of: Annotated[ReportDate | None, Query(description="The day to report on.")] = None,
    limit: Annotated[int, Query(ge=1, le=2000, description="Page size.")] = 500,
    cursor: Annotated[str | None, Query(description="next_cursor of the last page.")] = None,
) -> Response:
    """Children with a social worker and their attendance, wherever they go to school."""
    # Held off from the Reach to the page written (see api.collector): a social care's
    # Reach of 2,000 children and their episodes are ~8,000 container objects already.
    with collector_paused():
        after = decode_cursor("u", cursor) if cursor else ""
        day = as_of or dt.date.today()
        repo = MetricsRepository(session.connection())
        rules = settings.early_warning.rules()
        # While sharing decides the Reach, the read model held in memory catches up with
        # what changed since it was read (after a register, tens of milliseconds).
        asked = pupil_reach_meanwhile(principal, sharing)
        prepare_children_view(repo, day, rules)
        reach = asked.result()
        episodes = episodes_in_reach(reach, day)
        chosen = [
            upn
            for upn in sorted(episodes)
            if upn > after
            and (category is None or episodes[upn].category is category)
            and (practitioner is None or episodes[upn].practitioner_ref == practitioner)
        ]
        page = chosen[:limit]
        next_cursor = encode_cursor("u", page[-1]) if len(chosen) > limit else None
        return _children_page(
            repo,
            reach,
            page,
            episodes,
            day,
            rules,
            audit=audit,
            principal=principal,
            purpose=purpose,
            csv=wants_csv(request),
            next_cursor=next_cursor,
        )


def _children_page(
    repo: MetricsRepository,
    reach: PupilReach,
    page: Sequence[str],
    episodes: Mapping[str, ChildEpisode],
    day: dt.date,
    rules: EarlyWarningRules,
    *,
    audit: AuditRecorder,
    principal: Principal,
    purpose: Purpose | None,
    csv: bool,
    next_cursor: str | None,
) -> Response:
    """The page of these children, as JSON or CSV, once its reads are on record."""
    enrolled = children_enrolments(repo, reach, page)
    # On record while the figures are read; nothing is answered until it is.
    recording = start_recording_reads(
        audit,
        principal,
        current_reads(enrolled, day),
        endpoint="GET /v1/children-with-social-worker/attendance",
        purpose=purpose,
    )
    figures = children_figures(repo, enrolled, page, day, rules)
    items = child_items(figures, episodes)
    recording.result()
    if csv:
        return _children_csv(items)
    return Response(children_page_json(day, items, next_cursor), media_type="application/json")


_SPAN_FIGURES = ("sess_possible", "sess_attended", "sess_overall", "sess_attended_percent")


def _children_csv(items: Sequence[Mapping[str, Any]]) -> Response:
    columns = [
        "upn",
        "category",
        "practitioner_ref",
        "school_urn",
        "legal_surname",
        "legal_forename",
        *(f"{span}_{m}" for span in _SHOWN_SPANS for m in _SPAN_FIGURES),
        "persistent_absentee",
        "severe_absentee",
        "early_warnings",
        "sessions_counted",
    ]
    return csv_response(
        columns,
        [
            {
                **i,
                **{f"{span}_{m}": i[span][m] for span in _SHOWN_SPANS for m in _SPAN_FIGURES},
                "early_warnings": " ".join(w["rule"] for w in i["early_warnings"]),
            }
            for i in items
        ],
        "children-with-social-worker",
    )
