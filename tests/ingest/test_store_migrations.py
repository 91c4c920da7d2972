"""The migrations create exactly the tables the models declare, and keep the feed whole."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from services.ingest.main import MIGRATIONS_DIR
from services.ingest.store import mark_runs
from services.ingest.store.models import VERSION_TABLE, metadata
from shared.db import alembic_config


def test_models_and_migrations_agree(database_url: Callable[[str], str]) -> None:
    engine = create_engine(database_url("ingest"))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def test_undoing_runs_gives_each_mark_its_row_on_its_reserved_number(
    database_url: Callable[[str], str],
) -> None:
    url = database_url("ingest")
    monday, tuesday = dt.date(2024, 9, 2), dt.date(2024, 9, 3)
    run = [(monday, "AM", "/"), (monday, "PM", "\\"), (tuesday, "AM", "N")]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ingest_change (sequence, kind, recorded_at, school_urn, upn, "
                "return_id, marks) VALUES (7, 'mark.upserted', :at, '100001', 'A123', 'r1', :run)"
            ),
            {"at": dt.datetime(2024, 9, 4, tzinfo=dt.UTC), "run": mark_runs.pack(run)},
        )
    command.downgrade(alembic_config(url, MIGRATIONS_DIR, VERSION_TABLE), "4e8b1f0c6a27")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT sequence, upn, date, session, code FROM ingest_change ORDER BY sequence")
        ).all()
    engine.dispose()
    assert [(r[0], r[1], dt.date.fromisoformat(str(r[2])), r[3], r[4]) for r in rows] == [
        (5, "A123", monday, "AM", "/"),
        (6, "A123", monday, "PM", "\\"),
        (7, "A123", tuesday, "AM", "N"),
    ]
