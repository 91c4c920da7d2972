"""The migrations create exactly the tables the models declare, and keep the feed whole."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text

from services.ingest.main import MIGRATIONS_DIR
from services.ingest.store import mark_runs
from services.ingest.store.models import VERSION_TABLE, metadata
from shared.db import alembic_config
from tests.support.databases import as_owner, upgrade_as_owner


def test_models_and_migrations_agree(database_url: Callable[[str], str]) -> None:
    engine = create_engine(database_url("ingest"))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


@pytest.fixture
def migrated(database_url: Callable[[str], str]) -> Iterator[tuple[str, Config]]:
    """An ingest database as its owner, who migrates it, and its Alembic config; left at
    head again afterwards with the service's role granted its tables anew, as
    production's migrations leave it (on PostgreSQL the next test of this worker reuses
    the database)."""
    service_url = database_url("ingest")
    url = as_owner(service_url)
    yield url, alembic_config(url, MIGRATIONS_DIR, VERSION_TABLE)
    upgrade_as_owner(service_url, "ingest")


def test_undoing_runs_gives_each_mark_its_row_on_its_reserved_number(
    migrated: tuple[str, Config],
) -> None:
    url, config = migrated
    monday, tuesday = dt.date(2024, 9, 2), dt.date(2024, 9, 3)
    (run,) = mark_runs.runs(
        [
            ("A123", monday, "AM", "/", 0),
            ("A123", monday, "PM", "\\", 1),
            ("A123", tuesday, "AM", "N", 2),
        ]
    )
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ingest_change (sequence, kind, recorded_at, school_urn, upn, "
                "return_id, marks) VALUES (7, 'mark.upserted', :at, '100001', 'A123', 'r1', :run)"
            ),
            {"at": dt.datetime(2024, 9, 4, tzinfo=dt.UTC), "run": run.text},
        )
    command.downgrade(config, "4e8b1f0c6a27")
    rows = _select(
        engine, "SELECT sequence, upn, date, session, code FROM ingest_change ORDER BY sequence"
    )
    engine.dispose()
    assert [(r[0], r[1], _day(r[2]), r[3], r[4]) for r in rows] == [
        (5, "A123", monday, "AM", "/"),
        (6, "A123", monday, "PM", "\\"),
        (7, "A123", tuesday, "AM", "N"),
    ]


def test_the_register_moves_to_a_row_per_pupil_day_and_back(
    migrated: tuple[str, Config],
) -> None:
    url, config = migrated
    command.downgrade(config, "b5d2e8f1a9c4")
    monday, tuesday = dt.date(2024, 9, 2), dt.date(2024, 9, 3)
    sessions = [(monday, "AM", "/", "r1"), (monday, "PM", "N", "r2"), (tuesday, "PM", "I", "r1")]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ingest_mark (school_urn, upn, date, session, code, return_id) "
                "VALUES ('100001', 'A123', :date, :session, :code, :rid)"
            ),
            [{"date": d, "session": s, "code": c, "rid": r} for d, s, c, r in sessions],
        )
    command.upgrade(config, "head")
    days = _select(
        engine,
        "SELECT date, am_code, am_return_id, pm_code, pm_return_id FROM ingest_mark_day "
        "ORDER BY date",
    )
    command.downgrade(config, "b5d2e8f1a9c4")
    back = _select(
        engine, "SELECT date, session, code, return_id FROM ingest_mark ORDER BY date, session"
    )
    engine.dispose()
    assert [(_day(r[0]), *r[1:]) for r in days] == [
        (monday, "/", "r1", "N", "r2"),
        (tuesday, None, None, "I", "r1"),
    ]
    assert [(_day(r[0]), *r[1:]) for r in back] == sessions


def _select(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def _day(value: object) -> dt.date:
    """A date column's value: SQLite gives text to a raw query."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
