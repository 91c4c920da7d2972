"""Schemathesis explores every operation of every service with real tokens.

It must find no server error and no response that breaks the committed schema. Each
operation is called with a token whose role can hold the scopes that operation needs
(admin for the directory, the service client for service-only scopes, a school's
system for returns), so calls get past authentication and exercise the handlers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.system import System

SERVICE_ONLY = {"changes:read", "policy:read", "feed:notify"}
SCHOOL_SCOPES = ["returns:write", "returns:read"]
EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _required_scopes(case: Any) -> set[str]:
    scopes: set[str] = set()
    for requirement in case.operation.definition.raw.get("security", []):
        for names in requirement.values():
            scopes.update(names)
    return scopes


def _headers(system: System, case: Any, school_id: str) -> dict[str, str]:
    needed = _required_scopes(case)
    if needed & {"returns:write", "returns:read"}:
        return system.headers_for(school_id, "school_system", SCHOOL_SCOPES)
    if needed & SERVICE_ONLY or needed & {"attendance:read", "metrics:read"}:
        return system.service_headers()
    return system.admin_headers()


STATE_DEPENDENT_BODIES = {
    # Which fields a type needs, and references to organisations that must exist: rules
    # JSON Schema cannot state, validated all at once into one 422 problem.
    ("POST", "/v1/organisations"),
    ("POST", "/v1/clients"),
    ("POST", "/v1/trust-memberships"),
    # A return is judged against the codes in force on each date and the stored roll.
    ("POST", "/v1/schools/{urn}/returns"),
    # Metrics: exactly one period form (from+to, academic_year[+term], week), which
    # parameters' schemas cannot state; mixing them is one 422 naming every problem.
    ("GET", "/v1/absence"),
    ("GET", "/v1/trends"),
    ("GET", "/v1/pupils"),
    ("GET", "/v1/pupils/{upn}/attendance"),
    # Sharing: the audit trail's `from` may not be after its `to`.
    ("GET", "/v1/audit"),
}


def _holds_nul(value: Any) -> bool:
    # A repeated parameter arrives as a list, a body as dicts and lists; str() of either
    # escapes the NUL it holds.
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return "\x00" in str(value)


def _excluded_checks(case: Any) -> list[Any]:
    """Where schema-valid data may rightly be refused, acceptance of it is not asked.

    Cursors are opaque tokens the service issued: a forged one is a client error (422).
    A NUL byte in a path, a query or a JSON body is refused at every service's edge (400):
    no value holds one.
    """
    body = case.body if isinstance(case.body, dict | list) else None
    sent = [*(case.query or {}).values(), *(case.path_parameters or {}).values(), body]
    if any(_holds_nul(value) for value in sent):
        return [positive_data_acceptance]
    key = (case.operation.method.upper(), case.operation.path)
    if set(case.query or {}) & {"cursor", "after"} or key in STATE_DEPENDENT_BODIES:
        return [positive_data_acceptance]
    return []


OPENAPI_DIR = Path(__file__).resolve().parents[2] / "openapi"

# The committed documents are the contract under test (test_openapi_current keeps them
# equal to what the apps generate).
sharing = schemathesis.openapi.from_path(OPENAPI_DIR / "sharing.json")
ingest = schemathesis.openapi.from_path(OPENAPI_DIR / "ingest.json")
metrics = schemathesis.openapi.from_path(OPENAPI_DIR / "metrics.json")


@sharing.parametrize()
@EXAMPLES
def test_sharing_api_conforms_to_its_schema(case: Any, system: System) -> None:
    school = system.create_organisation("school")
    case.call_and_validate(
        app=system.sharing.app,
        base_url=str(system.sharing.base_url),
        headers=_headers(system, case, school["id"]),
        excluded_checks=_excluded_checks(case),
    )


@ingest.parametrize()
@EXAMPLES
def test_ingest_api_conforms_to_its_schema(case: Any, system: System) -> None:
    school = system.create_organisation("school")
    case.call_and_validate(
        app=system.ingest.app,
        base_url=str(system.ingest.base_url),
        headers=_headers(system, case, school["id"]),
        excluded_checks=_excluded_checks(case),
    )


@metrics.parametrize()
@EXAMPLES
def test_metrics_api_conforms_to_its_schema(case: Any, system: System) -> None:
    school = system.create_organisation("school")
    case.call_and_validate(
        app=system.metrics.app,
        base_url=str(system.metrics.base_url),
        headers=_headers(system, case, school["id"]),
        excluded_checks=_excluded_checks(case),
    )
