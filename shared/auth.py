"""Access-token verification for every resource server, and the scopes they check.

Tokens are RFC 9068 JWT access tokens issued by the sharing service (or any
standards-compliant issuer a deployment points at). `TokenVerifier` fetches the
issuer's JWKS once, caches it, and refetches — at most once per configured interval —
when a token names a key id it has not seen, so a key rotation does not cause a burst
of 401s. `authenticate` is the FastAPI dependency; services wrap it in named aliases::

    CanSubmitReturns = Annotated[Principal, Security(authenticate, scopes=[Scope.RETURNS_WRITE])]

Failures answer as RFC 6750 says: 401 with `WWW-Authenticate: Bearer error="invalid_token"`
for a missing or bad token, 403 with `error="insufficient_scope"` for a missing scope.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import httpx2 as httpx
from fastapi import Depends, HTTPException, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from shared.settings import OAuthSettings

ALGORITHMS = ["RS256", "ES256"]
ACCESS_TOKEN_TYPE = "at+jwt"


class Scope(StrEnum):
    """Every scope a token can carry; the audience (service) each belongs to is below."""

    RETURNS_WRITE = "returns:write"
    RETURNS_READ = "returns:read"
    ATTENDANCE_READ = "attendance:read"
    METRICS_READ = "metrics:read"
    DIRECTORY_READ = "directory:read"
    DIRECTORY_WRITE = "directory:write"
    AUDIT_READ = "audit:read"
    AUDIT_WRITE = "audit:write"
    CHANGES_READ = "changes:read"
    POLICY_READ = "policy:read"
    FEED_NOTIFY = "feed:notify"
    SOCIAL_CARE_WRITE = "social_care:write"
    SOCIAL_CARE_READ = "social_care:read"
    AGREEMENTS_WRITE = "agreements:write"
    AGREEMENTS_READ = "agreements:read"
    ALERTS_READ = "alerts:read"
    ALERTS_SUBSCRIBE = "alerts:subscribe"
    ALERTS_WRITE = "alerts:write"


SCOPE_DESCRIPTIONS: dict[str, str] = {
    Scope.RETURNS_WRITE: "Submit attendance returns for a school.",
    Scope.RETURNS_READ: "Read receipts and stored marks of returns.",
    Scope.ATTENDANCE_READ: "Read pupil-level attendance the policy allows.",
    Scope.METRICS_READ: "Read absence measures the policy allows.",
    Scope.DIRECTORY_READ: "Read the organisation directory.",
    Scope.DIRECTORY_WRITE: "Administer organisations, relationships and OAuth clients.",
    Scope.AUDIT_READ: "Read the audit trail of accesses to one's own pupils or area.",
    Scope.AUDIT_WRITE: "Service only: record pupil-level reads in the audit trail.",
    Scope.CHANGES_READ: "Service only: read ingest's change feed.",
    Scope.POLICY_READ: "Service only: ask the sharing service for access decisions.",
    Scope.FEED_NOTIFY: "Service only: tell the metrics service that new changes are waiting.",
    Scope.SOCIAL_CARE_WRITE: "Children's social care: record, correct and close episodes.",
    Scope.SOCIAL_CARE_READ: "Read the social-care episodes of one's own area or caseload.",
    Scope.AGREEMENTS_WRITE: "Schools and trusts: grant and revoke data-sharing agreements.",
    Scope.AGREEMENTS_READ: "Read the agreements (and receipts) one is a party to.",
    Scope.ALERTS_READ: "Read (poll) the attendance alerts about one's own children.",
    Scope.ALERTS_SUBSCRIBE: "Subscribe a webhook to attendance alerts; see its deliveries.",
    Scope.ALERTS_WRITE: "Service only: hand alert candidates to the sharing service.",
}

AUDIENCE_INGEST = "attx-ingest"
AUDIENCE_METRICS = "attx-metrics"
AUDIENCE_SHARING = "attx-sharing"

SCOPE_AUDIENCES: dict[str, tuple[str, ...]] = {
    Scope.RETURNS_WRITE: (AUDIENCE_INGEST,),
    Scope.RETURNS_READ: (AUDIENCE_INGEST,),
    Scope.CHANGES_READ: (AUDIENCE_INGEST,),
    Scope.ATTENDANCE_READ: (AUDIENCE_INGEST, AUDIENCE_METRICS),
    Scope.METRICS_READ: (AUDIENCE_METRICS,),
    Scope.DIRECTORY_READ: (AUDIENCE_SHARING,),
    Scope.DIRECTORY_WRITE: (AUDIENCE_SHARING,),
    Scope.AUDIT_READ: (AUDIENCE_SHARING,),
    Scope.AUDIT_WRITE: (AUDIENCE_SHARING,),
    Scope.POLICY_READ: (AUDIENCE_SHARING,),
    Scope.FEED_NOTIFY: (AUDIENCE_METRICS,),
    Scope.SOCIAL_CARE_WRITE: (AUDIENCE_SHARING,),
    Scope.SOCIAL_CARE_READ: (AUDIENCE_SHARING,),
    Scope.AGREEMENTS_WRITE: (AUDIENCE_SHARING,),
    Scope.AGREEMENTS_READ: (AUDIENCE_SHARING,),
    Scope.ALERTS_READ: (AUDIENCE_SHARING,),
    Scope.ALERTS_SUBSCRIBE: (AUDIENCE_SHARING,),
    Scope.ALERTS_WRITE: (AUDIENCE_SHARING,),
}
"""Which services accept a scope. A token's `aud` is the union over its granted scopes."""


def audiences_for(scopes: list[str] | set[str] | frozenset[str]) -> list[str]:
    """The audiences a token carrying these scopes is issued for, in a stable order."""
    found = {aud for s in scopes for aud in SCOPE_AUDIENCES.get(s, ())}
    return sorted(found)


class TokenError(Exception):
    """A token that must be refused with 401."""


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the verified access token says."""

    client_id: str
    subject: str
    scopes: frozenset[str]
    organisation_id: str | None = None
    organisation_type: str | None = None
    role: str | None = None
    actor: str | None = None
    """The practitioner a case-management system acts for (the RFC 8693 `act` claim)."""
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class TokenVerifier:
    """Verifies RFC 9068 access tokens against an issuer's cached JWKS."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        http: httpx.Client,
        refetch_interval: float = 10.0,
        max_age: float = 300.0,
        leeway: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self._http = http
        self._refetch_interval = refetch_interval
        self._max_age = max_age
        self._leeway = leeway
        self._clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _fetch(self) -> KeySet:
        response = self._http.get(self.jwks_url)
        response.raise_for_status()
        keys = KeySet.import_key_set(response.json())
        self._keys = keys
        self._fetched_at = self._clock()
        return keys

    def _keyset(self, kid: str | None, *, force: bool = False) -> KeySet:
        """The cached keys, refetched when `kid` is unknown or `force`, rate-limited."""
        with self._lock:
            keys = self._keys
            known = keys is not None and (kid is None or _has_kid(keys, kid))
            # Refetch after max_age even for a known kid, so a retired key stops verifying.
            fresh = self._clock() - self._fetched_at < self._max_age
            if keys is not None and known and fresh and not force:
                return keys
            if keys is None or self._clock() - self._fetched_at >= self._refetch_interval:
                try:
                    return self._fetch()
                except (httpx.HTTPError, ValueError) as exc:
                    if keys is None:
                        raise TokenError("the issuer's signing keys are unavailable") from exc
            assert keys is not None
            return keys

    def verify(self, token: str) -> Principal:
        """Check signature, type, issuer, audience, expiry; return who is calling."""
        try:
            header = jws.extract_compact(token.encode()).headers()
        except (JoseError, ValueError, UnicodeError) as exc:
            raise TokenError("the token is not a compact JWS") from exc
        if header.get("typ", "").lower() not in (ACCESS_TOKEN_TYPE, "application/at+jwt"):
            raise TokenError("the token is not an RFC 9068 access token (typ at+jwt)")
        kid = header.get("kid")
        keys = self._keyset(kid)
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
        except JoseError:
            # The key may have been rotated under the same kid: refetch once, then give up.
            try:
                decoded = jwt.decode(token, self._keyset(kid, force=True), algorithms=ALGORITHMS)
            except JoseError as exc:
                raise TokenError("the token signature is invalid") from exc
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=self._leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise TokenError(f"the token is not valid here: {exc.description}") from exc
        act = claims.get("act")
        return Principal(
            client_id=str(claims["client_id"]),
            subject=str(claims["sub"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            organisation_id=claims.get("org_id"),
            organisation_type=claims.get("org_type"),
            role=claims.get("role"),
            actor=str(act["sub"]) if isinstance(act, dict) and "sub" in act else None,
            claims=claims,
        )


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(k.kid == kid for k in keys.keys)


oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token", scopes=dict(SCOPE_DESCRIPTIONS)
        )
    ),
    scheme_name="OAuth2",
    description="OAuth 2.0 client credentials; tokens are issued by the sharing service.",
    auto_error=False,
)


def _challenge(error: str, description: str, scope: str | None = None) -> dict[str, str]:
    value = f'Bearer error="{error}", error_description="{description}"'
    if scope:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header value, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """FastAPI dependency: verify the bearer token and the scopes the route requires.

    The verifier is the one the app's lifespan put in its state (`token_verifier`).
    """
    token = bearer_token(authorization)
    if token is None:
        raise HTTPException(
            401, "A bearer access token is required.", headers={"WWW-Authenticate": "Bearer"}
        )
    verifier: TokenVerifier = request.state.token_verifier
    try:
        principal = verifier.verify(token)
    except TokenError as exc:
        raise HTTPException(401, str(exc), headers=_challenge("invalid_token", str(exc))) from exc
    missing = [s for s in security_scopes.scopes if not principal.has_scope(s)]
    if missing:
        needed = " ".join(security_scopes.scopes)
        raise HTTPException(
            403,
            f"The token lacks the scope(s): {', '.join(missing)}.",
            headers=_challenge("insufficient_scope", "missing scope", needed),
        )
    request.state.principal = principal
    return principal


def verifier_from_settings(
    oauth: OAuthSettings, *, audience: str, http: httpx.Client
) -> TokenVerifier:
    """The verifier a service builds in its lifespan from its `oauth` settings."""
    return TokenVerifier(
        issuer=oauth.issuer,
        audience=audience,
        jwks_url=oauth.resolved_jwks_url,
        http=http,
        refetch_interval=oauth.jwks_refetch_interval_seconds,
        max_age=oauth.jwks_max_age_seconds,
        leeway=oauth.leeway_seconds,
    )
