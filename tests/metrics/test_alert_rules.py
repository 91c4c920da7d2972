"""The alert rules as plain functions: what each finds, where its condition starts, its key."""

from __future__ import annotations

import datetime as dt

from services.metrics.domain.alert_rules import (
    AlertThresholds,
    MarkAt,
    condition_key,
    crossing,
    exclusion_runs,
    low_recent_attendance,
    missing_education_runs,
    removal,
    unexplained_runs,
)
from services.metrics.domain.measures import SessionCounts
from shared.contracts.alerts import AlertRule

RULES = AlertThresholds()
MON = dt.date(2024, 11, 4)


def day(n: int) -> dt.date:
    return MON + dt.timedelta(days=n)


def marks(*spec: tuple[int, str, str]) -> list[MarkAt]:
    return [MarkAt(day(d), s, c) for d, s, c in spec]


def register(codes: str, start: int = 0) -> list[MarkAt]:
    """Marks from a string of AM/PM pairs, one pair per weekday from `start`."""
    out = []
    pairs = [codes[i : i + 2] for i in range(0, len(codes), 2)]
    d = start
    for am, pm in pairs:
        while day(d).weekday() >= 5:
            d += 1
        out += [MarkAt(day(d), "AM", am), MarkAt(day(d), "PM", pm)]
        d += 1
    return out


def counts(possible: int, attended: int, unauthorised: int = 0) -> SessionCounts:
    return SessionCounts(
        {
            "sess_possible": possible,
            "sess_attended": attended,
            "sess_authorised": possible - attended - unauthorised,
            "sess_unauthorised": unauthorised,
        }
    )


def test_two_consecutive_unexplained_sessions_are_a_run() -> None:
    found = unexplained_runs(marks((0, "AM", "/"), (0, "PM", "N"), (1, "AM", "O")), RULES)
    assert [(f.since, f.start, len(f.sessions)) for f in found] == [(day(0), "2024-11-04PM", 2)]


def test_one_unexplained_session_is_not_a_run() -> None:
    assert unexplained_runs(marks((0, "AM", "N"), (0, "PM", "/")), RULES) == []


def test_the_unexplained_threshold_is_configurable() -> None:
    three = AlertThresholds(unexplained_sessions=3)
    assert unexplained_runs(marks((0, "AM", "N"), (0, "PM", "N")), three) == []


def test_a_weekend_does_not_break_a_run() -> None:
    found = unexplained_runs(marks((4, "PM", "N"), (7, "AM", "N")), RULES)
    assert [f.until for f in found] == [day(7)]


def test_a_not_possible_session_neither_breaks_nor_extends_a_run() -> None:
    found = unexplained_runs(marks((0, "AM", "N"), (0, "PM", "#"), (1, "AM", "N")), RULES)
    assert [len(f.sessions) for f in found] == [2]


def test_a_run_open_at_the_start_of_truncated_marks_is_not_reported() -> None:
    assert unexplained_runs(marks((0, "AM", "N"), (0, "PM", "N")), RULES, truncated=True) == []


def test_a_run_after_a_present_session_is_reported_in_truncated_marks() -> None:
    found = unexplained_runs(
        marks((0, "AM", "/"), (0, "PM", "N"), (1, "AM", "N")), RULES, truncated=True
    )
    assert len(found) == 1


def test_the_same_run_growing_keeps_its_key() -> None:
    short = unexplained_runs(register("/NNN"), RULES)[0]
    longer = unexplained_runs(register("/NNNNNNN"), RULES)[0]
    assert condition_key(short.rule, "100001", "U", short.start) == condition_key(
        longer.rule, "100001", "U", longer.start
    )


def test_three_unseen_days_are_missing_education() -> None:
    found = missing_education_runs(register("//NNOGNN"), RULES)
    assert [(f.since, f.until) for f in found] == [(day(1), day(3))]


def test_two_unseen_days_are_not_missing_education() -> None:
    assert missing_education_runs(register("//NNNN//"), RULES) == []


def test_a_late_arrival_means_the_child_was_seen() -> None:
    assert missing_education_runs(register("NNNUNN"), RULES) == []


def test_illness_is_not_missing_education() -> None:
    assert missing_education_runs(register("IIIIII"), RULES) == []


def test_one_excluded_session_is_an_exclusion() -> None:
    found = exclusion_runs(register("/E//"))
    assert [(f.rule, f.start) for f in found] == [
        (AlertRule.SUSPENSION_OR_EXCLUSION, "2024-11-04PM")
    ]


def test_two_spells_of_exclusion_are_two_conditions() -> None:
    assert len(exclusion_runs(register("EE//EE"))) == 2


def weeks(*pairs: tuple[int, int]) -> list[tuple[dt.date, SessionCounts]]:
    return [(MON + dt.timedelta(weeks=i), counts(p, a)) for i, (p, a) in enumerate(pairs)]


def test_attendance_under_90_percent_over_four_weeks_alerts() -> None:
    found = low_recent_attendance(weeks((10, 10), (10, 8), (10, 8), (10, 9)), RULES)
    assert found is not None
    assert found.percent == 87.5


def test_attendance_of_exactly_90_percent_does_not_alert() -> None:
    assert low_recent_attendance(weeks((10, 9), (10, 9), (10, 9), (10, 9)), RULES) is None


def test_too_few_possible_sessions_are_not_judged() -> None:
    assert low_recent_attendance(weeks((4, 2), (4, 2)), RULES) is None


def test_a_low_spell_is_keyed_by_its_first_window_as_it_goes_on() -> None:
    history = [(10, 10)] * 4 + [(10, 5)]
    first = low_recent_attendance(weeks(*history), RULES)
    later = low_recent_attendance(weeks(*history, (10, 6), (10, 7)), RULES)
    assert first is not None
    assert later is not None
    assert later.start == first.start


def test_a_low_spell_reaching_back_past_truncated_weeks_is_not_reported() -> None:
    assert low_recent_attendance(weeks((10, 5), (10, 5)), RULES, truncated=True) is None


def test_crossing_into_persistent_absence_alerts_once_per_year() -> None:
    found = crossing(counts(40, 35), day(0), RULES)
    assert [(f.rule, f.start) for f in found] == [(AlertRule.PERSISTENT_ABSENCE, "2024")]


def test_severe_absence_alerts_with_persistent() -> None:
    found = crossing(counts(40, 20), day(0), RULES)
    assert {f.rule for f in found} == {AlertRule.PERSISTENT_ABSENCE, AlertRule.SEVERE_ABSENCE}


def test_absence_is_not_judged_before_enough_possible_sessions() -> None:
    assert crossing(counts(2, 0), day(0), RULES) == []


def test_a_leaving_date_is_a_removal_keyed_by_the_date() -> None:
    found = removal(day(3), None, on=day(5))
    assert (found.rule, found.start, found.since) == (
        AlertRule.REMOVED_FROM_ROLL,
        "2024-11-07",
        day(3),
    )


def test_a_withdrawn_roll_entry_is_a_removal_keyed_by_its_change() -> None:
    assert removal(None, 42, on=day(5)).start == "withdrawn-42"
