"""Alert rules evaluated as pages apply: queued with the page, handed to sharing, never twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from services.metrics.alerts import AlertHook, AlertOptions, outbox_t
from services.metrics.domain.calendar import academic_year_of, academic_year_period
from services.metrics.main import alert_hook
from services.metrics.store.projection import apply_page
from shared.contracts.changes import Change
from shared.db import create_db_engine
from tests.metrics.factories import enrolment, marks_for, page, school_days
from tests.sharing.alert_support import ALERT_SETTINGS, alerts_of, area
from tests.support.system import System


@pytest.fixture
def system_settings() -> dict[str, dict[str, Any]]:
    return ALERT_SETTINGS


@pytest.fixture
def engine(system: System) -> Iterator[Engine]:
    engine = create_db_engine(system.settings["metrics"].database.url)
    yield engine
    engine.dispose()


@pytest.fixture
def hook(system: System) -> Iterator[AlertHook]:
    found = alert_hook(system.settings["metrics"], system.transport)
    assert found is not None
    yield found
    found.close()


def last_school_days(n: int) -> list[dt.date]:
    """The last `n` school days up to today (the day asked: a run may cross midnight)."""
    today = dt.date.today()
    return school_days(today - dt.timedelta(days=n * 2 + 4), today)[-n:]


def apply(engine: Engine, hook: AlertHook, changes: list[Change], cursor: str) -> None:
    """Apply a page and evaluate it in one transaction, as the consumer does."""
    with engine.begin() as connection:
        p = page(changes, cursor)
        apply_page(connection, p)
        hook.evaluate(connection, p)


def queued(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(outbox_t)).scalar_one())


def missing_child(urn: str, child: str) -> list[Change]:
    days = last_school_days(8)
    return [
        enrolment(child, school_urn=urn, entry_date=days[0] - dt.timedelta(days=400)),
        *marks_for(child, days[:5], "/", school_urn=urn),
        *marks_for(child, days[5:], "N", school_urn=urn),
    ]


def test_a_child_not_seen_for_three_days_alerts_the_school_and_the_social_worker(
    system: System, engine: Engine, hook: AlertHook
) -> None:
    a = area(system, "202", 41)
    apply(engine, hook, missing_child(a.school["urn"], a.child), "c1")
    hook.send_pending(engine)
    rules = {
        k: [x["rule"] for x in alerts_of(system, a.headers[k])] for k in ("school", "social_care")
    }
    assert rules == {
        "school": ["missing_education"],
        "social_care": ["missing_education", "social_worker_unexplained_absence"],
    }


def test_a_page_applied_again_queues_nothing_new(
    system: System, engine: Engine, hook: AlertHook
) -> None:
    a = area(system, "202", 42)
    changes = missing_child(a.school["urn"], a.child)
    apply(engine, hook, changes, "c1")
    before = queued(engine)
    apply(engine, hook, changes, "c1")
    assert (before, queued(engine)) == (before, before)


def test_alerts_wait_in_the_outbox_until_sharing_takes_them(system: System, engine: Engine) -> None:
    a = area(system, "202", 43)
    offline = AlertHook(None, AlertOptions())
    apply(engine, offline, missing_child(a.school["urn"], a.child), "c1")
    hook = alert_hook(system.settings["metrics"], system.transport)
    assert hook is not None
    hook.send_pending(engine)
    hook.close()
    assert [x["rule"] for x in alerts_of(system, a.headers["school"])] == ["missing_education"]


def test_a_condition_older_than_the_age_limit_is_not_alerted(
    system: System, engine: Engine
) -> None:
    a = area(system, "202", 44)
    old = [
        c.model_copy(update={"date": c.date - dt.timedelta(days=60)}) if hasattr(c, "date") else c
        for c in missing_child(a.school["urn"], a.child)
    ]
    apply(engine, AlertHook(None, AlertOptions()), old, "c1")
    assert queued(engine) == 0


def falling_attendance(urn: str, child: str, date_of_birth: dt.date) -> list[Change]:
    """Joined four school weeks ago; absent all day (N) one day in five since: 80%."""
    days = last_school_days(20)
    return [
        enrolment(child, school_urn=urn, entry_date=days[0], date_of_birth=date_of_birth),
        *(
            change
            for n, day in enumerate(days)
            for change in marks_for(child, [day], "N" if n % 5 == 2 else "/", school_urn=urn)
        ),
    ]


# Alerts are about now, so these registers end today; the persistent-absence crossing is
# judged on this academic year's sessions, which need four school weeks to exist.
NEEDS_FOUR_SCHOOL_WEEKS_THIS_YEAR = pytest.mark.skipif(
    last_school_days(20)[0] < academic_year_period(academic_year_of(dt.date.today())).start,
    reason="the academic year has fewer than four school weeks yet",
)
AGED_12 = dt.date(academic_year_of(dt.date.today()) - 12, 3, 1)
AGED_4 = dt.date(academic_year_of(dt.date.today()) - 4, 1, 15)
"""Four on 31 August: outside DfE's headline ages, so in none of the read model's
buckets; a child on a plan who stops attending must still be noticed."""


def rate_rules(system: System, headers: dict[str, str]) -> list[str]:
    return sorted(
        x["rule"]
        for x in alerts_of(system, headers)
        if x["rule"] in {"low_recent_attendance", "persistent_absence", "severe_absence"}
    )


@NEEDS_FOUR_SCHOOL_WEEKS_THIS_YEAR
def test_attendance_falling_under_90_percent_alerts_low_attendance_and_persistent_absence(
    system: System, engine: Engine, hook: AlertHook
) -> None:
    a = area(system, "202", 45)
    apply(engine, hook, falling_attendance(a.school["urn"], a.child, AGED_12), "c1")
    hook.send_pending(engine)
    assert rate_rules(system, a.headers["school"]) == [
        "low_recent_attendance",
        "persistent_absence",
    ]


@NEEDS_FOUR_SCHOOL_WEEKS_THIS_YEAR
def test_a_reception_child_is_alerted_from_every_possible_session_of_its_register(
    system: System, engine: Engine, hook: AlertHook
) -> None:
    a = area(system, "202", 46, category="CPP")
    apply(engine, hook, falling_attendance(a.school["urn"], a.child, AGED_4), "c1")
    hook.send_pending(engine)
    assert rate_rules(system, a.headers["social_care"]) == [
        "low_recent_attendance",
        "persistent_absence",
    ]


def test_a_reception_child_attending_every_session_raises_no_rate_alert(
    system: System, engine: Engine, hook: AlertHook
) -> None:
    a = area(system, "202", 47, category="CPP")
    days = last_school_days(20)
    changes: list[Change] = [
        enrolment(a.child, school_urn=a.school["urn"], entry_date=days[0], date_of_birth=AGED_4),
        *marks_for(a.child, days, "/", school_urn=a.school["urn"]),
    ]
    apply(engine, hook, changes, "c1")
    hook.send_pending(engine)
    assert rate_rules(system, a.headers["social_care"]) == []
