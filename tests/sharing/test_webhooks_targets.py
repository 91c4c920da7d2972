"""Subscriptions: request-forgery targets are refused with 422; access to others' is 404."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sharing.care import codes
from tests.support.system import System


@pytest.fixture
def system_settings() -> dict[str, dict[str, Any]]:
    # The production default: local targets are not allowed.
    return {"sharing": {"webhooks": {"dispatcher_enabled": False}}}


def headers(system: System) -> dict[str, str]:
    school = system.create_organisation("school")
    return system.headers_for(school["id"], "school_system", ["alerts:subscribe"])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://127.0.0.1/hook", ["forbidden_address"]),
        ("https://localhost:8443/hook", ["forbidden_address"]),
        ("https://10.1.2.3/hook", ["forbidden_address"]),
        ("https://192.168.0.10/hook", ["forbidden_address"]),
        ("https://169.254.169.254/latest/meta-data", ["forbidden_address"]),
        ("https://100.64.0.1/hook", ["forbidden_address"]),
        ("https://[::1]/hook", ["forbidden_address"]),
        ("https://[::ffff:127.0.0.1]/hook", ["forbidden_address"]),
        ("https://0.0.0.0/hook", ["forbidden_address"]),
        ("http://8.8.8.8/hook", ["https_required"]),
        ("ftp://8.8.8.8/hook", ["unsupported_scheme"]),
        ("https://user:pw@8.8.8.8/hook", ["credentials_in_url"]),
        ("https://no-such-host.invalid/hook", ["unresolvable_host"]),
    ],
)
def test_a_forbidden_webhook_target_is_refused(
    system: System, url: str, expected: list[str]
) -> None:
    response = system.sharing.post("/v1/subscriptions", json={"url": url}, headers=headers(system))
    assert (response.status_code, codes(response)) == (422, expected)


def test_a_public_https_target_is_accepted_and_its_secret_shown_once(system: System) -> None:
    caller = headers(system)
    created = system.sharing.post(
        "/v1/subscriptions", json={"url": "https://8.8.8.8/hook"}, headers=caller
    ).json()
    listed = system.sharing.get(f"/v1/subscriptions/{created['id']}", headers=caller).json()
    assert (created["secret"].startswith("whsec_"), "secret" in listed) == (True, False)


def test_subscribing_needs_a_token(system: System) -> None:
    response = system.sharing.post("/v1/subscriptions", json={"url": "https://8.8.8.8/"})
    assert response.status_code == 401


def test_subscribing_needs_the_alerts_subscribe_scope(system: System) -> None:
    school = system.create_organisation("school")
    caller = system.headers_for(school["id"], "school_system", ["alerts:read"])
    response = system.sharing.post(
        "/v1/subscriptions", json={"url": "https://8.8.8.8/"}, headers=caller
    )
    assert response.status_code == 403


def test_the_dfe_may_not_subscribe_to_alerts(system: System) -> None:
    dfe = system.create_organisation("dfe")
    response = system.sharing.post(
        "/v1/clients",
        json={"organisation_id": dfe["id"], "role": "dfe_analyst", "scopes": ["alerts:subscribe"]},
        headers=system.admin_headers(),
    )
    assert codes(response) == ["scope_not_for_role"]


def test_another_organisations_deliveries_are_not_found(system: System) -> None:
    owner = headers(system)
    created = system.sharing.post(
        "/v1/subscriptions", json={"url": "https://8.8.8.8/hook"}, headers=owner
    ).json()
    response = system.sharing.get(
        f"/v1/subscriptions/{created['id']}/deliveries", headers=headers(system)
    )
    assert response.status_code == 404


def test_an_unknown_event_is_a_problem(system: System) -> None:
    response = system.sharing.post(
        "/v1/subscriptions",
        json={"url": "https://8.8.8.8/hook", "events": ["everything"]},
        headers=headers(system),
    )
    assert response.status_code == 422
