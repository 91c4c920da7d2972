"""The `attx` command: one sub-command module per concern, registered here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="attx",
    help="Attendance Exchange: run the services, load demo data, submit returns.",
    no_args_is_help=True,
    add_completion=False,
)
