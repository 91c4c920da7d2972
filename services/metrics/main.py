"""The metrics service: DfE absence measures from a read model of ingest's change feed.

Run it with `attx serve metrics`, or `uvicorn --factory services.metrics.main:create_app`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

import httpx2 as httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from services.metrics.alerts import AlertHook, AlertOptions
from services.metrics.api.errors import STATUS_MAP
from services.metrics.api.routes import api_router
from services.metrics.clients.ingest import IngestFeedClient
from services.metrics.clients.sharing import SharingClient
from services.metrics.clients.sharing_alerts import SharingAlertsClient
from services.metrics.consumer import FeedConsumer
from services.metrics.settings import MetricsSettings
from services.metrics.store import week_columns
from services.metrics.store.models import VERSION_TABLE
from shared.audit import AuditRecorder
from shared.auth import AUDIENCE_METRICS, Scope, TokenVerifier, verifier_from_settings
from shared.db import create_db_engine
from shared.health import health_router
from shared.openapi import customise_openapi
from shared.problems import PROBLEM_RESPONSES, install_problem_handlers
from shared.service_client import ServiceClient

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class State(TypedDict):
    """What the lifespan hands every request (as `request.state`)."""

    settings: MetricsSettings
    engine: Engine
    token_verifier: TokenVerifier
    http: httpx.Client
    sharing: SharingClient
    feed: IngestFeedClient
    consumer: FeedConsumer | None
    alerts: AlertHook | None
    audit_recorder: AuditRecorder


def feed_client(
    settings: MetricsSettings, transport: httpx.BaseTransport | None = None
) -> IngestFeedClient:
    """A client of ingest's change feed with this service's credentials (also for the CLI)."""
    return IngestFeedClient(
        ServiceClient.for_peer(
            settings, base_url=settings.ingest_url, scopes=[Scope.CHANGES_READ], transport=transport
        )
    )


def sharing_client(
    settings: MetricsSettings, transport: httpx.BaseTransport | None = None
) -> SharingClient:
    """A client of the sharing service's policy and directory with this service's credentials."""
    return SharingClient(
        ServiceClient.for_peer(
            settings,
            base_url=settings.sharing_url,
            scopes=[Scope.POLICY_READ, Scope.DIRECTORY_READ],
            transport=transport,
        ),
        policy_cache_seconds=settings.policy_cache_seconds,
        directory_cache_seconds=settings.directory_cache_seconds,
    )


def alert_hook(
    settings: MetricsSettings, transport: httpx.BaseTransport | None = None
) -> AlertHook | None:
    """The alert rules' hook on the feed consumer, posting to sharing; None if disabled."""
    if not settings.alerts.enabled:
        return None
    sender = SharingAlertsClient(
        ServiceClient.for_peer(
            settings,
            base_url=settings.sharing_url,
            scopes=[Scope.ALERTS_WRITE],
            transport=transport,
        )
    )
    a = settings.alerts
    options = AlertOptions(
        thresholds=a.thresholds(),
        lookback_days=a.lookback_days,
        spell_weeks=a.spell_weeks,
        max_age_days=a.max_age_days,
        post_batch=a.post_batch,
    )
    return AlertHook(sender, options)


def create_app(
    settings: MetricsSettings | None = None, *, transport: httpx.BaseTransport | None = None
) -> FastAPI:
    """Build the metrics app; `transport` carries its outgoing HTTP (tests route it in-process)."""
    settings = settings or MetricsSettings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[State]:
        engine = create_db_engine(settings.database.url, echo=settings.database.echo)
        week_columns.enable(engine, settings.week_columns_years)
        http = httpx.Client(transport=transport, timeout=10.0)
        verifier = verifier_from_settings(settings.oauth, audience=AUDIENCE_METRICS, http=http)
        sharing = sharing_client(settings, transport)
        feed = feed_client(settings, transport)
        audit_recorder = AuditRecorder.from_settings(settings, transport, service="metrics")
        alerts = alert_hook(settings, transport)
        consumer = None
        if settings.feed_consumer_enabled:
            consumer = FeedConsumer(
                engine,
                feed,
                interval=settings.feed_poll_interval_seconds,
                limit=settings.feed_page_limit,
                alerts=alerts,
            )
            consumer.start()
        try:
            yield State(
                settings=settings,
                engine=engine,
                token_verifier=verifier,
                http=http,
                sharing=sharing,
                feed=feed,
                consumer=consumer,
                alerts=alerts,
                audit_recorder=audit_recorder,
            )
        finally:
            audit_recorder.close()
            if consumer is not None:
                consumer.stop()
            if alerts is not None:
                alerts.close()
            feed.close()
            sharing.close()
            http.close()
            engine.dispose()

    app = FastAPI(
        title="Attendance Exchange — metrics",
        version="0.1.0",
        summary="DfE absence measures, breakdowns, pupil views, trends and early warning.",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    install_problem_handlers(app, STATUS_MAP)
    app.include_router(health_router(MIGRATIONS_DIR, VERSION_TABLE))
    app.include_router(api_router)
    customise_openapi(app, settings.oauth.token_url)
    return app
