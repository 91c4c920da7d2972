"""Handing alert candidates to the sharing service (`POST /v1/alerts/events`, alerts:write)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx2 as httpx
from authlib.integrations.base_client.errors import OAuthError

from services.metrics.domain.errors import PeerUnavailable
from shared.contracts.alerts import AlertCandidate, AlertCandidateBatch, AlertIntake
from shared.service_client import ServiceClient


class SharingAlertsClient:
    """Posts candidates; sharing decides recipients, stores and delivers."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    def close(self) -> None:
        self._http.close()

    def post(self, candidates: Sequence[AlertCandidate]) -> AlertIntake:
        """Send one batch; PeerUnavailable unless sharing stored it (then it is retried)."""
        body = AlertCandidateBatch(candidates=list(candidates)).model_dump(mode="json")
        try:
            response: httpx.Response = self._http.post("/v1/alerts/events", json=body)
        except (httpx.HTTPError, OSError, OAuthError) as exc:
            raise PeerUnavailable(f"The sharing service is unreachable: {exc}") from exc
        if response.status_code != 201:
            raise PeerUnavailable(
                f"The sharing service answered {response.status_code} to the alerts: "
                f"{response.text[:300]}"
            )
        return AlertIntake.model_validate_json(response.content)
