"""Dependencies of metrics' routes, as `Annotated` aliases so handlers read as sentences."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from sqlmodel import Session

from services.metrics.clients.sharing import SharingClient
from services.metrics.consumer import FeedConsumer
from services.metrics.settings import MetricsSettings
from shared.auth import Principal, Scope, authenticate
from shared.db import get_session

SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _settings(request: Request) -> MetricsSettings:
    settings: MetricsSettings = request.state.settings
    return settings


def _sharing(request: Request) -> SharingClient:
    sharing: SharingClient = request.state.sharing
    return sharing


def _consumer(request: Request) -> FeedConsumer | None:
    consumer: FeedConsumer | None = request.state.consumer
    return consumer


SettingsDep = Annotated[MetricsSettings, Depends(_settings)]
SharingDep = Annotated[SharingClient, Depends(_sharing)]
ConsumerDep = Annotated[FeedConsumer | None, Depends(_consumer)]

CanReadMetrics = Annotated[Principal, Security(authenticate, scopes=[Scope.METRICS_READ])]
CanReadAttendance = Annotated[Principal, Security(authenticate, scopes=[Scope.ATTENDANCE_READ])]
CanNotifyFeed = Annotated[Principal, Security(authenticate, scopes=[Scope.FEED_NOTIFY])]
