"""What an organisation of each type must (and must not) carry, checked all at once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.sharing.domain.la_codes import is_known_la_code
from shared.identifiers import DFE_NUMBER_PATTERN, URN_PATTERN
from shared.problems import ProblemItem


class OrganisationType(StrEnum):
    """The kinds of organisation in the directory."""

    SCHOOL = "school"
    TRUST = "trust"
    LOCAL_AUTHORITY = "local_authority"
    VIRTUAL_SCHOOL = "virtual_school"
    SOCIAL_CARE = "social_care"
    DFE = "dfe"
    OPERATOR = "operator"
    PARTNER = "partner"
    """A family-support charity, a health team...: sees only what agreements grant it."""


class Phase(StrEnum):
    """A school's phase of education, as GIAS groups them."""

    NURSERY = "nursery"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    ALL_THROUGH = "all-through"
    SPECIAL = "special"
    PRU = "PRU"
    SIXTEEN_PLUS = "16-plus"


GROUP_UID_PATTERN = r"^\d{1,10}$"
"""GIAS group UIDs are short decimal numbers (e.g. 2044)."""

FIELDS = ("urn", "dfe_number", "phase", "group_uid", "la_code")
REQUIRED: dict[OrganisationType, tuple[str, ...]] = {
    OrganisationType.SCHOOL: ("urn", "dfe_number", "phase"),
    OrganisationType.TRUST: ("group_uid",),
    OrganisationType.LOCAL_AUTHORITY: ("la_code",),
    OrganisationType.VIRTUAL_SCHOOL: ("la_code",),
    OrganisationType.SOCIAL_CARE: ("la_code",),
    OrganisationType.DFE: (),
    OrganisationType.OPERATOR: (),
    OrganisationType.PARTNER: (),
}
"""The identifying fields each type requires; every other field must be absent."""

BELONGS_TO_AUTHORITY = frozenset({OrganisationType.VIRTUAL_SCHOOL, OrganisationType.SOCIAL_CARE})


@dataclass(frozen=True)
class OrganisationDraft:
    """An organisation as a caller asks for it, before any check."""

    type: OrganisationType
    name: str
    urn: str | None = None
    dfe_number: str | None = None
    phase: str | None = None
    group_uid: str | None = None
    la_code: str | None = None

    def value(self, field: str) -> str | None:
        """The value of one of `FIELDS`."""
        value: str | None = getattr(self, field)
        return value


def area_code(draft: OrganisationDraft) -> str | None:
    """The LA area an organisation belongs to: a school's comes from its DfE number."""
    if draft.type is OrganisationType.SCHOOL:
        return draft.dfe_number[:3] if draft.dfe_number else None
    return draft.la_code


def organisation_problems(draft: OrganisationDraft) -> list[ProblemItem]:
    """Every reason `draft` cannot be stored (not counting clashes with stored rows)."""
    problems: list[ProblemItem] = []
    if not draft.name.strip():
        problems.append(ProblemItem(location="/name", code="required", detail="a name is required"))
    required = REQUIRED[draft.type]
    for field in FIELDS:
        value = draft.value(field)
        if field in required and value is None:
            problems.append(
                ProblemItem(
                    location=f"/{field}",
                    code="required",
                    detail=f"an organisation of type {draft.type} needs a {field}",
                )
            )
        elif field not in required and value is not None:
            problems.append(
                ProblemItem(
                    location=f"/{field}",
                    code="not_applicable",
                    detail=f"an organisation of type {draft.type} has no {field}",
                )
            )
    if draft.type is OrganisationType.SCHOOL:
        problems += _school_problems(draft)
    if (
        draft.group_uid is not None
        and draft.type is OrganisationType.TRUST
        and not re.fullmatch(GROUP_UID_PATTERN, draft.group_uid)
    ):
        problems.append(
            ProblemItem(
                location="/group_uid",
                code="invalid_group_uid",
                detail="a trust's GIAS group UID is 1 to 10 digits",
            )
        )
    if draft.la_code is not None and draft.type in (
        OrganisationType.LOCAL_AUTHORITY,
        *BELONGS_TO_AUTHORITY,
    ):
        problems += _la_code_problems(draft.la_code, "/la_code")
    return problems


def _school_problems(draft: OrganisationDraft) -> list[ProblemItem]:
    problems: list[ProblemItem] = []
    if draft.urn is not None and not re.fullmatch(URN_PATTERN, draft.urn):
        problems.append(
            ProblemItem(location="/urn", code="invalid_urn", detail="a URN is exactly 6 digits")
        )
    if draft.dfe_number is not None:
        if not re.fullmatch(DFE_NUMBER_PATTERN, draft.dfe_number):
            problems.append(
                ProblemItem(
                    location="/dfe_number",
                    code="invalid_dfe_number",
                    detail="a DfE number is 7 digits: the 3-digit LA code, then the "
                    "4-digit establishment number",
                )
            )
        else:
            problems += _la_code_problems(draft.dfe_number[:3], "/dfe_number")
    if draft.phase is not None and draft.phase not in set(Phase):
        problems.append(
            ProblemItem(
                location="/phase",
                code="invalid_phase",
                detail=f"the phase is one of {', '.join(Phase)}",
            )
        )
    return problems


def _la_code_problems(code: str, location: str) -> list[ProblemItem]:
    if not re.fullmatch(r"\d{3}", code):
        return [
            ProblemItem(location=location, code="invalid_la_code", detail="an LA code is 3 digits")
        ]
    if not is_known_la_code(code):
        return [
            ProblemItem(
                location=location,
                code="unknown_la_code",
                detail=f"{code} is not a published local-authority code",
            )
        ]
    return []


@dataclass(frozen=True)
class Window:
    """A date range, `end` inclusive; None means open-ended."""

    start: date
    end: date | None

    def overlaps(self, other: Window) -> bool:
        """Whether the two ranges share at least one day."""
        starts_before_other_ends = other.end is None or self.start <= other.end
        ends_after_other_starts = self.end is None or other.start <= self.end
        return starts_before_other_ends and ends_after_other_starts

    def covers(self, day: date) -> bool:
        """Whether `day` falls within the range."""
        return self.start <= day and (self.end is None or day <= self.end)


def window_problems(window: Window) -> list[ProblemItem]:
    """A membership must not end before it starts."""
    if window.end is not None and window.end < window.start:
        return [
            ProblemItem(
                location="/end_date",
                code="ends_before_start",
                detail="end_date is before start_date",
            )
        ]
    return []
