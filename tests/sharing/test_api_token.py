"""POST /oauth/token: client credentials in, RFC 9068 access tokens out."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.support.system import (
    ADMIN_CLIENT_ID,
    ADMIN_CLIENT_SECRET,
    ISSUER,
    SERVICE_CLIENT_ID,
    SERVICE_CLIENT_SECRET,
    System,
)


def _segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (the verifier tests check signatures)."""
    return _segment(token, 1)


def header_of(token: str) -> dict[str, Any]:
    return _segment(token, 0)


def _grant(system: System, **form: str) -> Any:
    return system.sharing.post("/oauth/token", data={"grant_type": "client_credentials", **form})


def test_client_secret_basic_gets_a_bearer_token(system: System) -> None:
    response = system.sharing.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"


def test_client_secret_post_gets_a_bearer_token(system: System) -> None:
    response = _grant(system, client_id=ADMIN_CLIENT_ID, client_secret=ADMIN_CLIENT_SECRET)
    assert response.status_code == 200
    assert claims_of(response.json()["access_token"])["client_id"] == ADMIN_CLIENT_ID


def test_wrong_secret_is_invalid_client(system: System) -> None:
    response = system.sharing.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(ADMIN_CLIENT_ID, "not-the-secret"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unknown_client_is_invalid_client(system: System) -> None:
    response = _grant(system, client_id="nobody", client_secret="whatever")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_client_id_holding_nul_is_invalid_client(system: System) -> None:
    # PostgreSQL cannot compare text holding NUL: looked up, it was a 500 there.
    response = _grant(system, client_id="no\x00body", client_secret="whatever")
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_revoked_client_is_invalid_client(system: System) -> None:
    school = system.create_organisation("school")
    client_id, secret = system.create_client(school["id"], "school_system", ["returns:write"])
    revoked = system.sharing.post(f"/v1/clients/{client_id}/revoke", headers=system.admin_headers())
    assert revoked.status_code == 200
    response = system.sharing.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_rotated_secret_replaces_the_old_one(system: System) -> None:
    school = system.create_organisation("school")
    client_id, old = system.create_client(school["id"], "school_system", ["returns:read"])
    rotated = system.sharing.post(f"/v1/clients/{client_id}/secret", headers=system.admin_headers())
    new = rotated.json()["client_secret"]
    grant = {"grant_type": "client_credentials"}
    assert system.sharing.post("/oauth/token", data=grant, auth=(client_id, old)).status_code == 401
    assert system.sharing.post("/oauth/token", data=grant, auth=(client_id, new)).status_code == 200


def test_no_scope_requested_grants_every_allowed_scope(system: System) -> None:
    token = system.token(SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET)
    assert set(claims_of(token)["scope"].split()) == {
        "changes:read",
        "directory:read",
        "policy:read",
        "feed:notify",
        "attendance:read",
        "metrics:read",
        "audit:write",
        "alerts:write",
    }


def test_requested_scopes_are_narrowed_to_the_allowed_ones(system: System) -> None:
    token = system.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ["directory:read", "metrics:read"])
    assert claims_of(token)["scope"] == "directory:read"


def test_unknown_scope_is_invalid_scope(system: System) -> None:
    response = _grant(
        system,
        client_id=ADMIN_CLIENT_ID,
        client_secret=ADMIN_CLIENT_SECRET,
        scope="directory:read everything:write",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_no_allowed_scope_among_the_requested_is_invalid_scope(system: System) -> None:
    response = _grant(
        system, client_id=ADMIN_CLIENT_ID, client_secret=ADMIN_CLIENT_SECRET, scope="metrics:read"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_other_grant_types_are_unsupported(system: System) -> None:
    response = system.sharing.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "a", "password": "b"},
        auth=(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_token_is_an_rfc9068_access_token_with_organisation_claims(system: System) -> None:
    school = system.create_organisation("school")
    client_id, secret = system.create_client(school["id"], "school_system", ["returns:write"])
    token = system.token(client_id, secret)
    header, claims = header_of(token), claims_of(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"]
    assert claims["iss"] == ISSUER
    assert claims["sub"] == client_id
    assert claims["client_id"] == client_id
    assert claims["scope"] == "returns:write"
    assert claims["jti"]
    assert (claims["org_id"], claims["org_type"], claims["role"]) == (
        school["id"],
        "school",
        "school_system",
    )


def test_audience_is_every_service_accepting_a_granted_scope(system: System) -> None:
    token = system.token(SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, ["changes:read", "metrics:read"])
    assert claims_of(token)["aud"] == ["attx-ingest", "attx-metrics"]


def test_token_lifetime_is_the_configured_one(system: System) -> None:
    claims = claims_of(system.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET))
    assert claims["exp"] - claims["iat"] == 900


def test_each_token_has_its_own_jti(system: System) -> None:
    first = claims_of(system.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET))
    second = claims_of(system.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET))
    assert first["jti"] != second["jti"]
