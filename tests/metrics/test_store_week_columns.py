"""Week rows held in memory (with their days) answer any window and weekly series, and
each enrolment's window counts and pattern facts, exactly as the database does; so do
the enrolment rows and weeks of marks held for the children view; all stay fresh as
pages apply, enrolments leave and the read model is rebuilt."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import nullcontext

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, event, func, select

from services.metrics.domain.calendar import Period
from services.metrics.domain.early_warning import PatternFacts
from services.metrics.domain.measures import COUNT_COLUMNS, RATE_COLUMNS, GroupMeasures, Population
from services.metrics.domain.reach import Slice
from services.metrics.store import projection, repository, week_columns
from services.metrics.store.projection import apply_page, change_t, clear_read_model
from services.metrics.store.pupil_rows import EnrolmentRow, Mark
from services.metrics.store.ranges import Ranges
from services.metrics.store.repository import MetricsRepository
from shared.contracts.changes import Change
from shared.db import create_db_engine
from tests.metrics.factories import (
    enrolment,
    marks_for,
    page,
    removed,
    school_days,
    withdrawn,
)
from tests.metrics.reference import Register, reference_measures
from tests.metrics.test_store_projection import GROUPS, TERM_DAYS, assert_matches, feeds

MONDAYS = [d for d in TERM_DAYS if d.weekday() == 0]
Cells = dict[tuple[str, ...], GroupMeasures]


@pytest.fixture(params=["patched", "reloaded"])
def engines(
    request: pytest.FixtureRequest,
    database_url: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one read model: the first holds week rows in memory, the second
    asks the database every time. The held weeks follow an enrolment changed whole
    (rebuilt, removed, re-characterised) by patching it, or by reloading the year (as
    when a quarter of its enrolments change so); changed weeks are always patched."""
    monkeypatch.setattr(
        week_columns, "RELOAD_SHARE", float("inf") if request.param == "patched" else 0.0
    )
    url = database_url("metrics")
    held, plain = create_db_engine(url), create_db_engine(url)
    week_columns.enable(held, years=2)
    yield held, plain
    held.dispose()
    plain.dispose()


def source_of(connection: Connection) -> week_columns.Source:
    """A question's source on `connection`, refreshing through it too."""
    return week_columns.Source(connection, lambda: nullcontext(connection))


def apply(engine: Engine, changes: list[Change], cursor: str) -> None:
    with engine.begin() as connection:
        apply_page(connection, page(changes, cursor))


def from_memory(
    engine: Engine,
    period: Period,
    group_by: tuple[str, ...] = (),
    population: Population = Population.HEADLINE,
    schools: tuple[str, ...] | None = None,
) -> Cells | None:
    """The held answer, or None when the window is not for memory."""
    held = week_columns.for_engine(engine)
    assert held is not None
    with engine.connect() as connection:
        found = held.grouped_measures(
            source_of(connection),
            [Slice(schools, period)],
            group_by,
            population,
        )
    return None if found is None else dict(found)


def from_database(
    engine: Engine,
    period: Period,
    group_by: tuple[str, ...] = (),
    population: Population = Population.HEADLINE,
    schools: tuple[str, ...] | None = None,
) -> Cells:
    with engine.connect() as connection:
        rows = MetricsRepository(connection).grouped_measures(
            [Slice(schools, period)], group_by, population
        )
    return dict(rows)


def weeks(monday: dt.date, n: int) -> Period:
    return Period(monday, monday + dt.timedelta(weeks=n) - dt.timedelta(days=1))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    feed=feeds(),
    monday=st.sampled_from(MONDAYS),
    n=st.integers(1, 8),
    group_by=st.lists(st.sampled_from(GROUPS), unique=True, max_size=2),
    school=st.sampled_from([None, ("100001",)]),
)
def test_held_weeks_match_the_database_and_the_reference_after_every_page(
    engines: tuple[Engine, Engine],
    feed: list[list[Change]],
    monday: dt.date,
    n: int,
    group_by: list[str],
    school: tuple[str, ...] | None,
) -> None:
    held, plain = engines
    with held.begin() as connection:
        clear_read_model(connection)
    register = Register()
    period = weeks(monday, n)

    def key(e: object) -> tuple[str, ...]:
        values = {
            "nc_year": e.nc_year,  # type: ignore[attr-defined]
            "sen_provision": e.sen_provision.value,  # type: ignore[attr-defined]
            "fsm_eligible": "true" if e.fsm_eligible else "false",  # type: ignore[attr-defined]
        }
        return tuple(values[g] for g in group_by)

    for i, changes in enumerate(feed):
        apply(plain, changes, f"c{i}")
        register.apply(page(changes))
        for population in Population:
            # Asked after every page: the first answer loads, the later ones patch.
            found = from_memory(held, period, tuple(group_by), population, school)
            assert found == from_database(plain, period, tuple(group_by), population, school)
            expected = reference_measures(
                register,
                period.start,
                period.end,
                key,
                schools=set(school) if school else None,
                population=population,
            )
            assert set(found) == set(expected)
            for group, ref in expected.items():
                assert_matches(found[group], ref)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    feed=feeds(),
    start=st.sampled_from(TERM_DAYS),
    back=st.integers(0, 2),
    length=st.integers(0, 120),
)
def test_any_window_matches_the_database_and_the_reference_after_every_page(
    engines: tuple[Engine, Engine],
    feed: list[list[Change]],
    start: dt.date,
    back: int,
    length: int,
) -> None:
    # Whole weeks and edge days (added, or taken from a whole week) all from memory.
    held, plain = engines
    with held.begin() as connection:
        clear_read_model(connection)
    register = Register()
    first = start - dt.timedelta(days=back)
    period = Period(first, first + dt.timedelta(days=length))
    for i, changes in enumerate(feed):
        apply(plain, changes, f"c{i}")
        register.apply(page(changes))
        for population in Population:
            found = from_memory(held, period, ("nc_year",), population)
            assert found == from_database(plain, period, ("nc_year",), population)
            expected = reference_measures(
                register,
                period.start,
                period.end,
                lambda e: (e.nc_year,),
                population=population,
            )
            assert set(found) == set(expected)
            for group, ref in expected.items():
                assert_matches(found[group], ref)


Weekly = list[tuple[dt.date, tuple[str, ...], GroupMeasures]]


def weekly(engine: Engine, period: Period, group_by: tuple[str, ...], held: bool) -> Weekly:
    """Per-week measures as sets compare them: held in memory, or from the database."""
    with engine.connect() as connection:
        if held:
            columns = week_columns.for_engine(engine)
            assert columns is not None
            found = columns.weekly_measures(
                source_of(connection),
                [Slice(None, period)],
                group_by,
                Population.HEADLINE,
            )
            assert found is not None
        else:
            found = MetricsRepository(connection).weekly_measures([Slice(None, period)], group_by)
    return sorted(found, key=lambda f: (f[0], f[1]))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    feed=feeds(),
    start=st.sampled_from(TERM_DAYS),
    length=st.integers(0, 120),
    group_by=st.lists(st.sampled_from(GROUPS), unique=True, max_size=2),
)
def test_held_weekly_measures_match_the_database_after_every_page(
    engines: tuple[Engine, Engine],
    feed: list[list[Change]],
    start: dt.date,
    length: int,
    group_by: list[str],
) -> None:
    held, plain = engines
    with held.begin() as connection:
        clear_read_model(connection)
    period = Period(start, start + dt.timedelta(days=length))
    for i, changes in enumerate(feed):
        apply(plain, changes, f"c{i}")
        assert weekly(held, period, tuple(group_by), held=True) == weekly(
            plain, period, tuple(group_by), held=False
        )


def test_a_monday_to_friday_window_is_its_weeks_less_a_weekend(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    days = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 19))
    saturday = [dt.date(2024, 1, 20)]
    apply(
        plain,
        [enrolment("P1"), *marks_for("P1", days, "/"), *marks_for("P1", saturday, "N")],
        "c1",
    )
    period = Period(dt.date(2024, 1, 8), dt.date(2024, 1, 19))
    found = from_memory(held, period)
    assert found == from_database(plain, period)
    assert found is not None
    assert (found[()].counts.possible, found[()].persistent) == (20, 0)


def test_a_whole_academic_year_is_left_to_the_database(
    engines: tuple[Engine, Engine],
) -> None:
    # One row per enrolment in the year table: PostgreSQL answers it in ~30 ms.
    held, _ = engines
    assert from_memory(held, Period(dt.date(2023, 9, 1), dt.date(2024, 8, 31))) is None


TWO_WEEKS = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 19))
"""The school days of the weeks of 8 and 15 January 2024."""


def marked_two_weeks(plain: Engine, codes: str) -> Period:
    """P1 on roll at 100001, marked `codes` over `TWO_WEEKS`; those two weeks."""
    apply(plain, [enrolment("P1"), *marks_for("P1", TWO_WEEKS, codes)], "c1")
    return weeks(dt.date(2024, 1, 8), 2)


def test_the_repository_answers_whole_weeks_from_memory_when_enabled(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    period = marked_two_weeks(plain, "/////N")
    assert from_database(held, period) == from_database(plain, period)
    assert from_memory(held, period) == from_database(plain, period)
    assert from_database(plain, period)[()].persistent == 1


def test_marks_applied_after_a_read_are_in_the_next_answer(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    days = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
    apply(plain, [enrolment("P1"), *marks_for("P1", days, "/")], "c1")
    period = weeks(dt.date(2024, 1, 8), 1)
    before = from_memory(held, period)
    assert before is not None
    assert before[()].persistent == 0
    apply(plain, marks_for("P1", days[:2], "N"), "c2")
    after = from_memory(held, period)
    assert after is not None
    assert after[()].persistent == 1
    assert after[()].counts.unauthorised == 4


def held_year(engine: Engine, year: int) -> week_columns._Year:
    """The academic year's arrays the engine holds now (private: what a question being
    answered has read)."""
    held = week_columns.for_engine(engine)
    assert held is not None
    return held._state.years[year]


def test_marks_of_one_week_copy_only_that_weeks_arrays_leaving_the_earlier_ones_as_read(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    period = marked_two_weeks(plain, "/")
    from_memory(held, period)
    before = held_year(held, 2023)
    apply(plain, marks_for("P1", TWO_WEEKS[5:6], "N"), "c2")  # Monday 15 January
    answer = from_memory(held, period)
    after = held_year(held, 2023)
    changed = (dt.date(2024, 1, 15) - week_columns._first_monday(2023)).days // 7
    shared = [old is new for old, new in zip(before.weeks, after.weeks, strict=True)]
    assert shared == [slot != changed for slot in range(week_columns.WEEKS_IN_YEAR)]
    assert answer is not None
    assert answer[()].counts.unauthorised == 2
    # What was read before the change is as it was: every session of the week attended.
    was = before.weeks[changed].sum(axis=0)
    assert [was[COUNT_COLUMNS.index(c)] for c in ("sess_possible", "sess_attended")] == [10, 10]


def test_a_week_whose_marks_are_all_withdrawn_leaves_the_held_weeks(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    first = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
    second = school_days(dt.date(2024, 1, 15), dt.date(2024, 1, 19))
    changes = [enrolment("P1"), *marks_for("P1", first, "N"), *marks_for("P1", second, "/")]
    apply(plain, changes, "c1")
    period = weeks(dt.date(2024, 1, 8), 2)
    from_wednesday = Period(dt.date(2024, 1, 10), period.end)  # its first days are edge days
    assert from_memory(held, period) == from_database(plain, period)
    assert from_memory(held, from_wednesday) == from_database(plain, from_wednesday)
    gone: list[Change] = [withdrawn("P1", day, s) for day in first for s in ("AM", "PM")]
    apply(plain, gone, "c2")
    found = from_memory(held, period)
    assert found == from_database(plain, period)
    assert found is not None
    assert (found[()].counts.possible, found[()].persistent) == (10, 0)
    assert from_memory(held, from_wednesday) == found


def test_a_pupil_removed_from_the_roll_leaves_the_held_weeks(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    days = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
    changes = [enrolment("P1"), enrolment("P2"), *marks_for("P1", days, "/")]
    apply(plain, [*changes, *marks_for("P2", days, "/")], "c1")
    period = weeks(dt.date(2024, 1, 8), 1)
    assert from_memory(held, period, ("upn",)) is not None
    apply(plain, [removed("P2")], "c2")
    found = from_memory(held, period, ("upn",))
    assert found is not None
    assert list(found) == [("P1",)]


def test_a_changed_characteristic_moves_the_pupil_to_its_new_group(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    days = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
    apply(plain, [enrolment("P1", nc_year="7"), *marks_for("P1", days, "/")], "c1")
    period = weeks(dt.date(2024, 1, 8), 1)
    assert list(from_memory(held, period, ("nc_year",)) or {}) == [("7",)]
    apply(plain, [enrolment("P1", nc_year="8")], "c2")
    assert list(from_memory(held, period, ("nc_year",)) or {}) == [("8",)]


def test_a_rebuilt_read_model_is_read_again_whole(engines: tuple[Engine, Engine]) -> None:
    held, plain = engines
    days = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
    apply(plain, [enrolment("P1"), *marks_for("P1", days, "/")], "c1")
    period = weeks(dt.date(2024, 1, 8), 1)
    assert from_memory(held, period, ("upn",)) is not None
    with plain.begin() as connection:
        clear_read_model(connection)
    apply(plain, [enrolment("P2"), *marks_for("P2", days, "N")], "c1")
    found = from_memory(held, period, ("upn",))
    assert found is not None
    assert list(found) == [("P2",)]
    assert found[("P2",)].severe == 1


def test_a_change_log_trimmed_past_the_last_read_reloads_the_weeks(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    held, plain = engines
    monkeypatch.setattr(projection, "CHANGES_KEPT", 1)
    days = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
    apply(plain, [enrolment("P1"), enrolment("P2"), *marks_for("P1", days, "/")], "c1")
    period = weeks(dt.date(2024, 1, 8), 1)
    assert from_memory(held, period, ("upn",)) is not None
    apply(plain, marks_for("P2", days, "/"), "c2")
    apply(plain, marks_for("P1", days[:1], "N"), "c3")
    with plain.connect() as connection:
        assert connection.execute(select(func.count()).select_from(change_t)).scalar_one() == 1
    assert from_memory(held, period, ("upn",)) == from_database(plain, period, ("upn",))
    assert len(from_database(plain, period, ("upn",))) == 2


def test_a_stay_across_two_academic_years_is_one_enrolment(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    summer = school_days(dt.date(2024, 7, 15), dt.date(2024, 7, 19))
    autumn = school_days(dt.date(2024, 9, 2), dt.date(2024, 9, 6))
    apply(
        plain,
        [enrolment("P1"), *marks_for("P1", summer, "N"), *marks_for("P1", autumn, "/")],
        "c1",
    )
    period = Period(dt.date(2024, 7, 15), dt.date(2024, 9, 8))
    found = from_memory(held, period)
    assert found == from_database(plain, period)
    assert found is not None
    assert (found[()].enrolments, found[()].counts.possible, found[()].severe) == (1, 20, 1)


Counted = dict[tuple[str, int], dict[str, int]]


def held_window_counts(engine: Engine, ranges: list[tuple[str, int, Period]]) -> Counted | None:
    """Each (key, enrolment)'s counts from the held days, as the rows compare (nothing
    counted: absent); None when the days are left to the database."""
    held = week_columns.for_engine(engine)
    assert held is not None
    with engine.connect() as connection:
        found = held.window_counts(source_of(connection), ranges, RATE_COLUMNS)
    return None if found is None else {k: c.as_row() for k, c in found.items()}


def database_window_counts(engine: Engine, ranges: list[tuple[str, int, Period]]) -> Counted:
    with engine.connect() as connection:
        found = MetricsRepository(connection).window_counts(ranges, RATE_COLUMNS)
    return {k: c.as_row() for k, c in found.items() if any(c.as_row().values())}


def window_totals(engine: Engine, ranges: Ranges, slots: int) -> list[list[int]]:
    """The repository's slot totals: from the held days on the engine holding them, from
    SQL on the other."""
    with engine.connect() as connection:
        return MetricsRepository(connection).window_totals(ranges, slots, RATE_COLUMNS).tolist()


def held_pattern_facts(
    engine: Engine, ranges: list[tuple[int, int, Period]]
) -> dict[int, PatternFacts] | None:
    held = week_columns.for_engine(engine)
    assert held is not None
    with engine.connect() as connection:
        return held.pattern_facts(
            source_of(connection),
            Ranges.of([(g, e, p.start, p.end) for g, e, p in ranges]),
        )


def database_pattern_facts(
    engine: Engine, ranges: Ranges | list[tuple[int, int, Period]]
) -> dict[int, PatternFacts]:
    with engine.connect() as connection:
        found = MetricsRepository(connection).pattern_facts(ranges)
    return {g: facts for g, facts in found.items() if facts != PatternFacts()}


def held_school_weeks(engine: Engine, ids: list[int], period: Period) -> list[dt.date] | None:
    held = week_columns.for_engine(engine)
    assert held is not None
    with engine.connect() as connection:
        return held.school_weeks(source_of(connection), ids, period)


def database_school_weeks(engine: Engine, ids: list[int], period: Period) -> list[dt.date]:
    with engine.connect() as connection:
        return MetricsRepository(connection).school_weeks(ids, period)


def enrolment_ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [r.id for r in MetricsRepository(connection).enrolments(None)]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    feed=feeds(),
    spans=st.lists(
        st.tuples(st.sampled_from(TERM_DAYS), st.integers(-2, 120)), min_size=1, max_size=4
    ),
    groups=st.integers(1, 3),
)
def test_held_weeks_give_enrolments_windows_patterns_and_school_weeks_as_the_database_does(
    engines: tuple[Engine, Engine],
    feed: list[list[Change]],
    spans: list[tuple[dt.date, int]],
    groups: int,
) -> None:
    # Any periods (edge days, whole weeks, a year apart, empty), pupils with two stays
    # and outside the headline ages; a pattern group of several enrolments adds their
    # sessions of one date, as dual registration does.
    held, plain = engines
    with held.begin() as connection:
        clear_read_model(connection)
    periods = [Period(start, start + dt.timedelta(days=length)) for start, length in spans]
    for i, changes in enumerate(feed):
        apply(plain, changes, f"c{i}")
        ids = enrolment_ids(plain)
        windows = [(f"k{n}", e, p) for e in ids for n, p in enumerate(periods)]
        assert held_window_counts(held, windows) == database_window_counts(plain, windows)
        # A view's access spans (one per enrolment, a group's several enrolments adding
        # up in one slot), clipped to every period.
        shown = Ranges.of(
            [
                (n % groups, e, periods[n % len(periods)].start, periods[n % len(periods)].end)
                for n, e in enumerate(ids)
            ]
        )
        slots = groups * len(periods)
        clipped = shown.clipped(periods)
        assert window_totals(held, clipped, slots) == window_totals(plain, clipped, slots)
        patterns = [(n % groups, e, periods[n % len(periods)]) for n, e in enumerate(ids)]
        assert held_pattern_facts(held, patterns) == database_pattern_facts(plain, patterns)
        as_ranges = Ranges.of([(g, e, p.start, p.end) for g, e, p in patterns])
        assert database_pattern_facts(plain, as_ranges) == database_pattern_facts(plain, patterns)
        for period in periods:
            assert held_school_weeks(held, ids, period) == database_school_weeks(plain, ids, period)


def test_a_childs_periods_of_one_key_add_up(engines: tuple[Engine, Engine]) -> None:
    # Access that stopped and started again gives one key two periods of an enrolment.
    held, plain = engines
    marked_two_weeks(plain, "/N")
    (e,) = enrolment_ids(plain)
    ranges = [
        ("k", e, Period(dt.date(2024, 1, 8), dt.date(2024, 1, 9))),
        ("k", e, Period(dt.date(2024, 1, 17), dt.date(2024, 1, 19))),
    ]
    found = held_window_counts(held, ranges)
    assert found == database_window_counts(plain, ranges)
    assert found is not None
    assert (found["k", e]["sess_possible"], found["k", e]["sess_unauthorised"]) == (10, 5)


def test_days_over_more_academic_years_than_held_are_left_to_the_database(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    apply(plain, [enrolment("P1")], "c1")
    (e,) = enrolment_ids(plain)
    three_years = [("k", e, Period(dt.date(2022, 9, 5), dt.date(2024, 9, 6)))]
    assert held_window_counts(held, three_years) is None
    assert held_pattern_facts(held, [(0, e, three_years[0][2])]) is None
    assert held_school_weeks(held, [e], three_years[0][2]) is None
    with held.connect() as connection:  # the repository asks SQL instead
        assert MetricsRepository(connection).window_counts(three_years, RATE_COLUMNS) == {}


def absent_week_held_only(plain: Engine, monkeypatch: pytest.MonkeyPatch) -> int:
    """One pupil absent (N) every session of the week of 8 January 2024, with every
    SQL read of the children view made to fail: its enrolment id."""
    days = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
    apply(plain, [enrolment("P1"), *marks_for("P1", days, "N")], "c1")
    (e,) = enrolment_ids(plain)
    monkeypatch.setattr(repository, "values_table", None)
    return e


def test_the_repository_reads_a_childs_windows_from_the_held_days_when_enabled(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    held, plain = engines
    e = absent_week_held_only(plain, monkeypatch)
    period = Period(dt.date(2024, 1, 9), dt.date(2024, 1, 11))
    with held.connect() as connection:
        repo = MetricsRepository(connection)
        counts = repo.window_counts([("k", e, period)], RATE_COLUMNS)
        facts = repo.pattern_facts([(7, e, period)])
        taught = repo.school_weeks([e], Period(dt.date(2024, 1, 1), dt.date(2024, 1, 21)))
    assert counts["k", e].unauthorised == 6
    assert facts == {7: PatternFacts((0, 1, 1, 1, 0, 0, 0), 0, 6)}
    assert taught == [dt.date(2024, 1, 8)]


def test_a_read_alongside_reads_the_same_held_days(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever connection it runs on (its own, where memory does not answer), it reads
    # the held days.
    held, plain = engines
    e = absent_week_held_only(plain, monkeypatch)
    period = Period(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
    with held.connect() as connection:
        found = MetricsRepository(connection).alongside(
            lambda side: side.pattern_facts([(0, e, period)])
        )
        assert found.result() == {0: PatternFacts((1, 1, 1, 1, 1, 0, 0), 0, 10)}


Marks = dict[tuple[str, str], tuple[Mark, ...]]


def held_pupils(engine: Engine, upns: list[str]) -> list[EnrolmentRow]:
    held = week_columns.for_engine(engine)
    assert held is not None
    with engine.connect() as connection:
        found = held.enrolments_of_pupils(source_of(connection), upns)
    assert found is not None
    return found


def database_pupils(engine: Engine, upns: list[str]) -> list[EnrolmentRow]:
    with engine.connect() as connection:
        return MetricsRepository(connection).enrolments([], or_upns=upns)


def held_marks(engine: Engine, upns: list[str], period: Period) -> Marks | None:
    held = week_columns.for_engine(engine)
    assert held is not None
    with engine.connect() as connection:
        return held.recent_marks(source_of(connection), upns, period)


def database_marks(engine: Engine, upns: list[str], period: Period) -> Marks:
    with engine.connect() as connection:
        return MetricsRepository(connection).recent_marks(upns, period)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    feed=feeds(),
    periods=st.lists(
        st.tuples(st.sampled_from(TERM_DAYS), st.integers(0, 21)), min_size=1, max_size=3
    ),
    asked=st.lists(st.sampled_from([f"P{i}" for i in range(7)]), max_size=7),
)
def test_held_enrolments_and_marks_match_the_database_after_every_page(
    engines: tuple[Engine, Engine],
    feed: list[list[Change]],
    periods: list[tuple[dt.date, int]],
    asked: list[str],
) -> None:
    # Any days within four weeks, from any weekday, asked after every page (the first
    # question of a week reads it, later ones patch it), of pupils on roll or not.
    held, plain = engines
    with held.begin() as connection:
        clear_read_model(connection)
    for i, changes in enumerate(feed):
        apply(plain, changes, f"c{i}")
        assert held_pupils(held, asked) == database_pupils(plain, asked)
        for start, length in periods:
            period = Period(start, start + dt.timedelta(days=length))
            assert held_marks(held, asked, period) == database_marks(plain, asked, period)


def test_marks_are_held_for_at_most_four_weeks_at_a_time(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    apply(plain, [enrolment("P1")], "c1")
    four_weeks = Period(dt.date(2024, 1, 8), dt.date(2024, 2, 4))
    assert held_marks(held, ["P1"], four_weeks) == {}
    assert held_marks(held, ["P1"], Period(four_weeks.start, dt.date(2024, 2, 5))) is None


WEEK = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
"""The school days of the week of 8 January 2024."""
WHOLE_WEEK = Period(dt.date(2024, 1, 8), dt.date(2024, 1, 14))


def marked_all_week(plain: Engine, codes: str = "/", *others: Change) -> None:
    """P1 on roll at 100001, marked `codes` every session of `WEEK`; and `others`."""
    apply(plain, [enrolment("P1"), *marks_for("P1", WEEK, codes), *others], "c1")


def test_marks_applied_after_a_read_are_in_the_next_latest_marks(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    marked_all_week(plain)
    period = Period(dt.date(2024, 1, 10), dt.date(2024, 1, 16))
    assert [m[3] for m in (held_marks(held, ["P1"], period) or {})["100001", "P1"]] == ["/"] * 6
    apply(plain, [*marks_for("P1", WEEK[3:4], "N"), withdrawn("P1", WEEK[4], "PM")], "c2")
    found = held_marks(held, ["P1"], period)
    assert found == database_marks(plain, ["P1"], period)
    assert [m[3] for m in (found or {})["100001", "P1"]] == ["/", "/", "N", "N", "/"]


def test_a_pupil_removed_from_the_roll_leaves_the_held_enrolments_and_marks(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    marked_all_week(plain, "/", enrolment("P2"), *marks_for("P2", WEEK, "N"))
    assert [r.upn for r in held_pupils(held, ["P1", "P2"])] == ["P1", "P2"]
    assert list(held_marks(held, ["P2"], WHOLE_WEEK) or {}) == [("100001", "P2")]
    apply(plain, [removed("P2")], "c2")
    assert [r.upn for r in held_pupils(held, ["P1", "P2"])] == ["P1"]
    assert held_marks(held, ["P2"], WHOLE_WEEK) == {}


def test_a_pupil_at_a_second_school_is_held_with_both_enrolments(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    marked_all_week(plain)
    assert len(held_pupils(held, ["P1"])) == 1
    second = [
        enrolment("P1", school_urn="100002"),
        *marks_for("P1", WEEK, "B", school_urn="100002"),
    ]
    apply(plain, second, "c2")
    assert [r.school_urn for r in held_pupils(held, ["P1"])] == ["100001", "100002"]
    found = held_marks(held, ["P1"], WHOLE_WEEK)
    assert found == database_marks(plain, ["P1"], WHOLE_WEEK)
    assert sorted(found or {}) == [("100001", "P1"), ("100002", "P1")]


def test_an_enrolment_sent_again_is_in_the_next_held_row(engines: tuple[Engine, Engine]) -> None:
    held, plain = engines
    apply(plain, [enrolment("P1", nc_year="7")], "c1")
    assert [r.nc_year for r in held_pupils(held, ["P1"])] == ["7"]
    apply(plain, [enrolment("P1", nc_year="8", leaving_date=dt.date(2024, 2, 1))], "c2")
    (row,) = held_pupils(held, ["P1"])
    assert (row.nc_year, row.leaving_date) == ("8", dt.date(2024, 2, 1))
    assert [row] == database_pupils(plain, ["P1"])


def test_a_rebuilt_read_model_reads_the_enrolments_and_marks_again(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    marked_all_week(plain)
    assert held_marks(held, ["P1", "P2"], WHOLE_WEEK) is not None
    with plain.begin() as connection:
        clear_read_model(connection)
    apply(plain, [enrolment("P2"), *marks_for("P2", WEEK, "N")], "c1")
    assert [r.upn for r in held_pupils(held, ["P1", "P2"])] == ["P2"]
    assert list(held_marks(held, ["P1", "P2"], WHOLE_WEEK) or {}) == [("100001", "P2")]


def test_a_prepared_repository_has_read_what_changed_and_the_days_and_marks_asked(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    held, plain = engines
    marked_all_week(plain, "N")
    assert held_marks(held, ["P1"], WHOLE_WEEK) is not None
    apply(plain, marks_for("P1", WEEK[:1], "/"), "c2")  # a register after that read
    (e,) = enrolment_ids(plain)
    ranges = [("k", e, WHOLE_WEEK)]
    expected = (database_marks(plain, ["P1"], WHOLE_WEEK), database_window_counts(plain, ranges))
    with held.connect() as connection:
        MetricsRepository(connection).prepare(WHOLE_WEEK, WHOLE_WEEK)
    # Nothing left to read: what changed, enrolments, weeks, marks.
    monkeypatch.setattr(week_columns.WeekColumns, "_changed_since", None)
    for read in ("_enrolment_rows", "_read_weeks", "_week_marks"):
        monkeypatch.setattr(week_columns, read, None)
    assert (held_marks(held, ["P1"], WHOLE_WEEK), held_window_counts(held, ranges)) == expected


def test_a_questions_later_held_reads_keep_the_state_its_first_read_saw(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    marked_all_week(plain)
    with held.connect() as connection:
        repo = MetricsRepository(connection)
        before = repo.recent_marks(["P1"], WHOLE_WEEK)
        connection.commit()  # on SQLite, so the register can be written meanwhile
        apply(plain, marks_for("P1", WEEK[:1], "N"), "c2")
        assert repo.recent_marks(["P1"], WHOLE_WEEK) == before
    after = held_marks(held, ["P1"], WHOLE_WEEK)  # the next question
    assert after == database_marks(plain, ["P1"], WHOLE_WEEK) != before


def test_a_question_reads_the_change_log_once_however_many_held_reads_it_makes(
    engines: tuple[Engine, Engine],
) -> None:
    held, plain = engines
    marked_all_week(plain)
    (e,) = enrolment_ids(plain)
    assert held_window_counts(held, [("k", e, WHOLE_WEEK)]) is not None  # all read once
    assert held_marks(held, ["P1"], WHOLE_WEEK) is not None
    statements: list[str] = []
    with held.connect() as connection:
        event.listen(
            connection,
            "before_cursor_execute",
            lambda _c, _cursor, statement, *_: statements.append(statement),
        )
        repo = MetricsRepository(connection)
        repo.prepare(WHOLE_WEEK, WHOLE_WEEK)
        repo.enrolments_of_pupils(["P1"])
        repo.recent_marks(["P1"], WHOLE_WEEK)
        repo.window_counts([("k", e, WHOLE_WEEK)], RATE_COLUMNS)
        repo.school_weeks([e], WHOLE_WEEK)
    assert sum(change_t.name in s for s in statements) == 1


def test_the_repository_reads_the_childrens_enrolments_and_marks_from_memory_when_enabled(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    held, plain = engines
    marked_all_week(plain, "N")
    expected = database_marks(plain, ["P1"], WHOLE_WEEK)
    with held.connect() as connection:  # load the rows and the week, then forbid SQL
        MetricsRepository(connection).recent_marks(["P1"], WHOLE_WEEK)
    monkeypatch.setattr(repository, "marks_of_enrolments", None)
    monkeypatch.setattr(repository, "enrolment_rows", None)
    with held.connect() as connection:
        repo = MetricsRepository(connection)
        assert [r.upn for r in repo.enrolments_of_pupils(["P1"])] == ["P1"]
        assert repo.recent_marks(["P1"], WHOLE_WEEK) == expected
