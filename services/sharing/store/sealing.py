"""Resealing the stored secrets when the service starts (see `domain.sealing`)."""

from __future__ import annotations

from sqlmodel import Session, select

from services.sharing.domain.sealing import Sealer
from services.sharing.store.alert_models import WebhookSubscription
from services.sharing.store.models import SigningKey


def reseal_secrets(session: Session, sealer: Sealer) -> int:
    """Seal every stored secret under the first sealing key; how many were rewritten.

    A few rows (signing keys, webhook subscriptions) are read whole; a value a key
    does not open raises `SealBroken`, so a service started with the wrong keys stops
    at once rather than signing with nothing.
    """
    rewritten = 0
    for key in session.exec(select(SigningKey)).all():
        sealed = sealer.reseal(key.private_jwk)
        if sealed is not None:
            key.private_jwk = sealed
            session.add(key)
            rewritten += 1
    for subscription in session.exec(select(WebhookSubscription)).all():
        changed = False
        for field in ("secret", "previous_secret"):
            value = getattr(subscription, field)
            sealed = sealer.reseal(value) if value is not None else None
            if sealed is not None:
                setattr(subscription, field, sealed)
                changed = True
        if changed:
            session.add(subscription)
            rewritten += 1
    session.flush()
    return rewritten
