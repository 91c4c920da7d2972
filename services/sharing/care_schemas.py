"""Request and response bodies of the episodes and agreements APIs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.sharing.domain.agreements import LawfulBasis, ReceiptEvent, SpecialCategoryCondition
from services.sharing.domain.episodes import EpisodeAction, IdentifiedBy
from shared.contracts.social_care import SocialCareCategory


class ChildRef(BaseModel):
    """The child: a UPN, or (without one, or with UN1-UN5) legal names and date of birth.

    Names are matched against the pupil rolls; only a single match is recorded. The rolls
    hold no postcodes, so none is taken.
    """

    model_config = ConfigDict(extra="forbid")

    upn: str | None = Field(default=None, max_length=13, examples=["A202400124001"])
    legal_forename: str | None = Field(default=None, max_length=100)
    legal_surname: str | None = Field(default=None, max_length=100)
    date_of_birth: date | None = None


class EpisodeCreate(BaseModel):
    """A new episode of a child with a social worker, in the caller's authority."""

    model_config = ConfigDict(extra="forbid")

    child: ChildRef
    category: SocialCareCategory
    start_date: date
    end_date: date | None = Field(default=None, description="Last day; open if null.")
    practitioner_ref: str | None = Field(
        default=None,
        max_length=100,
        description="The allocated practitioner's reference in the case-management system. "
        "Acting for a practitioner (token exchange), it defaults to them and must be them.",
    )


class EpisodeChange(BaseModel):
    """A correction or closure: only the fields given change (end_date null reopens)."""

    model_config = ConfigDict(extra="forbid")

    upn: str | None = Field(default=None, max_length=13)
    category: SocialCareCategory | None = None
    start_date: date | None = None
    end_date: date | None = None
    practitioner_ref: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=500, description="Why, for the history.")


class EpisodePublic(BaseModel):
    """An episode as its social care (or virtual school) sees it."""

    id: str
    upn: str
    category: SocialCareCategory
    start_date: date
    end_date: date | None = None
    la_code: str = Field(description="The responsible local authority.")
    practitioner_ref: str | None = None
    identified_by: IdentifiedBy
    recorded_at: datetime
    updated_at: datetime


class EpisodePage(BaseModel):
    """One page of episodes; pass `next_cursor` back as `cursor` for the next."""

    items: list[EpisodePublic]
    next_cursor: str | None = None


class EpisodeHistoryEntry(BaseModel):
    """One change to an episode: who, when, and the episode before and after."""

    version: int
    action: EpisodeAction
    changed_at: datetime
    client_id: str
    actor: str | None = Field(default=None, description="The practitioner acted for, if any.")
    reason: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any]


class EpisodeHistory(BaseModel):
    """Every change to one episode, oldest first."""

    episode_id: str
    items: list[EpisodeHistoryEntry]


class AgreementCreate(BaseModel):
    """A grant of named pupils' data to another organisation, by the caller (school/trust)."""

    model_config = ConfigDict(extra="forbid")

    grantee_id: str = Field(description="The organisation granted access.")
    purpose: str = Field(max_length=2000)
    lawful_basis: LawfulBasis = Field(description="UK GDPR Article 6(1) basis.")
    special_category_condition: SpecialCategoryCondition | None = Field(
        default=None,
        description="UK GDPR Article 9(2) condition; required for sen_provision or ethnicity.",
    )
    fields: list[str] = Field(examples=[["attendance", "enrolment", "identity"]])
    upns: list[str] = Field(description="The pupils, by UPN.")
    starts_on: date | None = Field(default=None, description="First day; today if omitted.")
    ends_on: date = Field(description="Last day the grantee may see the pupils.")


class AgreementRevoke(BaseModel):
    """Ending an agreement now."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class AgreementPublic(BaseModel):
    """An agreement, as both its parties see it."""

    id: str
    grantor_id: str
    grantee_id: str
    purpose: str
    lawful_basis: LawfulBasis
    special_category_condition: SpecialCategoryCondition | None = None
    fields: list[str]
    upns: list[str]
    starts_on: date
    ends_on: date
    created_at: datetime
    revoked_at: datetime | None = None
    revocation_reason: str | None = None


class AgreementSummary(BaseModel):
    """An agreement in a list (without its pupils)."""

    id: str
    grantor_id: str
    grantee_id: str
    purpose: str
    starts_on: date
    ends_on: date
    revoked_at: datetime | None = None


class AgreementPage(BaseModel):
    """One page of agreements."""

    items: list[AgreementSummary]
    next_cursor: str | None = None


class ReceiptPublic(BaseModel):
    """The dated receipt of a grant or a revocation."""

    id: str
    agreement_id: str
    event: ReceiptEvent
    recorded_at: datetime
    client_id: str
    grantor_id: str
    grantee_id: str
    details: dict[str, Any]


class ReceiptList(BaseModel):
    """Every receipt of one agreement, oldest first."""

    items: list[ReceiptPublic]
