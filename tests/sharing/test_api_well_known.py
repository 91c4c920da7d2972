"""The JWKS, RFC 8414 metadata and signing-key rotation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.sharing.main import create_app
from tests.sharing.test_api_token import header_of
from tests.support.system import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ISSUER, System


def published_kids(system: System) -> list[str]:
    return [k["kid"] for k in system.sharing.get("/.well-known/jwks.json").json()["keys"]]


def test_jwks_publishes_public_ec_keys_only(system: System) -> None:
    keys = system.sharing.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "EC"
    assert keys[0]["alg"] == "ES256"
    assert "d" not in keys[0]


def test_tokens_name_the_published_key(system: System) -> None:
    token = system.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET)
    assert header_of(token)["kid"] in published_kids(system)


def test_metadata_describes_the_token_endpoint(system: System) -> None:
    body = system.sharing.get("/.well-known/oauth-authorization-server").json()
    assert body["issuer"] == ISSUER
    assert body["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert body["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert body["grant_types_supported"] == [
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ]
    assert set(body["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert "returns:write" in body["scopes_supported"]
    assert body["response_types_supported"] == []


def test_rotation_publishes_the_new_key_beside_the_previous(system: System) -> None:
    before = published_kids(system)
    response = system.sharing.post("/v1/signing-keys", headers=system.admin_headers())
    assert response.status_code == 201
    after = published_kids(system)
    assert len(after) == 2
    assert set(before) < set(after)


def test_after_rotation_tokens_are_signed_with_the_new_key(system: System) -> None:
    old_kid = published_kids(system)[0]
    system.sharing.post("/v1/signing-keys", headers=system.admin_headers())
    token = system.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET)
    assert header_of(token)["kid"] != old_kid


def test_retiring_withdraws_the_previous_key_only(system: System) -> None:
    system.sharing.post("/v1/signing-keys", headers=system.admin_headers())
    active = header_of(system.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET))["kid"]
    response = system.sharing.post(
        "/v1/signing-keys/retire-previous", headers=system.admin_headers()
    )
    assert response.status_code == 200
    assert published_kids(system) == [active]
    statuses = sorted(k["status"] for k in response.json()["items"])
    assert statuses == ["active", "retired"]


def test_signing_keys_survive_a_restart(system: System) -> None:
    token = system.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET)

    restarted = create_app(system.settings["sharing"])
    with TestClient(restarted, base_url=ISSUER) as client:
        kids = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
        listed = client.get("/v1/signing-keys", headers={"Authorization": f"Bearer {token}"})
    assert header_of(token)["kid"] in kids
    assert listed.status_code == 200
