"""A service runs as a database role of its own that migrations grant what it needs and
no more: it cannot change the audit trail, even by putting its triggers aside, nor the
schema or its migration history (PostgreSQL; SQLite has no roles)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import Session
from typer.testing import CliRunner

from services.cli.main import app
from services.sharing.domain.audit import verify_chain
from services.sharing.main import MIGRATIONS_DIR
from services.sharing.store.audit_repository import AuditRepository
from services.sharing.store.models import VERSION_TABLE, metadata
from shared.db import RuntimeRoleError, grant_runtime_privileges, migrate
from shared.settings import DatabaseSettings
from tests.sharing.audit_support import entry_content
from tests.support.databases import postgres_admin_url

pytestmark = pytest.mark.skipif(
    postgres_admin_url() is None, reason="PostgreSQL only: SQLite has no roles"
)

NAME = f"attx_test_runtime_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


@dataclass(frozen=True)
class Sharing:
    """A sharing database migrated by its owner, and the service's own role on it."""

    database: DatabaseSettings
    service: Engine
    owner: Engine


@pytest.fixture(scope="module")
def sharing() -> Iterator[Sharing]:
    admin_url = make_url(postgres_admin_url() or "")
    admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    password = secrets.token_hex(16)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{NAME}"'))
        conn.execute(text(f'CREATE DATABASE "{NAME}"'))
        conn.execute(text(f"CREATE ROLE \"{NAME}\" LOGIN PASSWORD '{password}'"))
    owner_url = admin_url.set(database=NAME)
    service_url = owner_url.set(username=NAME, password=password)
    database = DatabaseSettings(
        url=service_url.render_as_string(hide_password=False),
        owner_url=owner_url.render_as_string(hide_password=False),
    )
    migrate(database, MIGRATIONS_DIR, VERSION_TABLE, metadata)
    service = create_engine(database.url, poolclass=NullPool)
    owner = create_engine(owner_url, poolclass=NullPool)
    try:
        yield Sharing(database, service, owner)
    finally:
        service.dispose()
        owner.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{NAME}"'))
        admin.dispose()


def append(engine: Engine, serial: int) -> None:
    with Session(engine) as session:
        AuditRepository(session).append([entry_content(serial)])
        session.commit()


def refused(engine: Engine, statement: str) -> str:
    """The database's refusal of `statement`, run as `engine`'s role."""
    with pytest.raises(DBAPIError) as refusal, engine.begin() as connection:
        connection.execute(text(statement))
    return str(refusal.value.orig)


def test_the_service_role_records_reads_on_the_audit_trail(sharing: Sharing) -> None:
    append(sharing.service, 1)
    append(sharing.service, 2)
    with Session(sharing.service) as session:
        report = verify_chain(AuditRepository(session).walk())
    assert (report.entries >= 2, report.broken) == (True, None)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET purpose = 'statistics'",
        "DELETE FROM audit_entry",
        "UPDATE audit_entry_child SET upn = 'A000000000009'",
        "DELETE FROM audit_entry_child",
        "TRUNCATE audit_entry_child, audit_entry",
    ],
)
def test_the_service_role_has_no_right_to_change_the_audit_trail(
    sharing: Sharing, statement: str
) -> None:
    append(sharing.service, 3)
    assert "permission denied for table audit_entry" in refused(sharing.service, statement)


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE audit_entry DISABLE TRIGGER USER",
        "DROP TRIGGER audit_entry_append_only ON audit_entry",
        "ALTER TABLE audit_entry_child DISABLE TRIGGER ALL",
        "DROP TABLE audit_entry_child",
        "ALTER TABLE audit_entry ADD COLUMN note text",
    ],
)
def test_the_service_role_cannot_put_the_append_only_triggers_aside(
    sharing: Sharing, statement: str
) -> None:
    reason = refused(sharing.service, statement)
    assert re.search(r"must be owner of (table|relation) audit_entry", reason), reason


def test_the_service_role_cannot_rewrite_the_migration_history(sharing: Sharing) -> None:
    reason = refused(sharing.service, f"UPDATE {VERSION_TABLE} SET version_num = '0001'")
    assert f"permission denied for table {VERSION_TABLE}" in reason


def test_the_service_role_cannot_add_to_the_schema(sharing: Sharing) -> None:
    reason = refused(sharing.service, "CREATE TABLE shadow_audit (position bigint)")
    assert "permission denied for schema public" in reason


def test_the_service_role_still_changes_its_other_tables(sharing: Sharing) -> None:
    with sharing.service.begin() as connection:
        connection.execute(text("DELETE FROM organisation WHERE false"))
        connection.execute(text("TRUNCATE webhook_attempt"))


def test_migrating_again_keeps_the_service_role_confined(sharing: Sharing) -> None:
    migrate(sharing.database, MIGRATIONS_DIR, VERSION_TABLE, metadata)
    append(sharing.service, 4)
    assert "permission denied" in refused(sharing.service, "DELETE FROM audit_entry")


def test_the_cli_migrates_as_the_owner_and_grants_the_service_role(
    sharing: Sharing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARING_DATABASE__URL", sharing.database.url)
    monkeypatch.setenv("SHARING_DATABASE__OWNER_URL", sharing.database.owner_url or "")
    result = CliRunner().invoke(app, ["db", "upgrade", "sharing"])
    assert (result.exit_code, result.output) == (0, "sharing: migrated to head\n")
    append(sharing.service, 5)


def test_a_superuser_is_refused_as_a_service_role(sharing: Sharing) -> None:
    superuser = make_url(postgres_admin_url() or "").username or ""
    with pytest.raises(RuntimeRoleError, match="superuser"):
        grant_runtime_privileges(
            sharing.owner.url.render_as_string(hide_password=False),
            superuser,
            version_table=VERSION_TABLE,
            metadata=metadata,
        )


def test_an_unknown_role_is_refused(sharing: Sharing) -> None:
    with pytest.raises(RuntimeRoleError, match="no database role"):
        grant_runtime_privileges(
            sharing.owner.url.render_as_string(hide_password=False),
            "attx_no_such_role",
            version_table=VERSION_TABLE,
            metadata=metadata,
        )
