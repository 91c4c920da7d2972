"""The sharing service: the OAuth 2.0 authorization server, the organisation directory and
the access policy the other services ask about.

Run it with `attx serve sharing`, or `uvicorn --factory services.sharing.main:create_app`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

import httpx2 as httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from services.sharing.api.errors import STATUS_MAP
from services.sharing.api.oauth import published_jwks
from services.sharing.api.routes import api_router, public_router
from services.sharing.clients.ingest import IngestClient
from services.sharing.dispatcher import Dispatcher
from services.sharing.domain.sealing import Sealer
from services.sharing.settings import SharingSettings
from services.sharing.store.models import VERSION_TABLE
from services.sharing.store.repository import SigningKeyRepository
from services.sharing.store.sealing import reseal_secrets
from shared.auth import AUDIENCE_SHARING, TokenVerifier, verifier_from_settings
from shared.db import create_db_engine
from shared.health import health_router
from shared.openapi import customise_openapi
from shared.problems import PROBLEM_RESPONSES, install_problem_handlers

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class State(TypedDict):
    """What the lifespan hands every request (as `request.state`)."""

    settings: SharingSettings
    engine: Engine
    sealer: Sealer
    token_verifier: TokenVerifier
    ingest: IngestClient
    dispatcher: Dispatcher | None


class LocalJwksTransport(httpx.BaseTransport):
    """Serves this service's own JWKS from its database to its own token verifier.

    The sharing service checks the tokens presented to its /v1 API exactly as the other
    services do (`shared.auth.TokenVerifier`), but reads its keys without a network
    round trip to itself.
    """

    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self._engine = engine
        self._sealer = sealer

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.dumps(published_jwks(self._engine, self._sealer)).encode()
        return httpx.Response(
            200, headers={"content-type": "application/json"}, content=body, request=request
        )


def prepare_secrets(engine: Engine, sealer: Sealer) -> None:
    """Seal under the first sealing key whatever is not yet (values from before sealing,
    or sealed under a key being rotated out), then create the first signing key on a
    fresh database, so tokens can be issued at once."""
    with Session(engine) as session:
        reseal_secrets(session, sealer)
        SigningKeyRepository(session, sealer).ensure_active()
        session.commit()


def create_app(
    settings: SharingSettings | None = None, *, transport: httpx.BaseTransport | None = None
) -> FastAPI:
    """Build the sharing app.

    `transport` carries its calls to ingest (pupil matching for care episodes); it
    verifies its own tokens against its own keys (`LocalJwksTransport`).
    """
    settings = settings or SharingSettings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[State]:
        engine = create_db_engine(settings.database.url, echo=settings.database.echo)
        sealer = settings.sealer()
        prepare_secrets(engine, sealer)
        http = httpx.Client(transport=LocalJwksTransport(engine, sealer))
        verifier = verifier_from_settings(settings.oauth, audience=AUDIENCE_SHARING, http=http)
        ingest = IngestClient.from_settings(settings, transport)
        dispatcher = None
        if settings.webhooks.dispatcher_enabled:
            # Webhooks go to the subscribers' own servers: plain HTTP, never `transport`.
            dispatcher = Dispatcher(
                engine, settings.webhooks, sealer, reporter=settings.service_client.client_id
            )
            dispatcher.start()
        try:
            yield State(
                settings=settings,
                engine=engine,
                sealer=sealer,
                token_verifier=verifier,
                ingest=ingest,
                dispatcher=dispatcher,
            )
        finally:
            if dispatcher is not None:
                dispatcher.stop()
            ingest.close()
            http.close()
            engine.dispose()

    app = FastAPI(
        title="Attendance Exchange — sharing",
        version="0.1.0",
        summary="OAuth 2.0 authorization server, organisation directory and access policy.",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    install_problem_handlers(app, STATUS_MAP)
    app.include_router(health_router(MIGRATIONS_DIR, VERSION_TABLE))
    app.include_router(public_router)
    app.include_router(api_router)
    customise_openapi(app, settings.oauth.token_url)
    return app
