"""The token endpoint, the JWKS and RFC 8414 metadata (all public: they need no token).

Token errors answer in RFC 6749 §5.2's JSON shape, not problem+json: OAuth clients
(authlib, every MIS vendor's library) parse that shape.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlmodel import Session

from services.sharing.authorization import (
    AUTH_METHODS,
    GRANT_TYPES,
    StarletteOAuth2Request,
    issue_token,
)
from services.sharing.domain.keys import public_key_set
from services.sharing.domain.sealing import Sealer
from services.sharing.schemas import AuthorizationServerMetadata
from services.sharing.settings import SharingSettings
from services.sharing.store.repository import SigningKeyRepository
from shared.auth import SCOPE_DESCRIPTIONS

router = APIRouter(tags=["oauth"])

TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "An access token (RFC 6749 §5.1)."},
    400: {"description": "invalid_request, invalid_scope, unsupported_grant_type (§5.2)."},
    401: {"description": "invalid_client: unknown, revoked or wrong secret (§5.2)."},
}


@router.post(
    "/oauth/token",
    summary="Issue an access token (client credentials, or RFC 8693 token exchange)",
    responses=TOKEN_RESPONSES,
    response_class=JSONResponse,
)
async def token(request: Request) -> JSONResponse:
    """client_credentials grant; authenticate with client_secret_basic or client_secret_post.

    The token is an RFC 9068 JWT whose `scope` is the requested scopes the client is
    allowed (all its scopes when none is requested).

    A children's social care client may also exchange its own token for one acting for a
    practitioner (RFC 8693): grant_type urn:ietf:params:oauth:grant-type:token-exchange,
    subject_token (its access token, subject_token_type
    urn:ietf:params:oauth:token-type:access_token), actor_token (the practitioner's
    reference, actor_token_type
    urn:attendance-exchange:params:oauth:token-type:practitioner-ref). The new token
    carries `act: {"sub": <reference>}` and at most the subject token's scopes, and
    expires with the subject token at the latest.
    """
    settings: SharingSettings = request.state.settings
    url = request.url
    if url.scheme == "http" and settings.allow_plain_http_token_requests:
        # authlib refuses plain http except on loopback; the deployment vouches for its network.
        url = url.replace(scheme="https")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        oauth_request = StarletteOAuth2Request(
            request.method, str(url), request.headers, form, dict(request.query_params)
        )
    except InsecureTransportError:
        return JSONResponse(
            {"error": "invalid_request", "error_description": "the token endpoint requires https"},
            status_code=400,
        )
    engine: Engine = request.state.engine
    return await run_in_threadpool(
        issue_token,
        engine,
        request.state.sealer,
        oauth_request,
        issuer=settings.oauth.issuer,
        lifetime_seconds=settings.access_token_lifetime_seconds,
    )


def published_jwks(engine: Engine, sealer: Sealer) -> dict[str, Any]:
    """The public keys tokens may be signed with: the active key and not-yet-retired ones."""
    with Session(engine) as session:
        keys = SigningKeyRepository(session, sealer)
        return dict(public_key_set(keys.private_jwks(keys.published())).as_dict(private=False))


@router.get("/.well-known/jwks.json", summary="The token-signing public keys (RFC 7517)")
def jwks(request: Request) -> dict[str, Any]:
    """Every key a currently valid token may be signed with."""
    return published_jwks(request.state.engine, request.state.sealer)


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414)",
)
def metadata(request: Request) -> AuthorizationServerMetadata:
    """Where to get tokens and keys, and what this server supports."""
    settings: SharingSettings = request.state.settings
    issuer = settings.oauth.issuer.rstrip("/")
    return AuthorizationServerMetadata(
        issuer=settings.oauth.issuer,
        token_endpoint=f"{issuer}/oauth/token",
        jwks_uri=f"{issuer}/.well-known/jwks.json",
        grant_types_supported=GRANT_TYPES,
        token_endpoint_auth_methods_supported=AUTH_METHODS,
        scopes_supported=sorted(SCOPE_DESCRIPTIONS),
        response_types_supported=[],
    )
