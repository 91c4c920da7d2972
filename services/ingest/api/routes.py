"""The one place that lists ingest's routers. Every route here requires a token."""

from __future__ import annotations

from fastapi import APIRouter

from services.ingest.api import changes, pupil_matches, returns

api_router = APIRouter(prefix="/v1")
api_router.include_router(returns.router)
api_router.include_router(changes.router)
api_router.include_router(pupil_matches.router)
