"""`attx bootstrap`: seed the operator organisation, the administrator and the service client.

For deployments (docker-compose runs it before the sharing service starts): credentials
come from the environment, never from a file in the image.
"""

from __future__ import annotations

import os

import typer

from services.sharing.bootstrap import bootstrap
from services.sharing.settings import SharingSettings
from shared.db import create_db_engine

ENVIRONMENT_VARIABLES = frozenset(
    {
        "ATTX_ADMIN_CLIENT_ID",
        "ATTX_ADMIN_CLIENT_SECRET",
        "ATTX_SERVICE_CLIENT_ID",
        "ATTX_SERVICE_CLIENT_SECRET",
    }
)
"""The variables the CLI itself reads (everything else is a service's own setting)."""


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        typer.echo(f"{name} must be set", err=True)
        raise typer.Exit(2)
    return value


def command() -> None:
    """Create or update the administrator and service clients from ATTX_* variables."""
    settings = SharingSettings()
    bootstrap(
        create_db_engine(settings.database.url),
        admin_client_id=_required("ATTX_ADMIN_CLIENT_ID"),
        admin_client_secret=_required("ATTX_ADMIN_CLIENT_SECRET"),
        service_client_id=_required("ATTX_SERVICE_CLIENT_ID"),
        service_client_secret=_required("ATTX_SERVICE_CLIENT_SECRET"),
    )
    typer.echo("operator, administrator and service clients are in place")
