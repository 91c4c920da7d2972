"""Alert rules evaluated as pages apply: queued with the page, handed to sharing, never twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from services.metrics.alerts import AlertHook, AlertOptions, outbox_t
from services.metrics.main import alert_hook
from services.metrics.store.projection import apply_page
from shared.contracts.changes import Change
from shared.db import create_db_engine
from tests.metrics.factories import enrolment, marks_for, page, school_days
from tests.sharing.alert_support import ALERT_SETTINGS, alerts_of, area
from tests.support.system import System

TODAY = dt.date.today()


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
    return school_days(TODAY - dt.timedelta(days=n * 2 + 4), TODAY)[-n:]


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
