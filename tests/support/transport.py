"""An httpx transport that routes requests by host and port to in-process ASGI apps.

Each app runs behind a started `TestClient` (lifespan entered), so a service's outgoing
calls — fetching the JWKS, asking the sharing service, reading the change feed — are
real HTTP requests handled by the real peer app, without sockets.
"""

from __future__ import annotations

import httpx2 as httpx
from starlette.testclient import TestClient


class AppTransport(httpx.BaseTransport):
    """Sends each request to the TestClient registered for its `host:port`."""

    def __init__(self) -> None:
        self._clients: dict[str, TestClient] = {}
        self.paths: list[str] = []
        """The path of every request carried, in order (what services asked each other)."""

    def mount(self, base_url: str, client: TestClient) -> None:
        url = httpx.URL(base_url)
        self._clients[f"{url.host}:{url.port}"] = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.url.host}:{request.url.port}"
        self.paths.append(request.url.path)
        client = self._clients.get(key)
        if client is None:
            raise httpx.ConnectError(f"no in-process app at {key}", request=request)
        response = client.send(request)
        response.read()
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            content=response.content,
            request=request,
        )
