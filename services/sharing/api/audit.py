"""The audit trail: services record pupil-level reads; those responsible read who looked.

`POST /v1/audit/events` (scope `audit:write`, role service only) appends a batch to the
hash chain. `GET /v1/audit` (scope `audit:read`) lists the entries about the caller's
pupils, newest first: a school its own, a trust its schools' while it ran them, a local
authority its area's schools', a virtual school or children's social care the children
in its policy reach (episodes; a practitioner's token only its caseload) read inside each
child's window wherever they were read, the operator's admin everything. An entry outside
the caller's reach is simply not listed, and within an entry only the children in reach are
shown (an LA's read of ten schools does not tell one school about the other nine's pupils).
There is no endpoint that changes or removes an entry.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from services.sharing.api.deps import (
    CanReadAudit,
    CanRecordAudit,
    Cursor,
    Limit,
    SealerDep,
    SessionDep,
    SettingsDep,
)
from services.sharing.domain.audit import (
    AuditReach,
    Child,
    ChildReach,
    EntryContent,
    RecordedHead,
    SchoolReach,
    audit_reach,
    child_visible,
)
from services.sharing.domain.checkpoints import sign_checkpoint
from services.sharing.domain.errors import InvalidRequest
from services.sharing.domain.keys import private_key
from services.sharing.domain.organisations import OrganisationType
from services.sharing.store.audit_models import AuditEntry
from services.sharing.store.audit_repository import AuditFilters, AuditRepository
from services.sharing.store.care_repository import base_reach
from services.sharing.store.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from services.sharing.store.repository import (
    MembershipRepository,
    OrganisationRepository,
    SigningKeyRepository,
    utcnow,
)
from shared.auth import Principal
from shared.contracts.audit import UPN_SHAPE, AuditChild, AuditEventBatch, AuditReceipt
from shared.identifiers import normalise_upn
from shared.problems import ProblemItem
from shared.types import IsoDate

router = APIRouter(tags=["audit"])

CSV_MEDIA_TYPE = "text/csv"
CSV_COLUMNS = (
    "position",
    "occurred_at",
    "recorded_at",
    "service",
    "endpoint",
    "accessor_organisation_id",
    "accessor_organisation_type",
    "client_id",
    "role",
    "actor",
    "purpose",
    "legal_basis",
    "upn",
    "school_urn",
    "entry_hash",
)


class AuditAccessorPublic(BaseModel):
    """Who read."""

    organisation_id: str
    organisation_type: str
    client_id: str
    role: str
    actor: str | None = Field(description="The practitioner the client acted for, if given.")


class AuditEntryPublic(BaseModel):
    """One recorded read, with the children in the caller's reach."""

    position: int = Field(description="Place in the hash chain.")
    id: str
    occurred_at: datetime
    recorded_at: datetime
    service: str
    endpoint: str
    accessor: AuditAccessorPublic
    purpose: str
    legal_basis: str
    children: list[AuditChild]
    previous_hash: str
    entry_hash: str


class AuditPage(BaseModel):
    """A page of the trail, newest first."""

    items: list[AuditEntryPublic]
    next_cursor: str | None


class AuditCheckpoint(BaseModel):
    """The audit chain's head, signed by this service: keep it elsewhere, check it later."""

    position: int = Field(description="The last entry's position (0: the trail is empty).")
    entry_hash: str = Field(description="The last entry's hash (64 hexadecimal digits).")
    issued_at: datetime
    checkpoint: str = Field(
        description="The same as a compact JWS (ES256, `typ` `audit-checkpoint+jwt`, claims "
        "`iss`, `iat`, `audit_position`, `audit_hash`) signed with a key of "
        "`/.well-known/jwks.json`. `attx audit verify --checkpoint` checks its signature and "
        "that the chain still holds that head: a chain rewritten and rehashed since cannot."
    )


@router.post("/audit/events", status_code=status.HTTP_201_CREATED)
def record_audit_events(
    body: AuditEventBatch, session: SessionDep, reporter: CanRecordAudit
) -> AuditReceipt:
    """Append pupil-level reads to the trail, in order, all or none.

    A UPN is recorded as read even if its check letter is wrong: the trail says what was
    served, and refusing the record would refuse the read.
    """
    recorded_at = datetime.now(UTC)
    contents = [
        EntryContent(
            id=str(uuid.uuid4()),
            recorded_at=recorded_at,
            occurred_at=event.occurred_at.astimezone(UTC),
            service=event.service,
            endpoint=event.endpoint,
            accessor_organisation_id=event.accessor.organisation_id,
            accessor_organisation_type=event.accessor.organisation_type,
            client_id=event.accessor.client_id,
            role=event.accessor.role,
            actor=event.accessor.actor,
            purpose=event.purpose,
            legal_basis=event.legal_basis,
            reported_by=reporter.client_id,
            children=tuple(Child(normalise_upn(c.upn), c.school_urn) for c in event.children),
        )
        for event in body.events
    ]
    entries = AuditRepository(session).append(contents)
    return AuditReceipt(
        recorded=len(entries),
        first_position=entries[0].position,
        last_position=entries[-1].position,
        head_hash=entries[-1].entry_hash,
        recorded_at=recorded_at,
    )


def caller_reach(session: Session, principal: Principal) -> AuditReach:
    """The schools (and windows), or the children (and windows), whose reads this caller
    may see.

    A virtual school's or social care's children are those of its policy reach by its own
    standing (`base_reach`, decided today, with the token's practitioner as actor): the
    children it is responsible for. Agreements are left out on purpose: they let a grantee
    see data, not learn who else read the child.
    """
    organisations = OrganisationRepository(session)
    organisation = (
        organisations.get(principal.organisation_id) if principal.organisation_id else None
    )
    if organisation is None:
        return AuditReach()
    kind = organisation.type
    return audit_reach(
        organisation_type=kind,
        role=principal.role,
        school_urn=organisation.urn,
        trust_memberships=[
            SchoolReach(urn, m.start_date, m.end_date)
            for m, urn in MembershipRepository(session).for_trust_with_urns(organisation.id)
        ]
        if kind == OrganisationType.TRUST
        else (),
        area_urns=organisations.urns_in_area(organisation.la_code)
        if kind == OrganisationType.LOCAL_AUTHORITY and organisation.la_code
        else (),
        child_windows=[
            ChildReach(g.upn, g.from_date, g.to_date)
            for g in base_reach(
                session, organisation, actor=principal.actor, as_of=date.today()
            ).children
        ]
        if kind in (OrganisationType.VIRTUAL_SCHOOL, OrganisationType.SOCIAL_CARE)
        else (),
    )


def _query_problems(
    from_date: date | None, to_date: date | None, upn: str | None, cursor: str | None
) -> tuple[list[ProblemItem], int | None]:
    """Every problem with the query, and the position the cursor continues before."""
    problems: list[ProblemItem] = []
    if from_date is not None and to_date is not None and from_date > to_date:
        problems.append(
            ProblemItem(
                location="query:from",
                code="from_after_to",
                detail=f"from ({from_date}) is after to ({to_date})",
            )
        )
    if upn is not None and not re.fullmatch(UPN_SHAPE, normalise_upn(upn)):
        problems.append(
            ProblemItem(
                location="query:upn", code="invalid_upn", detail="a UPN is 13 letters or digits"
            )
        )
    before: int | None = None
    try:
        key = decode_cursor(cursor)
        before = int(key) if key is not None else None
    except (InvalidRequest, ValueError):
        problems.append(
            ProblemItem(
                location="query:cursor",
                code="invalid_cursor",
                detail="pass back the next_cursor of a previous page unchanged",
            )
        )
    return problems, before


def _public(row: AuditEntry, reach: AuditReach) -> AuditEntryPublic:
    read_on = row.occurred_at.astimezone(UTC).date()
    return AuditEntryPublic(
        position=row.position,
        id=row.id,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        service=row.service,
        endpoint=row.endpoint,
        accessor=AuditAccessorPublic(
            organisation_id=row.accessor_organisation_id,
            organisation_type=row.accessor_organisation_type,
            client_id=row.client_id,
            role=row.role,
            actor=row.actor,
        ),
        purpose=row.purpose,
        legal_basis=row.legal_basis,
        children=[
            AuditChild(upn=c.upn, school_urn=c.school_urn)
            for c in AuditRepository.children(row)
            if child_visible(reach, c, read_on)
        ],
        previous_hash=row.previous_hash,
        entry_hash=row.entry_hash,
    )


def _csv(page: AuditPage) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in page.items:
        for c in e.children:
            writer.writerow(
                [
                    e.position,
                    e.occurred_at.isoformat(),
                    e.recorded_at.isoformat(),
                    e.service,
                    e.endpoint,
                    e.accessor.organisation_id,
                    e.accessor.organisation_type,
                    e.accessor.client_id,
                    e.accessor.role,
                    e.accessor.actor or "",
                    e.purpose,
                    e.legal_basis,
                    c.upn,
                    c.school_urn,
                    e.entry_hash,
                ]
            )
    headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
    if page.next_cursor:
        headers["X-Next-Cursor"] = page.next_cursor
    return Response(out.getvalue(), media_type=CSV_MEDIA_TYPE, headers=headers)


@router.get("/audit/checkpoint")
def audit_checkpoint(
    session: SessionDep, sealer: SealerDep, settings: SettingsDep, _reader: CanReadAudit
) -> AuditCheckpoint:
    """The audit chain's head (every caller's: it names no child), signed by this service."""
    position, digest = AuditRepository(session).head()
    keys = SigningKeyRepository(session, sealer)
    key = private_key(keys.private_jwk(keys.ensure_active()))
    issued_at = utcnow()
    token = sign_checkpoint(
        RecordedHead(position, digest), issuer=settings.oauth.issuer, at=issued_at, key=key
    )
    return AuditCheckpoint(
        position=position, entry_hash=digest, issued_at=issued_at, checkpoint=token
    )


@router.get(
    "/audit",
    response_model=AuditPage,
    responses={
        200: {
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "The page; with `Accept: text/csv`, one CSV row per child read "
            "(the next cursor in the `X-Next-Cursor` header).",
        }
    },
)
def list_audit(
    request: Request,
    session: SessionDep,
    principal: CanReadAudit,
    from_date: Annotated[
        IsoDate | None, Query(alias="from", description="Reads on or after this day (UTC).")
    ] = None,
    to_date: Annotated[
        IsoDate | None, Query(alias="to", description="Reads on or before this day (UTC).")
    ] = None,
    upn: Annotated[
        str | None,
        # Stated in the schema but checked with the other parameters, so that one 422
        # lists every problem of the query.
        Query(
            description="Only reads of this pupil (UPN).",
            json_schema_extra={"pattern": "^[A-Za-z0-9]{13}$"},
        ),
    ] = None,
    accessor_organisation_id: Annotated[
        str | None, Query(max_length=36, description="Only reads by this organisation.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> AuditPage | Response:
    """Who has read the caller's pupils' data: newest first, a page at a time."""
    problems, before = _query_problems(from_date, to_date, upn, cursor)
    if problems:
        raise InvalidRequest(f"The query has {len(problems)} problem(s).", problems)
    reach = caller_reach(session, principal)
    filters = AuditFilters(
        from_date=from_date,
        to_date=to_date,
        upn=normalise_upn(upn) if upn is not None else None,
        accessor_organisation_id=accessor_organisation_id,
    )
    rows = AuditRepository(session).page(reach, filters, before=before, limit=limit)
    page = AuditPage(
        items=[_public(r, reach) for r in rows[:limit]],
        next_cursor=encode_cursor(str(rows[limit - 1].position)) if len(rows) > limit else None,
    )
    if CSV_MEDIA_TYPE in request.headers.get("accept", ""):
        return _csv(page)
    return page
