"""Every /v1 route: no token → 401, a token without the route's scope → 403, and the
directory changes only for the operator's admin role."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from services.sharing.domain.secrets import hash_secret
from services.sharing.store.models import OAuthClient
from shared.db import create_db_engine
from tests.support.system import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, System

ROUTES = [
    ("GET", "/v1/organisations", "directory:read"),
    ("GET", "/v1/organisations/some-id", "directory:read"),
    ("GET", "/v1/schools/100001", "directory:read"),
    ("GET", "/v1/trust-memberships", "directory:read"),
    ("POST", "/v1/organisations", "directory:write"),
    ("POST", "/v1/trust-memberships", "directory:write"),
    ("PATCH", "/v1/trust-memberships/some-id", "directory:write"),
    ("POST", "/v1/clients", "directory:write"),
    ("GET", "/v1/clients", "directory:write"),
    ("GET", "/v1/clients/some-id", "directory:write"),
    ("POST", "/v1/clients/some-id/secret", "directory:write"),
    ("POST", "/v1/clients/some-id/revoke", "directory:write"),
    ("GET", "/v1/signing-keys", "directory:write"),
    ("POST", "/v1/signing-keys", "directory:write"),
    ("POST", "/v1/signing-keys/retire-previous", "directory:write"),
    ("GET", "/v1/policy/organisations/some-id/visible-schools", "policy:read"),
]
CHANGES = [r for r in ROUTES if r[2] == "directory:write"]


def call(system: System, method: str, path: str, headers: dict[str, str]) -> int:
    json_body = {} if method in ("POST", "PATCH") else None
    return system.sharing.request(method, path, json=json_body, headers=headers).status_code


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
def test_anonymous_is_401(system: System, method: str, path: str, scope: str) -> None:
    assert call(system, method, path, {}) == 401


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
def test_missing_scope_is_403(system: System, method: str, path: str, scope: str) -> None:
    # audit:read is a sharing scope, so the token's audience is right; only the scope is not.
    token = system.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ["audit:read"])
    assert call(system, method, path, {"Authorization": f"Bearer {token}"}) == 403


def test_a_token_for_another_service_is_401(system: System) -> None:
    dfe = system.create_organisation("dfe")
    headers = system.headers_for(dfe["id"], "dfe_analyst", ["metrics:read"])
    assert call(system, "GET", "/v1/organisations", headers) == 401


def test_a_reader_cannot_change_the_directory(system: System) -> None:
    school = system.create_organisation("school")
    headers = system.headers_for(school["id"], "school_system", ["directory:read"])
    assert call(system, "POST", "/v1/organisations", headers) == 403


@pytest.mark.parametrize(("method", "path", "scope"), CHANGES)
def test_directory_write_without_the_admin_role_is_403(
    system: System, method: str, path: str, scope: str
) -> None:
    # The API never gives directory:write to another role; a row that does (written
    # straight to the store) must still not administer.
    engine = create_db_engine(system.settings["sharing"].database.url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(
            OAuthClient(
                client_id="rogue",
                organisation_id=system.operator_id,
                name="rogue",
                role="service",
                scopes="directory:write",
                secret_hash=hash_secret("rogue-secret"),
                created_at=now,
                secret_rotated_at=now,
            )
        )
        session.commit()
    engine.dispose()
    token = system.token("rogue", "rogue-secret")
    assert call(system, method, path, {"Authorization": f"Bearer {token}"}) == 403
