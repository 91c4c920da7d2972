"""The read model, fed by hand-built change pages, matches a brute-force reference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from services.metrics.domain.calendar import Period
from services.metrics.domain.measures import GroupMeasures, Population, SessionCounts, day_code
from services.metrics.domain.reach import Slice
from services.metrics.store.models import DAY_COLUMNS
from services.metrics.store.projection import (
    apply_page,
    clear_read_model,
    day_t,
    read_cursor,
    week_t,
)
from services.metrics.store.repository import MetricsRepository
from shared.contracts.changes import Change, EnrolmentUpserted
from shared.db import create_db_engine
from tests.metrics.factories import (
    enrolment,
    mark,
    marks_for,
    page,
    removed,
    school_days,
    withdrawn,
)
from tests.metrics.reference import Register, Totals, reference_measures

YEAR = Period(dt.date(2023, 9, 1), dt.date(2024, 8, 31))


@pytest.fixture
def engine(database_url: Callable[[str], str]) -> Iterator[Engine]:
    engine = create_db_engine(database_url("metrics"))
    yield engine
    engine.dispose()


def apply(engine: Engine, changes: list[Change], cursor: str = "c1") -> None:
    with engine.begin() as connection:
        apply_page(connection, page(changes, cursor))


def measures(
    engine: Engine,
    period: Period = YEAR,
    group_by: tuple[str, ...] = (),
    population: Population = Population.HEADLINE,
) -> dict[tuple[str, ...], GroupMeasures]:
    with engine.connect() as connection:
        repo = MetricsRepository(connection)
        rows = repo.grouped_measures([Slice(None, period)], group_by, population)
    return dict(rows)


def assert_matches(service: GroupMeasures, ref: Totals) -> None:
    assert (
        service.enrolments,
        service.counts.possible,
        service.counts.attended,
        service.counts.authorised,
        service.counts.unauthorised,
        service.persistent,
        service.severe,
    ) == (
        ref.enrolments,
        ref.possible,
        ref.attended,
        ref.authorised,
        ref.unauthorised,
        ref.persistent,
        ref.severe,
    )
    for reason, n in ref.reasons.items():
        assert service.counts[reason] == n, reason


AUTUMN_WEEK = school_days(dt.date(2023, 9, 4), dt.date(2023, 9, 8))


def test_a_pupil_exactly_at_ten_percent_is_a_persistent_absentee(engine: Engine) -> None:
    # 5 days, 10 sessions: one authorised absence is exactly 10%.
    apply(engine, [enrolment("A1"), *marks_for("A1", AUTUMN_WEEK, ["I", *["/"] * 9])])
    (total,) = measures(engine).values()
    assert (total.counts.possible, total.counts.overall, total.persistent) == (10, 1, 1)


def test_a_pupil_just_below_ten_percent_is_not_persistent(engine: Engine) -> None:
    days = school_days(dt.date(2023, 9, 4), dt.date(2023, 9, 15))[:6]  # 12 sessions
    apply(engine, [enrolment("A1"), *marks_for("A1", days, ["I", *["/"] * 11])])
    (total,) = measures(engine).values()
    assert (total.counts.possible, total.persistent) == (12, 0)


def test_dual_registration_is_not_a_possible_session(engine: Engine) -> None:
    apply(engine, [enrolment("A1"), *marks_for("A1", AUTUMN_WEEK, ["D", "/"])])
    (total,) = measures(engine).values()
    assert (total.counts.possible, total.counts.attended) == (5, 5)


def test_late_after_registers_closed_is_unauthorised_absence(engine: Engine) -> None:
    apply(engine, [enrolment("A1"), *marks_for("A1", AUTUMN_WEEK, ["U", "/"])])
    (total,) = measures(engine).values()
    assert (total.counts.unauthorised, total.counts["sess_unauth_late"]) == (5, 5)


def test_an_enrolment_with_no_possible_sessions_is_excluded(engine: Engine) -> None:
    apply(
        engine,
        [
            enrolment("A1"),
            *marks_for("A1", AUTUMN_WEEK, "/"),
            enrolment("B2"),
            *marks_for("B2", AUTUMN_WEEK, ["Y1", "#"]),
        ],
    )
    (total,) = measures(engine).values()
    assert total.enrolments == 1


def test_age_15_sessions_in_the_second_half_of_summer_are_removed(engine: Engine) -> None:
    # Born 2008-05-01: aged 15 on 31 August 2023. Spring bank holiday 2024 is 27 May.
    before = school_days(dt.date(2024, 5, 20), dt.date(2024, 5, 24))
    after = school_days(dt.date(2024, 5, 27), dt.date(2024, 5, 31))
    apply(
        engine,
        [
            enrolment("A1", date_of_birth=dt.date(2008, 5, 1), nc_year="11"),
            *marks_for("A1", before, "/"),
            *marks_for("A1", after, "O"),
        ],
    )
    (total,) = measures(engine).values()
    assert (total.counts.possible, total.counts.overall) == (10, 0)


def test_an_enrolment_first_starting_in_the_second_half_of_summer_is_excluded(
    engine: Engine,
) -> None:
    days = school_days(dt.date(2024, 6, 3), dt.date(2024, 6, 7))
    apply(
        engine,
        [enrolment("A1", entry_date=dt.date(2024, 6, 3)), *marks_for("A1", days, "I")],
    )
    assert measures(engine) == {}


def test_a_stay_begun_in_the_second_half_of_summer_is_excluded_but_not_the_earlier_one(
    engine: Engine,
) -> None:
    # DfE counts each stay of a pupil who left and came back as its own enrolment.
    june = school_days(dt.date(2024, 6, 3), dt.date(2024, 6, 7))
    apply(
        engine,
        [
            enrolment(
                "A1",
                entry_date=dt.date(2024, 6, 3),
                earlier_stays=((dt.date(2023, 9, 1), dt.date(2024, 3, 28)),),
            ),
            *marks_for("A1", AUTUMN_WEEK, "/"),
            *marks_for("A1", june, "I"),
        ],
    )
    (total,) = measures(engine).values()
    assert (total.counts.possible, total.counts.overall) == (10, 0)


def test_a_mid_year_joiner_counts_from_the_sessions_it_has(engine: Engine) -> None:
    days = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
    apply(engine, [enrolment("A1", entry_date=dt.date(2024, 1, 8)), *marks_for("A1", days, "/")])
    (total,) = measures(engine).values()
    assert (total.enrolments, total.counts.possible) == (1, 10)


def test_a_pupil_moving_school_is_two_enrolments(engine: Engine) -> None:
    spring = school_days(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
    apply(
        engine,
        [
            enrolment("A1"),
            *marks_for("A1", AUTUMN_WEEK, "/"),
            enrolment("A1", school_urn="100002", entry_date=dt.date(2024, 1, 8)),
            *marks_for("A1", spring, "/", school_urn="100002"),
        ],
    )
    (total,) = measures(engine).values()
    assert total.enrolments == 2


def test_an_amended_mark_replaces_the_old_one(engine: Engine) -> None:
    apply(engine, [enrolment("A1"), *marks_for("A1", AUTUMN_WEEK, "/")], "c1")
    apply(engine, [mark("A1", AUTUMN_WEEK[0], "AM", "I")], "c2")
    (total,) = measures(engine).values()
    assert (total.counts.possible, total.counts.authorised) == (10, 1)


def test_a_withdrawn_mark_no_longer_counts(engine: Engine) -> None:
    apply(engine, [enrolment("A1"), *marks_for("A1", AUTUMN_WEEK, "/")], "c1")
    apply(engine, [withdrawn("A1", AUTUMN_WEEK[0], "AM")], "c2")
    (total,) = measures(engine).values()
    assert total.counts.possible == 9


def test_a_removed_enrolment_leaves_no_trace(engine: Engine) -> None:
    apply(engine, [enrolment("A1"), *marks_for("A1", AUTUMN_WEEK, "/")], "c1")
    apply(engine, [removed("A1")], "c2")
    assert measures(engine) == {}


def test_marks_arriving_before_their_enrolment_count_once_it_arrives(engine: Engine) -> None:
    apply(engine, marks_for("A1", AUTUMN_WEEK, "/"), "c1")
    apply(engine, [enrolment("A1")], "c2")
    (total,) = measures(engine).values()
    assert total.counts.possible == 10


def test_a_corrected_date_of_birth_recounts_every_session(engine: Engine) -> None:
    apply(engine, [enrolment("A1"), *marks_for("A1", AUTUMN_WEEK, "/")], "c1")
    apply(engine, [enrolment("A1", date_of_birth=dt.date(2019, 9, 1))], "c2")  # aged 3
    assert measures(engine) == {}


def test_the_cursor_is_stored_with_the_data(engine: Engine) -> None:
    apply(engine, [enrolment("A1")], "cursor-7")
    with engine.connect() as connection:
        assert read_cursor(connection) == "cursor-7"


# --- randomised comparison with the reference --------------------------------------

CODES_2023 = [
    "/",
    "\\",
    "L",
    "B",
    "P",
    "V",
    "I",
    "M",
    "R",
    "S",
    "T",
    "E",
    "C",
    "H",
    "G",
    "N",
    "O",
    "U",
    "D",
    "X",
    "Y",
    "Z",
    "#",
]
TERM_DAYS = school_days(dt.date(2023, 9, 4), dt.date(2024, 7, 19))
GROUPS = ("nc_year", "sen_provision", "fsm_eligible")


@st.composite
def feeds(draw: st.DrawFn) -> list[list[Change]]:
    pages: list[list[Change]] = []
    pupils = draw(st.integers(1, 6))
    first: list[Change] = []
    for i in range(pupils):
        upn = f"P{i}"
        age = draw(st.integers(3, 16))
        entry = draw(
            st.sampled_from([dt.date(2023, 9, 1), dt.date(2024, 1, 8), dt.date(2024, 6, 10)])
        )
        # Some later joiners were on roll in the autumn too: they left and came back.
        autumn = ((dt.date(2023, 9, 1), dt.date(2023, 12, 20)),)
        first.append(
            enrolment(
                upn,
                school_urn=draw(st.sampled_from(["100001", "100002"])),
                date_of_birth=dt.date(2023 - age, draw(st.integers(1, 12)), 1),
                entry_date=entry,
                earlier_stays=draw(st.sampled_from([(), autumn])) if entry.month < 9 else (),
                nc_year=draw(st.sampled_from(["1", "6", "11"])),
                sen_provision=draw(st.sampled_from("NKE")),
                fsm_eligible=draw(st.booleans()),
            )
        )
    pages.append(first)
    schools = {
        c.enrolment.upn: c.enrolment.school_urn for c in first if isinstance(c, EnrolmentUpserted)
    }
    for _ in range(draw(st.integers(1, 3))):
        changes: list[Change] = []
        for _ in range(draw(st.integers(1, 60))):
            upn = f"P{draw(st.integers(0, pupils - 1))}"
            urn = schools[upn]
            day = draw(st.sampled_from(TERM_DAYS))
            session = draw(st.sampled_from(["AM", "PM"]))
            if draw(st.integers(0, 9)) == 0:
                changes.append(withdrawn(upn, day, session, school_urn=urn))
            else:
                code = draw(st.sampled_from(CODES_2023))
                changes.append(mark(upn, day, session, code, school_urn=urn))
        pages.append(changes)
    return pages


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    feed=feeds(),
    start=st.sampled_from(TERM_DAYS),
    length=st.integers(0, 330),
    group_by=st.lists(st.sampled_from(GROUPS), unique=True, max_size=2),
)
def test_measures_match_the_reference_for_any_feed_period_and_grouping(
    engine: Engine, feed: list[list[Change]], start: dt.date, length: int, group_by: list[str]
) -> None:
    check_against_reference(
        engine, feed, Period(start, start + dt.timedelta(days=length)), group_by
    )


def check_against_reference(
    engine: Engine, feed: list[list[Change]], period: Period, group_by: list[str]
) -> None:
    """Apply the feed page by page to a clean read model; compare with the reference, for
    the headline figures and the four-year-olds'."""
    with engine.begin() as connection:
        clear_read_model(connection)
    register = Register()
    for n, changes in enumerate(feed):
        apply(engine, changes, f"c{n}")
        register.apply(page(changes))

    def key(e: object) -> tuple[str, ...]:
        values = {
            "nc_year": e.nc_year,  # type: ignore[attr-defined]
            "sen_provision": e.sen_provision.value,  # type: ignore[attr-defined]
            "fsm_eligible": "true" if e.fsm_eligible else "false",  # type: ignore[attr-defined]
        }
        return tuple(values[g] for g in group_by)

    for population in Population:
        expected = reference_measures(
            register, period.start, period.end, key, population=population
        )
        found = measures(engine, period, tuple(group_by), population)
        assert set(found) == set(expected)
        for group, ref in expected.items():
            assert_matches(found[group], ref)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(feed=feeds(), group_by=st.lists(st.sampled_from(GROUPS), unique=True, max_size=2))
def test_full_year_measures_from_year_buckets_match_the_reference(
    engine: Engine, feed: list[list[Change]], group_by: list[str]
) -> None:
    # A whole academic year is read from the year buckets alone, which amendments move
    # by differences: they must still equal a count from scratch.
    check_against_reference(engine, feed, YEAR, group_by)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(feed=feeds())
def test_each_week_row_carries_the_codes_of_its_days(
    engine: Engine, feed: list[list[Change]]
) -> None:
    with engine.begin() as connection:
        clear_read_model(connection)
    for n, changes in enumerate(feed):
        apply(engine, changes, f"c{n}")
    key = ("enrolment_id", "week_start", "stay_entry", "population")
    with engine.connect() as connection:
        days: dict[tuple[object, ...], list[int]] = {}
        for row in connection.execute(select(day_t)).mappings():
            codes = days.setdefault(tuple(row[k] for k in key), [0] * 7)
            codes[row["date"].weekday()] = day_code(SessionCounts.of(row))
        weeks = {
            tuple(row[k] for k in key): [row[d] for d in DAY_COLUMNS]
            for row in connection.execute(select(week_t)).mappings()
        }
    assert weeks == days
