"""Sharing's client for ingest's pupil matching (`POST /v1/pupil-matches`, scope changes:read)."""

from __future__ import annotations

from datetime import date

import httpx2 as httpx
from authlib.common.errors import AuthlibBaseError
from pydantic import ValidationError

from services.sharing.domain.episodes import MatchingUnavailable
from services.sharing.settings import SharingSettings
from shared.auth import Scope
from shared.contracts.pupil_matches import PupilMatch, PupilMatchRequest
from shared.service_client import ServiceClient


class IngestClient:
    """Asks ingest whether one pupil on the rolls has these legal names and birth date."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    @classmethod
    def from_settings(
        cls, settings: SharingSettings, transport: httpx.BaseTransport | None
    ) -> IngestClient:
        """A client with its own client-credentials token, over `transport` if given."""
        return cls(
            ServiceClient.for_peer(
                settings,
                base_url=settings.ingest_url,
                scopes=[Scope.CHANGES_READ],
                transport=transport,
            )
        )

    def match(self, legal_forename: str, legal_surname: str, date_of_birth: date) -> PupilMatch:
        """matched / ambiguous / not_found; MatchingUnavailable if ingest cannot answer."""
        body = PupilMatchRequest(
            legal_forename=legal_forename, legal_surname=legal_surname, date_of_birth=date_of_birth
        )
        try:
            response = self._http.post("/v1/pupil-matches", json=body.model_dump(mode="json"))
        except (httpx.HTTPError, AuthlibBaseError) as exc:
            raise MatchingUnavailable("The pupil rolls could not be searched.") from exc
        if response.status_code != 200:
            raise MatchingUnavailable(
                f"The pupil rolls could not be searched (ingest answered {response.status_code})."
            )
        try:
            return PupilMatch.model_validate_json(response.content)
        except ValidationError as exc:
            raise MatchingUnavailable("Ingest's answer was not a pupil match.") from exc

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()
