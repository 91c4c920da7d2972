"""`attx db upgrade|revision`: each service's own Alembic history."""

from __future__ import annotations

from typing import Annotated

import typer
from alembic import command

from services.cli.registry import ServiceName, service
from shared.db import RuntimeRoleError, alembic_config, upgrade_to_head
from shared.settings import DatabaseSettings

db_app = typer.Typer(help="Database migrations, per service.", no_args_is_help=True)


def migrate_service(name: ServiceName, database: DatabaseSettings) -> None:
    """Apply the service's pending migrations as `ServiceInfo.migrate` does; a role that
    no privilege confines ends the command with the reason, not a traceback."""
    try:
        service(name).migrate(database)
    except RuntimeRoleError as exc:
        typer.echo(f"{name}: {exc}", err=True)
        raise typer.Exit(1) from exc


def _url(name: ServiceName, url: str | None) -> str:
    if url:
        return url
    return str(service(name).settings_class()().database.url)


@db_app.command("upgrade")
def upgrade(
    name: Annotated[ServiceName, typer.Argument(help="Which service's database.")],
    url: Annotated[
        str | None,
        typer.Option(help="Database URL to migrate as is; default: the service's settings."),
    ] = None,
) -> None:
    """Apply every pending migration of one service. From its settings, as the owner
    (`DATABASE__OWNER_URL`) when one is set, then granting the service's own role
    (`DATABASE__URL`) what it needs to run and no more."""
    info = service(name)
    if url:
        upgrade_to_head(url, info.migrations_dir, info.version_table)
    else:
        migrate_service(name, info.settings_class()().database)
    typer.echo(f"{name}: migrated to head")


@db_app.command("revision")
def revision(
    name: Annotated[ServiceName, typer.Argument(help="Which service.")],
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision does.")],
    url: Annotated[str | None, typer.Option(help="A database at head to diff against.")] = None,
) -> None:
    """Autogenerate a revision from the difference between models and a migrated database."""
    info = service(name)
    target = _url(name, url)
    upgrade_to_head(target, info.migrations_dir, info.version_table)
    command.revision(
        alembic_config(target, info.migrations_dir, info.version_table),
        message=message,
        autogenerate=True,
    )
