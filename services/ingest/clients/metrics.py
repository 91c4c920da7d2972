"""Tells the metrics service that new changes are waiting (best effort, scope `feed:notify`)."""

from __future__ import annotations

import logging

import httpx2 as httpx
from authlib.common.errors import AuthlibBaseError

from services.ingest.settings import IngestSettings
from shared.auth import Scope
from shared.service_client import ServiceClient

logger = logging.getLogger(__name__)


class MetricsNotifier:
    """POSTs /v1/feed/notifications; any failure is logged and ignored — metrics also polls."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    @classmethod
    def from_settings(
        cls, settings: IngestSettings, transport: httpx.BaseTransport | None
    ) -> MetricsNotifier:
        """A notifier with its own client-credentials token, over `transport` if given."""
        return cls(
            ServiceClient.for_peer(
                settings,
                base_url=settings.metrics_url,
                scopes=[Scope.FEED_NOTIFY],
                transport=transport,
                timeout=2.0,
            )
        )

    def notify(self) -> None:
        """Say that the feed has new changes. Never raises."""
        try:
            response = self._http.post("/v1/feed/notifications", json={})
            if response.status_code >= 400:
                logger.info("metrics refused the feed notification: %s", response.status_code)
        except (httpx.HTTPError, AuthlibBaseError, OSError) as exc:
            logger.info("metrics could not be notified (it will poll): %s", exc)

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()
