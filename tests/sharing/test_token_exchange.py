"""RFC 8693 token exchange: a case-management system acts for one practitioner."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from tests.sharing.care import Authority, authority, child_upns, reach_of, record_episode, upn
from tests.support.system import System

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
PRACTITIONER = "urn:attendance-exchange:params:oauth:token-type:practitioner-ref"


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def exchange(
    system: System, la: Authority, subject_token: str, practitioner: str = "sw-1", **extra: str
) -> Any:
    form = {
        "grant_type": GRANT,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN,
        "actor_token": practitioner,
        "actor_token_type": PRACTITIONER,
        **extra,
    }
    return system.sharing.post("/oauth/token", data=form, auth=(la.client_id, la.client_secret))


def own_token(system: System, la: Authority) -> str:
    return system.token(la.client_id, la.client_secret)


def test_the_exchanged_token_acts_for_the_practitioner(system: System) -> None:
    la = authority(system, "800")
    response = exchange(system, la, own_token(system, la), "sw-17")
    assert response.status_code == 200, response.text
    claims = claims_of(response.json()["access_token"])
    assert (claims["act"], claims["sub"], claims["org_id"]) == (
        {"sub": "sw-17"},
        la.client_id,
        la.social_care["id"],
    )


def test_the_answer_names_the_issued_token_type(system: System) -> None:
    la = authority(system, "800")
    body = exchange(system, la, own_token(system, la)).json()
    assert (body["issued_token_type"], body["token_type"].lower()) == (ACCESS_TOKEN, "bearer")


def test_a_practitioner_token_sees_only_their_caseload(system: System) -> None:
    la = authority(system, "800")
    mine = record_episode(system, la.social_care_headers, upn(1), practitioner="sw-1")
    record_episode(system, la.social_care_headers, upn(2), practitioner="sw-2")
    token = exchange(system, la, own_token(system, la), "sw-1").json()["access_token"]
    body = system.sharing.get("/v1/episodes", headers={"Authorization": f"Bearer {token}"}).json()
    assert [e["id"] for e in body["items"]] == [mine["id"]]


def test_a_practitioner_cannot_record_an_episode_on_anothers_caseload(system: System) -> None:
    la = authority(system, "800")
    token = exchange(system, la, own_token(system, la), "sw-1").json()["access_token"]
    response = system.sharing.post(
        "/v1/episodes",
        json={
            "child": {"upn": upn(1)},
            "category": "CIN",
            "start_date": "2024-09-01",
            "practitioner_ref": "sw-2",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (response.status_code, response.json()["errors"][0]["code"]) == (
        422,
        "not_own_caseload",
    )


def test_a_practitioners_new_episode_is_on_their_caseload(system: System) -> None:
    la = authority(system, "800")
    token = exchange(system, la, own_token(system, la), "sw-1").json()["access_token"]
    response = system.sharing.post(
        "/v1/episodes",
        json={"child": {"upn": upn(1)}, "category": "CIN", "start_date": "2024-09-01"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["practitioner_ref"] == "sw-1"


def test_reach_for_a_practitioner_is_their_caseload(system: System) -> None:
    la = authority(system, "800")
    record_episode(system, la.social_care_headers, upn(1), practitioner="sw-1")
    record_episode(system, la.social_care_headers, upn(2), practitioner="sw-2")
    assert child_upns(reach_of(system, la.social_care["id"], actor="sw-1")) == {upn(1)}


def test_another_clients_token_cannot_be_exchanged(system: System) -> None:
    la = authority(system, "800")
    other_id, other_secret = system.create_client(
        la.social_care["id"], "social_care", ["social_care:read"]
    )
    response = exchange(system, la, system.token(other_id, other_secret))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_a_forged_subject_token_is_refused(system: System) -> None:
    la = authority(system, "800")
    token = own_token(system, la)
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload, signature[::-1]])
    response = exchange(system, la, forged)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_an_exchanged_token_expires_with_its_subject_token(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    la = authority(system, "800")
    subject = own_token(system, la)
    expires = claims_of(subject)["exp"]
    # Exchanged 10 minutes later: a fresh lifetime would outlast the subject token.
    later = time.time() + 600
    monkeypatch.setattr(time, "time", lambda: later)
    body = exchange(system, la, subject).json()
    assert claims_of(body["access_token"])["exp"] == expires
    assert body["expires_in"] == expires - int(later)


def test_an_exchanged_token_cannot_be_exchanged_again(system: System) -> None:
    la = authority(system, "800")
    delegated = exchange(system, la, own_token(system, la), "sw-1").json()["access_token"]
    response = exchange(system, la, delegated, "sw-2")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_an_exchange_cannot_widen_the_scopes(system: System) -> None:
    la = authority(system, "800")
    narrow = system.token(la.client_id, la.client_secret, ["social_care:read"])
    response = exchange(system, la, narrow, scope="social_care:write")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")


def test_the_actor_must_be_named(system: System) -> None:
    la = authority(system, "800")
    response = system.sharing.post(
        "/oauth/token",
        data={
            "grant_type": GRANT,
            "subject_token": own_token(system, la),
            "subject_token_type": ACCESS_TOKEN,
        },
        auth=(la.client_id, la.client_secret),
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_a_school_system_cannot_act_for_a_practitioner(system: System) -> None:
    school = system.create_organisation("school")
    client_id, secret = system.create_client(school["id"], "school_system", ["returns:read"])
    response = system.sharing.post(
        "/oauth/token",
        data={
            "grant_type": GRANT,
            "subject_token": system.token(client_id, secret),
            "subject_token_type": ACCESS_TOKEN,
            "actor_token": "sw-1",
            "actor_token_type": PRACTITIONER,
        },
        auth=(client_id, secret),
    )
    assert (response.status_code, response.json()["error"]) == (400, "unauthorized_client")


def test_a_wrong_client_secret_is_401(system: System) -> None:
    la = authority(system, "800")
    response = system.sharing.post(
        "/oauth/token",
        data={"grant_type": GRANT, "subject_token": own_token(system, la)},
        auth=(la.client_id, "wrong"),
    )
    assert response.status_code == 401
