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
from sqlmodel import Session

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
    from sqlalchemy.pool import NullPool

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
