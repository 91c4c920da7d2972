"""Real, migrated databases for tests: SQLite always, PostgreSQL when TEST_DATABASE_URL is set.

Each service's database is migrated with Alembic once per test session (per backend and
xdist worker) and emptied before each test, so tests see exactly the production schema.
On PostgreSQL the tests connect as production's services do: as a role of their own,
granted what a service needs and no more by the owner that migrated the database
(`shared.db.grant_runtime_privileges`); `as_owner` gives a URL of the owner's, for the
few tests that play someone with the owner's rights.
"""

from __future__ import annotations

import importlib
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from shared.db import migrate, upgrade_to_head
from shared.settings import DatabaseSettings

SERVICES = ("ingest", "metrics", "sharing")


@dataclass(frozen=True)
class ServiceSchema:
    name: str
    metadata: MetaData
    migrations_dir: Path
    version_table: str


def service_schema(name: str) -> ServiceSchema:
    models = importlib.import_module(f"services.{name}.store.models")
    main = importlib.import_module(f"services.{name}.main")
    return ServiceSchema(name, models.metadata, main.MIGRATIONS_DIR, models.VERSION_TABLE)


def postgres_admin_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_admin_url() else ["sqlite"]


def as_owner(url: str) -> str:
    """The same database as the role that owns its tables (SQLite: the same URL)."""
    given = make_url(url)
    if given.get_backend_name() == "sqlite":
        return url
    admin = make_url(postgres_admin_url() or "")
    owner = given.set(username=admin.username, password=admin.password)
    return owner.render_as_string(hide_password=False)


def upgrade_as_owner(url: str, name: str) -> None:
    """Migrate service `name`'s database at `url` (as the service's role) to head as its
    owner, and grant the role its tables again, as production's migrations do."""
    schema = service_schema(name)
    if make_url(url).get_backend_name() == "sqlite":
        upgrade_to_head(url, schema.migrations_dir, schema.version_table)
        return
    database = DatabaseSettings(url=url, owner_url=as_owner(url))
    migrate(database, schema.migrations_dir, schema.version_table, schema.metadata)


class DatabaseFactory:
    """Hands out an empty, migrated database URL per service for one backend."""

    def __init__(self, backend: str, workdir: Path, worker: str) -> None:
        self.backend = backend
        self.workdir = workdir
        self.worker = worker
        self._templates: dict[str, str] = {}
        self._created: list[str] = []
        # The pid keeps concurrent runs (two developers, CI) out of each other's way.
        self._role = f"attx_test_service_{worker}_{os.getpid()}"
        self._password = secrets.token_hex(16)

    def _template(self, schema: ServiceSchema) -> str:
        if schema.name in self._templates:
            return self._templates[schema.name]
        if self.backend == "sqlite":
            path = self.workdir / f"template-{schema.name}.db"
            url = f"sqlite:///{path}"
        else:
            admin = make_url(postgres_admin_url() or "")
            dbname = f"attx_test_{schema.name}_{self.worker}_{os.getpid()}"
            engine = create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{dbname}"'))
                if not self._created:
                    conn.execute(text(f'DROP ROLE IF EXISTS "{self._role}"'))
                    conn.execute(
                        text(f"CREATE ROLE \"{self._role}\" LOGIN PASSWORD '{self._password}'")
                    )
            engine.dispose()
            url = admin.set(database=dbname).render_as_string(hide_password=False)
            self._created.append(dbname)
        if self.backend == "sqlite":
            upgrade_to_head(url, schema.migrations_dir, schema.version_table)
        else:  # as production migrates: the owner, then the service's role granted its tables
            database = DatabaseSettings(url=self._as_service(url), owner_url=url)
            migrate(database, schema.migrations_dir, schema.version_table, schema.metadata)
        self._templates[schema.name] = url
        return url

    def _as_service(self, url: str) -> str:
        service = make_url(url).set(username=self._role, password=self._password)
        return service.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop the PostgreSQL databases this run created."""
        if not self._created:
            return
        engine = create_engine(
            make_url(postgres_admin_url() or ""), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            for dbname in self._created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
            # Its privileges went with the databases.
            conn.execute(text(f'DROP ROLE IF EXISTS "{self._role}"'))
        engine.dispose()

    def fresh(self, name: str, test_dir: Path) -> str:
        """An empty, migrated database for service `name`, as the service's own role."""
        schema = service_schema(name)
        template = self._template(schema)
        if self.backend == "sqlite":
            path = test_dir / f"{name}.db"
            shutil.copyfile(make_url(template).database or "", path)
            return f"sqlite:///{path}"
        tables = [t.name for t in schema.metadata.sorted_tables]
        if tables:
            engine = create_engine(template, poolclass=NullPool)
            with engine.begin() as conn:
                # The audit trail refuses TRUNCATE by trigger; as a replica, a superuser's
                # session fires no ordinary triggers, so the template can be emptied.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(
                    text(
                        "TRUNCATE "
                        + ", ".join(f'"{t}"' for t in tables)
                        + " RESTART IDENTITY CASCADE"
                    )
                )
            engine.dispose()
        return self._as_service(template)
