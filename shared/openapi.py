"""OpenAPI conventions every service applies: stable operation ids, the token URL."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute


def operation_id(route: APIRoute) -> str:
    """`<tag>-<handler name>`, stable across refactors that keep names."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name}"


def customise_openapi(app: FastAPI, token_url: str) -> None:
    """Give every operation a stable id and point the OAuth2 flow at the real token URL."""
    for route in app.routes:
        if isinstance(route, APIRoute):
            route.operation_id = operation_id(route)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            schemes = schema.get("components", {}).get("securitySchemes", {})
            flow = schemes.get("OAuth2", {}).get("flows", {}).get("clientCredentials")
            if flow is not None:
                flow["tokenUrl"] = token_url
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
