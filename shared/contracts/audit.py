"""The audit trail's payloads: what a service reports after a pupil-level read.

A service that has just served pupil-level data POSTs an `AuditEventBatch` to the sharing
service (`POST /v1/audit/events`, scope `audit:write`, service clients only). Each event
says who read (the organisation, its client, the practitioner it acted for), which
children (each UPN with the school it was read at), through which endpoint, for what
purpose and on what legal basis, and when.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from shared.identifiers import URN_PATTERN

UPN_SHAPE = r"^[A-Z0-9]{13}$"
MAX_EVENTS_PER_BATCH = 500
MAX_CHILDREN_PER_EVENT = 20_000
"""A metrics pupil list of a large authority fits in one event."""


class Purpose(StrEnum):
    """Why pupil-level data was read; sent by the caller as the `X-Purpose` header."""

    REGISTER_KEEPING = "register_keeping"
    """A school (or its trust) keeping and checking its own registers."""
    ATTENDANCE_SUPPORT = "attendance_support"
    """Targeting support for a pupil whose attendance is falling (school, trust or LA)."""
    MISSING_EDUCATION = "missing_education"
    """Finding a child who may be missing education (LA)."""
    LOOKED_AFTER_EDUCATION = "looked_after_education"
    """A virtual school promoting the education of a child looked after or with a social worker."""
    SAFEGUARDING = "safeguarding"
    """Children's social care acting on a child in need or on a plan."""
    STATISTICS = "statistics"
    """Producing statistics; normally aggregates only, never pupil-level."""
    OPERATIONS = "operations"
    """The operator running or supporting the platform."""


class AuditChild(BaseModel):
    """One child whose data was read, with the school it was read at."""

    upn: str = Field(
        pattern=UPN_SHAPE,
        description="The pupil's UPN as served (upper case); its check letter is not checked "
        "here, since the trail records what was read, right or wrong.",
    )
    school_urn: str = Field(pattern=URN_PATTERN, description="The school's URN.")


class AuditAccessor(BaseModel):
    """Who read: as the verified access token of the request said."""

    organisation_id: str = Field(min_length=1, max_length=36)
    organisation_type: str = Field(min_length=1, max_length=32)
    client_id: str = Field(min_length=1, max_length=64)
    role: str = Field(min_length=1, max_length=32)
    actor: str | None = Field(
        default=None,
        max_length=200,
        description="The practitioner a case-management system acted for (RFC 8693 `act`).",
    )


class AuditEventCreate(BaseModel):
    """One pupil-level read, as the service that served it reports it."""

    occurred_at: AwareDatetime = Field(description="When the read was served.")
    service: str = Field(min_length=1, max_length=32, description="ingest, metrics, ...")
    endpoint: str = Field(
        min_length=1,
        max_length=200,
        description="Method and route template, e.g. GET /v1/pupils/{upn}/attendance.",
    )
    accessor: AuditAccessor
    purpose: Purpose
    legal_basis: str = Field(min_length=1, max_length=300)
    children: list[AuditChild] = Field(min_length=1, max_length=MAX_CHILDREN_PER_EVENT)


class AuditEventBatch(BaseModel):
    """Events to append to the trail, in order, all or none."""

    events: list[AuditEventCreate] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)


class AuditReceipt(BaseModel):
    """Where the batch went in the chain."""

    recorded: int = Field(description="How many entries were appended.")
    first_position: int
    last_position: int
    head_hash: str = Field(description="The entry hash of the last appended entry.")
    recorded_at: datetime
