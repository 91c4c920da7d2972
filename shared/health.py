"""`GET /healthz` (the process is up) and `GET /readyz` (database reachable, migrations current)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from shared.db import migrations_current


class Health(BaseModel):
    status: str
    detail: str | None = None


def health_router(migrations_dir: Path, version_table: str) -> APIRouter:
    """Public health routes for a service whose migrations live in `migrations_dir`."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        summary="Readiness: database reachable and migrated to head",
        responses={503: {"model": Health, "description": "Not ready."}},
    )
    def readyz(request: Request, response: Response) -> Health:
        engine: Engine = request.state.engine
        try:
            current = migrations_current(engine, migrations_dir, version_table)
        except SQLAlchemyError as exc:
            response.status_code = 503
            return Health(status="unavailable", detail=type(exc).__name__)
        if not current:
            response.status_code = 503
            return Health(status="unavailable", detail="migrations pending")
        return Health(status="ok")

    return router
