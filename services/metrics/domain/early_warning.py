"""Early warning: pupils whose attendance is slipping before they become persistent absentees.

Each rule is a plain function of a pupil's counts; each flag carries its reason, in
words a practitioner can act on. Thresholds come from settings (`EarlyWarningRules`).
- `recent_drop`: attendance over the last 4 school weeks below 90% while the
  year to date is still at least 90%.
- `projected_persistent`: not yet a persistent absentee, but the year-to-date absence
  plus the rest of the year at the last 4 weeks' absence rate would reach 10% of the
  year's possible sessions (a year is taken as 380 sessions).
- `weekday_pattern`: absent on the same weekday on at least 3 dates in the last 6 weeks.
- `broken_weeks`: at least 3 of the last 6 weeks with some, but not all, sessions missed.
- `unexplained_absence`: at least 4 sessions still coded `N` (reason not yet
  established) in the last 6 weeks.
- `fall_against_last_year`: attendance over the last 4 school weeks at least 5 points
  below the same weeks a year earlier.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from services.metrics.domain.calendar import week_start
from services.metrics.domain.measures import Rated, SessionCounts

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NO_WEEKDAYS = (0,) * len(WEEKDAYS)


class Rule(StrEnum):
    RECENT_DROP = "recent_drop"
    PROJECTED_PERSISTENT = "projected_persistent"
    WEEKDAY_PATTERN = "weekday_pattern"
    BROKEN_WEEKS = "broken_weeks"
    UNEXPLAINED_ABSENCE = "unexplained_absence"
    FALL_AGAINST_LAST_YEAR = "fall_against_last_year"


@dataclass(frozen=True)
class EarlyWarningRules:
    """The thresholds of every rule."""

    recent_weeks: int = 4
    recent_attendance_below: int = 90
    year_to_date_at_least: int = 90
    persistent_percent: int = 10
    year_sessions: int = 380
    pattern_weeks: int = 6
    weekday_repeats: int = 3
    broken_weeks: int = 3
    unexplained_sessions: int = 4
    fall_points: int = 5


class Flag(NamedTuple):
    """One rule a pupil meets, and why (a tuple: a view flags thousands of pupils)."""

    rule: Rule
    reason: str


class PatternFacts(NamedTuple):
    """What the pattern rules read of a pupil's last `pattern_weeks` weeks.

    Three facts rather than the days themselves: a view of thousands of children has the
    read model compute them (`MetricsRepository.pattern_facts`), and `pattern_facts`
    below is their definition. A tuple: such a view has one for most of its children.
    """

    absent_weekdays: tuple[int, ...] = NO_WEEKDAYS
    """Dates with an absence on each weekday, Monday first (seven counts)."""
    broken_weeks: int = 0
    """Weeks (Monday to Sunday) with some, but not all, possible sessions missed."""
    unexplained_sessions: int = 0
    """Sessions coded N (reason not yet established)."""


def pattern_facts(days: Iterable[tuple[dt.date, SessionCounts]]) -> PatternFacts:
    """The facts of a pupil's day counts; two rows of one date (dual registration) are
    one date whose sessions add up."""
    by_date: dict[dt.date, list[int]] = {}
    for day, counts in days:
        totals = by_date.setdefault(day, [0, 0, 0])
        totals[0] += counts.possible
        totals[1] += counts.overall
        totals[2] += counts["sess_unauth_noyet"]
    weeks: dict[dt.date, list[int]] = {}
    for day, (possible, absent, _) in by_date.items():
        week = weeks.setdefault(week_start(day), [0, 0])
        week[0] += possible
        week[1] += absent
    absent_dates = Counter(d.weekday() for d, t in by_date.items() if t[1])
    return PatternFacts(
        absent_weekdays=tuple(absent_dates[d] for d in range(len(WEEKDAYS))),
        broken_weeks=sum(1 for possible, absent in weeks.values() if 0 < absent < possible),
        unexplained_sessions=sum(t[2] for t in by_date.values()),
    )


class PupilHistory(NamedTuple):
    """What the rules look at for one pupil (a tuple: views build thousands)."""

    year_to_date: Rated
    recent: Rated
    same_weeks_last_year: Rated
    pattern: PatternFacts
    """Of the last `pattern_weeks` weeks."""


def _ratio(part: int, whole: int) -> float:
    """`part / whole` as the float nearest the exact fraction: one division of integers
    is correctly rounded, so the reasons read as with `fractions.Fraction`, at a fraction
    of the cost (a view describes thousands of pupils)."""
    return part / whole


def _attendance(counts: Rated) -> float:
    return _ratio(counts.attended * 100, counts.possible)


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def recent_drop(h: PupilHistory, rules: EarlyWarningRules) -> Flag | None:
    if not h.recent.possible or not h.year_to_date.possible:
        return None
    r, y = h.recent, h.year_to_date
    # Exact integer comparisons; the percentages only for the reason of a flag raised.
    if (
        r.attended * 100 < rules.recent_attendance_below * r.possible
        and y.attended * 100 >= rules.year_to_date_at_least * y.possible
    ):
        recent, ytd = _attendance(r), _attendance(y)
        return Flag(
            Rule.RECENT_DROP,
            f"attendance {_pct(recent)} over the last {rules.recent_weeks} school weeks, "
            f"below {rules.recent_attendance_below}%, while the year to date is {_pct(ytd)}",
        )
    return None


def projected_persistent(h: PupilHistory, rules: EarlyWarningRules) -> Flag | None:
    ytd = h.year_to_date
    if not ytd.possible or not h.recent.possible:
        return None
    if ytd.overall * 100 >= rules.persistent_percent * ytd.possible:
        return None  # already a persistent absentee: not an early warning any more
    remaining = max(0, rules.year_sessions - ytd.possible)
    r = h.recent
    # (absent so far + the recent rate x the sessions to come) / the year's sessions,
    # compared with both sides multiplied out of their fractions.
    if (ytd.overall * r.possible + r.overall * remaining) * 100 >= rules.persistent_percent * (
        ytd.possible + remaining
    ) * r.possible:
        rate = _ratio(r.overall * 100, r.possible)
        # (absent so far + rate x sessions to come) x 100 / the year's sessions, exactly
        projected = _ratio(
            (ytd.overall * r.possible + r.overall * remaining) * 100,
            (ytd.possible + remaining) * r.possible,
        )
        return Flag(
            Rule.PROJECTED_PERSISTENT,
            f"at the last {rules.recent_weeks} weeks' absence rate ({_pct(rate)}) the "
            f"year would end at {_pct(projected)} absence, persistent from "
            f"{rules.persistent_percent}%",
        )
    return None


def weekday_pattern(h: PupilHistory, rules: EarlyWarningRules) -> Flag | None:
    days = h.pattern.absent_weekdays
    if max(days) < rules.weekday_repeats:
        return None  # most pupils: nothing to describe
    return _weekday_flag(days, rules.weekday_repeats, rules.pattern_weeks)


# The pattern rules' flags depend on a few small counts, which a view's thousands of
# pupils share (the benchmark's 2,000 children: 4,457 flags, 410 distinct): each is
# described once.
@functools.lru_cache(maxsize=4096)
def _weekday_flag(days: tuple[int, ...], repeats: int, weeks: int) -> Flag:
    described = ", ".join([f"{n} {WEEKDAYS[d]}s" for d, n in enumerate(days) if n >= repeats])
    return Flag(Rule.WEEKDAY_PATTERN, f"absent on {described} in the last {weeks} weeks")


def broken_weeks(h: PupilHistory, rules: EarlyWarningRules) -> Flag | None:
    broken = h.pattern.broken_weeks
    if broken >= rules.broken_weeks:
        return _broken_weeks_flag(broken, rules.pattern_weeks)
    return None


@functools.lru_cache(maxsize=4096)
def _broken_weeks_flag(broken: int, weeks: int) -> Flag:
    return Flag(Rule.BROKEN_WEEKS, f"{broken} of the last {weeks} weeks with some sessions missed")


def unexplained_absence(h: PupilHistory, rules: EarlyWarningRules) -> Flag | None:
    n = h.pattern.unexplained_sessions
    if n >= rules.unexplained_sessions:
        return _unexplained_flag(n, rules.pattern_weeks)
    return None


@functools.lru_cache(maxsize=4096)
def _unexplained_flag(sessions: int, weeks: int) -> Flag:
    return Flag(
        Rule.UNEXPLAINED_ABSENCE,
        f"{sessions} sessions coded N (reason not yet established) in the last {weeks} weeks",
    )


def fall_against_last_year(h: PupilHistory, rules: EarlyWarningRules) -> Flag | None:
    if not h.recent.possible or not h.same_weeks_last_year.possible:
        return None
    r, b = h.recent, h.same_weeks_last_year
    # before - now >= fall_points, both attendance fractions multiplied out.
    if (b.attended * r.possible - r.attended * b.possible) * 100 >= (
        rules.fall_points * b.possible * r.possible
    ):
        now, before = _attendance(r), _attendance(b)
        fall = _ratio(
            (b.attended * r.possible - r.attended * b.possible) * 100, b.possible * r.possible
        )
        return Flag(
            Rule.FALL_AGAINST_LAST_YEAR,
            f"attendance {_pct(now)} over the last {rules.recent_weeks} school weeks against "
            f"{_pct(before)} in the same weeks last year, a fall of {fall:.1f} "
            "points",
        )
    return None


RULES = (
    recent_drop,
    projected_persistent,
    weekday_pattern,
    broken_weeks,
    unexplained_absence,
    fall_against_last_year,
)


def flags(history: PupilHistory, rules: EarlyWarningRules) -> list[Flag]:
    """Every rule the pupil meets, in the order the rules are listed."""
    return [f for rule in RULES if (f := rule(history, rules)) is not None]
