"""The one place that lists sharing's routers. Every /v1 route requires a token."""

from __future__ import annotations

from fastapi import APIRouter

from services.sharing.api import (
    agreements,
    alerts,
    audit,
    clients,
    episodes,
    keys,
    oauth,
    organisations,
    policy,
    reach,
    subscriptions,
)

api_router = APIRouter(prefix="/v1")
api_router.include_router(organisations.router)
api_router.include_router(clients.router)
api_router.include_router(keys.router)
api_router.include_router(policy.router)
api_router.include_router(reach.router)
api_router.include_router(episodes.router)
api_router.include_router(agreements.router)
api_router.include_router(audit.router)
api_router.include_router(alerts.router)
api_router.include_router(subscriptions.router)

public_router = oauth.router
"""The OAuth endpoints and well-known documents, outside /v1 and without a token."""
