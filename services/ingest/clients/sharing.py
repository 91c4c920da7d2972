"""Ingest's client for the sharing service's directory (scope `directory:read`)."""

from __future__ import annotations

import httpx2 as httpx
from authlib.common.errors import AuthlibBaseError
from pydantic import ValidationError

from services.ingest.domain.problems import DirectoryUnavailable
from services.ingest.settings import IngestSettings
from shared.auth import Scope
from shared.contracts.directory import SchoolRecord
from shared.service_client import ServiceClient


class SharingClient:
    """Asks the directory which organisation a school is and which trusts it belonged to."""

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    @classmethod
    def from_settings(
        cls, settings: IngestSettings, transport: httpx.BaseTransport | None
    ) -> SharingClient:
        """A client with its own client-credentials token, over `transport` if given."""
        return cls(
            ServiceClient.for_peer(
                settings,
                base_url=settings.sharing_url,
                scopes=[Scope.DIRECTORY_READ],
                transport=transport,
            )
        )

    def school(self, urn: str) -> SchoolRecord | None:
        """The directory's record of a school, or None if it does not know the URN."""
        try:
            response = self._http.get(f"/v1/schools/{urn}")
        except (httpx.HTTPError, AuthlibBaseError) as exc:
            raise DirectoryUnavailable("The directory could not be reached.") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise DirectoryUnavailable(
                f"The directory answered {response.status_code} for school {urn}."
            )
        try:
            return SchoolRecord.model_validate_json(response.content)
        except ValidationError as exc:
            raise DirectoryUnavailable("The directory's answer was not a school record.") from exc

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()
