"""Per-enrolment window reads (what pupil and children views use) match a brute-force
count from the raw register, weekends and amendments included."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from services.metrics.domain.calendar import Period
from services.metrics.domain.early_warning import PatternFacts, pattern_facts
from services.metrics.domain.measures import SessionCounts
from services.metrics.store.projection import apply_page, clear_read_model, enrolment_t
from services.metrics.store.repository import MetricsRepository
from shared.contracts.changes import Change
from shared.db import create_db_engine
from tests.metrics.factories import enrolment, mark, page, withdrawn
from tests.metrics.reference import Register, reference_measures

AUTUMN = [dt.date(2024, 9, 2) + dt.timedelta(days=i) for i in range(70)]
"""Every day of ten weeks, Saturdays and Sundays too (a Saturday school marks them)."""
CODES = ["/", "\\", "L", "I", "M", "N", "O", "U", "G", "C", "B", "X", "#"]


@pytest.fixture
def engine(database_url: Callable[[str], str]) -> Iterator[Engine]:
    engine = create_db_engine(database_url("metrics"))
    yield engine
    engine.dispose()


@st.composite
def registers(draw: st.DrawFn) -> list[Change]:
    pupils = draw(st.integers(1, 4))
    changes: list[Change] = [
        enrolment(f"P{i}", school_urn="100001", date_of_birth=dt.date(2014, 1, 1))
        for i in range(pupils)
    ]
    for _ in range(draw(st.integers(1, 120))):
        upn = f"P{draw(st.integers(0, pupils - 1))}"
        day = draw(st.sampled_from(AUTUMN))
        session = draw(st.sampled_from(["AM", "PM"]))
        if draw(st.integers(0, 9)) == 0:
            changes.append(withdrawn(upn, day, session, school_urn="100001"))
        else:
            changes.append(
                mark(upn, day, session, draw(st.sampled_from(CODES)), school_urn="100001")
            )
    return changes


def load(engine: Engine, changes: list[Change]) -> tuple[Register, dict[str, int]]:
    """A clean read model fed these changes, the reference register, enrolment ids by UPN."""
    with engine.begin() as connection:
        clear_read_model(connection)
        apply_page(connection, page(changes, "c1"))
        ids = {
            upn: id_
            for id_, upn in connection.execute(
                enrolment_t.select().with_only_columns(enrolment_t.c.id, enrolment_t.c.upn)
            )
        }
    register = Register()
    register.apply(page(changes))
    return register, ids


def day_counts(register: Register, day: dt.date) -> dict[str, SessionCounts]:
    """Each pupil's headline counts of one day, from the raw register."""
    found = reference_measures(register, day, day, key=lambda e: (e.upn,))  # type: ignore[attr-defined]
    return {
        upn: SessionCounts(
            {
                "sess_possible": t.possible,
                "sess_attended": t.attended,
                "sess_authorised": t.authorised,
                "sess_unauthorised": t.unauthorised,
                "sess_unauth_noyet": t.reasons.get("sess_unauth_noyet", 0),
            }
        )
        for (upn,), t in found.items()
    }


PERIODS = st.tuples(
    # Half of them from the first day of the academic year: years to date.
    st.just(dt.date(2024, 9, 1)) | st.sampled_from(AUTUMN),
    st.integers(0, 40),
).map(lambda p: Period(p[0], p[0] + dt.timedelta(days=p[1])))
TODAYS = st.none() | st.sampled_from(AUTUMN)
"""The day the read is made on: a year to date reaching it is read as the year's row less
the rest of the year, here with marks in the rest (as when a past day is asked)."""
SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(changes=registers(), period=PERIODS, today=TODAYS)
def test_window_counts_match_the_register_for_any_period(
    engine: Engine, changes: list[Change], period: Period, today: dt.date | None
) -> None:
    register, ids = load(engine, changes)
    expected = reference_measures(register, period.start, period.end, key=lambda e: (e.upn,))  # type: ignore[attr-defined]
    with engine.connect() as connection:
        found = MetricsRepository(connection).window_counts(
            [("p", id_, period) for id_ in ids.values()], today=today
        )
    by_id = {id_: upn for upn, id_ in ids.items()}
    counted = {by_id[e]: c for (_, e), c in found.items() if c.possible}
    assert set(counted) == {upn for (upn,) in expected}
    for (upn,), t in expected.items():
        c = counted[upn]
        assert (c.possible, c.attended, c.authorised, c.unauthorised) == (
            t.possible,
            t.attended,
            t.authorised,
            t.unauthorised,
        )
        assert all(c[reason] == n for reason, n in t.reasons.items())


def test_a_monday_to_friday_window_leaves_out_the_saturday_after_it(engine: Engine) -> None:
    # Read as the week's row less its weekend: the Saturday must come off again.
    monday, saturday = dt.date(2024, 9, 9), dt.date(2024, 9, 14)
    _, ids = load(
        engine,
        [
            enrolment("P1", school_urn="100001", date_of_birth=dt.date(2014, 1, 1)),
            mark("P1", monday, "AM", "/", school_urn="100001"),
            mark("P1", saturday, "AM", "O", school_urn="100001"),
        ],
    )
    with engine.connect() as connection:
        found = MetricsRepository(connection).window_counts(
            [("p", ids["P1"], Period(monday, monday + dt.timedelta(days=4)))]
        )
    counts = found[("p", ids["P1"])]
    assert (counts.possible, counts.attended, counts.unauthorised) == (1, 1, 0)


def test_an_empty_period_counts_nothing(engine: Engine) -> None:
    # A period ending before it starts was once read as no days less others: negative.
    monday, sunday = dt.date(2024, 9, 9), dt.date(2024, 9, 8)
    empty = Period(monday + dt.timedelta(days=1), sunday)
    _, ids = load(
        engine,
        [
            enrolment("P1", school_urn="100001", date_of_birth=dt.date(2014, 1, 1)),
            *(mark("P1", d, "AM", "/", school_urn="100001") for d in (sunday, monday)),
        ],
    )
    with engine.connect() as connection:
        repo = MetricsRepository(connection)
        assert repo.window_counts([("p", ids["P1"], empty)]) == {}
        assert repo.pattern_facts([(0, ids["P1"], empty)]) == {}


@SETTINGS
@given(changes=registers(), period=PERIODS)
def test_pattern_facts_match_their_definition_over_the_register(
    engine: Engine, changes: list[Change], period: Period
) -> None:
    # Pupils are paired into two groups, as a child on two rolls is one group.
    register, ids = load(engine, changes)
    group = {upn: int(upn[1:]) % 2 for upn in ids}
    days: dict[int, list[tuple[dt.date, SessionCounts]]] = {0: [], 1: []}
    for n in range(period.days()):
        day = period.start + dt.timedelta(days=n)
        for upn, counts in day_counts(register, day).items():
            days[group[upn]].append((day, counts))
    with engine.connect() as connection:
        found = MetricsRepository(connection).pattern_facts(
            [(group[upn], id_, period) for upn, id_ in ids.items()]
        )
    for g, listed in days.items():
        expected = pattern_facts(listed)
        assert found.get(g, PatternFacts()) == expected


def test_a_date_absent_on_two_rolls_is_one_date_of_the_pattern(engine: Engine) -> None:
    monday = dt.date(2024, 9, 9)
    changes: list[Change] = [
        enrolment("P1", school_urn="100001", date_of_birth=dt.date(2014, 1, 1)),
        enrolment("P1", school_urn="100002", date_of_birth=dt.date(2014, 1, 1)),
        mark("P1", monday, "AM", "I", school_urn="100001"),
        mark("P1", monday, "PM", "N", school_urn="100002"),
    ]
    with engine.begin() as connection:
        clear_read_model(connection)
        apply_page(connection, page(changes, "c1"))
        ids = list(
            connection.execute(enrolment_t.select().with_only_columns(enrolment_t.c.id)).scalars()
        )
        facts = MetricsRepository(connection).pattern_facts(
            [(0, id_, Period(monday, monday + dt.timedelta(days=6))) for id_ in ids]
        )
    assert facts[0] == PatternFacts(
        absent_weekdays=(1, 0, 0, 0, 0, 0, 0), broken_weeks=0, unexplained_sessions=1
    )


def test_a_read_alongside_answers_what_it_would_answer_inline(engine: Engine) -> None:
    load(engine, [enrolment("P0", school_urn="100001")])
    with engine.begin() as connection:
        repo = MetricsRepository(connection)
        urns = repo.alongside(lambda side: side.school_urns()).result()
        assert urns == repo.school_urns() == ["100001"]


def test_a_read_alongside_needs_no_connection_the_requests_hold(engine: Engine) -> None:
    """Requests waiting on reads alongside may hold every connection of their pool; the
    reads must not wait for one of those (a deadlock until the pool's timeout)."""
    load(engine, [enrolment("P0", school_urn="100001")])
    one_connection = create_engine(engine.url, pool_size=1, max_overflow=0, pool_timeout=1)
    with one_connection.begin() as connection:
        pending = MetricsRepository(connection).alongside(lambda side: side.school_urns())
        assert pending.result(timeout=30) == ["100001"]
    one_connection.dispose()


def test_reads_alongside_keep_no_connection_once_their_engine_is_disposed(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads alongside on the request's own connection")
    with engine.begin() as connection:
        MetricsRepository(connection).alongside(lambda side: side.school_urns()).result()
    engine.dispose()
    observer = create_engine(engine.url, poolclass=NullPool)
    with observer.connect() as connection:
        others = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    observer.dispose()
    assert others == 0


def test_a_read_alongside_raises_its_error_where_its_result_is_asked(engine: Engine) -> None:
    def fails(_side: MetricsRepository) -> None:
        raise LookupError("no such thing")

    with engine.begin() as connection:
        pending = MetricsRepository(connection).alongside(fails)
        with pytest.raises(LookupError, match="no such thing"):
            pending.result()


def test_a_repository_plans_its_transaction_for_memory_and_fast_disks_only(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("planner settings are PostgreSQL's")
    show = text("SELECT current_setting('work_mem'), current_setting('random_page_cost')")
    with engine.connect() as connection:
        with connection.begin():
            defaults = tuple(connection.execute(show).one())
        with connection.begin():
            MetricsRepository(connection)
            assert tuple(connection.execute(show).one()) == ("64MB", "1.1") != defaults
        with connection.begin():  # the connection's next transaction plans as before
            assert tuple(connection.execute(show).one()) == defaults
