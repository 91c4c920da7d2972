"""The access policy's answer: which schools and children a caller may see, when, and what.

`GET /v1/policy/reach?organisation_id=&actor=` on the sharing service (scope `policy:read`,
service clients only). How a data service applies it:

- `schools`: the caller sees a pupil's data at school `urn` only on days that are both in
  the window [from_date, to_date] and in the pupil's own enrolment at that school (the
  data service holds enrolment dates; sharing does not). Only its terms' `fields`.
- `children`: the caller sees one child (by UPN) on days in [from_date, to_date], at any
  school (`schools` null: a virtual school follows its children into other authorities)
  or only at the listed schools and their windows (an agreement: no more than the
  grantor itself can see). A child may have several windows, each on its own terms:
  take their union, and the fields of the windows covering each day.
- `all_schools`: every school (the DfE); `pupil_level` false means aggregates only,
  under disclosure control, and never a pupil's identity.

Every window names its `terms`, by place in the Reach's `terms` list: the `fields` it
allows and its `basis`, why it is allowed (the statutory basis or the agreement). A social
care's thousands of children share one or two terms, so each is written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, TypeAdapter, model_validator
from typing_extensions import TypedDict

from shared.contracts.social_care import SocialCareCategory


class PupilField(StrEnum):
    """What a caller may see of a pupil; a data service maps its columns onto these."""

    ATTENDANCE = "attendance"
    """Sessions, marks and codes, and every measure derived from them."""
    ENROLMENT = "enrolment"
    """Which school, entry and leaving dates, enrolment status, national curriculum year."""
    IDENTITY = "identity"
    """Legal names and date of birth (the UPN itself comes with any pupil-level window)."""
    GENDER = "gender"
    FSM = "fsm_eligible"
    SEN = "sen_provision"
    ETHNICITY = "ethnicity"
    SOCIAL_CARE = "social_care"
    """The child's social-care category (CIN, CPP, CLA) in the window."""


class BasisKind(StrEnum):
    OWN_PUPILS = "own_pupils"
    TRUST_MEMBERSHIP = "trust_membership"
    STATUTORY = "statutory"
    AGREEMENT = "agreement"


class Basis(BaseModel):
    """Why a window is allowed."""

    kind: BasisKind
    id: str = Field(
        description="statutory:<name>, own_pupils, trust_membership:<id>, or the agreement id."
    )
    legal_basis: str = Field(description="The law (and UK GDPR articles) relied on.")


class Terms(BaseModel):
    """What a window may see and why: the same for every window on these terms."""

    fields: list[PupilField]
    basis: Basis


TERMS_DESCRIPTION = "Its place in the Reach's `terms`: the fields it allows and why."


class SchoolWindow(BaseModel):
    """A school whose pupils' data may be seen from `from_date` to `to_date` (null: open)."""

    urn: str
    from_date: date | None = None
    to_date: date | None = None


class SchoolReach(SchoolWindow):
    """A school window with what may be seen and why."""

    terms: int = Field(ge=0, description=TERMS_DESCRIPTION)


class ChildWindow(BaseModel):
    """One child the caller may see from `from_date` to `to_date` inclusive."""

    upn: str
    from_date: date | None = None
    to_date: date | None = None
    terms: int = Field(ge=0, description=TERMS_DESCRIPTION)
    episode_id: str | None = Field(
        default=None, description="The social-care episode the window follows, if any."
    )
    category: SocialCareCategory | None = Field(
        default=None,
        description="The category of the social-care episode the window follows: to a "
        "virtual school, and to the social care whose episode it is.",
    )
    practitioner_ref: str | None = Field(
        default=None,
        description="That episode's allocated practitioner, to the same callers (their "
        "views list and filter children by it).",
    )
    schools: list[SchoolWindow] | None = Field(
        default=None,
        description="null: at any school. Otherwise only at these schools, in these windows.",
    )


class Reach(BaseModel):
    """Everything one caller (an organisation, maybe acting for a practitioner) may see."""

    organisation_id: str
    organisation_type: str
    actor: str | None = Field(default=None, description="The practitioner acted for, if any.")
    as_of: date = Field(description="The day the decision was made on (episodes, agreements).")
    all_schools: bool = False
    all_schools_fields: list[PupilField] = Field(
        default_factory=list, description="With all_schools: the fields aggregates may use."
    )
    pupil_level: bool = True
    terms: list[Terms] = Field(
        default_factory=list, description="The terms the windows name, each written once."
    )
    schools: list[SchoolReach] = Field(default_factory=list)
    children: list[ChildWindow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _every_window_names_listed_terms(self) -> Reach:
        named = [s.terms for s in self.schools] + [c.terms for c in self.children]
        _require_listed(len(self.terms), named)
        return self


def _require_listed(listed: int, named: Iterable[int]) -> None:
    """Refuse a window naming terms beyond the `listed` ones (both forms of a Reach)."""
    if any(n >= listed for n in named):
        raise ValueError("a window names terms the Reach does not list")


POLICY_VERSION_HEADER = "X-Policy-Version"
"""On a Reach: the policy version it was decided under (read before deciding, so the
answer is never older than it), to file it under without asking `GET /v1/policy/version`
first; with the Reach's `as_of`, the pair `PolicyVersion` gives."""


class PolicyVersion(BaseModel):
    """`GET /v1/policy/version`: whether a cached policy answer is still current.

    An answer (a Reach, visible schools, the directory) obtained under the same version
    and day is the one sharing would give now; under any other, ask again.
    """

    version: int = Field(
        description="Raised by every change the policy reads: organisations, trust "
        "memberships, social-care episodes, agreements."
    )
    as_of: date = Field(
        description="The day the policy decides on (episodes open, agreements in force)."
    )


# The same Reach as plain data, for the data services to read it with. A social care's
# Reach names thousands of children: validated into these (pydantic, as strictly as
# into the models above) it costs no model object per child and window, which made up
# nearly half of reading it (benchmarks/README.md, stop 22). Every key is required:
# sharing writes them all, so no default is restated here. Held to the models' fields
# by tests/shared/test_contract_policy.py.


class BasisData(TypedDict):
    """`Basis` as data."""

    kind: BasisKind
    id: str
    legal_basis: str


class TermsData(TypedDict):
    """`Terms` as data."""

    fields: list[PupilField]
    basis: BasisData


class SchoolWindowData(TypedDict):
    """`SchoolWindow` as data."""

    urn: str
    from_date: date | None
    to_date: date | None


class SchoolReachData(SchoolWindowData):
    """`SchoolReach` as data."""

    terms: Annotated[int, Field(ge=0)]


class ChildWindowData(TypedDict):
    """`ChildWindow` as data."""

    upn: str
    from_date: date | None
    to_date: date | None
    terms: Annotated[int, Field(ge=0)]
    episode_id: str | None
    category: SocialCareCategory | None
    practitioner_ref: str | None
    schools: list[SchoolWindowData] | None


class ReachData(TypedDict):
    """`Reach` as data."""

    organisation_id: str
    organisation_type: str
    actor: str | None
    as_of: date
    all_schools: bool
    all_schools_fields: list[PupilField]
    pupil_level: bool
    terms: list[TermsData]
    schools: list[SchoolReachData]
    children: list[ChildWindowData]


def _every_window_names_listed_terms(reach: ReachData) -> ReachData:
    named = [s["terms"] for s in reach["schools"]] + [c["terms"] for c in reach["children"]]
    _require_listed(len(reach["terms"]), named)
    return reach


REACH_DATA: TypeAdapter[ReachData] = TypeAdapter(
    Annotated[ReachData, AfterValidator(_every_window_names_listed_terms)]
)
"""Reads a Reach's JSON into `ReachData` (`REACH_DATA.validate_json`; a `Reach` model
into it: `REACH_DATA.validate_python(reach.model_dump())`), refusing a window that names
terms the Reach does not list, as the model does."""
