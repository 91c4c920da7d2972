"""Keeping the read model up to date from ingest's change feed.

`catch_up` reads pages after the stored cursor until the feed has no more, applying
each page and its cursor in one transaction; `rebuild` empties the read model and
catches up from the start (the same pages give the same numbers). `FeedConsumer` runs
`catch_up` in a background thread every poll interval, or at once when woken by
`POST /v1/feed/notifications`.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, select

from services.metrics.alerts import AlertHook
from services.metrics.clients.ingest import IngestFeedClient
from services.metrics.domain.errors import PeerUnavailable
from services.metrics.store.projection import (
    INGEST_FEED,
    apply_page,
    clear_read_model,
    cursor_t,
    read_cursor,
)

logger = logging.getLogger(__name__)

# One applier at a time in this process; across processes the cursor check below
# (under SQLite's write lock or PostgreSQL's row lock) refuses a page applied twice.
_apply_lock = threading.Lock()


def catch_up(
    engine: Engine, feed: IngestFeedClient, *, limit: int = 1000, alerts: AlertHook | None = None
) -> int:
    """Apply every change waiting in the feed; returns how many changes were applied.

    With `alerts`, each page's alert conditions are found and queued in the page's own
    transaction, and handed to sharing after it commits.
    """
    applied = 0
    with _apply_lock:
        while True:
            with engine.connect() as connection:
                after = read_cursor(connection)
            page = feed.changes(after, limit)
            with engine.begin() as connection:
                locked = connection.execute(
                    select(cursor_t.c.cursor)
                    .where(cursor_t.c.feed == INGEST_FEED)
                    .with_for_update()
                ).scalar_one_or_none()
                if locked != after:
                    continue  # another process applied this page meanwhile: read on
                if page.changes or page.next_cursor != after:
                    apply_page(connection, page)
                    if alerts is not None:
                        alerts.evaluate(connection, page)
                    applied += len(page.changes)
            if alerts is not None:
                alerts.send_pending(engine)
            if not page.has_more:
                return applied


def rebuild(
    engine: Engine, feed: IngestFeedClient, *, limit: int = 1000, alerts: AlertHook | None = None
) -> int:
    """Empty the read model and apply the whole feed again from the start.

    The alert outbox is kept, so conditions already found are not alerted again.
    """
    with _apply_lock, engine.begin() as connection:
        clear_read_model(connection)
    return catch_up(engine, feed, limit=limit, alerts=alerts)


class FeedConsumer:
    """A daemon thread that catches up every `interval` seconds, or when woken."""

    def __init__(
        self,
        engine: Engine,
        feed: IngestFeedClient,
        *,
        interval: float,
        limit: int,
        alerts: AlertHook | None = None,
    ) -> None:
        self._engine = engine
        self._feed = feed
        self._alerts = alerts
        self._interval = interval
        self._limit = limit
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Catch up now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                catch_up(self._engine, self._feed, limit=self._limit, alerts=self._alerts)
            except PeerUnavailable as exc:
                logger.info("change feed not readable yet: %s", exc)
            except Exception:  # the thread must outlive any one bad page; it retries
                logger.exception("applying the change feed failed; retrying")
            self._wake.wait(self._interval)
            self._wake.clear()
