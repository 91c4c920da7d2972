"""What the sharing service tells other services about schools and who may see them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class TrustMembership(BaseModel):
    """A school's time in a trust; schools change trust, so memberships carry dates."""

    trust_id: str
    group_uid: str
    start_date: date
    end_date: date | None = Field(default=None, description="Last day in the trust; open if null.")


class SchoolRecord(BaseModel):
    """`GET /v1/schools/{urn}` on the sharing service (scope `directory:read`)."""

    organisation_id: str
    urn: str
    dfe_number: str
    la_code: str
    name: str
    phase: str
    trusts: list[TrustMembership] = Field(default_factory=list)


class SchoolWindow(BaseModel):
    """One school a caller may see, and the dates over which it may see it."""

    urn: str
    from_date: date | None = None
    to_date: date | None = None


class VisibleSchools(BaseModel):
    """`GET /v1/policy/organisations/{id}/visible-schools` (scope `policy:read`, service only).

    `all_schools` is true for callers (DfE) who may see every school's aggregates.
    `pupil_level` is false for callers who may see aggregates only, which are then
    subject to statistical disclosure control.
    """

    organisation_id: str
    organisation_type: str
    all_schools: bool = False
    pupil_level: bool = True
    schools: list[SchoolWindow] = Field(default_factory=list)
