"""The ingest service: school attendance returns in, a change feed out.

Run it with `attx serve ingest`, or `uvicorn --factory services.ingest.main:create_app`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

import httpx2 as httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from services.ingest.api.errors import STATUS_MAP
from services.ingest.api.returns import add_return_body_schemas
from services.ingest.api.routes import api_router
from services.ingest.clients.metrics import MetricsNotifier
from services.ingest.clients.sharing import SharingClient
from services.ingest.settings import IngestSettings
from services.ingest.store.models import VERSION_TABLE
from shared.audit import AuditRecorder
from shared.auth import AUDIENCE_INGEST, TokenVerifier, verifier_from_settings
from shared.db import create_db_engine
from shared.health import health_router
from shared.openapi import customise_openapi
from shared.problems import PROBLEM_RESPONSES, install_problem_handlers

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class State(TypedDict):
    """What the lifespan hands every request (as `request.state`)."""

    settings: IngestSettings
    engine: Engine
    token_verifier: TokenVerifier
    http: httpx.Client
    sharing: SharingClient
    notifier: MetricsNotifier
    audit_recorder: AuditRecorder


def create_app(
    settings: IngestSettings | None = None, *, transport: httpx.BaseTransport | None = None
) -> FastAPI:
    """Build the ingest app; `transport` carries all its outgoing HTTP (tests: in-process)."""
    settings = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[State]:
        engine = create_db_engine(settings.database.url, echo=settings.database.echo)
        http = httpx.Client(transport=transport, timeout=10.0)
        verifier = verifier_from_settings(settings.oauth, audience=AUDIENCE_INGEST, http=http)
        sharing = SharingClient.from_settings(settings, transport)
        notifier = MetricsNotifier.from_settings(settings, transport)
        audit_recorder = AuditRecorder.from_settings(settings, transport, service="ingest")
        try:
            yield State(
                settings=settings,
                engine=engine,
                token_verifier=verifier,
                http=http,
                sharing=sharing,
                notifier=notifier,
                audit_recorder=audit_recorder,
            )
        finally:
            audit_recorder.close()
            notifier.close()
            sharing.close()
            http.close()
            engine.dispose()

    app = FastAPI(
        title="Attendance Exchange — ingest",
        version="0.1.0",
        summary="School attendance returns (JSON, CSV, CTF XML) with amendment history.",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    install_problem_handlers(app, STATUS_MAP)
    app.include_router(health_router(MIGRATIONS_DIR, VERSION_TABLE))
    app.include_router(api_router)
    customise_openapi(app, settings.oauth.token_url)
    add_return_body_schemas(app)
    return app
