"""The token endpoint refuses plain http from non-loopback hosts unless the deployment allows it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.system import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, System

FORM = {"grant_type": "client_credentials"}


def test_plain_http_from_another_host_is_an_oauth_error_not_a_crash(system: System) -> None:
    response = system.sharing.post(
        "http://sharing.internal:8003/oauth/token",
        data=FORM,
        auth=(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


class TestOnAPrivateNetwork:
    @pytest.fixture
    def system_settings(self) -> dict[str, dict[str, Any]]:
        return {"sharing": {"allow_plain_http_token_requests": True}}

    def test_plain_http_from_another_host_is_served_when_allowed(self, system: System) -> None:
        response = system.sharing.post(
            "http://sharing.internal:8003/oauth/token",
            data=FORM,
            auth=(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET),
        )
        assert response.status_code == 200, response.text
        assert response.json()["token_type"].lower() == "bearer"
