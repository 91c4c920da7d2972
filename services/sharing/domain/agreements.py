"""Data-sharing agreements: a school or trust grants named pupils to another organisation.

An agreement states its purpose, its UK GDPR Article 6 lawful basis and, when it shares
special category data (SEN, ethnicity), an Article 9 condition; it names the pupils (by
UPN), the fields, and the dates it is in force. The grantee sees only those pupils, those
fields, in that window, and only where the grantor itself can see them (`domain.reach`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.sharing.domain.organisations import OrganisationType
from services.sharing.domain.reach import AGREEMENT_FIELDS, SPECIAL_CATEGORY_FIELDS
from shared.identifiers import check_upn
from shared.problems import ProblemItem

MAX_PUPILS = 1000
GRANTORS = frozenset({OrganisationType.SCHOOL, OrganisationType.TRUST})
NOT_GRANTEES = frozenset({OrganisationType.OPERATOR, OrganisationType.DFE})
"""The operator sees no pupils; the DfE sees aggregates by statute, not by agreement."""


class LawfulBasis(StrEnum):
    """UK GDPR Article 6(1)."""

    CONSENT = "6(1)(a)"
    CONTRACT = "6(1)(b)"
    LEGAL_OBLIGATION = "6(1)(c)"
    VITAL_INTERESTS = "6(1)(d)"
    PUBLIC_TASK = "6(1)(e)"
    LEGITIMATE_INTERESTS = "6(1)(f)"


class SpecialCategoryCondition(StrEnum):
    """UK GDPR Article 9(2)."""

    EXPLICIT_CONSENT = "9(2)(a)"
    EMPLOYMENT_SOCIAL_PROTECTION = "9(2)(b)"
    VITAL_INTERESTS = "9(2)(c)"
    NOT_FOR_PROFIT = "9(2)(d)"
    MADE_PUBLIC = "9(2)(e)"
    LEGAL_CLAIMS = "9(2)(f)"
    SUBSTANTIAL_PUBLIC_INTEREST = "9(2)(g)"
    HEALTH_SOCIAL_CARE = "9(2)(h)"
    PUBLIC_HEALTH = "9(2)(i)"
    ARCHIVING_RESEARCH = "9(2)(j)"


class ReceiptEvent(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"


@dataclass(frozen=True)
class AgreementDraft:
    """An agreement as the grantor asks for it."""

    grantee_type: OrganisationType | None
    grantee_is_grantor: bool
    purpose: str
    lawful_basis: LawfulBasis
    special_category_condition: SpecialCategoryCondition | None
    fields: Sequence[str]
    upns: Sequence[str]
    starts_on: date
    ends_on: date


def legal_basis_text(basis: str, condition: str | None) -> str:
    """How a decision names an agreement's lawful basis."""
    text = f"UK GDPR Art. {basis}"
    return f"{text}; Art. {condition}" if condition else text


def draft_problems(draft: AgreementDraft, *, today: date) -> list[ProblemItem]:
    """Every reason the agreement cannot be made, all at once."""
    problems: list[ProblemItem] = []
    if draft.grantee_type is None:
        problems.append(
            ProblemItem(
                location="/grantee_id", code="grantee_not_found", detail="no such organisation"
            )
        )
    elif draft.grantee_is_grantor:
        problems.append(
            ProblemItem(
                location="/grantee_id",
                code="grantee_is_grantor",
                detail="an organisation already sees its own pupils",
            )
        )
    elif draft.grantee_type in NOT_GRANTEES:
        problems.append(
            ProblemItem(
                location="/grantee_id",
                code="grantee_not_allowed",
                detail=f"an organisation of type {draft.grantee_type} cannot be a grantee",
            )
        )
    if not draft.purpose.strip():
        problems.append(
            ProblemItem(location="/purpose", code="required", detail="state the purpose")
        )
    problems += _field_problems(draft)
    problems += _upn_problems(draft.upns)
    if draft.ends_on < draft.starts_on:
        problems.append(
            ProblemItem(
                location="/ends_on", code="ends_before_start", detail="ends_on is before starts_on"
            )
        )
    if draft.ends_on < today:
        problems.append(
            ProblemItem(location="/ends_on", code="in_the_past", detail="ends_on has passed")
        )
    return problems


def _field_problems(draft: AgreementDraft) -> list[ProblemItem]:
    problems: list[ProblemItem] = []
    allowed = {str(f) for f in AGREEMENT_FIELDS}
    if not draft.fields:
        problems.append(
            ProblemItem(location="/fields", code="required", detail="name at least one field")
        )
    for i, name in enumerate(draft.fields):
        if name not in allowed:
            problems.append(
                ProblemItem(
                    location=f"/fields/{i}",
                    code="field_not_shareable",
                    detail=f"{name} is not one of {', '.join(sorted(allowed))}",
                )
            )
    if len(set(draft.fields)) != len(draft.fields):
        problems.append(
            ProblemItem(location="/fields", code="repeated", detail="a field is repeated")
        )
    special = sorted(set(draft.fields) & {str(f) for f in SPECIAL_CATEGORY_FIELDS})
    if special and draft.special_category_condition is None:
        problems.append(
            ProblemItem(
                location="/special_category_condition",
                code="required_for_special_category",
                detail=f"{', '.join(special)} is special category data: give the Art. 9(2) "
                "condition",
            )
        )
    return problems


def _upn_problems(upns: Sequence[str]) -> list[ProblemItem]:
    problems: list[ProblemItem] = []
    if not upns:
        problems.append(
            ProblemItem(location="/upns", code="required", detail="name at least one pupil")
        )
    if len(upns) > MAX_PUPILS:
        problems.append(
            ProblemItem(location="/upns", code="too_many", detail=f"at most {MAX_PUPILS} pupils")
        )
    seen: set[str] = set()
    for i, raw in enumerate(upns):
        check = check_upn(raw)
        if not check.valid:
            problems.append(
                ProblemItem(location=f"/upns/{i}", code="invalid_upn", detail=check.problem or "")
            )
        elif check.upn in seen:
            problems.append(
                ProblemItem(
                    location=f"/upns/{i}", code="repeated", detail=f"{check.upn} is repeated"
                )
            )
        seen.add(check.upn)
    return problems
