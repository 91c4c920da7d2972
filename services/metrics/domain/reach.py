"""What a question covers: the scope's schools, the period, and the caller's reach.

A scope names schools (`school:<urn>`, `trust:<group uid>`, `la:<code>`, `national`);
the caller's reach (sharing's visible-schools answer) names schools and the dates over
which it may see each. Every school of the scope must be within reach, otherwise the
scope is not found for this caller; each school's days are then clipped to both its
scope window (a trust's school counts from the day it joined) and its reach window.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.metrics.domain.calendar import (
    Period,
    Term,
    academic_year_of,
    academic_year_period,
    format_academic_year,
    parse_academic_year,
    term_period,
    time_period,
    week_start,
)
from services.metrics.domain.errors import InvalidQuery, NotVisible
from shared.problems import ProblemItem

Window = tuple[dt.date | None, dt.date | None]
OPEN: Window = (None, None)


class ScopeKind(StrEnum):
    SCHOOL = "school"
    TRUST = "trust"
    LOCAL_AUTHORITY = "la"
    NATIONAL = "national"


GEOGRAPHIC_LEVEL = {
    ScopeKind.SCHOOL: "School",
    ScopeKind.TRUST: "Multi-academy trust",
    ScopeKind.LOCAL_AUTHORITY: "Local authority",
    ScopeKind.NATIONAL: "National",
}


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    id: str = ""

    def __str__(self) -> str:
        return self.kind.value if self.kind is ScopeKind.NATIONAL else f"{self.kind}:{self.id}"


SCOPE_PATTERN = r"^(?:(school):(\d{6})|(trust):([A-Za-z0-9-]{1,40})|(la):(\d{3})|(national))$"
"""The grammar of a scope, also stated in the OpenAPI schema of every `scope` parameter."""
_SCOPE = re.compile(SCOPE_PATTERN)


def parse_scope(text: str) -> Scope:
    """`school:123456`, `trust:<uid>`, `la:202` or `national`."""
    found = _SCOPE.match(text.strip())
    if found is None:
        raise InvalidQuery(
            "The scope is not one of school:<urn>, trust:<uid>, la:<code>, national.",
            [ProblemItem(location="query:scope", code="invalid_scope", detail=repr(text))],
        )
    groups = [g for g in found.groups() if g is not None]
    return Scope(ScopeKind(groups[0]), groups[1] if len(groups) > 1 else "")


@dataclass(frozen=True)
class PeriodAsked:
    """A resolved period with DfE's labels for it."""

    period: Period
    time_identifier: str
    academic_year: int

    @property
    def time_period(self) -> str:
        return time_period(self.academic_year)


def _shift_year(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def resolve_period(
    *,
    start: dt.date | None,
    end: dt.date | None,
    academic_year: str | None,
    term: Term | None,
    week: dt.date | None,
    today: dt.date,
) -> PeriodAsked:
    """One period from exactly one of: from+to, academic_year (+term), week.

    With none given, the current academic year to date.
    """
    problems: list[ProblemItem] = []
    forms = [
        name
        for name, given in (
            ("from/to", start is not None or end is not None),
            ("academic_year", academic_year is not None),
            ("week", week is not None),
        )
        if given
    ]
    if len(forms) > 1:
        problems.append(
            ProblemItem(
                location="query",
                code="several_periods",
                detail=f"give one period, not {' and '.join(forms)}",
            )
        )
    if term is not None and academic_year is None:
        problems.append(
            ProblemItem(location="query:term", code="term_needs_year", detail="add academic_year")
        )
    year: int | None = None
    if academic_year is not None:
        try:
            year = parse_academic_year(academic_year)
        except ValueError as exc:
            problems.append(
                ProblemItem(location="query:academic_year", code="invalid_year", detail=str(exc))
            )
    if (start is None) != (end is None):
        problems.append(
            ProblemItem(location="query", code="from_and_to", detail="give both from and to")
        )
    if start is not None and end is not None and end < start:
        problems.append(
            ProblemItem(location="query:to", code="to_before_from", detail="to is before from")
        )
    if problems:
        raise InvalidQuery("The period is not valid.", problems)
    if year is not None:
        if term is not None:
            return PeriodAsked(term_period(year, term), f"{term.value.title()} term", year)
        return PeriodAsked(academic_year_period(year), "Academic year", year)
    if week is not None:
        monday = week_start(week)
        return PeriodAsked(
            Period(monday, monday + dt.timedelta(days=6)), "Week", academic_year_of(monday)
        )
    if start is not None and end is not None:
        return PeriodAsked(Period(start, end), "Custom dates", academic_year_of(start))
    current = academic_year_of(today)
    return PeriodAsked(
        Period(academic_year_period(current).start, today), "Academic year to date", current
    )


def previous_year(asked: PeriodAsked) -> PeriodAsked:
    """The same period a year earlier (a week moves back 52 weeks, keeping weekdays)."""
    p = asked.period
    if asked.time_identifier == "Week":
        back = dt.timedelta(weeks=52)
        shifted = Period(p.start - back, p.end - back)
    elif asked.time_identifier == "Academic year":
        shifted = academic_year_period(asked.academic_year - 1)
    elif asked.time_identifier.endswith(" term"):
        term = Term(asked.time_identifier.removesuffix(" term").lower())
        shifted = term_period(asked.academic_year - 1, term)
    else:
        shifted = Period(_shift_year(p.start, -1), _shift_year(p.end, -1))
    return PeriodAsked(shifted, asked.time_identifier, asked.academic_year - 1)


def describe_year(year: int) -> str:
    return format_academic_year(year)


@dataclass(frozen=True)
class Slice:
    """Schools (None: every school) whose sessions count over `period`."""

    schools: tuple[str, ...] | None
    period: Period


def _clip(period: Period, windows: Sequence[Window]) -> list[Period]:
    found = []
    for lo, hi in windows:
        start = max(period.start, lo) if lo else period.start
        end = min(period.end, hi) if hi else period.end
        if start <= end:
            found.append(Period(start, end))
    return found


def _intersect(a: Sequence[Window], b: Sequence[Window]) -> list[Window]:
    found: list[Window] = []
    for a_lo, a_hi in a:
        for b_lo, b_hi in b:
            lo = max((d for d in (a_lo, b_lo) if d), default=None)
            hi = min((d for d in (a_hi, b_hi) if d), default=None)
            if lo is None or hi is None or lo <= hi:
                found.append((lo, hi))
    return found


def slices(
    scope_windows: Mapping[str, Sequence[Window]] | None,
    reach: Mapping[str, Sequence[Window]] | None,
    period: Period,
    *,
    scope: Scope,
) -> list[Slice]:
    """The slices a question covers; NotVisible if any school of the scope is out of reach.

    `scope_windows` None is every school (national); `reach` None is every school, always.
    """
    if scope_windows is None:
        if reach is not None:
            raise NotVisible(f"The scope {scope} is not visible to this caller.")
        return [Slice(None, period)]
    if not scope_windows:
        raise NotVisible(f"The scope {scope} has no schools.")
    if reach is not None and any(urn not in reach for urn in scope_windows):
        raise NotVisible(f"The scope {scope} is not visible to this caller.")
    by_periods: dict[tuple[Period, ...], list[str]] = defaultdict(list)
    for urn, windows in scope_windows.items():
        allowed = windows if reach is None else _intersect(windows, reach[urn])
        by_periods[tuple(_clip(period, allowed))].append(urn)
    return [
        Slice(tuple(sorted(urns)), p)
        for periods, urns in sorted(by_periods.items())
        for p in periods
    ]


def reach_of(
    all_schools: bool, windows: Sequence[tuple[str, dt.date | None, dt.date | None]]
) -> dict[str, list[Window]] | None:
    """Sharing's visible-schools answer as windows per school (None: every school)."""
    if all_schools:
        return None
    found: dict[str, list[Window]] = defaultdict(list)
    for urn, lo, hi in windows:
        found[urn].append((lo, hi))
    return dict(found)
