"""The migrations create exactly the tables the models declare."""

from __future__ import annotations

from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from services.metrics.store.models import VERSION_TABLE, metadata


def test_models_and_migrations_agree(database_url: Callable[[str], str]) -> None:
    engine = create_engine(database_url("metrics"))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []
