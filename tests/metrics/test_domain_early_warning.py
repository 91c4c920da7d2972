"""Early-warning rules, each flag with its reason."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st

from services.metrics.domain.early_warning import (
    EarlyWarningRules,
    PupilHistory,
    Rule,
    flags,
    pattern_facts,
)
from services.metrics.domain.measures import SessionCounts

RULES = EarlyWarningRules()


def counts(
    possible: int, authorised: int = 0, unauthorised: int = 0, noyet: int = 0
) -> SessionCounts:
    return SessionCounts(
        {
            "sess_possible": possible,
            "sess_attended": possible - authorised - unauthorised,
            "sess_authorised": authorised,
            "sess_unauthorised": unauthorised,
            "sess_unauth_noyet": noyet,
        }
    )


GOOD_YEAR, GOOD_MONTH, NO_HISTORY = counts(200), counts(40), counts(0)


def history(
    ytd: SessionCounts = GOOD_YEAR,
    recent: SessionCounts = GOOD_MONTH,
    last_year: SessionCounts = NO_HISTORY,
    days: list[tuple[dt.date, SessionCounts]] | None = None,
) -> PupilHistory:
    return PupilHistory(ytd, recent, last_year, pattern_facts(days or []))


def rules_met(h: PupilHistory) -> set[Rule]:
    return {f.rule for f in flags(h, RULES)}


def test_good_attendance_raises_no_flag() -> None:
    assert rules_met(history()) == set()


def test_recent_attendance_below_90_with_a_good_year_is_flagged() -> None:
    found = flags(history(ytd=counts(200, 10), recent=counts(40, 5)), RULES)
    assert found[0].rule is Rule.RECENT_DROP
    assert "87.5%" in found[0].reason


def test_recent_drop_needs_the_year_to_date_at_90_or_more() -> None:
    assert Rule.RECENT_DROP not in rules_met(history(ytd=counts(200, 30), recent=counts(40, 5)))


def test_a_trend_that_ends_the_year_persistently_absent_is_flagged() -> None:
    # 5% so far over 200 sessions; 20% recently over the remaining 180 -> 12.1%.
    assert Rule.PROJECTED_PERSISTENT in rules_met(
        history(ytd=counts(200, 10), recent=counts(40, 8))
    )


def test_a_trend_that_stays_below_ten_percent_is_not_projected_persistent() -> None:
    assert Rule.PROJECTED_PERSISTENT not in rules_met(
        history(ytd=counts(200, 10), recent=counts(40, 4))
    )


def test_a_pupil_already_persistent_is_not_projected() -> None:
    assert Rule.PROJECTED_PERSISTENT not in rules_met(
        history(ytd=counts(200, 20), recent=counts(40, 8))
    )


MONDAYS = [dt.date(2024, 1, 8) + dt.timedelta(weeks=i) for i in range(3)]


def test_three_monday_absences_are_a_weekday_pattern() -> None:
    days = [(d, counts(2, 2)) for d in MONDAYS]
    found = [f for f in flags(history(days=days), RULES) if f.rule is Rule.WEEKDAY_PATTERN]
    assert found
    assert "3 Mondays" in found[0].reason


def test_two_monday_absences_are_not_a_pattern() -> None:
    days = [(d, counts(2, 2)) for d in MONDAYS[:2]]
    assert Rule.WEEKDAY_PATTERN not in rules_met(history(days=days))


def test_a_date_on_two_rolls_is_one_date_of_a_weekday_pattern() -> None:
    # Dual registration: the same Monday absent at both schools.
    days = [(d, counts(2, 2)) for d in MONDAYS[:2] for _ in range(2)]
    assert Rule.WEEKDAY_PATTERN not in rules_met(history(days=days))


def test_a_day_half_missed_at_one_of_two_schools_makes_a_broken_week() -> None:
    facts = pattern_facts([(MONDAYS[0], counts(2, 2)), (MONDAYS[0], counts(2))])
    assert facts.broken_weeks == 1


def test_three_weeks_with_some_sessions_missed_are_broken_weeks() -> None:
    days = [(d, counts(2, 1)) for d in MONDAYS] + [
        (d + dt.timedelta(days=1), counts(2)) for d in MONDAYS
    ]
    assert Rule.BROKEN_WEEKS in rules_met(history(days=days))


def test_a_week_missed_entirely_is_not_a_broken_week() -> None:
    days = [(d, counts(2, 2)) for d in MONDAYS]
    assert Rule.BROKEN_WEEKS not in rules_met(history(days=days))


def test_four_unexplained_sessions_are_flagged() -> None:
    days = [(MONDAYS[0], counts(2, 0, 2, 2)), (MONDAYS[1], counts(2, 0, 2, 2))]
    assert Rule.UNEXPLAINED_ABSENCE in rules_met(history(days=days))


def test_a_five_point_fall_against_last_year_is_flagged() -> None:
    assert Rule.FALL_AGAINST_LAST_YEAR in rules_met(
        history(recent=counts(40, 2), last_year=counts(40, 0))
    )


def test_a_smaller_fall_against_last_year_is_not_flagged() -> None:
    assert Rule.FALL_AGAINST_LAST_YEAR not in rules_met(
        history(recent=counts(40, 1), last_year=counts(40, 0))
    )


_SESSIONS = st.integers(min_value=0, max_value=60)  # small: boundaries are hit often


@st.composite
def session_counts(draw: st.DrawFn) -> SessionCounts:
    possible = draw(_SESSIONS)
    authorised = draw(st.integers(0, possible))
    return counts(possible, authorised, draw(st.integers(0, possible - authorised)))


def _attendance(c: SessionCounts) -> Fraction:
    return Fraction(c.attended * 100, c.possible)


@given(ytd=session_counts(), recent=session_counts(), last_year=session_counts())
@example(ytd=counts(200, 20), recent=counts(40, 4), last_year=counts(40, 2))  # 90%, 90%, 5 points
@example(ytd=counts(200, 19), recent=counts(40, 5), last_year=counts(40, 1))
@example(ytd=counts(100, 5), recent=counts(280, 33), last_year=NO_HISTORY)  # ends at 10.0%
@example(ytd=counts(100, 5), recent=counts(280, 32), last_year=NO_HISTORY)
def test_the_rate_rules_decide_exactly_as_their_definitions(
    ytd: SessionCounts, recent: SessionCounts, last_year: SessionCounts
) -> None:
    """The rules compare multiplied-out integers; their definitions, in exact fractions,
    decide the same at every boundary (a pupil at exactly 90%, exactly 5 points' fall)."""
    met = rules_met(history(ytd, recent, last_year))
    assert (Rule.RECENT_DROP in met) == bool(
        recent.possible
        and ytd.possible
        and _attendance(recent) < RULES.recent_attendance_below
        and _attendance(ytd) >= RULES.year_to_date_at_least
    )
    remaining = max(0, RULES.year_sessions - ytd.possible)
    assert (Rule.PROJECTED_PERSISTENT in met) == bool(
        recent.possible
        and ytd.possible
        and Fraction(ytd.overall * 100, ytd.possible) < RULES.persistent_percent
        and (ytd.overall + Fraction(recent.overall, recent.possible) * remaining)
        * 100
        / (ytd.possible + remaining)
        >= RULES.persistent_percent
    )
    assert (Rule.FALL_AGAINST_LAST_YEAR in met) == bool(
        recent.possible
        and last_year.possible
        and _attendance(last_year) - _attendance(recent) >= RULES.fall_points
    )


def _pct(value: Fraction) -> str:
    return f"{float(value):.1f}%"


@given(ytd=session_counts(), recent=session_counts(), last_year=session_counts())
@example(ytd=counts(200, 20), recent=counts(30, 5), last_year=counts(30, 0))  # 83.3%, a fall
def test_the_reasons_give_the_exact_percentages_rounded(
    ytd: SessionCounts, recent: SessionCounts, last_year: SessionCounts
) -> None:
    """Each reason's figures are the exact fractions of its definition, rounded once."""
    for flag in flags(history(ytd, recent, last_year), RULES):
        if flag.rule is Rule.RECENT_DROP:
            assert _pct(_attendance(recent)) in flag.reason
            assert flag.reason.endswith(f"is {_pct(_attendance(ytd))}")
        elif flag.rule is Rule.PROJECTED_PERSISTENT:
            rate = Fraction(recent.overall, recent.possible)
            remaining = max(0, RULES.year_sessions - ytd.possible)
            projected = (ytd.overall + rate * remaining) * 100 / (ytd.possible + remaining)
            assert f"({_pct(rate * 100)})" in flag.reason
            assert f"end at {_pct(projected)} absence" in flag.reason
        elif flag.rule is Rule.FALL_AGAINST_LAST_YEAR:
            fall = _attendance(last_year) - _attendance(recent)
            assert flag.reason.startswith(f"attendance {_pct(_attendance(recent))} over")
            assert f"against {_pct(_attendance(last_year))} in" in flag.reason
            assert flag.reason.endswith(f"a fall of {float(fall):.1f} points")
