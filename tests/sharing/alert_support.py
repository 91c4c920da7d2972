"""Builders for the alert tests: an area with a child, candidates, subscriptions, a receiver.

`Receiver` is a real webhook endpoint: an `http.server` on 127.0.0.1 at a random port,
in a thread, recording every request and answering 500 to the first `fail_first`.
The sharing app must allow local targets (`webhooks.allow_local_targets`) to send to it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.sharing.dispatcher import Dispatcher
from services.sharing.settings import WebhookSettings
from shared.contracts.alerts import AlertRule
from shared.db import create_db_engine
from tests.sharing.care import Authority, authority, record_episode, upn
from tests.support.system import SERVICE_CLIENT_ID, System

RECIPIENT_SCOPES = ["alerts:read", "alerts:subscribe", "audit:read"]
ROLES = {
    "school": "school_system",
    "trust": "trust_system",
    "local_authority": "la_attendance",
    "virtual_school": "virtual_school",
    "social_care": "social_care",
}

ALERT_SETTINGS: dict[str, dict[str, Any]] = {
    "sharing": {
        "webhooks": {
            "dispatcher_enabled": False,
            "allow_local_targets": True,
            "backoff_base_seconds": 10,
            "max_attempts": 5,
        }
    },
    "metrics": {"feed_consumer_enabled": False},
}
"""Tests drive the dispatcher themselves, against a receiver on loopback."""


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the receiver got, and how it answers."""

    url: str
    fail_first: int = 0
    requests: list[Received] = field(default_factory=list)

    @property
    def accepted(self) -> list[Received]:
        """The requests it answered 2xx."""
        return self.requests[self.fail_first :]


@contextmanager
def receiver(fail_first: int = 0) -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 at a random port, for the duration of the block."""
    state = Receiver(url="", fail_first=fail_first)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                state.requests.append(Received(dict(self.headers.items()), body))
                failing = len(state.requests) <= state.fail_first
            self.send_response(500 if failing else 204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/attendance"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def dispatcher(system: System, clock: Clock | None = None, **overrides: Any) -> Dispatcher:
    """A dispatcher on the sharing database, as another process would build it."""
    values = {**ALERT_SETTINGS["sharing"]["webhooks"], **overrides}
    settings = system.settings["sharing"]
    engine = create_db_engine(settings.database.url)
    return Dispatcher(
        engine,
        WebhookSettings(**values),
        settings.sealer(),
        reporter=SERVICE_CLIENT_ID,
        clock=clock or Clock(),
    )


@dataclass
class Area:
    """An authority with a school, a child on its roll with a care episode, and their clients."""

    authority: Authority
    school: dict[str, Any]
    child: str
    headers: dict[str, dict[str, str]]
    """Recipient headers by organisation type."""

    def organisation(self, kind: str) -> dict[str, Any]:
        return {
            "school": self.school,
            "local_authority": self.authority.authority,
            "virtual_school": self.authority.virtual_school,
            "social_care": self.authority.social_care,
        }[kind]


def area(system: System, la_code: str, serial: int, *, category: str | None = "CIN") -> Area:
    """An LA with its social care and virtual school, a school in it, and a child there."""
    auth = authority(system, la_code)
    school = system.create_organisation("school", la_code=la_code)
    child = upn(serial, la_code)
    if category is not None:
        record_episode(
            system,
            auth.social_care_headers,
            child,
            category=category,
            start=date.today() - timedelta(days=60),
        )
    organisations = {
        "school": school,
        "local_authority": auth.authority,
        "virtual_school": auth.virtual_school,
        "social_care": auth.social_care,
    }
    headers = {
        kind: system.headers_for(o["id"], ROLES[kind], RECIPIENT_SCOPES)
        for kind, o in organisations.items()
    }
    return Area(auth, school, child, headers)


def candidate(
    child: str,
    school_urn: str,
    rule: AlertRule = AlertRule.MISSING_EDUCATION,
    *,
    start: str | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    """An alert candidate as metrics would send it (up to today unless `until`)."""
    until = until or date.today()
    since = until - timedelta(days=2)
    return {
        "condition_key": f"{rule}:{school_urn}:{child}:{start or since.isoformat()}",
        "rule": rule.value,
        "school_urn": school_urn,
        "upn": child,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "summary": "not seen at school for 3 consecutive school days",
        "sessions": [
            {"date": (since + timedelta(days=d)).isoformat(), "session": s, "code": "N"}
            for d in range(3)
            for s in ("AM", "PM")
        ],
        "pupil": {
            "legal_forename": "Ada",
            "legal_surname": "Lovelace",
            "date_of_birth": "2014-03-01",
        },
        "detected_at": datetime.now(UTC).isoformat(),
    }


def propose(system: System, *candidates: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/alerts/events as the platform service; asserts 201."""
    response = system.sharing.post(
        "/v1/alerts/events",
        json={"candidates": list(candidates)},
        headers=system.service_headers(["alerts:write"]),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def subscribe(system: System, headers: dict[str, str], url: str, **filters: Any) -> dict[str, Any]:
    """POST /v1/subscriptions; asserts 201 and returns the subscription with its secret."""
    response = system.sharing.post(
        "/v1/subscriptions", json={"url": url, **filters}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def alerts_of(system: System, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every alert the caller can poll."""
    response = system.sharing.get("/v1/alerts", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
