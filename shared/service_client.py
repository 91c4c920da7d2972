"""The HTTP client one service uses to call another, authenticated with OAuth 2.0.

Services never share a static secret: each has its own client (role `service`) and
obtains client-credentials tokens from the sharing service, refreshing them before
they expire. This wraps authlib's httpx client, which does the refreshing.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx2 as httpx
from authlib.integrations.httpx_client import OAuth2Client

from shared.settings import ServiceSettings


class ServiceClient(OAuth2Client):  # type: ignore[misc]
    """An httpx client for one peer service that fetches its own access token on first use."""

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: list[str],
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            scope=" ".join(scopes),
            token_endpoint=token_url,
            grant_type="client_credentials",
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            leeway=30,
        )
        self._token_url = token_url
        self._token_lock = threading.Lock()

    @classmethod
    def for_peer(
        cls,
        settings: ServiceSettings,
        *,
        base_url: str,
        scopes: list[str],
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> ServiceClient:
        """A client of one peer service, authenticating as this service (`service_client`)."""
        return cls(
            base_url=base_url,
            token_url=settings.oauth.token_url,
            client_id=settings.service_client.client_id,
            client_secret=settings.service_client.client_secret.get_secret_value(),
            scopes=scopes,
            transport=transport,
            timeout=timeout,
        )

    def request(self, method: str, url: Any, withhold_token: bool = False, **kwargs: Any) -> Any:
        # The token request itself passes an explicit `auth` (client credentials): it must
        # not wait for a token, or the first call deadlocks on the non-reentrant lock.
        explicit_auth = kwargs.get("auth", httpx.USE_CLIENT_DEFAULT) is not httpx.USE_CLIENT_DEFAULT
        if not withhold_token and not explicit_auth and not self.token:
            with self._token_lock:
                if not self.token:
                    self.fetch_token(self._token_url, grant_type="client_credentials")
        return super().request(method, url, withhold_token=withhold_token, **kwargs)
