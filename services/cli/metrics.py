"""`attx metrics rebuild`: empty metrics' read model and apply ingest's whole change feed.

Uses the metrics settings (`METRICS_*`: database, ingest URL, service client). The feed
has no total, so the progress bar counts changes and pages as they are applied. Numbers
after a rebuild equal those of the incrementally maintained model (tested in
tests/metrics/test_consumer.py). Run it with the metrics service stopped or with its
consumer paused: pages are applied under the consumer's lock within one process only.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from services.cli.db import migrate_service
from services.cli.registry import ServiceName
from services.metrics.clients.ingest import IngestFeedClient
from services.metrics.consumer import rebuild as rebuild_read_model
from services.metrics.main import feed_client
from services.metrics.settings import MetricsSettings
from shared.contracts.changes import ChangePage
from shared.db import create_db_engine

metrics_app = typer.Typer(help="The metrics service's read model.", no_args_is_help=True)


class _ProgressFeed(IngestFeedClient):
    """The feed, advancing a progress bar by each page's changes as it is read."""

    def __init__(self, inner: IngestFeedClient, progress: Progress, task: TaskID) -> None:
        self._inner = inner
        self._progress = progress
        self._task = task

    def changes(self, after: str | None, limit: int) -> ChangePage:
        page = self._inner.changes(after, limit)
        self._progress.update(self._task, advance=len(page.changes))
        return page

    def close(self) -> None:
        self._inner.close()


@metrics_app.command("rebuild")
def rebuild(
    page_size: Annotated[int, typer.Option(min=1, max=10000, help="Changes per page.")] = 1000,
) -> None:
    """Rebuild the read model from ingest's feed, from the start."""
    settings = MetricsSettings()
    migrate_service(ServiceName.METRICS, settings.database)
    engine = create_db_engine(settings.database.url)
    feed = feed_client(settings)
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} changes"),
            TimeElapsedColumn(),
        ) as progress:
            task = progress.add_task("Rebuilding the read model", total=None)
            applied = rebuild_read_model(
                engine, _ProgressFeed(feed, progress, task), limit=page_size
            )
            progress.update(task, total=applied, completed=applied)
    finally:
        feed.close()
        engine.dispose()
    typer.echo(f"read model rebuilt from {applied} changes")
