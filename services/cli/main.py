"""The `attx` command: one sub-command module per concern, registered here."""

from __future__ import annotations

import typer

from services.cli import bootstrap, demo, dev, openapi, serve, submit
from services.cli.audit import audit_app
from services.cli.db import db_app
from services.cli.metrics import metrics_app

app = typer.Typer(
    name="attx",
    help="Attendance Exchange: run the services, load demo data, submit returns.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("serve")(serve.command)
app.command("dev")(dev.command)
app.command("openapi")(openapi.command)
app.command("bootstrap")(bootstrap.command)
app.command("demo-data")(demo.command)
app.command("submit")(submit.command)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(metrics_app, name="metrics")


if __name__ == "__main__":
    app()
