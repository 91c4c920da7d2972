"""The authlib grant for RFC 8693 token exchange (authlib 1.x ships none: its rfc8693
package is empty), registered by `authorization.SharingAuthorizationServer`.

The rules are in `domain.token_exchange`; this class checks the subject token against
the server's own published keys, and hands the practitioner to the token generator as
the "user" (`DelegatedSubject`), which puts it in the `act` claim.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749.errors import (
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import BaseGrant
from authlib.oauth2.rfc6749.grants.base import TokenEndpointMixin
from joserfc import jws, jwt
from joserfc.errors import JoseError

from services.sharing.domain.keys import SIGNING_ALG
from services.sharing.domain.roles import Role
from services.sharing.domain.token_exchange import (
    ACCESS_TOKEN_TYPE,
    TOKEN_EXCHANGE_GRANT,
    narrowed_scope,
    request_problem,
)


@dataclass(frozen=True)
class DelegatedSubject:
    """The subject of an exchanged token: still the client, now acting for a practitioner."""

    client_id: str
    practitioner_ref: str
    expires_at: int
    """The subject token's `exp`: the exchanged token must not outlive it."""

    def get_user_id(self) -> str:
        # RFC 8693 §4.1: `sub` stays the subject token's subject; the actor goes in `act`.
        return self.client_id


class TokenExchangeGrant(BaseGrant, TokenEndpointMixin):  # type: ignore[misc]
    """grant_type=urn:ietf:params:oauth:grant-type:token-exchange, for social care clients."""

    GRANT_TYPE = TOKEN_EXCHANGE_GRANT

    def validate_token_request(self) -> None:
        """Authenticate the client, then check the subject token is its own, unexpired token."""
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE) or client.role != Role.SOCIAL_CARE:
            raise UnauthorizedClientError(
                "Only children's social care clients may act for a practitioner."
            )
        form: dict[str, str] = self.request.form
        problem = request_problem(form)
        if problem is not None:
            raise InvalidRequestError(problem)
        claims = self._subject_claims(form["subject_token"])
        # RFC 8693 §2.2.2: an unacceptable subject token answers invalid_request.
        if claims.get("client_id") != client.get_client_id():
            raise InvalidRequestError("subject_token was not issued to this client")
        if "act" in claims:
            raise InvalidRequestError("subject_token already acts for someone")
        scope = narrowed_scope(self.request.payload.scope, str(claims.get("scope", "")))
        if scope is None:
            raise InvalidScopeError("an exchanged token cannot have scopes the subject lacks")
        self.request.client = client
        self.request.user = DelegatedSubject(
            client.get_client_id(), form["actor_token"], claims["exp"]
        )
        self._scope = scope

    def _subject_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jws.extract_compact(token.encode()).headers()
            decoded = jwt.decode(token, self.server.published_keys(), algorithms=[SIGNING_ALG])
        except (JoseError, ValueError, UnicodeError) as exc:
            raise InvalidRequestError(
                "subject_token is not an access token of this server"
            ) from exc
        claims: dict[str, Any] = dict(decoded.claims)
        if header.get("typ", "").lower() != "at+jwt" or claims.get("iss") != self.server.issuer:
            raise InvalidRequestError("subject_token is not an access token of this server")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            raise InvalidRequestError("subject_token has expired")
        return claims

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """The new token, with `issued_token_type` (RFC 8693 §2.2.1) and no refresh token.

        It expires with the subject token at the latest (the generator caps `exp`), so an
        exchange cannot extend a session; `expires_in` says so.
        """
        token: dict[str, Any] = self.generate_token(
            user=self.request.user, scope=self._scope, include_refresh_token=False
        )
        remaining = self.request.user.expires_at - int(time.time())
        token["expires_in"] = max(0, min(token["expires_in"], remaining))
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
