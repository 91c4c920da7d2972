"""Builders for audit tests: valid UPNs, entries as stored, events as a service reports
them, and reading back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from stdnum.gb.upn import calc_check_digit

from services.sharing.domain.audit import Child, EntryContent
from shared.db import create_db_engine
from tests.support.system import SERVICE_CLIENT_ID, System


def upn(serial: int, la: str = "202") -> str:
    """A valid permanent UPN."""
    body = f"{la}4001{24:02d}{serial:03d}"
    return calc_check_digit(body) + body


def with_wrong_check_letter(valid: str) -> str:
    """The UPN with another check letter, so it fails the check."""
    return ("B" if valid[0] == "A" else "A") + valid[1:]


def entry_content(serial: int, child_upn: str | None = None) -> EntryContent:
    """A read of one child (a valid UPN unless given) by a school's system, now, as
    the trail stores it."""
    now = datetime.now(UTC)
    return EntryContent(
        id=str(uuid.uuid4()),
        recorded_at=now,
        occurred_at=now,
        service="ingest",
        endpoint="GET /v1/schools/{urn}/pupils/{upn}/marks",
        accessor_organisation_id="org",
        accessor_organisation_type="school",
        client_id="client",
        role="school_system",
        actor=None,
        purpose="register_keeping",
        legal_basis="UK GDPR Art. 6(1)(e) public task",
        reported_by="attx-service",
        children=(Child(upn=child_upn or upn(serial), school_urn="100001"),),
    )


def event(
    children: list[tuple[str, str]],
    *,
    accessor_id: str = "org-reader",
    accessor_type: str = "local_authority",
    role: str = "la_attendance",
    occurred_at: datetime | None = None,
    actor: str | None = None,
    endpoint: str = "GET /v1/pupils",
) -> dict[str, Any]:
    """One read event as `shared.audit.AuditRecorder` would send it."""
    return {
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "service": "metrics",
        "endpoint": endpoint,
        "accessor": {
            "organisation_id": accessor_id,
            "organisation_type": accessor_type,
            "client_id": f"client-of-{accessor_id}",
            "role": role,
            "actor": actor,
        },
        "purpose": "attendance_support",
        "legal_basis": "UK GDPR Art. 6(1)(e) public task",
        "children": [{"upn": u, "school_urn": s} for u, s in children],
    }


def record(system: System, *events: dict[str, Any]) -> dict[str, Any]:
    """POST the events as the platform's service client; they must be accepted."""
    response = system.sharing.post(
        "/v1/audit/events",
        json={"events": list(events)},
        headers=system.service_headers(["audit:write"]),
    )
    assert response.status_code == 201, response.text
    receipt: dict[str, Any] = response.json()
    return receipt


def audit_headers(system: System, organisation: dict[str, Any]) -> dict[str, str]:
    """A client of the organisation, in its role, holding audit:read."""
    role = {
        "school": "school_system",
        "trust": "trust_system",
        "local_authority": "la_attendance",
        "virtual_school": "virtual_school",
        "social_care": "social_care",
    }[organisation["type"]]
    return system.headers_for(organisation["id"], role, ["audit:read"])


def read_audit(system: System, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every entry the caller may read (one page of up to 500)."""
    response = system.sharing.get("/v1/audit", params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def withdraw_audit_write(system: System) -> None:
    """The platform's service client loses audit:write, so every record is refused."""
    engine = create_db_engine(system.settings["sharing"].database.url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE oauth_client SET scopes = REPLACE(scopes, 'audit:write', '') "
                "WHERE client_id = :client_id"
            ),
            {"client_id": SERVICE_CLIENT_ID},
        )
    engine.dispose()
