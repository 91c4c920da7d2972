"""Alert rules: conditions in one pupil's register that someone should act on today.

Each rule is a plain function of one enrolment's recent marks or counts and returns the
conditions it finds (`Finding`), each with what happened, the sessions that make it and
the day it began. A condition's key (`condition_key`) is the rule, school, pupil and the
start of the condition, so evaluating the same register again finds the same key and
nobody is alerted twice.

- `unexplained_runs`: N or O (no established reason) for `unexplained_sessions`
  consecutive sessions (default 2). Metrics finds it for every pupil; the sharing
  service sends it only about children with a social worker, and only to organisations
  whose reach over the child comes from a care episode.
- `missing_education_runs`: not seen at school — every possible session an
  unauthorised absence in which the child never arrived (G, N, O) — on
  `missing_education_days` consecutive school days (default 3).
- `exclusion_runs`: a run of sessions coded E (suspended or excluded, no provision).
- `low_recent_attendance`: attendance over the last `recent_weeks` school weeks
  (default 4) below `recent_attendance_below`% (default 90), from a minimum number of
  possible sessions; the spell starts at the first such 4-week window.
- `crossing`: overall absence this academic year at or above the persistent (10%)
  or severe (50%) threshold, once at least `min_year_sessions` were possible (a child
  absent on the first morning of the year is not yet a severe absentee). Keyed by the
  academic year: crossing once a year is the event.

A "run" is over consecutive *possible* sessions: weekends and holidays have no marks,
and not-possible sessions (closures, dual registration, X, Y) neither extend nor break
it. When the marks given may start part-way through a run (`truncated`), a run that
begins at the first mark is not reported: its real start, and so its key, is unknown —
it was reported when it began.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from services.metrics.domain.calendar import academic_year_of, format_academic_year
from services.metrics.domain.measures import SessionCounts
from shared.codes import Category, category_on
from shared.contracts.alerts import AlertRule

UNEXPLAINED_CODES = frozenset({"N", "O"})
"""Absent, no reason established yet (N) or none given (O)."""
UNSEEN_CODES = frozenset({"G", "N", "O"})
"""Unauthorised absences in which the child did not arrive (U means arrived late)."""
EXCLUSION_CODES = frozenset({"E"})


@dataclass(frozen=True)
class AlertThresholds:
    """The parameters of every rule (metrics settings: `alerts`)."""

    unexplained_sessions: int = 2
    missing_education_days: int = 3
    recent_weeks: int = 4
    recent_attendance_below: int = 90
    min_recent_sessions: int = 10
    persistent_percent: int = 10
    severe_percent: int = 50
    min_year_sessions: int = 20


class MarkAt(NamedTuple):
    """One register mark (a named tuple: a day's evaluation builds tens of thousands)."""

    date: dt.date
    session: str
    code: str


@dataclass(frozen=True)
class Finding:
    """One condition of one pupil: the rule, when it began, and why."""

    rule: AlertRule
    start: str
    """What fixes the condition's identity: a session, a week, a year, a day."""
    since: dt.date
    until: dt.date
    summary: str
    sessions: tuple[MarkAt, ...] = ()
    percent: float | None = None


def condition_key(rule: AlertRule, school_urn: str, upn: str, start: str) -> str:
    """The stable identity of a condition: the same facts always give the same key."""
    return f"{rule}:{school_urn}:{upn}:{start}"


@lru_cache(maxsize=8192)
def _category_of(code: str, day: dt.date) -> Category | None:
    # Cached: the rules classify the same few codes on the same few days for every pupil.
    try:
        return category_on(code, day)
    except KeyError:
        return None  # not a code on that day: ingest refuses these; ignore rather than guess


def _category(mark: MarkAt) -> Category | None:
    return _category_of(mark.code, mark.date)


def _possible(marks: Iterable[MarkAt]) -> list[MarkAt]:
    ordered = sorted(marks, key=lambda m: (m.date, m.session))  # "AM" < "PM"
    return [m for m in ordered if (c := _category(m)) is not None and c.is_possible]


def _session_runs(
    marks: Sequence[MarkAt], codes: frozenset[str], *, truncated: bool
) -> list[list[MarkAt]]:
    """Maximal runs of consecutive possible sessions whose code is in `codes`."""
    runs: list[list[MarkAt]] = []
    current: list[MarkAt] = []
    open_start = False
    for index, mark in enumerate(_possible(marks)):
        if mark.code in codes:
            if not current:
                open_start = truncated and index == 0
            current.append(mark)
            continue
        if current and not open_start:
            runs.append(current)
        current, open_start = [], False
    if current and not open_start:
        runs.append(current)
    return runs


def _sessions_text(run: Sequence[MarkAt]) -> str:
    first, last = run[0], run[-1]
    return f"{first.date.isoformat()} {first.session} to {last.date.isoformat()} {last.session}"


def unexplained_runs(
    marks: Sequence[MarkAt], rules: AlertThresholds, *, truncated: bool = False
) -> list[Finding]:
    """Runs of at least `unexplained_sessions` consecutive N/O sessions."""
    return [
        Finding(
            rule=AlertRule.SOCIAL_WORKER_UNEXPLAINED_ABSENCE,
            start=f"{run[0].date.isoformat()}{run[0].session}",
            since=run[0].date,
            until=run[-1].date,
            summary=f"absent without an established reason (N/O) for {len(run)} consecutive "
            f"sessions, {_sessions_text(run)}",
            sessions=tuple(run),
        )
        for run in _session_runs(marks, UNEXPLAINED_CODES, truncated=truncated)
        if len(run) >= rules.unexplained_sessions
    ]


def exclusion_runs(marks: Sequence[MarkAt], *, truncated: bool = False) -> list[Finding]:
    """Every run of sessions coded E (one session is enough)."""
    return [
        Finding(
            rule=AlertRule.SUSPENSION_OR_EXCLUSION,
            start=f"{run[0].date.isoformat()}{run[0].session}",
            since=run[0].date,
            until=run[-1].date,
            summary=f"suspended or excluded with no alternative provision (E) for {len(run)} "
            f"session(s), {_sessions_text(run)}",
            sessions=tuple(run),
        )
        for run in _session_runs(marks, EXCLUSION_CODES, truncated=truncated)
    ]


def missing_education_runs(
    marks: Sequence[MarkAt], rules: AlertThresholds, *, truncated: bool = False
) -> list[Finding]:
    """Runs of at least `missing_education_days` school days on which the child was unseen."""
    days: dict[dt.date, list[MarkAt]] = {}
    for mark in _possible(marks):
        days.setdefault(mark.date, []).append(mark)
    runs: list[list[dt.date]] = []
    current: list[dt.date] = []
    open_start = False
    for index, day in enumerate(sorted(days)):
        unseen = all(m.code in UNSEEN_CODES for m in days[day])
        if unseen:
            if not current:
                open_start = truncated and index == 0
            current.append(day)
            continue
        if current and not open_start:
            runs.append(current)
        current, open_start = [], False
    if current and not open_start:
        runs.append(current)
    return [
        Finding(
            rule=AlertRule.MISSING_EDUCATION,
            start=run[0].isoformat(),
            since=run[0],
            until=run[-1],
            summary=f"not seen at school for {len(run)} consecutive school days "
            f"({run[0].isoformat()} to {run[-1].isoformat()}): every session G, N or O",
            sessions=tuple(m for day in run for m in days[day]),
        )
        for run in runs
        if len(run) >= rules.missing_education_days
    ]


def _is_low(possible: int, attended: int, rules: AlertThresholds) -> bool:
    return (
        possible >= rules.min_recent_sessions
        and attended * 100 < rules.recent_attendance_below * possible
    )


def is_low_attendance(counts: SessionCounts, rules: AlertThresholds) -> bool:
    """Enough possible sessions to judge, and attendance under the threshold."""
    return _is_low(counts.possible, counts.attended, rules)


def low_recent_attendance(
    weeks: Sequence[tuple[dt.date, SessionCounts]],
    rules: AlertThresholds,
    *,
    truncated: bool = False,
) -> Finding | None:
    """Attendance over the last `recent_weeks` school weeks (Mondays, oldest first) too low.

    The spell is the unbroken sequence of low `recent_weeks` windows ending with the
    latest; it starts (and is keyed) at the Monday of its first window.
    """
    n = rules.recent_weeks
    ordered = sorted(weeks, key=lambda w: w[0])
    if not ordered:
        return None
    # Rolling sums of the two counts the rule reads, by prefix sums (this runs per pupil).
    possible, attended = [0], [0]
    for _, counts in ordered:
        possible.append(possible[-1] + counts.possible)
        attended.append(attended[-1] + counts.attended)

    def window(end: int) -> tuple[int, int]:
        start = max(0, end - n + 1)
        return possible[end + 1] - possible[start], attended[end + 1] - attended[start]

    last = len(ordered) - 1
    if not _is_low(*window(last), rules):
        return None
    first = last
    while first > 0 and _is_low(*window(first - 1), rules):
        first -= 1
    start_index = max(0, first - n + 1)
    if truncated and start_index == 0:
        return None  # the spell may have begun before the weeks given
    sessions, present = window(last)
    attendance = present * 100 / sessions
    monday = ordered[start_index][0]
    return Finding(
        rule=AlertRule.LOW_RECENT_ATTENDANCE,
        start=monday.isoformat(),
        since=monday,
        until=ordered[last][0] + dt.timedelta(days=6),
        summary=f"attendance {attendance:.1f}% over the last {n} school weeks "
        f"({present} of {sessions} possible sessions), below "
        f"{rules.recent_attendance_below}%, since the week of {monday.isoformat()}",
        percent=round(attendance, 1),
    )


def crossing(year: SessionCounts, as_of: dt.date, rules: AlertThresholds) -> list[Finding]:
    """Persistent and severe absence this academic year, once enough sessions were possible."""
    if year.possible < rules.min_year_sessions or (
        year.overall * 100 < min(rules.persistent_percent, rules.severe_percent) * year.possible
    ):
        return []  # most pupils, and this runs for every pupil a day's returns touch
    academic_year = academic_year_of(as_of)
    absence = year.overall * 100 / year.possible
    found = []
    for rule, threshold, name in (
        (AlertRule.PERSISTENT_ABSENCE, rules.persistent_percent, "persistent"),
        (AlertRule.SEVERE_ABSENCE, rules.severe_percent, "severe"),
    ):
        if year.overall * 100 >= threshold * year.possible:
            found.append(
                Finding(
                    rule=rule,
                    start=str(academic_year),
                    since=as_of,
                    until=as_of,
                    summary=f"absent {absence:.1f}% of {year.possible} possible sessions in "
                    f"{format_academic_year(academic_year)}: a {name} absentee "
                    f"({threshold}% or more)",
                    percent=round(absence, 1),
                )
            )
    return found


def removal(
    leaving_date: dt.date | None, withdrawn_sequence: int | None, *, on: dt.date
) -> Finding:
    """The pupil left the roll (a leaving date), or the school withdrew the roll entry `on`."""
    if leaving_date is not None:
        return Finding(
            rule=AlertRule.REMOVED_FROM_ROLL,
            start=leaving_date.isoformat(),
            since=leaving_date,
            until=leaving_date,
            summary=f"removed from the school's roll: leaving date {leaving_date.isoformat()}",
        )
    if withdrawn_sequence is None:
        raise ValueError("a removal has a leaving date or a withdrawn roll entry")
    return Finding(
        rule=AlertRule.REMOVED_FROM_ROLL,
        start=f"withdrawn-{withdrawn_sequence}",
        since=on,
        until=on,
        summary="removed from the school's roll: the school withdrew the roll entry",
    )
