"""RFC 8693 token exchange for a case-management system acting for one practitioner.

The system (a `social_care` client) presents its own access token as `subject_token`
and names the practitioner as the actor. RFC 8693 lets an actor be named by any token
type; practitioners hold no tokens of this server, so the actor token is the system's
reference for the practitioner, typed `PRACTITIONER_REF_TOKEN_TYPE`. The new token has
the same subject and at most the same scopes, plus `act: {"sub": <reference>}`, and the
policy then limits it to that practitioner's caseload.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from services.sharing.domain.episodes import PRACTITIONER_REF_PATTERN

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
PRACTITIONER_REF_TOKEN_TYPE = "urn:attendance-exchange:params:oauth:token-type:practitioner-ref"


def request_problem(form: Mapping[str, str]) -> str | None:
    """Why the exchange request is malformed (RFC 8693 §2.1), or None."""
    if not form.get("subject_token"):
        return "subject_token is required: the client's own access token"
    if form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
        return f"subject_token_type must be {ACCESS_TOKEN_TYPE}"
    if not form.get("actor_token"):
        return "actor_token is required: the practitioner's reference"
    if form.get("actor_token_type") != PRACTITIONER_REF_TOKEN_TYPE:
        return f"actor_token_type must be {PRACTITIONER_REF_TOKEN_TYPE}"
    if not re.fullmatch(PRACTITIONER_REF_PATTERN, form["actor_token"]):
        return "actor_token is 1-100 letters, digits and . _ : @ -"
    return None


def narrowed_scope(requested: str | None, held: str) -> str | None:
    """The scopes of the new token: the requested ones, all held by the subject token.

    None (invalid_scope) when a requested scope is not held: an exchange never widens.
    """
    held_scopes = held.split()
    if not requested:
        return " ".join(held_scopes)
    wanted = list(dict.fromkeys(requested.split()))
    return " ".join(wanted) if set(wanted) <= set(held_scopes) else None
