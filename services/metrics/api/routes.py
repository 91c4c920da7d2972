"""The one place that lists metrics' routers. Every route here requires a token."""

from __future__ import annotations

from fastapi import APIRouter

api_router = APIRouter(prefix="/v1")
