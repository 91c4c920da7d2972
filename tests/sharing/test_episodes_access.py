"""Every new endpoint of the access policy: 401 without a token, 403 without its scope,
404 for what the caller may not see."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.sharing.care import authority, record_episode, upn
from tests.sharing.test_token_exchange import exchange, own_token
from tests.support.system import System

ENDPOINTS = [
    ("GET", "/v1/episodes", "social_care:read"),
    ("POST", "/v1/episodes", "social_care:write"),
    ("GET", "/v1/episodes/some-id", "social_care:read"),
    ("PATCH", "/v1/episodes/some-id", "social_care:write"),
    ("GET", "/v1/episodes/some-id/history", "social_care:read"),
    ("GET", "/v1/agreements", "agreements:read"),
    ("POST", "/v1/agreements", "agreements:write"),
    ("GET", "/v1/agreements/some-id", "agreements:read"),
    ("POST", "/v1/agreements/some-id/revoke", "agreements:write"),
    ("GET", "/v1/agreements/some-id/receipts", "agreements:read"),
    ("GET", "/v1/policy/reach?organisation_id=x", "policy:read"),
    ("GET", "/v1/policy/social-care-episodes?upn=x", "policy:read"),
]


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_anonymous_is_401(system: System, method: str, path: str, scope: str) -> None:
    assert system.sharing.request(method, path, json={}).status_code == 401


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_a_token_without_the_scope_is_403(
    system: System, method: str, path: str, scope: str
) -> None:
    # directory:read is a sharing scope every caller here could hold, and none of these need.
    response = system.sharing.request(
        method, path, json={}, headers=system.service_headers(["directory:read"])
    )
    assert response.status_code == 403


@pytest.mark.parametrize("suffix", ["", "/history"])
def test_another_authoritys_episode_is_404(system: System, suffix: str) -> None:
    home, other = authority(system, "800"), authority(system, "801")
    episode = record_episode(system, home.social_care_headers, upn(1))
    response = system.sharing.get(
        f"/v1/episodes/{episode['id']}{suffix}", headers=other.social_care_headers
    )
    assert response.status_code == 404


def test_a_practitioner_cannot_see_another_practitioners_episode(system: System) -> None:
    la = authority(system, "800")
    episode = record_episode(system, la.social_care_headers, upn(1), practitioner="sw-2")
    headers = system.headers_for(la.virtual_school["id"], "virtual_school", ["social_care:read"])
    seen_by_virtual_school = system.sharing.get(f"/v1/episodes/{episode['id']}", headers=headers)
    token = exchange(system, la, own_token(system, la), "sw-1").json()["access_token"]
    seen_by_sw1 = system.sharing.get(
        f"/v1/episodes/{episode['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert (seen_by_virtual_school.status_code, seen_by_sw1.status_code) == (200, 404)


@pytest.mark.parametrize("suffix", ["", "/receipts"])
def test_an_agreement_is_404_to_a_third_party(system: System, suffix: str) -> None:
    school = system.create_organisation("school")
    partner, stranger = system.create_organisation("partner"), system.create_organisation("partner")
    grantor = system.headers_for(school["id"], "school_system", ["agreements:write"])
    made = system.sharing.post(
        "/v1/agreements",
        json={
            "grantee_id": partner["id"],
            "purpose": "Support",
            "lawful_basis": "6(1)(e)",
            "fields": ["attendance"],
            "upns": [upn(1)],
            "ends_on": (date.today() + timedelta(days=9)).isoformat(),
        },
        headers=grantor,
    ).json()
    headers = system.headers_for(stranger["id"], "partner", ["agreements:read"])
    response = system.sharing.get(f"/v1/agreements/{made['id']}{suffix}", headers=headers)
    assert response.status_code == 404


def test_revoking_a_stranger_agreement_is_404(system: System) -> None:
    school = system.create_organisation("school")
    headers = system.headers_for(school["id"], "school_system", ["agreements:write"])
    response = system.sharing.post("/v1/agreements/missing/revoke", json={}, headers=headers)
    assert response.status_code == 404


def test_social_care_episodes_without_a_upn_is_422(system: System) -> None:
    response = system.sharing.get(
        "/v1/policy/social-care-episodes", headers=system.service_headers(["policy:read"])
    )
    assert response.status_code == 422


def test_social_care_episodes_name_every_malformed_upn(system: System) -> None:
    response = system.sharing.get(
        "/v1/policy/social-care-episodes",
        params={"upn": ["A123", "B12345678901C", "not a upn at all"]},
        headers=system.service_headers(["policy:read"]),
    )
    assert response.status_code == 422
    locations = [e["location"] for e in response.json()["errors"]]
    assert locations == ["query:upn.0", "query:upn.2"]
