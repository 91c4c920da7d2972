"""`POST /v1/pupil-matches` on ingest: find a child on the pupil rolls by names and birth date.

Children's social care often holds no UPN for a child (its returns write UN1-UN5). The
sharing service asks ingest, which holds the rolls, whether exactly one pupil has these
legal names and date of birth. The answer never guesses: one pupil is `matched` (with the
UPN), several are `ambiguous` (how many, none disclosed), none is `not_found`.

Ingest holds no postcodes (school returns carry none), so a postcode cannot narrow a match.
Service clients only (scope `changes:read`, which already lets a service read the whole
roll through the change feed: a match discloses strictly less).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.types import IsoDate


class MatchOutcome(StrEnum):
    MATCHED = "matched"
    AMBIGUOUS = "ambiguous"
    NOT_FOUND = "not_found"


class PupilMatchRequest(BaseModel):
    """Who to look for: the legal names and date of birth exactly as social care holds them."""

    model_config = ConfigDict(extra="forbid")

    legal_forename: str = Field(min_length=1, max_length=100)
    legal_surname: str = Field(min_length=1, max_length=100)
    date_of_birth: IsoDate
    """Strict: an ISO date string only, as the schema says (lax mode took 0 as 1970-01-01)."""


class PupilMatch(BaseModel):
    """The outcome; `upn` only when exactly one pupil matched."""

    outcome: MatchOutcome
    candidates: int = Field(description="How many different pupils matched (0, 1 or more).")
    upn: str | None = None
