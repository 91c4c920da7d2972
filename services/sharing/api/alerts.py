"""Attendance alerts: metrics proposes them; each organisation allowed to see the child gets one.

`POST /v1/alerts/events` (scope `alerts:write`, role service only) takes the conditions
metrics found, stores one alert per recipient the access policy allows (a condition is
stored once per recipient) and queues its webhook deliveries in the same transaction.
`GET /v1/alerts` (scope `alerts:read`) is the polling feed of the caller's own alerts,
oldest first after a cursor; `GET /v1/alerts/{id}` one of them. A token acting for a
practitioner (RFC 8693) reads only the alerts of that practitioner's caseload. Every
read of alerts is put on the audit trail, as every webhook delivery is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from services.sharing.api.deps import (
    CanProposeAlerts,
    CanReadAlerts,
    Cursor,
    Limit,
    SessionDep,
)
from services.sharing.domain.audit import Child, EntryContent
from services.sharing.domain.errors import InvalidRequest, NotFound
from services.sharing.store.alert_models import Alert
from services.sharing.store.alert_repository import AlertRepository, to_public
from services.sharing.store.audit_repository import AuditRepository
from services.sharing.store.care_repository import base_reach
from services.sharing.store.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from services.sharing.store.repository import OrganisationRepository
from shared.auth import Principal
from shared.contracts.alerts import (
    AlertCandidate,
    AlertCandidateBatch,
    AlertIntake,
    AlertPublic,
    AlertRule,
)
from shared.identifiers import check_upn, normalise_upn
from shared.problems import ProblemItem

router = APIRouter(tags=["alerts"])


class AlertPage(BaseModel):
    """A page of the caller's alerts, oldest first."""

    items: list[AlertPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to read on; when the page is empty it is the cursor "
        "you passed, so a poller keeps its place."
    )
    has_more: bool


def _candidate_problems(candidates: Sequence[AlertCandidate]) -> list[ProblemItem]:
    problems = []
    for index, candidate in enumerate(candidates):
        checked = check_upn(candidate.upn)
        if not checked.valid:
            problems.append(
                ProblemItem(
                    location=f"/candidates/{index}/upn",
                    code="invalid_upn",
                    detail=checked.problem or "not a UPN",
                )
            )
        if candidate.since > candidate.until:
            problems.append(
                ProblemItem(
                    location=f"/candidates/{index}/since",
                    code="since_after_until",
                    detail=f"since ({candidate.since}) is after until ({candidate.until})",
                )
            )
    return problems


@router.post("/alerts/events", status_code=status.HTTP_201_CREATED)
def record_alert_candidates(
    body: AlertCandidateBatch,
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    _service: CanProposeAlerts,
) -> AlertIntake:
    """Store each condition for every organisation allowed to see the child; queue webhooks.

    A condition key already stored for a recipient is not stored again, so sending a
    batch twice alerts nobody twice. All or nothing: every bad candidate is reported.
    """
    problems = _candidate_problems(body.candidates)
    if problems:
        raise InvalidRequest(f"The batch has {len(problems)} problem(s).", problems)
    unique = {
        c.condition_key: c.model_copy(update={"upn": normalise_upn(c.upn)}) for c in body.candidates
    }
    intake = AlertRepository(session).intake(list(unique.values()), now=datetime.now(UTC))
    intake = intake.model_copy(update={"received": len(body.candidates)})
    dispatcher = getattr(request.state, "dispatcher", None)
    if dispatcher is not None and intake.deliveries_created:
        # After the response, i.e. after the commit: the deliveries are there to claim.
        background.add_task(dispatcher.wake)
    return intake


def _caseload(session: Session, principal: Principal) -> list[str] | None:
    """The children of the practitioner the token acts for (their open episodes), or
    None when it acts for nobody (the organisation's alerts are all its own)."""
    if principal.actor is None or principal.organisation_id is None:
        return None
    organisation = OrganisationRepository(session).get(principal.organisation_id)
    if organisation is None:
        return []
    decision = base_reach(session, organisation, actor=principal.actor, as_of=date.today())
    return [g.upn for g in decision.children]


def _audit_read(
    session: Session, principal: Principal, rows: Sequence[Alert], endpoint: str
) -> None:
    """Put the alerts the caller has just read on the audit trail, one entry per basis."""
    groups: dict[tuple[str, str], list[Child]] = {}
    for row in rows:
        groups.setdefault((row.purpose, row.legal_basis), []).append(
            Child(upn=row.upn, school_urn=row.school_urn)
        )
    now = datetime.now(UTC)
    AuditRepository(session).append(
        [
            EntryContent(
                id=str(uuid.uuid4()),
                recorded_at=now,
                occurred_at=now,
                service="sharing",
                endpoint=endpoint,
                accessor_organisation_id=principal.organisation_id or "",
                accessor_organisation_type=principal.organisation_type or "",
                client_id=principal.client_id,
                role=principal.role or "",
                actor=principal.actor,
                purpose=purpose,
                legal_basis=legal_basis,
                reported_by="sharing",
                children=tuple(children),
            )
            for (purpose, legal_basis), children in groups.items()
        ]
    )


@router.get("/alerts")
def list_alerts(
    session: SessionDep,
    principal: CanReadAlerts,
    cursor: Cursor = None,
    rule: Annotated[AlertRule | None, Query(description="Only alerts of this rule.")] = None,
    upn: Annotated[str | None, Query(max_length=20, description="Only this pupil.")] = None,
    limit: Limit = DEFAULT_LIMIT,
) -> AlertPage:
    """The caller's alerts after the cursor, oldest first: poll with the last next_cursor."""
    problems: list[ProblemItem] = []
    after: int | None = None
    try:
        key = decode_cursor(cursor)
        after = int(key) if key is not None else None
    except (InvalidRequest, ValueError):
        problems.append(
            ProblemItem(
                location="query:cursor",
                code="invalid_cursor",
                detail="pass back the next_cursor of a previous page unchanged",
            )
        )
    if upn is not None and not check_upn(upn).valid:
        problems.append(
            ProblemItem(
                location="query:upn", code="invalid_upn", detail=check_upn(upn).problem or ""
            )
        )
    if problems:
        raise InvalidRequest(f"The query has {len(problems)} problem(s).", problems)
    if principal.organisation_id is None:
        return AlertPage(items=[], next_cursor=cursor, has_more=False)
    rows = AlertRepository(session).page(
        principal.organisation_id,
        after=after,
        limit=limit,
        rule=rule.value if rule else None,
        upn=normalise_upn(upn) if upn else None,
        upns=_caseload(session, principal),
    )
    page = list(rows[:limit])
    if page:
        _audit_read(session, principal, page, "GET /v1/alerts")
    return AlertPage(
        items=[to_public(r) for r in page],
        next_cursor=encode_cursor(str(page[-1].position)) if page else cursor,
        has_more=len(rows) > limit,
    )


@router.get("/alerts/{alert_id}")
def get_alert(alert_id: str, session: SessionDep, principal: CanReadAlerts) -> AlertPublic:
    """One of the caller's alerts; another organisation's is not found, nor, acting for a
    practitioner, one about a child not on the caseload."""
    row = (
        AlertRepository(session).require(principal.organisation_id, alert_id)
        if principal.organisation_id
        else None
    )
    caseload = _caseload(session, principal)
    if row is None or (caseload is not None and row.upn not in caseload):
        raise NotFound(f"No alert {alert_id}.")
    _audit_read(session, principal, [row], "GET /v1/alerts/{alert_id}")
    return to_public(row)
