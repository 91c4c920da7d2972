"""Webhook subscriptions to attendance alerts (scope `alerts:subscribe`).

An organisation that may receive alerts (a school, trust, local authority, virtual
school, children's social care) subscribes a URL to some rules (or all) and, if it
likes, to children of some social-care categories only. The signing secret is shown
once, at creation and at each rotation; during a rotation both secrets sign. Targets
are checked before they are stored and again before every send (see `dispatcher`).
Every subscription, and its deliveries, belong to the subscriber alone: another
organisation's is not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select, update

from services.sharing.api.deps import (
    CanSubscribe,
    Cursor,
    Limit,
    SealerDep,
    SessionDep,
    SettingsDep,
)
from services.sharing.dispatcher import CANCELLED, PENDING, target_check
from services.sharing.domain.errors import InvalidRequest, NotFound
from services.sharing.domain.webhooks import MAX_URL_LENGTH, new_secret
from services.sharing.store.alert_models import (
    Alert,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from services.sharing.store.pagination import DEFAULT_LIMIT, decode_cursor, next_cursor
from shared.auth import Principal
from shared.contracts.alerts import AlertRule
from shared.contracts.social_care import SocialCareCategory

router = APIRouter(tags=["subscriptions"])


class SubscriptionCreate(BaseModel):
    """Where to push alerts, and which."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1, max_length=MAX_URL_LENGTH, description="An https URL on a public host."
    )
    events: list[AlertRule] = Field(
        default_factory=list, max_length=len(AlertRule), description="Rules wanted; [] = all."
    )
    categories: list[SocialCareCategory] = Field(
        default_factory=list,
        max_length=3,
        description="Only children with a social-care episode of these categories; [] = any.",
    )


class SubscriptionPublic(BaseModel):
    """A subscription, without its secret."""

    id: str
    url: str
    events: list[AlertRule]
    categories: list[SocialCareCategory]
    created_at: datetime
    active: bool
    previous_secret_expires_at: datetime | None = Field(
        description="While set and in the future, deliveries are signed with both secrets."
    )


class SubscriptionSecret(SubscriptionPublic):
    """A subscription with its signing secret: shown once, keep it."""

    secret: str = Field(description="whsec_...: verify webhook-signature with it.")


class SubscriptionPage(BaseModel):
    items: list[SubscriptionPublic]
    next_cursor: str | None


class AttemptPublic(BaseModel):
    """One attempt to deliver."""

    number: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryPublic(BaseModel):
    """One alert's delivery to the subscription, with every attempt."""

    id: str = Field(description="The webhook-id header it is sent with (the same on retries).")
    alert_id: str
    status: str = Field(description="pending, delivered, dead (gave up) or cancelled.")
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    attempt_log: list[AttemptPublic]


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    next_cursor: str | None


def _public(row: WebhookSubscription) -> SubscriptionPublic:
    return SubscriptionPublic(
        id=row.id,
        url=row.url,
        events=[AlertRule(r) for r in row.rules.split()],
        categories=[SocialCareCategory(c) for c in row.categories.split()],
        created_at=row.created_at,
        active=row.disabled_at is None,
        previous_secret_expires_at=row.previous_secret_expires_at,
    )


def _with_secret(row: WebhookSubscription, secret: str) -> SubscriptionSecret:
    return SubscriptionSecret(**_public(row).model_dump(), secret=secret)


def _require(session: Session, principal: Principal, subscription_id: str) -> WebhookSubscription:
    row = session.get(WebhookSubscription, subscription_id)
    if row is None or row.organisation_id != principal.organisation_id:
        raise NotFound(f"No subscription {subscription_id}.")
    return row


@router.post("/subscriptions", status_code=status.HTTP_201_CREATED)
def create_subscription(
    body: SubscriptionCreate,
    session: SessionDep,
    settings: SettingsDep,
    sealer: SealerDep,
    principal: CanSubscribe,
) -> SubscriptionSecret:
    """Subscribe a webhook; the answer holds the signing secret, shown only this once.

    The URL must be https on a host whose every address is public (no loopback, private,
    link-local or reserved ranges): otherwise 422 naming each problem.
    """
    problems = target_check(body.url, settings.webhooks)
    if problems:
        raise InvalidRequest("The webhook target is not allowed.", problems)
    if principal.organisation_id is None:
        raise NotFound("The caller belongs to no organisation.")
    secret = new_secret()
    row = WebhookSubscription(
        id=str(uuid.uuid4()),
        organisation_id=principal.organisation_id,
        url=body.url,
        rules=" ".join(sorted({r.value for r in body.events})),
        categories=" ".join(sorted({c.value for c in body.categories})),
        secret=sealer.seal(secret),
        created_at=datetime.now(UTC),
        created_by=principal.client_id,
        created_by_role=principal.role or "",
    )
    session.add(row)
    session.flush()
    return _with_secret(row, secret)


@router.get("/subscriptions")
def list_subscriptions(
    session: SessionDep,
    principal: CanSubscribe,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> SubscriptionPage:
    """The caller's subscriptions, by id."""
    after = decode_cursor(cursor)
    statement = (
        select(WebhookSubscription)
        .where(WebhookSubscription.organisation_id == principal.organisation_id)
        .order_by(col(WebhookSubscription.id))
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(col(WebhookSubscription.id) > after)
    rows = session.exec(statement).all()
    return SubscriptionPage(
        items=[_public(r) for r in rows[:limit]],
        next_cursor=next_cursor([r.id for r in rows], limit),
    )


@router.get("/subscriptions/{subscription_id}")
def get_subscription(
    subscription_id: str, session: SessionDep, principal: CanSubscribe
) -> SubscriptionPublic:
    """One of the caller's subscriptions."""
    return _public(_require(session, principal, subscription_id))


@router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_subscription(
    subscription_id: str, session: SessionDep, principal: CanSubscribe
) -> Response:
    """Stop the subscription; deliveries not yet made are cancelled (alerts stay pollable)."""
    row = _require(session, principal, subscription_id)
    if row.disabled_at is None:
        row.disabled_at = datetime.now(UTC)
        session.add(row)
        session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.subscription_id) == row.id,
                col(WebhookDelivery.status) == PENDING,
            )
            .values(status=CANCELLED)
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/subscriptions/{subscription_id}/rotate-secret")
def rotate_secret(
    subscription_id: str,
    session: SessionDep,
    settings: SettingsDep,
    sealer: SealerDep,
    principal: CanSubscribe,
) -> SubscriptionSecret:
    """A new signing secret, shown once; the old one keeps signing for the overlap period."""
    row = _require(session, principal, subscription_id)
    if row.disabled_at is not None:
        raise NotFound(f"No active subscription {subscription_id}.")
    now = datetime.now(UTC)
    row.previous_secret = row.secret
    row.previous_secret_expires_at = now + timedelta(
        seconds=settings.webhooks.secret_rotation_overlap_seconds
    )
    secret = new_secret()
    row.secret = sealer.seal(secret)
    session.add(row)
    session.flush()
    return _with_secret(row, secret)


def _attempts(session: Session, ids: Sequence[str]) -> dict[str, list[AttemptPublic]]:
    found: dict[str, list[AttemptPublic]] = {i: [] for i in ids}
    if not ids:
        return found
    for a in session.exec(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(ids))
        .order_by(col(WebhookAttempt.delivery_id), col(WebhookAttempt.number))
    ).all():
        found[a.delivery_id].append(
            AttemptPublic(
                number=a.number,
                attempted_at=a.attempted_at,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
            )
        )
    return found


@router.get("/subscriptions/{subscription_id}/deliveries")
def list_deliveries(
    subscription_id: str,
    session: SessionDep,
    principal: CanSubscribe,
    delivery_status: Annotated[
        str | None,
        Query(
            alias="status",
            pattern="^(pending|delivered|dead|cancelled)$",
            description="Only deliveries in this state.",
        ),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> DeliveryPage:
    """Every delivery of the subscription, each with its attempts (by delivery id)."""
    row = _require(session, principal, subscription_id)
    after = decode_cursor(cursor)
    statement = (
        select(WebhookDelivery, Alert.id)
        .join(Alert, col(Alert.position) == col(WebhookDelivery.alert_position))
        .where(WebhookDelivery.subscription_id == row.id)
        .order_by(col(WebhookDelivery.id))
        .limit(limit + 1)
    )
    if delivery_status is not None:
        statement = statement.where(WebhookDelivery.status == delivery_status)
    if after is not None:
        statement = statement.where(col(WebhookDelivery.id) > after)
    rows = session.exec(statement).all()
    page = rows[:limit]
    attempts = _attempts(session, [d.id for d, _ in page])
    return DeliveryPage(
        items=[
            DeliveryPublic(
                id=d.id,
                alert_id=alert_id,
                status=d.status,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at if d.status == PENDING else None,
                delivered_at=d.delivered_at,
                last_error=d.last_error,
                attempt_log=attempts[d.id],
            )
            for d, alert_id in page
        ],
        next_cursor=next_cursor([d.id for d, _ in rows], limit),
    )
