"""shared.auth.authenticate and TokenVerifier, against real tokens from the sharing app.

A small resource server (one route needing metrics:read, audience attx-metrics) verifies
tokens with a TokenVerifier that fetches the JWKS from the in-process sharing app. Its
clock is a settable value, so the refetch rate limit is tested without waiting.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI, Security
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlmodel import Session

from services.sharing.store.repository import SigningKeyRepository
from shared.auth import AUDIENCE_METRICS, Principal, Scope, TokenVerifier, authenticate
from shared.db import create_db_engine
from shared.problems import install_problem_handlers
from tests.support.system import (
    ADMIN_CLIENT_ID,
    ADMIN_CLIENT_SECRET,
    ISSUER,
    SERVICE_CLIENT_ID,
    SERVICE_CLIENT_SECRET,
    System,
)

MAX_AGE = 300.0
REFETCH_INTERVAL = 10.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class CountingTransport(httpx.BaseTransport):
    """Passes requests on to the in-process apps, counting JWKS fetches."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.jwks_fetches = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/jwks.json":
            self.jwks_fetches += 1
        return self.inner.handle_request(request)


class ResourceServer:
    """The resource app, its verifier's clock and its JWKS fetch count."""

    def __init__(self, client: TestClient, clock: Clock, transport: CountingTransport) -> None:
        self.client = client
        self.clock = clock
        self.transport = transport

    def get(self, token: str | None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get("/thing", headers=headers)


@pytest.fixture
def resource(system: System) -> Iterator[ResourceServer]:
    clock = Clock()
    transport = CountingTransport(system.transport)
    http = httpx.Client(transport=transport)
    verifier = TokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE_METRICS,
        jwks_url=f"{ISSUER}/.well-known/jwks.json",
        http=http,
        refetch_interval=REFETCH_INTERVAL,
        max_age=MAX_AGE,
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"token_verifier": verifier}

    app = FastAPI(lifespan=lifespan)
    install_problem_handlers(app)

    @app.get("/thing")
    def thing(
        principal: Annotated[Principal, Security(authenticate, scopes=[Scope.METRICS_READ])],
    ) -> dict[str, str | None]:
        return {"client_id": principal.client_id, "org_type": principal.organisation_type}

    with TestClient(app, base_url="http://localhost") as client:
        yield ResourceServer(client, clock, transport)
    http.close()


def metrics_token(system: System) -> str:
    return system.token(SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, ["metrics:read"])


def active_key(system: System) -> ECKey:
    settings = system.settings["sharing"]
    engine = create_db_engine(settings.database.url)
    try:
        with Session(engine) as session:
            keys = SigningKeyRepository(session, settings.sealer())
            row = keys.active()
            assert row is not None
            return ECKey.import_key(json.loads(keys.private_jwk(row)))
    finally:
        engine.dispose()


def signed(claims: dict[str, Any], key: ECKey) -> str:
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid}
    return jwt.encode(header, claims, KeySet([key]))


def valid_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "c1",
        "client_id": "c1",
        "aud": [AUDIENCE_METRICS],
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
        "scope": "metrics:read",
    }
    return claims | changes


def rotate(system: System) -> None:
    response = system.sharing.post("/v1/signing-keys", headers=system.admin_headers())
    assert response.status_code == 201


def test_a_valid_token_is_accepted_with_its_organisation_claims(
    system: System, resource: ResourceServer
) -> None:
    response = resource.get(metrics_token(system))
    assert response.status_code == 200
    assert response.json() == {"client_id": SERVICE_CLIENT_ID, "org_type": "operator"}


def test_no_token_is_401_with_a_bearer_challenge(resource: ResourceServer) -> None:
    response = resource.get(None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_bad_signature_is_401_invalid_token(system: System, resource: ResourceServer) -> None:
    token = metrics_token(system)
    other = metrics_token(system)
    forged = ".".join([*token.split(".")[:2], other.split(".")[2]])
    response = resource.get(forged)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_token_for_another_audience_is_401(system: System, resource: ResourceServer) -> None:
    sharing_only = system.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, ["directory:read"])
    response = resource.get(sharing_only)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_an_expired_token_is_401(system: System, resource: ResourceServer) -> None:
    long_ago = int(time.time()) - 3600
    expired = signed(valid_claims(iat=long_ago, exp=long_ago + 900), active_key(system))
    assert resource.get(expired).status_code == 401


def test_a_token_from_another_issuer_is_401(system: System, resource: ResourceServer) -> None:
    foreign = signed(valid_claims(iss="http://elsewhere.example"), active_key(system))
    assert resource.get(foreign).status_code == 401


def test_a_missing_scope_is_403_insufficient_scope(
    system: System, resource: ResourceServer
) -> None:
    token = system.token(SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, ["feed:notify"])
    response = resource.get(token)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_a_token_of_the_new_key_is_accepted_after_one_refetch(
    system: System, resource: ResourceServer
) -> None:
    assert resource.get(metrics_token(system)).status_code == 200
    rotate(system)
    resource.clock.now += REFETCH_INTERVAL
    response = resource.get(metrics_token(system))
    assert response.status_code == 200
    assert resource.transport.jwks_fetches == 2


def test_a_token_of_the_previous_key_still_verifies_after_rotation(
    system: System, resource: ResourceServer
) -> None:
    before = metrics_token(system)
    rotate(system)
    resource.clock.now += REFETCH_INTERVAL
    assert resource.get(metrics_token(system)).status_code == 200
    assert resource.get(before).status_code == 200


def test_unknown_kids_refetch_at_most_once_per_interval(
    system: System, resource: ResourceServer
) -> None:
    assert resource.get(metrics_token(system)).status_code == 200
    stranger = ECKey.generate_key("P-256", parameters={"kid": "not-published"}, private=True)
    for _ in range(5):
        assert resource.get(signed(valid_claims(), stranger)).status_code == 401
    assert resource.transport.jwks_fetches == 1


def test_an_unknown_kid_refetches_again_once_the_interval_has_passed(
    system: System, resource: ResourceServer
) -> None:
    assert resource.get(metrics_token(system)).status_code == 200
    stranger = ECKey.generate_key("P-256", parameters={"kid": "not-published"}, private=True)
    resource.clock.now += REFETCH_INTERVAL
    assert resource.get(signed(valid_claims(), stranger)).status_code == 401
    assert resource.transport.jwks_fetches == 2


def test_tokens_of_a_retired_key_stop_verifying(system: System, resource: ResourceServer) -> None:
    before = metrics_token(system)
    rotate(system)
    retired = system.sharing.post(
        "/v1/signing-keys/retire-previous", headers=system.admin_headers()
    )
    assert retired.status_code == 200
    assert resource.get(before).status_code == 401


def test_a_key_retired_after_it_was_cached_stops_verifying_once_the_cache_is_stale(
    system: System, resource: ResourceServer
) -> None:
    before = metrics_token(system)
    assert resource.get(before).status_code == 200
    rotate(system)
    system.sharing.post("/v1/signing-keys/retire-previous", headers=system.admin_headers())
    resource.clock.now += MAX_AGE
    assert resource.get(before).status_code == 401
