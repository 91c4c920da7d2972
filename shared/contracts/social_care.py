"""What the sharing service tells the metrics service about children with a social worker."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class SocialCareCategory(StrEnum):
    CHILD_IN_NEED = "CIN"
    CHILD_PROTECTION_PLAN = "CPP"
    LOOKED_AFTER = "CLA"


class SocialCareEpisode(BaseModel):
    """One episode of a child with a social worker, as the policy lets a caller know it."""

    upn: str
    category: SocialCareCategory
    start_date: date
    end_date: date | None = Field(default=None, description="Last day; open if null.")
    la_code: str = Field(description="The responsible local authority.")
    practitioner_ref: str | None = None


class SocialCareEpisodes(BaseModel):
    """`GET /v1/policy/social-care-episodes` on the sharing service (scope `policy:read`)."""

    episodes: list[SocialCareEpisode]
