"""`POST /v1/feed/notifications`: ingest says new changes are waiting."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.metrics.api.deps import CanNotifyFeed, ConsumerDep
from services.metrics.schemas import NotificationAccepted

router = APIRouter(tags=["feed"])


@router.post("/feed/notifications", status_code=status.HTTP_202_ACCEPTED)
def notify(_service: CanNotifyFeed, consumer: ConsumerDep) -> NotificationAccepted:
    """Wake the feed consumer now instead of at its next poll (service clients only).

    The body is ignored: the consumer reads the feed after its own stored cursor, so a
    lost or repeated notification changes nothing but latency.
    """
    if consumer is not None:
        consumer.wake()
    return NotificationAccepted(consumer_running=consumer is not None)
