"""Sharing's Alembic history builds exactly the tables its models declare."""

from __future__ import annotations

from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from services.sharing.store.models import VERSION_TABLE, metadata


def test_migrations_match_the_models(database_url: Callable[[str], str]) -> None:
    engine = create_engine(database_url("sharing"), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
