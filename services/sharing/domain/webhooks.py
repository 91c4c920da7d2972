"""Webhook rules: secrets, Standard Webhooks signatures, back-off, and which targets are safe.

Signatures follow Standard Webhooks (standardwebhooks.com), via the `standardwebhooks`
library: each request carries `webhook-id` (the delivery id, the same on every retry, so
a receiver can drop duplicates), `webhook-timestamp` (Unix seconds of the attempt) and
`webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under the
subscription's secret (`whsec_` + base64 of 32 random bytes). While a secret is being
rotated the header carries two signatures, space-separated: the new secret's and the
old's, until the old one expires, so a receiver can switch at its own pace.

A target must not turn the service into a request-forgery tool: `https` only, no user
info, and every address the host resolves to must be a public unicast address (no
loopback, private, link-local, shared, multicast, reserved or unspecified ranges,
including IPv4 inside IPv6). Development may allow local targets explicitly.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from shared.problems import ProblemItem

SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2000


def new_secret() -> str:
    """A fresh signing secret, `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_header(
    signing_secrets: Sequence[str], msg_id: str, timestamp: datetime, body: str
) -> str:
    """The `webhook-signature` value: one `v1,...` signature per secret, space-separated."""
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body)
        for secret in signing_secrets
    )


def backoff_seconds(attempts: int, *, base: float, cap: float) -> float:
    """The wait after the `attempts`-th failure: base, 2 base, 4 base, ... up to `cap`."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Target:
    """A webhook URL split into what the checks need."""

    scheme: str
    host: str
    port: int


def parse_target(url: str) -> tuple[Target | None, list[ProblemItem]]:
    """The URL's scheme, host and port, or every reason it is not a usable URL."""
    problems: list[ProblemItem] = []

    def problem(code: str, detail: str) -> None:
        problems.append(ProblemItem(location="/url", code=code, detail=detail))

    if len(url) > MAX_URL_LENGTH:
        problem("too_long", f"a webhook URL has at most {MAX_URL_LENGTH} characters")
        return None, problems
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        problem("invalid_url", "not a URL")
        return None, problems
    if parts.scheme not in ("http", "https"):
        problem("unsupported_scheme", "a webhook URL is https://")
    if parts.username is not None or parts.password is not None:
        problem("credentials_in_url", "a webhook URL carries no user name or password")
    if not parts.hostname:
        problem("missing_host", "a webhook URL names a host")
    if parts.fragment:
        problem("fragment_in_url", "a webhook URL has no #fragment")
    if problems or parts.hostname is None:
        return None, problems
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default), problems


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not _is_public(str(embedded)):
            return False
    return bool(ip.is_global) and not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def target_problems(
    target: Target, addresses: Sequence[str], *, allow_local: bool
) -> list[ProblemItem]:
    """Every reason not to send to `target`, resolved to `addresses` (all must be public)."""
    problems: list[ProblemItem] = []
    if allow_local:
        if not addresses:
            problems.append(
                ProblemItem(location="/url", code="unresolvable_host", detail=target.host)
            )
        return problems
    if target.scheme != "https":
        problems.append(ProblemItem(location="/url", code="https_required", detail="use https://"))
    if not addresses:
        problems.append(
            ProblemItem(
                location="/url",
                code="unresolvable_host",
                detail=f"{target.host} does not resolve",
            )
        )
    for address in addresses:
        if not _is_public(address):
            problems.append(
                ProblemItem(
                    location="/url",
                    code="forbidden_address",
                    detail=f"{target.host} resolves to {address}, which is not a public address",
                )
            )
    return problems
