"""The webhook dispatcher: delivers the outbox (`webhook_delivery`) at least once.

An alert and its deliveries commit together (`store.alert_repository`), so nothing can
be lost between the commit and the HTTP call. `Dispatcher.run_once`:

1. claims due deliveries (pending, `next_attempt_at` passed, no live lease) by writing
   its own lease (`lease_owner`, `lease_expires_at`) in a short transaction; on
   PostgreSQL the claim reads `FOR UPDATE SKIP LOCKED`, so dispatchers in several
   processes share the work; on SQLite the write lock serialises claims. A dispatcher
   killed after claiming leaves a lease that expires, and the next claim takes it again;
2. for each, re-checks the target (DNS may have changed since the subscription was
   validated: rebinding), signs the body with the subscription's secret(s) and POSTs,
   following no redirects;
3. records the attempt; a 2xx marks the delivery delivered and puts the disclosure on
   the audit trail, anything else schedules the next attempt with exponential
   back-off, or dead-letters the delivery after `max_attempts` failures.

The clock is injected, so tests drive back-off without sleeping. `Dispatcher.start`
runs `run_once` in a daemon thread every poll interval, or at once when woken.

One window remains between the re-check and the connection (the resolver is asked
twice); pinning the checked address for the TLS connection would close it.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from services.sharing.domain.audit import Child, EntryContent
from services.sharing.domain.sealing import Sealer
from services.sharing.domain.webhooks import (
    backoff_seconds,
    parse_target,
    signature_header,
    target_problems,
)
from services.sharing.settings import WebhookSettings
from services.sharing.store.alert_models import (
    Alert,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from services.sharing.store.alert_repository import to_public
from services.sharing.store.audit_repository import AuditRepository
from services.sharing.store.models import Organisation
from shared.problems import ProblemItem

logger = logging.getLogger(__name__)

Resolver = Callable[[str, int], list[str]]
Clock = Callable[[], datetime]

PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"


def resolve_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (none if it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def target_check(
    url: str, settings: WebhookSettings, resolver: Resolver = resolve_addresses
) -> list[ProblemItem]:
    """Every reason not to send to `url` now: its form, and each address it resolves to."""
    target, problems = parse_target(url)
    if target is None:
        return problems
    addresses = resolver(target.host, target.port)
    return target_problems(target, addresses, allow_local=settings.allow_local_targets)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DispatchReport:
    """What one pass did."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        """Deliveries handled in the pass, whatever became of them."""
        return self.delivered + self.retried + self.dead + self.cancelled


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int


class Dispatcher:
    """Claims, sends and records webhook deliveries; safe to run in several processes."""

    def __init__(
        self,
        engine: Engine,
        settings: WebhookSettings,
        sealer: Sealer,
        *,
        reporter: str,
        clock: Clock = _utcnow,
        resolver: Resolver = resolve_addresses,
        http: httpx.Client | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._sealer = sealer
        self._reporter = reporter
        self._clock = clock
        self._resolver = resolver
        self._owner = f"dispatcher-{uuid.uuid4()}"
        self._own_http = http is None
        self._http = http or httpx.Client(
            timeout=settings.timeout_seconds, follow_redirects=False, trust_env=False
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # The background thread -------------------------------------------------------------

    def start(self) -> None:
        """Deliver in a daemon thread until `stop`."""
        self._thread = threading.Thread(target=self._run, name="sharing-webhooks", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._own_http:
            self._http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.run_once().total and not self._stop.is_set():
                    pass
            except Exception:  # the thread must outlive one bad pass; the rows stay due
                logger.exception("webhook dispatch failed; retrying")
            self._wake.wait(self._settings.poll_interval_seconds)
            self._wake.clear()

    # One pass ----------------------------------------------------------------------------

    def claim(self) -> list[str]:
        """Lease up to `batch_size` due deliveries to this dispatcher; their ids."""
        now = self._clock()
        with Session(self._engine) as session:
            statement = (
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.status == PENDING,
                    col(WebhookDelivery.next_attempt_at) <= now,
                    or_(
                        col(WebhookDelivery.lease_expires_at).is_(None),
                        col(WebhookDelivery.lease_expires_at) <= now,
                    ),
                )
                .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
                .limit(self._settings.batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                statement = statement.with_for_update(skip_locked=True)
            rows = session.exec(statement).all()
            expires = now + timedelta(seconds=self._settings.lease_seconds)
            for row in rows:
                row.lease_owner, row.lease_expires_at = self._owner, expires
                session.add(row)
            ids = [r.id for r in rows]
            session.commit()
        return ids

    def run_once(self) -> DispatchReport:
        """Claim what is due and attempt each once; what happened."""
        counts = {DELIVERED: 0, "retried": 0, DEAD: 0, CANCELLED: 0}
        for delivery_id in self.claim():
            counts[self._deliver(delivery_id)] += 1
        return DispatchReport(
            delivered=counts[DELIVERED],
            retried=counts["retried"],
            dead=counts[DEAD],
            cancelled=counts[CANCELLED],
        )

    def _deliver(self, delivery_id: str) -> str:
        with Session(self._engine, expire_on_commit=False) as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is None or delivery.lease_owner != self._owner:
                return "retried"  # taken by another dispatcher meanwhile
            subscription = session.get(WebhookSubscription, delivery.subscription_id)
            alert = session.exec(
                select(Alert).where(Alert.position == delivery.alert_position)
            ).one()
            if subscription is None or subscription.disabled_at is not None:
                delivery.status, delivery.lease_owner, delivery.lease_expires_at = (
                    CANCELLED,
                    None,
                    None,
                )
                session.add(delivery)
                session.commit()
                return CANCELLED
            number = delivery.attempts + 1
            outcome = self._send(delivery, subscription, alert)
            now = self._clock()
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    number=number,
                    attempted_at=now,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )
            delivery.attempts = number
            delivery.lease_owner, delivery.lease_expires_at = None, None
            if outcome.error is None:
                delivery.status, delivery.delivered_at, delivery.last_error = DELIVERED, now, None
                self._audit(session, subscription, alert, now)
                result = DELIVERED
            elif number >= self._settings.max_attempts:
                delivery.status, delivery.last_error = DEAD, outcome.error
                result = DEAD
            else:
                wait = backoff_seconds(
                    number,
                    base=self._settings.backoff_base_seconds,
                    cap=self._settings.backoff_max_seconds,
                )
                delivery.next_attempt_at = now + timedelta(seconds=wait)
                delivery.last_error = outcome.error
                result = "retried"
            session.add(delivery)
            session.commit()
            return result

    def _signing_secrets(self, subscription: WebhookSubscription, now: datetime) -> list[str]:
        found = [self._sealer.open(subscription.secret)]
        expires = subscription.previous_secret_expires_at
        if subscription.previous_secret and expires is not None and now < expires:
            found.append(self._sealer.open(subscription.previous_secret))
        return found

    def _send(
        self, delivery: WebhookDelivery, subscription: WebhookSubscription, alert: Alert
    ) -> _Outcome:
        problems = target_check(subscription.url, self._settings, self._resolver)
        if problems:
            return _Outcome(None, "target refused: " + "; ".join(p.detail for p in problems), 0)
        now = self._clock()
        public = to_public(alert)
        body = json.dumps(
            {
                "type": f"attendance.alert.{public.rule.value}",
                "timestamp": now.isoformat(),
                "data": public.model_dump(mode="json"),
            },
            separators=(",", ":"),
        )
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature_header(
                self._signing_secrets(subscription, now), delivery.id, now, body
            ),
        }
        started = time.monotonic()
        try:
            response = self._http.post(subscription.url, content=body, headers=headers)
        except (httpx.HTTPError, OSError) as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            return _Outcome(None, f"{type(exc).__name__}: {exc}"[:500], elapsed)
        elapsed = int((time.monotonic() - started) * 1000)
        if 200 <= response.status_code < 300:
            return _Outcome(response.status_code, None, elapsed)
        return _Outcome(response.status_code, f"answered {response.status_code}", elapsed)

    def _audit(
        self, session: Session, subscription: WebhookSubscription, alert: Alert, now: datetime
    ) -> None:
        organisation = session.get(Organisation, subscription.organisation_id)
        AuditRepository(session).append(
            [
                EntryContent(
                    id=str(uuid.uuid4()),
                    recorded_at=now,
                    occurred_at=now,
                    service="sharing",
                    endpoint=f"WEBHOOK alert to subscription {subscription.id}",
                    accessor_organisation_id=subscription.organisation_id,
                    accessor_organisation_type=organisation.type if organisation else "",
                    client_id=subscription.created_by,
                    role=subscription.created_by_role,
                    actor=None,
                    purpose=alert.purpose,
                    legal_basis=alert.legal_basis,
                    reported_by=self._reporter,
                    children=(Child(upn=alert.upn, school_urn=alert.school_urn),),
                )
            ]
        )
