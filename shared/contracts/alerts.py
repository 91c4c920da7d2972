"""Attendance alerts: what metrics hands the sharing service, and what recipients receive.

Metrics evaluates the alert rules for the pupils each applied change page touched and
POSTs the conditions it finds as an `AlertCandidateBatch` to the sharing service
(`POST /v1/alerts/events`, scope `alerts:write`, service clients only). Sharing decides who
may receive each one under the access policy, stores one alert per recipient (a condition
key is alerted once per recipient, however often it is sent), and delivers it by webhook
(Standard Webhooks signatures) or to `GET /v1/alerts`.

A condition key is stable: the rule, the school, the pupil and the start of the condition
(the first session of a run, the first week of a low spell, the academic year of a
crossing, the day of a removal), so re-evaluating the same data never alerts twice.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from shared.identifiers import URN_PATTERN

MAX_CANDIDATES_PER_BATCH = 5000
MAX_SESSIONS_PER_ALERT = 120


class AlertRule(StrEnum):
    """Every rule an alert can come from."""

    SOCIAL_WORKER_UNEXPLAINED_ABSENCE = "social_worker_unexplained_absence"
    """A child with a social worker absent without an established reason (N or O) for
    consecutive sessions. Only for children with a social-care episode, and only to
    organisations whose reach over the child comes from such an episode."""
    MISSING_EDUCATION = "missing_education"
    """Not seen at school (every session an unauthorised absence, G, N or O) for
    consecutive school days: a child who may be missing education."""
    LOW_RECENT_ATTENDANCE = "low_recent_attendance"
    """Attendance over the last school weeks below the threshold."""
    PERSISTENT_ABSENCE = "persistent_absence"
    """Crossed into persistent absence (10%+ of possible sessions) this academic year."""
    SEVERE_ABSENCE = "severe_absence"
    """Crossed into severe absence (50%+ of possible sessions) this academic year."""
    SUSPENSION_OR_EXCLUSION = "suspension_or_exclusion"
    """Recorded with code E: suspended or permanently excluded, no alternative provision."""
    REMOVED_FROM_ROLL = "removed_from_roll"
    """Taken off the school's roll: a leaving date recorded, or the roll entry withdrawn."""


SOCIAL_WORKER_RULES: frozenset[AlertRule] = frozenset({AlertRule.SOCIAL_WORKER_UNEXPLAINED_ABSENCE})
"""Rules about children with a social worker: never sent about, or to, anyone else."""


class AlertSession(BaseModel):
    """One register session the alert is about."""

    date: date
    session: str = Field(pattern=r"^(AM|PM)$")
    code: str = Field(min_length=1, max_length=2)


class AlertPupil(BaseModel):
    """Who the child is, as the school's roll records it (sent on only where allowed)."""

    legal_forename: str = Field(max_length=100)
    legal_surname: str = Field(max_length=100)
    date_of_birth: date


class AlertCandidate(BaseModel):
    """One condition metrics found for one pupil at one school."""

    condition_key: str = Field(min_length=1, max_length=200)
    rule: AlertRule
    school_urn: str = Field(pattern=URN_PATTERN)
    upn: str = Field(min_length=13, max_length=13)
    since: date = Field(description="The first day of the condition.")
    until: date = Field(description="The last day the evidence covers.")
    summary: str = Field(min_length=1, max_length=500, description="What happened, in words.")
    sessions: list[AlertSession] = Field(
        default_factory=list,
        max_length=MAX_SESSIONS_PER_ALERT,
        description="The sessions that make the condition (runs and codes); empty for rates.",
    )
    attendance_percent: float | None = Field(
        default=None, description="The attendance (or absence, for PA/SA) figure judged."
    )
    pupil: AlertPupil | None = None
    detected_at: AwareDatetime


class AlertCandidateBatch(BaseModel):
    """Candidates to consider, all or none."""

    candidates: list[AlertCandidate] = Field(min_length=1, max_length=MAX_CANDIDATES_PER_BATCH)


class AlertIntake(BaseModel):
    """What sharing did with a batch."""

    received: int
    alerts_created: int = Field(description="New (recipient, condition) alerts stored.")
    deliveries_created: int = Field(description="Webhook deliveries queued in the outbox.")


class AlertPublic(BaseModel):
    """An alert as one recipient sees it: only the fields its reach allows."""

    id: str
    rule: AlertRule
    condition_key: str
    school_urn: str | None = Field(description="Null if the recipient may not see enrolment.")
    upn: str
    since: date
    until: date
    summary: str
    sessions: list[AlertSession]
    attendance_percent: float | None
    pupil: AlertPupil | None
    social_care_category: str | None = Field(
        default=None, description="CIN, CPP or CLA: only for recipients who may see it."
    )
    legal_basis: str = Field(description="Why this recipient may receive it.")
    created_at: datetime
