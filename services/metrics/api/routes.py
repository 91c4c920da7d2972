"""The one place that lists metrics' routers. Every route here requires a token."""

from __future__ import annotations

from fastapi import APIRouter

from services.metrics.api import absence, children, early_warnings, feed, pupils, trends

api_router = APIRouter(prefix="/v1")
api_router.include_router(absence.router)
api_router.include_router(trends.router)
api_router.include_router(pupils.router)
api_router.include_router(early_warnings.router)
api_router.include_router(children.router)
api_router.include_router(feed.router)
