"""A case-management token acting for one practitioner (RFC 8693) reads only the alerts of
that practitioner's caseload, and cannot manage the organisation's webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sharing.alert_support import (
    ALERT_SETTINGS,
    Area,
    alerts_of,
    area,
    candidate,
    propose,
    receiver,
)
from tests.sharing.care import record_episode, upn
from tests.support.system import System

EXCHANGE = {
    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
    "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
    "actor_token_type": "urn:attendance-exchange:params:oauth:token-type:practitioner-ref",
}


@pytest.fixture
def system_settings() -> dict[str, dict[str, Any]]:
    return ALERT_SETTINGS


def acting_for(system: System, a: Area, practitioner: str) -> dict[str, str]:
    """Headers of a social care token exchanged for one acting for `practitioner`."""
    client_id, secret = system.create_client(
        a.authority.social_care["id"], "social_care", ["alerts:read", "alerts:subscribe"]
    )
    response = system.sharing.post(
        "/oauth/token",
        data={
            **EXCHANGE,
            "subject_token": system.token(client_id, secret),
            "actor_token": practitioner,
        },
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def caseloads(system: System) -> tuple[Area, str, str]:
    """An area whose social care has one child with sw-1 and one with sw-2, both alerted."""
    a = area(system, "202", 40, category=None)
    mine, theirs = upn(41, "202"), upn(42, "202")
    for child, practitioner in ((mine, "sw-1"), (theirs, "sw-2")):
        record_episode(system, a.authority.social_care_headers, child, practitioner=practitioner)
        propose(system, candidate(child, a.school["urn"]))
    return a, mine, theirs


def test_a_practitioner_reads_only_the_alerts_of_their_caseload(system: System) -> None:
    a, mine, _ = caseloads(system)
    assert {i["upn"] for i in alerts_of(system, acting_for(system, a, "sw-1"))} == {mine}


def test_the_organisations_own_token_reads_every_alert(system: System) -> None:
    a, mine, theirs = caseloads(system)
    assert {i["upn"] for i in alerts_of(system, a.headers["social_care"])} == {mine, theirs}


def test_another_practitioners_alert_is_not_found(system: System) -> None:
    a, _, theirs = caseloads(system)
    [alert] = [i for i in alerts_of(system, a.headers["social_care"]) if i["upn"] == theirs]
    response = system.sharing.get(
        f"/v1/alerts/{alert['id']}", headers=acting_for(system, a, "sw-1")
    )
    assert response.status_code == 404


def test_a_practitioner_token_cannot_subscribe_a_webhook(system: System) -> None:
    a, _, _ = caseloads(system)
    with receiver() as hook:
        response = system.sharing.post(
            "/v1/subscriptions", json={"url": hook.url}, headers=acting_for(system, a, "sw-1")
        )
    assert response.status_code == 403
