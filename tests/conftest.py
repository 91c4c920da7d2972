"""Fixtures every suite shares: the database backend and empty, migrated databases."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.databases import DatabaseFactory, backends

pytest_plugins = ["tests.support.system"]

# authlib refuses plain-http token requests except on loopback; in-process test apps
# are addressed as http://localhost:<port>, which it accepts, so nothing is relaxed here.


@pytest.fixture(scope="session", params=backends())
def backend(request: pytest.FixtureRequest) -> str:
    """Every database test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    return str(request.param)


@pytest.fixture(scope="session")
def database_factory(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseFactory]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    factory = DatabaseFactory(backend, tmp_path_factory.mktemp(f"db-{backend}"), worker)
    yield factory
    factory.drop_all()


@pytest.fixture
def database_url(database_factory: DatabaseFactory, tmp_path: Path) -> Callable[[str], str]:
    """`database_url("ingest")` gives an empty database migrated to head for that service."""
    return lambda service: database_factory.fresh(service, tmp_path)
