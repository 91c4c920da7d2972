"""Dependencies of ingest's routes, as `Annotated` aliases so handlers read as sentences."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from sqlmodel import Session

from services.ingest.clients.metrics import MetricsNotifier
from services.ingest.clients.sharing import SharingClient
from services.ingest.settings import IngestSettings
from shared.auth import Principal, Scope, authenticate
from shared.db import get_session

SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _settings(request: Request) -> IngestSettings:
    settings: IngestSettings = request.state.settings
    return settings


SettingsDep = Annotated[IngestSettings, Depends(_settings)]

CanSubmitReturns = Annotated[Principal, Security(authenticate, scopes=[Scope.RETURNS_WRITE])]
CanReadReturns = Annotated[Principal, Security(authenticate, scopes=[Scope.RETURNS_READ])]
CanReadChanges = Annotated[Principal, Security(authenticate, scopes=[Scope.CHANGES_READ])]


def _sharing(request: Request) -> SharingClient:
    client: SharingClient = request.state.sharing
    return client


def _notifier(request: Request) -> MetricsNotifier:
    notifier: MetricsNotifier = request.state.notifier
    return notifier


SharingDep = Annotated[SharingClient, Depends(_sharing)]
NotifierDep = Annotated[MetricsNotifier, Depends(_notifier)]
