"""GET /v1/policy/version: raised by every change the access policy reads, so a service
caching policy answers knows when they went out of date."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.contracts.policy import POLICY_VERSION_HEADER
from tests.sharing.care import authority, days_ago, reach_of, record_episode, upn
from tests.sharing.test_agreements import grant, parties
from tests.support.system import System


def version(system: System) -> Any:
    return system.sharing.get("/v1/policy/version", headers=system.service_headers(["policy:read"]))


def current(system: System) -> int:
    response = version(system)
    assert response.status_code == 200, response.text
    number: int = response.json()["version"]
    return number


def test_the_version_names_the_day_the_policy_decides_on(system: System) -> None:
    assert version(system).json()["as_of"] == date.today().isoformat()


def test_creating_an_organisation_raises_the_version(system: System) -> None:
    before = current(system)
    system.create_organisation("school")
    assert current(system) > before


def test_a_school_joining_a_trust_raises_the_version(system: System) -> None:
    trust = system.create_organisation("trust")
    school = system.create_organisation("school")
    before = current(system)
    system.add_trust_membership(school["id"], trust["id"], date(2024, 9, 1))
    assert current(system) > before


def test_recording_and_closing_an_episode_each_raise_the_version(system: System) -> None:
    la = authority(system, "202")
    before = current(system)
    episode = record_episode(system, la.social_care_headers, upn(1))
    recorded = current(system)
    closed = system.sharing.patch(
        f"/v1/episodes/{episode['id']}",
        json={"end_date": days_ago(1).isoformat()},
        headers=la.social_care_headers,
    )
    assert closed.status_code == 200, closed.text
    assert before < recorded < current(system)


def test_granting_and_revoking_an_agreement_each_raise_the_version(system: System) -> None:
    p = parties(system)
    before = current(system)
    made = grant(system, p)
    granted = current(system)
    revoked = system.sharing.post(
        f"/v1/agreements/{made['id']}/revoke", json={}, headers=p.school_headers
    )
    assert revoked.status_code == 200, revoked.text
    assert before < granted < current(system)


def test_reading_the_policy_leaves_the_version_as_it_is(system: System) -> None:
    la = authority(system, "202")
    record_episode(system, la.social_care_headers, upn(1))
    before = current(system)
    reach_of(system, la.social_care["id"])
    assert current(system) == before


def test_a_reach_names_the_version_it_was_decided_under(system: System) -> None:
    la = authority(system, "202")
    record_episode(system, la.social_care_headers, upn(1))
    response = system.sharing.get(
        "/v1/policy/reach",
        params={"organisation_id": la.social_care["id"]},
        headers=system.service_headers(["policy:read"]),
    )
    assert response.status_code == 200, response.text
    assert response.headers[POLICY_VERSION_HEADER] == str(current(system))


def test_the_version_is_for_services_holding_policy_read(system: System) -> None:
    headers = system.service_headers(["directory:read"])
    assert system.sharing.get("/v1/policy/version", headers=headers).status_code == 403
