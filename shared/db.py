"""Database plumbing: per-service metadata, engines, the request session, migrations.

Every service owns its tables: it declares them on its own `registry()` (so its
`metadata` holds only its tables) and keeps its own Alembic history with its own
version table. SQLite is the embedded default, PostgreSQL (psycopg 3) production.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import Request
from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import registry as sa_registry
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from shared.settings import DatabaseSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_registry() -> sa_registry:
    """A registry whose metadata names constraints the same way on SQLite and PostgreSQL."""
    return sa_registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine; SQLite gets WAL, foreign keys and a busy timeout so writers queue."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, issue BEGIN so transactions really begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front, so concurrent writers serialise
            # instead of failing half-way with "database is locked".
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_session(request: Request) -> Iterator[Session]:
    """One session and one transaction per request: committed on success, else rolled back.

    Use with `Depends(get_session, scope="function")` so the commit happens before the
    response is sent: a client never sees 2xx for work that then failed to commit.
    """
    engine: Engine = request.state.engine
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str, migrations_dir: Path, version_table: str) -> Config:
    """An Alembic config for one service's migration history, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["version_table"] = version_table
    return config


def upgrade_to_head(url: str, migrations_dir: Path, version_table: str) -> None:
    """Apply every pending migration of one service."""
    command.upgrade(alembic_config(url, migrations_dir, version_table), "head")


APPEND_ONLY = "append_only"
"""The `Table.info` key of a table its service only reads and appends to: its runtime
role is given no more (`grant_runtime_privileges`)."""


def migrate(
    database: DatabaseSettings, migrations_dir: Path, version_table: str, metadata: MetaData
) -> None:
    """Apply every pending migration of one service as its tables' owner (`owner_url`,
    else `url`); with an owner set apart, then grant `url`'s role what the service needs
    to run, and no more."""
    upgrade_to_head(database.owner_url or database.url, migrations_dir, version_table)
    if database.owner_url is not None:
        grant_runtime_privileges(
            database.owner_url,
            make_url(database.url).username or "",
            version_table=version_table,
            metadata=metadata,
        )


class RuntimeRoleError(ValueError):
    """A role that privileges cannot confine, or no such role."""


def grant_runtime_privileges(
    owner_url: str, role: str, *, version_table: str, metadata: MetaData
) -> None:
    """Give `role` what a service needs to run on the PostgreSQL database at `owner_url`,
    in place of whatever it had: read, insert, update, delete and truncate the rows of
    the service's tables (`metadata`'s) and use their sequences, except that tables
    marked `APPEND_ONLY` are only read and inserted into and the migration history
    (`version_table`) only read.

    The role owns nothing, so it cannot alter, drop or disable anything (a trigger that
    refuses to change the audit trail included): PostgreSQL leaves that to the owner,
    whose role runs migrations and nothing else. A role that is a superuser, owns a table
    here or is a member of its owner is refused, since no privilege confines it.
    """
    engine = create_engine(owner_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            found = connection.execute(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}
            ).first()
            if found is None:
                raise RuntimeRoleError(f"no database role {role!r}: create it first")
            owning = connection.execute(
                text(
                    "SELECT count(*) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND pg_has_role(:role, c.relowner, 'USAGE')"
                ),
                {"role": role},
            ).scalar_one()
            if found.rolsuper or owning:
                raise RuntimeRoleError(
                    f"the role {role!r} is a superuser or holds the owner's rights over "
                    "tables here: no privilege confines it; give the service a role of its own"
                )
            quote = connection.dialect.identifier_preparer.quote_identifier
            schema = quote(connection.execute(text("SELECT current_schema()")).scalar_one())
            database = quote(connection.execute(text("SELECT current_database()")).scalar_one())
            grantee = quote(role)
            statements = [
                # PUBLIC has both by default; granted by name in case it no longer does
                # (ingest stages returns in temporary tables).
                f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {grantee}",
                f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {grantee}",
                f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {grantee}",
                f"GRANT USAGE ON SCHEMA {schema} TO {grantee}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {schema} "
                f"TO {grantee}",
                f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}",
                f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {schema}.{quote(version_table)} "
                f"FROM {grantee}",
                *(
                    f"REVOKE UPDATE, DELETE, TRUNCATE ON {schema}.{quote(table.name)} "
                    f"FROM {grantee}"
                    for table in metadata.sorted_tables
                    if table.info.get(APPEND_ONLY)
                ),
            ]
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def migrations_current(engine: Engine, migrations_dir: Path, version_table: str) -> bool:
    """Whether the database is reachable and at the head of the service's migrations."""
    script = ScriptDirectory.from_config(alembic_config("", migrations_dir, version_table))
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        context = MigrationContext.configure(connection, opts={"version_table": version_table})
        return set(context.get_current_heads()) == set(script.get_heads())


def run_alembic_env(metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py` (online mode only).

    SQLite migrations run in batch mode, since SQLite cannot ALTER most constraints.
    """
    from alembic import context

    config = context.config
    url = config.get_main_option("sqlalchemy.url") or ""
    version_table = config.attributes.get("version_table", "alembic_version")
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as connection:
            _configure_and_run(context, connection, metadata, version_table, is_sqlite(url))
        engine.dispose()
    else:
        _configure_and_run(
            context,
            connectable,
            metadata,
            version_table,
            connectable.dialect.name == "sqlite",
        )


def _configure_and_run(
    context: Any, connection: Any, metadata: MetaData, version_table: str, sqlite: bool
) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()
