"""Reading ingest's change feed (`GET /v1/changes`, scope changes:read)."""

from __future__ import annotations

import httpx2 as httpx

from services.metrics.domain.errors import PeerUnavailable
from shared.contracts.changes import ChangePage
from shared.service_client import ServiceClient


class IngestFeedClient:
    """One page of changes at a time, after a cursor."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    def close(self) -> None:
        self._http.close()

    def changes(self, after: str | None, limit: int) -> ChangePage:
        """The page of changes after `after` (from the start when None)."""
        params: dict[str, str | int] = {"limit": limit}
        if after is not None:
            params["after"] = after
        try:
            response: httpx.Response = self._http.get("/v1/changes", params=params)
            response.raise_for_status()
        except (httpx.HTTPError, OSError) as exc:
            raise PeerUnavailable(f"Ingest's change feed could not be read: {exc}") from exc
        return ChangePage.model_validate_json(response.content)
