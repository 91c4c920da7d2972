"""Tables of the access policy's own facts, on sharing's registry (imported by `store.models`).

- `care_episode`: a child with a social worker (CIN, CPP, CLA) in one local authority, with
  its dates and the allocated practitioner; the policy reads it for virtual schools and
  children's social care.
- `care_episode_change`: every recording, correction and closure of an episode, with who,
  when, and the episode before and after (JSON), so a decision can be reconstructed.
- `sharing_agreement` and `sharing_agreement_pupil`: a school's or trust's grant of named
  pupils to another organisation; `sharing_agreement_receipt`: the dated receipt of each
  grant and revocation, readable by both parties.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field

from services.sharing.store.models import SharingTable, UtcDateTime


class CareEpisode(SharingTable, table=True):
    """One episode of a child with a social worker, `end_date` inclusive (open if null)."""

    __tablename__ = "care_episode"
    __table_args__ = (
        # The reach of a virtual school or social care is "episodes in my LA"; of a
        # practitioner, "episodes in my LA on my caseload": both are one index range.
        Index("ix_care_episode_la_practitioner", "la_code", "practitioner_ref"),
    )

    id: str = Field(primary_key=True, max_length=36)
    social_care_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    la_code: str = Field(max_length=3, index=True)
    upn: str = Field(max_length=13, index=True)
    category: str = Field(max_length=3)
    start_date: date
    end_date: date | None = None
    practitioner_ref: str | None = Field(default=None, max_length=100)
    identified_by: str = Field(max_length=8, description="upn, or match (names and DOB).")
    recorded_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class CareEpisodeChange(SharingTable, table=True):
    """One change to an episode: version 1 records it, later versions correct or close it."""

    __tablename__ = "care_episode_change"
    __table_args__ = (UniqueConstraint("episode_id", "version"),)

    id: str = Field(primary_key=True, max_length=36)
    episode_id: str = Field(foreign_key="care_episode.id", index=True, max_length=36)
    version: int
    action: str = Field(max_length=16)
    changed_at: datetime = Field(sa_type=UtcDateTime)
    client_id: str = Field(max_length=64)
    actor: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=500)
    before: str | None = Field(default=None, sa_type=Text, description="Episode JSON.")
    after: str = Field(sa_type=Text, description="Episode JSON.")


class SharingAgreement(SharingTable, table=True):
    """A grant of named pupils' data from a school or trust to another organisation."""

    __tablename__ = "sharing_agreement"

    id: str = Field(primary_key=True, max_length=36)
    grantor_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    grantee_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    purpose: str = Field(sa_type=Text)
    lawful_basis: str = Field(max_length=32, description="UK GDPR Article 6(1) basis.")
    special_category_condition: str | None = Field(
        default=None, max_length=32, description="UK GDPR Article 9(2) condition."
    )
    fields: str = Field(sa_type=Text, description="Granted fields, space-separated.")
    starts_on: date
    ends_on: date
    created_at: datetime = Field(sa_type=UtcDateTime)
    created_by: str = Field(max_length=64, description="The grantor's client.")
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_by: str | None = Field(default=None, max_length=64)
    revocation_reason: str | None = Field(default=None, max_length=500)


class SharingAgreementPupil(SharingTable, table=True):
    """One pupil an agreement names."""

    __tablename__ = "sharing_agreement_pupil"

    agreement_id: str = Field(foreign_key="sharing_agreement.id", primary_key=True, max_length=36)
    upn: str = Field(primary_key=True, max_length=13, index=True)


class SharingAgreementReceipt(SharingTable, table=True):
    """The dated receipt of a grant or a revocation, for both parties."""

    __tablename__ = "sharing_agreement_receipt"

    id: str = Field(primary_key=True, max_length=36)
    agreement_id: str = Field(foreign_key="sharing_agreement.id", index=True, max_length=36)
    event: str = Field(max_length=16)
    recorded_at: datetime = Field(sa_type=UtcDateTime)
    client_id: str = Field(max_length=64)
    grantor_id: str = Field(max_length=36)
    grantee_id: str = Field(max_length=36)
    details: str = Field(sa_type=Text, description="What was granted or revoked, as JSON.")


# The policy's version counter and the events that raise it watch these tables and
# `store.models`' own: imported last, so that whichever of the two modules is imported
# first, both are complete when it is.
from services.sharing.store import policy_version as _policy_version  # noqa: E402, F401
