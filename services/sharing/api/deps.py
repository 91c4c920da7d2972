"""Dependencies of sharing's routes, as `Annotated` aliases so handlers read as sentences."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Security
from sqlmodel import Session

from services.sharing.domain.roles import Role
from services.sharing.domain.sealing import Sealer
from services.sharing.settings import SharingSettings
from services.sharing.store.pagination import MAX_LIMIT
from shared.auth import Principal, Scope, authenticate
from shared.db import get_session

SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _settings(request: Request) -> SharingSettings:
    settings: SharingSettings = request.state.settings
    return settings


SettingsDep = Annotated[SharingSettings, Depends(_settings)]


def _sealer(request: Request) -> Sealer:
    sealer: Sealer = request.state.sealer
    return sealer


SealerDep = Annotated[Sealer, Depends(_sealer)]

CanReadDirectory = Annotated[Principal, Security(authenticate, scopes=[Scope.DIRECTORY_READ])]
CanReadPolicy = Annotated[Principal, Security(authenticate, scopes=[Scope.POLICY_READ])]
CanWriteEpisodes = Annotated[Principal, Security(authenticate, scopes=[Scope.SOCIAL_CARE_WRITE])]
CanReadEpisodes = Annotated[Principal, Security(authenticate, scopes=[Scope.SOCIAL_CARE_READ])]
CanGrant = Annotated[Principal, Security(authenticate, scopes=[Scope.AGREEMENTS_WRITE])]
CanReadAgreements = Annotated[Principal, Security(authenticate, scopes=[Scope.AGREEMENTS_READ])]


def _administrator(
    principal: Annotated[Principal, Security(authenticate, scopes=[Scope.DIRECTORY_WRITE])],
) -> Principal:
    # The scope alone is not enough: only the operator's admin clients administer.
    if principal.role != Role.ADMIN:
        raise HTTPException(403, "Only a client with the role admin may change the directory.")
    return principal


CanAdminister = Annotated[Principal, Depends(_administrator)]

CanReadAudit = Annotated[Principal, Security(authenticate, scopes=[Scope.AUDIT_READ])]


def _audit_reporter(
    principal: Annotated[Principal, Security(authenticate, scopes=[Scope.AUDIT_WRITE])],
) -> Principal:
    # Only the platform's own services report reads; nobody else writes the trail.
    if principal.role != Role.SERVICE:
        raise HTTPException(403, "Only a client with the role service may record audit events.")
    return principal


CanRecordAudit = Annotated[Principal, Depends(_audit_reporter)]

CanReadAlerts = Annotated[Principal, Security(authenticate, scopes=[Scope.ALERTS_READ])]


def _subscriber(
    principal: Annotated[Principal, Security(authenticate, scopes=[Scope.ALERTS_SUBSCRIBE])],
) -> Principal:
    # A subscription receives every alert of the organisation; a token acting for one
    # practitioner (RFC 8693) sees only that practitioner's caseload, so it may not.
    if principal.actor is not None:
        raise HTTPException(
            403, "A token acting for a practitioner cannot manage the organisation's webhooks."
        )
    return principal


CanSubscribe = Annotated[Principal, Depends(_subscriber)]


def _alert_reporter(
    principal: Annotated[Principal, Security(authenticate, scopes=[Scope.ALERTS_WRITE])],
) -> Principal:
    # Only the platform's own services (metrics) propose alerts.
    if principal.role != Role.SERVICE:
        raise HTTPException(403, "Only a client with the role service may propose alerts.")
    return principal


CanProposeAlerts = Annotated[Principal, Depends(_alert_reporter)]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")]
Cursor = Annotated[
    str | None, Query(description="The next_cursor of the previous page; omit for the first.")
]
