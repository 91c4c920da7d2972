"""The whole system in-process: sharing, ingest and metrics apps on fresh, migrated databases.

A pytest plugin (registered in tests/conftest.py), giving the fixture `system`::

    def test_a_school_submits(system: System) -> None:
        school = system.create_organisation("school")               # defaults fill the rest
        headers = system.headers_for(school["id"], "school_system", ["returns:write"])
        response = system.ingest.post("/v1/returns", headers=headers, json={...})

What it builds, per test:
- each app from `services.<svc>.main.create_app(settings, transport=transport)` on a fresh
  database from the `database_url` fixture (SQLite, and PostgreSQL when TEST_DATABASE_URL
  is set), lifespans running (TestClients are entered as context managers);
- settings: environment "test", `oauth.issuer` http://localhost:8003, `sharing_url`,
  `ingest_url`, `metrics_url` http://localhost:8003 / 8001 / 8002, and `service_client` set
  to the service client bootstrap seeded (SERVICE_CLIENT_ID / SERVICE_CLIENT_SECRET);
- one `tests.support.transport.AppTransport` carrying every app's outgoing HTTP to the
  peer app, so fetching the JWKS or calling a peer is real HTTP without sockets;
- the sharing database seeded by `services.sharing.bootstrap.bootstrap`: the operator,
  an admin client (ADMIN_CLIENT_ID, role admin: directory:read directory:write audit:read)
  and the service client (role service: changes:read directory:read policy:read
  feed:notify attendance:read metrics:read).

`system.sharing`, `system.ingest`, `system.metrics` are the TestClients (base_url
http://localhost:800X; authlib accepts plain http only on localhost). `system.metrics` is
None until `services/metrics/main.py` exists.

Helpers (all go through the real HTTP API with real tokens):
- `token(client_id, secret, scopes=None) -> str`: POST /oauth/token (client_secret_basic).
- `admin_headers()`, `service_headers(scopes=None)`: Authorization headers.
- `create_organisation(type, **fields) -> dict`: POST /v1/organisations as admin. Missing
  fields get unique defaults: school urn/dfe_number (la_code="202" unless given)/phase,
  trust group_uid, local_authority la_code; virtual_school and social_care need la_code
  of an existing local authority. Pass `name=` to choose the name.
- `add_trust_membership(school_id, trust_id, start_date, end_date=None) -> dict`.
- `create_client(organisation_id, role, scopes) -> (client_id, secret)`.
- `headers_for(organisation_id, role, scopes) -> dict`: a new client, then its token.
  Roles by organisation type: school → school_system, trust → trust_system,
  local_authority → la_attendance, virtual_school → virtual_school, social_care →
  social_care, dfe → dfe_analyst. changes:read, policy:read, feed:notify are for the
  service role only; returns:write for school_system and trust_system only.

To change settings for one test module, override the fixture `system_settings`
(a dict of per-service overrides, e.g. `{"metrics": {"suppression_threshold": 3}}`).
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.sharing.bootstrap import Bootstrapped, bootstrap
from shared.db import create_db_engine
from shared.settings import DatabaseSettings, OAuthSettings, ServiceClientSettings
from tests.support.transport import AppTransport

SHARING_URL = "http://localhost:8003"
INGEST_URL = "http://localhost:8001"
METRICS_URL = "http://localhost:8002"
ISSUER = SHARING_URL

ADMIN_CLIENT_ID = "attx-admin"
ADMIN_CLIENT_SECRET = "test-admin-secret"
SERVICE_CLIENT_ID = "attx-service"
SERVICE_CLIENT_SECRET = "test-service-secret"

_SERVICES = {
    "sharing": ("services.sharing", "SharingSettings", SHARING_URL),
    "ingest": ("services.ingest", "IngestSettings", INGEST_URL),
    "metrics": ("services.metrics", "MetricsSettings", METRICS_URL),
}

_counter = itertools.count(1)


def _service_exists(package: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.main") is not None
    except ModuleNotFoundError:
        return False


def _settings(service: str, database: str, overrides: dict[str, Any]) -> Any:
    package, class_name, _url = _SERVICES[service]
    settings_class = getattr(importlib.import_module(f"{package}.settings"), class_name)
    values: dict[str, Any] = {
        "environment": "test",
        "database": DatabaseSettings(url=database),
        "oauth": OAuthSettings(issuer=ISSUER),
        "service_client": ServiceClientSettings(
            client_id=SERVICE_CLIENT_ID, client_secret=SecretStr(SERVICE_CLIENT_SECRET)
        ),
        "sharing_url": SHARING_URL,
        "ingest_url": INGEST_URL,
        "metrics_url": METRICS_URL,
    }
    values.update(overrides)
    return settings_class(**values)


class System:
    """The running apps and helpers that act through their HTTP APIs."""

    def __init__(
        self,
        clients: dict[str, TestClient],
        transport: AppTransport,
        seeded: Bootstrapped,
        settings: dict[str, Any],
    ) -> None:
        self.sharing: TestClient = clients["sharing"]
        self.ingest: TestClient = clients["ingest"]
        self.metrics: TestClient | None = clients.get("metrics")
        self.transport = transport
        self.settings = settings
        self.operator_id = seeded.operator_id
        self._admin_token: str | None = None

    def token(self, client_id: str, secret: str, scopes: list[str] | None = None) -> str:
        """A real access token from POST /oauth/token (client_secret_basic)."""
        data = {"grant_type": "client_credentials"}
        if scopes:
            data["scope"] = " ".join(scopes)
        response = self.sharing.post("/oauth/token", data=data, auth=(client_id, secret))
        assert response.status_code == 200, f"token request failed: {response.text}"
        access_token: str = response.json()["access_token"]
        return access_token

    def admin_headers(self) -> dict[str, str]:
        """Authorization headers of the bootstrapped admin client (cached per test)."""
        if self._admin_token is None:
            self._admin_token = self.token(ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET)
        return {"Authorization": f"Bearer {self._admin_token}"}

    def service_headers(self, scopes: list[str] | None = None) -> dict[str, str]:
        """Authorization headers of the bootstrapped service client."""
        token = self.token(SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, scopes)
        return {"Authorization": f"Bearer {token}"}

    def create_organisation(self, organisation_type: str, **fields: Any) -> dict[str, Any]:
        """POST /v1/organisations as admin; unique defaults for fields not given."""
        n = next(_counter)
        body: dict[str, Any] = {"type": organisation_type, "name": f"Test {organisation_type} {n}"}
        if organisation_type == "school":
            la_code = fields.pop("la_code", "202")
            body |= {
                "urn": f"{100000 + n:06d}",
                "dfe_number": f"{la_code}{n % 10000:04d}",
                "phase": "primary",
            }
        elif organisation_type == "trust":
            body["group_uid"] = str(n)
        elif organisation_type == "local_authority" and "la_code" not in fields:
            body["la_code"] = self._unused_la_code()
        body |= fields
        response = self.sharing.post("/v1/organisations", json=body, headers=self.admin_headers())
        assert response.status_code == 201, f"organisation not created: {response.text}"
        created: dict[str, Any] = response.json()
        return created

    def _unused_la_code(self) -> str:
        from services.sharing.domain.la_codes import KNOWN_LA_CODES

        taken = {
            o["la_code"]
            for o in self.sharing.get(
                "/v1/organisations",
                params={"type": "local_authority", "limit": 500},
                headers=self.admin_headers(),
            ).json()["items"]
        }
        return min(KNOWN_LA_CODES - taken)

    def add_trust_membership(
        self, school_id: str, trust_id: str, start_date: date, end_date: date | None = None
    ) -> dict[str, Any]:
        """POST /v1/trust-memberships as admin."""
        body = {
            "school_id": school_id,
            "trust_id": trust_id,
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat() if end_date else None,
        }
        response = self.sharing.post(
            "/v1/trust-memberships", json=body, headers=self.admin_headers()
        )
        assert response.status_code == 201, f"membership not created: {response.text}"
        created: dict[str, Any] = response.json()
        return created

    def create_client(self, organisation_id: str, role: str, scopes: list[str]) -> tuple[str, str]:
        """POST /v1/clients as admin; returns (client_id, client_secret)."""
        response = self.sharing.post(
            "/v1/clients",
            json={"organisation_id": organisation_id, "role": role, "scopes": scopes},
            headers=self.admin_headers(),
        )
        assert response.status_code == 201, f"client not created: {response.text}"
        body = response.json()
        return body["client_id"], body["client_secret"]

    def headers_for(self, organisation_id: str, role: str, scopes: list[str]) -> dict[str, str]:
        """Authorization headers of a new client of this organisation, role and scopes."""
        client_id, secret = self.create_client(organisation_id, role, scopes)
        return {"Authorization": f"Bearer {self.token(client_id, secret)}"}


@pytest.fixture
def system_settings() -> dict[str, dict[str, Any]]:
    """Per-service settings overrides; override this fixture in a module to change them."""
    return {}


@pytest.fixture
def system(
    database_url: Callable[[str], str], system_settings: dict[str, dict[str, Any]]
) -> Iterator[System]:
    """Sharing, ingest and (when it exists) metrics, in-process, on fresh databases."""
    transport = AppTransport()
    settings = {
        name: _settings(name, database_url(name), system_settings.get(name, {}))
        for name, (package, _cls, _url) in _SERVICES.items()
        if _service_exists(package)
    }
    engine = create_db_engine(settings["sharing"].database.url)
    try:
        seeded = bootstrap(
            engine,
            admin_client_id=ADMIN_CLIENT_ID,
            admin_client_secret=ADMIN_CLIENT_SECRET,
            service_client_id=SERVICE_CLIENT_ID,
            service_client_secret=SERVICE_CLIENT_SECRET,
        )
    finally:
        engine.dispose()
    with ExitStack() as stack:
        clients: dict[str, TestClient] = {}
        for name, service_settings in settings.items():
            package, _cls, url = _SERVICES[name]
            main = importlib.import_module(f"{package}.main")
            app = main.create_app(service_settings, transport=transport)
            client = stack.enter_context(TestClient(app, base_url=url))
            transport.mount(url, client)
            clients[name] = client
        yield System(clients, transport, seeded, settings)
