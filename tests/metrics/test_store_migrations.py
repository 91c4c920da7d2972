"""The migrations create exactly the tables the models declare."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, select, text

from services.metrics.domain.measures import COUNT_COLUMNS, SessionCounts, day_code
from services.metrics.main import MIGRATIONS_DIR
from services.metrics.store.models import DAY_COLUMNS, VERSION_TABLE, metadata
from services.metrics.store.projection import week_t
from shared.db import alembic_config
from tests.support.databases import as_owner, upgrade_as_owner


def test_models_and_migrations_agree(database_url: Callable[[str], str]) -> None:
    engine = create_engine(database_url("metrics"))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def test_the_day_codes_migration_fills_existing_week_rows(
    database_url: Callable[[str], str],
) -> None:
    service_url = database_url("metrics")
    url = as_owner(service_url)  # only the owner migrates
    command.downgrade(alembic_config(url, MIGRATIONS_DIR, VERSION_TABLE), "e5a0c3b9d214")
    tuesday = {
        "sess_possible": 2,
        "sess_attended": 1,
        "sess_unauthorised": 1,
        "sess_unauth_noyet": 1,
    }
    friday = {"sess_possible": 2, "sess_attended": 2}
    key = {"enrolment_id": 1, "stay_entry": dt.date(2023, 9, 1), "population": "headline"}
    week = {**key, "week_start": dt.date(2024, 1, 8)}
    engine = create_engine(url)
    with engine.begin() as connection:
        for day, counts in ((dt.date(2024, 1, 9), tuesday), (dt.date(2024, 1, 12), friday)):
            values = {"date": day, "academic_year": 2023, **week}
            values |= {c: counts.get(c, 0) for c in COUNT_COLUMNS}
            connection.execute(
                text(
                    f"INSERT INTO enrolment_day ({', '.join(values)}) "
                    f"VALUES ({', '.join(f':{c}' for c in values)})"
                ),
                values,
            )
        summed = {c: tuesday.get(c, 0) + friday.get(c, 0) for c in COUNT_COLUMNS}
        connection.execute(
            text(
                f"INSERT INTO enrolment_week ({', '.join([*week, *summed])}) "
                f"VALUES ({', '.join(f':{c}' for c in [*week, *summed])})"
            ),
            {**week, **summed},
        )
    upgrade_as_owner(service_url, "metrics")
    with engine.connect() as connection:
        codes = connection.execute(select(*(week_t.c[d] for d in DAY_COLUMNS))).one()
    engine.dispose()
    assert list(codes) == [
        0,
        day_code(SessionCounts(tuesday)),
        0,
        0,
        day_code(SessionCounts(friday)),
        0,
        0,
    ]
