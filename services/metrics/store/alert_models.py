"""Metrics' alert outbox, on the read model's registry (imported by `store.models`).

`alert_outbox` holds every condition the alert rules found, keyed by its condition key,
written in the same transaction as the change page that revealed it: a crash loses no
alert and a page re-applied finds the same keys and adds nothing. A row is posted to
the sharing service after commit (`posted_at`); until then it is retried. It is not part
of the read model: a rebuild keeps it, so history replayed is not alerted again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Text
from sqlmodel import Field

from services.metrics.store.models import MetricsTable


class AlertOutbox(MetricsTable, table=True):
    """One condition found, and whether sharing has it yet."""

    __tablename__ = "alert_outbox"

    condition_key: str = Field(primary_key=True, max_length=200)
    rule: str = Field(max_length=40)
    school_urn: str = Field(max_length=6)
    upn: str = Field(max_length=13)
    payload: str = Field(sa_type=Text, description="The AlertCandidate as JSON.")
    created_at: dt.datetime = Field(sa_type=DateTime(timezone=True))
    posted_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True), index=True)
