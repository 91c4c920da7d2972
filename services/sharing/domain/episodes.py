"""Episodes of children with a social worker: the checks on recording, correcting and closing.

A child is named by UPN. When social care holds none (its returns write UN1-UN5), it gives
the child's legal names and date of birth instead and the rolls are searched
(`shared.contracts.pupil_matches`): only a single matching pupil is recorded; ambiguous
or unknown children are refused with the outcome, never guessed.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from services.sharing.domain.errors import InvalidRequest
from shared.contracts.pupil_matches import MatchOutcome, PupilMatch
from shared.contracts.social_care import SocialCareCategory
from shared.identifiers import check_upn, is_unknown_upn
from shared.problems import DomainError, ProblemItem

PRACTITIONER_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$"
"""A case-management system's reference for a practitioner: no names, no spaces."""


class IdentifiedBy(StrEnum):
    UPN = "upn"
    MATCH = "match"


class EpisodeAction(StrEnum):
    RECORDED = "recorded"
    CORRECTED = "corrected"
    CLOSED = "closed"


@dataclass
class MatchingUnavailable(DomainError):
    """The rolls could not be searched (ingest unreachable or answering wrongly)."""

    kind: str = "matching-unavailable"


@dataclass(frozen=True)
class ChildIdentity:
    """How the caller named the child: a UPN, or names and a date of birth."""

    upn: str | None
    legal_forename: str | None
    legal_surname: str | None
    date_of_birth: date | None

    @property
    def needs_match(self) -> bool:
        """True when the UPN is missing or a placeholder, so the rolls must be searched."""
        return is_unknown_upn(self.upn)


@dataclass(frozen=True)
class EpisodeValues:
    """The facts of one episode, as stored and as written to its history."""

    upn: str
    category: SocialCareCategory
    start_date: date
    end_date: date | None
    practitioner_ref: str | None
    la_code: str

    def as_json(self) -> str:
        """The history's snapshot: stable keys, ISO dates."""
        values: dict[str, Any] = asdict(self)
        values["start_date"] = self.start_date.isoformat()
        values["end_date"] = self.end_date.isoformat() if self.end_date else None
        values["category"] = str(self.category)
        return json.dumps(values, sort_keys=True)


def identity_problems(child: ChildIdentity) -> list[ProblemItem]:
    """Every reason the child is not named well enough to look for."""
    if not child.needs_match:
        assert child.upn is not None
        check = check_upn(child.upn)
        if check.valid:
            return []
        return [ProblemItem(location="/child/upn", code="invalid_upn", detail=check.problem or "")]
    missing = [
        name
        for name, value in (
            ("legal_forename", child.legal_forename),
            ("legal_surname", child.legal_surname),
            ("date_of_birth", child.date_of_birth),
        )
        if value is None or (isinstance(value, str) and not value.strip())
    ]
    return [
        ProblemItem(
            location=f"/child/{name}",
            code="required_without_upn",
            detail=f"without a UPN (or with UN1-UN5), the child's {name} is needed to find them",
        )
        for name in missing
    ]


def values_problems(values: EpisodeValues, *, actor: str | None) -> list[ProblemItem]:
    """Every rule the episode's facts break (dates, practitioner reference, caseload)."""
    problems: list[ProblemItem] = []
    if values.end_date is not None and values.end_date < values.start_date:
        problems.append(
            ProblemItem(
                location="/end_date",
                code="ends_before_start",
                detail="end_date is before start_date",
            )
        )
    ref = values.practitioner_ref
    if ref is not None and not re.fullmatch(PRACTITIONER_REF_PATTERN, ref):
        problems.append(
            ProblemItem(
                location="/practitioner_ref",
                code="invalid_practitioner_ref",
                detail="a reference of 1-100 letters, digits and . _ : @ -, starting with a "
                "letter or digit",
            )
        )
    elif actor is not None and ref != actor:
        problems.append(
            ProblemItem(
                location="/practitioner_ref",
                code="not_own_caseload",
                detail=f"acting for practitioner {actor}, an episode must stay on their caseload",
            )
        )
    return problems


def require_match(match: PupilMatch) -> str:
    """The matched UPN; ambiguous or unknown children are refused, with how many matched."""
    if match.outcome is MatchOutcome.MATCHED and match.upn is not None:
        return match.upn
    if match.outcome is MatchOutcome.AMBIGUOUS:
        item = ProblemItem(
            location="/child",
            code="child_ambiguous",
            detail=f"{match.candidates} pupils on the rolls have these legal names and date "
            "of birth; give the child's UPN",
        )
    else:
        item = ProblemItem(
            location="/child",
            code="child_not_found",
            detail="no pupil on the rolls has these legal names and date of birth",
        )
    raise InvalidRequest("The child could not be identified on the pupil rolls.", [item])


def action_of(before: EpisodeValues, after: EpisodeValues) -> EpisodeAction:
    """A change that sets the end of an open episode closes it; any other change corrects it."""
    if before.end_date is None and after.end_date is not None:
        return EpisodeAction.CLOSED
    return EpisodeAction.CORRECTED
