"""Alerts and their webhook outbox, on sharing's registry (imported by `store.models`).

- `alert`: one condition for one recipient, as that recipient may see it (`body`),
  unique per (recipient, condition key) so a condition is alerted once per recipient.
  Its integer `position` orders the polling feed (`GET /v1/alerts`).
- `webhook_subscription`: an organisation's webhook URL, what it wants, its secret(s).
- `webhook_delivery`: the transactional outbox. Written in the same transaction as its
  alert; the dispatcher claims due rows by taking a lease (`lease_owner`,
  `lease_expires_at`), so a dispatcher that dies mid-send leaves a lease that expires
  and another picks the row up again.
- `webhook_attempt`: every attempt, its answer or error.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field

from services.sharing.store.models import SharingTable, UtcDateTime


class Alert(SharingTable, table=True):
    """One condition as one recipient receives it."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("recipient_id", "condition_key"),)

    position: int | None = Field(default=None, primary_key=True)
    id: str = Field(max_length=36, unique=True)
    recipient_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    condition_key: str = Field(max_length=200)
    rule: str = Field(max_length=40)
    school_urn: str = Field(max_length=6)
    upn: str = Field(max_length=13, index=True)
    since: date
    until: date
    purpose: str = Field(max_length=64)
    legal_basis: str = Field(max_length=300)
    body: str = Field(sa_type=Text, description="The recipient's view of the alert, as JSON.")
    created_at: datetime = Field(sa_type=UtcDateTime)


class WebhookSubscription(SharingTable, table=True):
    """Where an organisation wants its alerts pushed, and the secrets to sign them with."""

    __tablename__ = "webhook_subscription"

    id: str = Field(primary_key=True, max_length=36)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    url: str = Field(max_length=2000)
    rules: str = Field(sa_type=Text, description="Rules wanted, space-separated; empty: all.")
    categories: str = Field(max_length=20, description="CIN/CPP/CLA wanted; empty: any child.")
    # Sealed (`domain.sealing`): a Fernet token of the whsec_ secret.
    secret: str = Field(max_length=400)
    previous_secret: str | None = Field(default=None, max_length=400)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    created_by: str = Field(max_length=64, description="The client that subscribed.")
    created_by_role: str = Field(max_length=32)
    disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class WebhookDelivery(SharingTable, table=True):
    """One alert to one subscription: the outbox row the dispatcher works through."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id: str = Field(primary_key=True, max_length=36, description="The webhook-id header.")
    subscription_id: str = Field(foreign_key="webhook_subscription.id", index=True, max_length=36)
    alert_position: int = Field(foreign_key="alert.position", index=True)
    status: str = Field(max_length=12, description="pending, delivered, dead or cancelled.")
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UtcDateTime)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class WebhookAttempt(SharingTable, table=True):
    """One attempt to deliver: when, what came back."""

    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="webhook_delivery.id", index=True, max_length=36)
    number: int
    attempted_at: datetime = Field(sa_type=UtcDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int
