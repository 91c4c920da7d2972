"""The OAuth 2.0 authorization server: client credentials in, RFC 9068 JWT access tokens out.

authlib has no Starlette server integration, so this subclasses its framework-agnostic
`AuthorizationServer`. The token route reads the form asynchronously, then runs this
(synchronous, database-touching) server in the threadpool with a session of its own.

A token carries the standard RFC 9068 claims (iss, sub, aud, exp, iat, jti, client_id,
scope) plus `org_id`, `org_type` and `role`, the names `shared.auth.Principal` reads.
`aud` is every service that accepts one of the granted scopes (`shared.auth.audiences_for`).
A token from RFC 8693 token exchange (`token_exchange.TokenExchangeGrant`) also carries
`act: {"sub": <practitioner reference>}`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.responses import JSONResponse

from services.sharing.domain.keys import SIGNING_ALG, private_key, public_key_set
from services.sharing.domain.sealing import Sealer
from services.sharing.domain.secrets import verify_secret
from services.sharing.domain.token_exchange import TOKEN_EXCHANGE_GRANT
from services.sharing.store.repository import ClientRepository, SigningKeyRepository
from services.sharing.token_exchange import DelegatedSubject, TokenExchangeGrant
from shared.auth import SCOPE_DESCRIPTIONS, audiences_for

GRANT_TYPES = ["client_credentials", TOKEN_EXCHANGE_GRANT]
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):  # type: ignore[misc]
    """A stored client as authlib sees it: plain values, detached from the session."""

    client_id: str
    secret_hash: str
    allowed_scopes: frozenset[str]
    organisation_id: str
    organisation_type: str
    role: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """Requested ∩ allowed; everything allowed when nothing is asked for.

        None (authlib answers invalid_scope) when none of the requested scopes is allowed.
        """
        if not scope:
            return " ".join(sorted(self.allowed_scopes))
        granted = [s for s in dict.fromkeys(scope.split()) if s in self.allowed_scopes]
        return " ".join(granted) if granted else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(client_secret, self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


class SharingClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    """client_credentials with the secret in a Basic header or in the form."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS


class SharingTokenExchangeGrant(TokenExchangeGrant):
    """RFC 8693 token exchange, with the same client authentication methods."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS


class SharingTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """Signs with the active key from the store; adds the organisation claims."""

    def __init__(self, keys: SigningKeyRepository, *, issuer: str, lifetime_seconds: int) -> None:
        super().__init__(
            issuer=issuer,
            alg=SIGNING_ALG,
            expires_generator=lambda _client, _grant_type: lifetime_seconds,
        )
        self._keys = keys
        self._lifetime_seconds = lifetime_seconds

    def get_jwks(self) -> KeySet:
        # A key set of one key makes joserfc put that key's kid in the header.
        active = self._keys.ensure_active()
        return KeySet([private_key(self._keys.private_jwk(active))])

    def get_audiences(self, client: RegisteredClient, user: object, scope: str) -> list[str]:
        return audiences_for(set(scope.split()))

    def get_extra_claims(
        self, client: RegisteredClient, grant_type: str, user: object, scope: str
    ) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "org_id": client.organisation_id,
            "org_type": client.organisation_type,
            "role": client.role,
        }
        if isinstance(user, DelegatedSubject):
            claims["act"] = {"sub": user.practitioner_ref}
            # Overrides the generator's own `exp` (extra claims are applied last).
            claims["exp"] = min(int(time.time()) + self._lifetime_seconds, user.expires_at)
        return claims


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """An authlib request built from a Starlette request whose form was already read."""

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        form: dict[str, str],
        query: dict[str, str],
    ) -> None:
        super().__init__(method=method, uri=url, headers=headers)
        self._form = form
        self._query = query
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return self._query


class SharingAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """The authorization server for one token request, over one database session."""

    def __init__(
        self, session: Session, sealer: Sealer, *, issuer: str, lifetime_seconds: int
    ) -> None:
        super().__init__(scopes_supported=sorted(SCOPE_DESCRIPTIONS))
        self._session = session
        self._keys = SigningKeyRepository(session, sealer)
        self.issuer = issuer
        self.register_grant(SharingClientCredentialsGrant)
        self.register_grant(SharingTokenExchangeGrant)
        self.register_token_generator(
            "default",
            SharingTokenGenerator(self._keys, issuer=issuer, lifetime_seconds=lifetime_seconds),
        )

    def query_client(self, client_id: str) -> RegisteredClient | None:
        """The client, unless unknown or revoked (both answer invalid_client)."""
        if "\x00" in client_id:
            return None  # no client id holds one, and PostgreSQL cannot compare it
        found = ClientRepository(self._session).with_organisation(client_id)
        if found is None or found[0].revoked_at is not None:
            return None
        client, organisation = found
        return RegisteredClient(
            client_id=client.client_id,
            secret_hash=client.secret_hash,
            allowed_scopes=frozenset(client.scopes.split()),
            organisation_id=organisation.id,
            organisation_type=organisation.type,
            role=client.role,
        )

    def published_keys(self) -> KeySet:
        """The public keys this server's tokens verify with (for token exchange)."""
        return public_key_set(self._keys.private_jwks(self._keys.published()))

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """JWT access tokens are self-contained; nothing is stored."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal receivers here."""

    def create_oauth2_request(self, request: StarletteOAuth2Request) -> StarletteOAuth2Request:
        return request

    def handle_response(
        self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]
    ) -> JSONResponse:
        response_headers = dict(headers)
        if body.get("error") == "invalid_client":
            # authlib answers 400 when the secret came in the form; one status for every
            # failed client authentication is simpler for clients (RFC 6749 §5.2 allows it).
            status = 401
            response_headers.setdefault("WWW-Authenticate", 'Basic realm="token"')
        return JSONResponse(body, status_code=status, headers=response_headers)


def issue_token(
    engine: Engine,
    sealer: Sealer,
    request: StarletteOAuth2Request,
    *,
    issuer: str,
    lifetime_seconds: int,
) -> JSONResponse:
    """Answer one token request (RFC 6749 §5.1 success or §5.2 error), in its own transaction."""
    with Session(engine, expire_on_commit=False) as session:
        server = SharingAuthorizationServer(
            session, sealer, issuer=issuer, lifetime_seconds=lifetime_seconds
        )
        response: JSONResponse = server.create_token_response(request)
        session.commit()
        return response
