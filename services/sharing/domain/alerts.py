"""Who receives an alert, and what of it: the access policy applied to one child on one day.

An organisation receives an alert about the child with UPN `upn` at school `urn` only if
its reach (`domain.reach`: its own standing, decided on today's date) covers that child
at that school on the alert's last day (`until`):

- a school grant for `urn` whose window holds the day (a school's own pupils, a trust's
  schools while in the trust, an LA's area), or
- a child grant for `upn` whose window holds the day, at any school or at `urn` within
  one of its school windows (a virtual school's children, social care's open episodes).

Rules about children with a social worker (`SOCIAL_WORKER_RULES`) go only through child
grants that follow a care episode (`episode_id`): the child must have an episode,
and only organisations whose reach over the child comes from it (a virtual school,
children's social care) receive it. The recipient sees only the fields its grants allow
on that day: attendance (sessions, codes, figures, the summary), enrolment (the school),
identity (names, date of birth), social_care (the category). The UPN comes with any
pupil-level window. Plain values in, plain values out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.sharing.domain.organisations import OrganisationType
from services.sharing.domain.reach import ChildGrant, ReachDecision, SchoolGrant
from shared.contracts.alerts import SOCIAL_WORKER_RULES, AlertCandidate, AlertRule
from shared.contracts.audit import Purpose
from shared.contracts.policy import PupilField

PURPOSES: dict[str, Purpose] = {
    OrganisationType.SCHOOL: Purpose.REGISTER_KEEPING,
    OrganisationType.TRUST: Purpose.REGISTER_KEEPING,
    OrganisationType.LOCAL_AUTHORITY: Purpose.ATTENDANCE_SUPPORT,
    OrganisationType.VIRTUAL_SCHOOL: Purpose.LOOKED_AFTER_EDUCATION,
    OrganisationType.SOCIAL_CARE: Purpose.SAFEGUARDING,
}
"""Why each kind of recipient is told (the purpose on the audit trail)."""

MISSING_EDUCATION_PURPOSE = Purpose.MISSING_EDUCATION


def _holds(start: date | None, end: date | None, day: date) -> bool:
    return (start is None or start <= day) and (end is None or day <= end)


@dataclass(frozen=True)
class Coverage:
    """What one organisation may see of one child on one day, and why."""

    fields: frozenset[PupilField]
    legal_basis: str
    episode_ids: tuple[str, ...]
    category: str | None


class ReachIndex:
    """One organisation's reach, indexed by school and by child for many look-ups."""

    def __init__(self, decision: ReachDecision) -> None:
        self.pupil_level = decision.pupil_level
        self._schools: dict[str, list[SchoolGrant]] = defaultdict(list)
        self._children: dict[str, list[ChildGrant]] = defaultdict(list)
        for s in decision.schools:
            self._schools[s.window.urn].append(s)
        for c in decision.children:
            self._children[c.upn].append(c)

    def coverage(self, urn: str, upn: str, day: date, *, episode_only: bool) -> Coverage | None:
        """What the organisation may see of the child at `urn` on `day`; None: nothing."""
        if not self.pupil_level:
            return None
        fields: set[PupilField] = set()
        bases: list[str] = []
        episodes: list[str] = []
        category: str | None = None
        if not episode_only:
            for s in self._schools.get(urn, ()):
                if _holds(s.window.from_date, s.window.to_date, day):
                    fields.update(s.fields)
                    bases.append(s.basis.legal_basis)
        for c in self._children.get(upn, ()):
            if episode_only and c.episode_id is None:
                continue
            if not _holds(c.from_date, c.to_date, day):
                continue
            if c.schools is not None and not any(
                w.urn == urn and _holds(w.from_date, w.to_date, day) for w in c.schools
            ):
                continue
            fields.update(c.fields)
            bases.append(c.basis.legal_basis)
            if c.episode_id is not None:
                episodes.append(c.episode_id)
            if c.category is not None:
                category = c.category.value
        if not bases:
            return None
        return Coverage(frozenset(fields), bases[0], tuple(episodes), category)


def coverage_for(index: ReachIndex, candidate: AlertCandidate) -> Coverage | None:
    """Whether (and how) an organisation with this reach may receive this candidate."""
    return index.coverage(
        candidate.school_urn,
        candidate.upn,
        candidate.until,
        episode_only=candidate.rule in SOCIAL_WORKER_RULES,
    )


def purpose_for(organisation_type: str, rule: AlertRule) -> Purpose:
    """The purpose an alert serves for this recipient (an LA's missing-education duty)."""
    if organisation_type == OrganisationType.LOCAL_AUTHORITY and rule in (
        AlertRule.MISSING_EDUCATION,
        AlertRule.REMOVED_FROM_ROLL,
    ):
        return MISSING_EDUCATION_PURPOSE
    return PURPOSES.get(organisation_type, Purpose.ATTENDANCE_SUPPORT)


def recipient_view(
    candidate: AlertCandidate, coverage: Coverage, category: str | None
) -> dict[str, Any]:
    """The alert as this recipient may see it (JSON-ready), all else left out.

    `category` is the child's social-care category on the day, shown only to recipients
    allowed the social_care field.
    """
    f = coverage.fields
    attendance = PupilField.ATTENDANCE in f
    return {
        "rule": candidate.rule.value,
        "condition_key": candidate.condition_key,
        "school_urn": candidate.school_urn if PupilField.ENROLMENT in f else None,
        "upn": candidate.upn,
        "since": candidate.since.isoformat(),
        "until": candidate.until.isoformat(),
        "summary": candidate.summary if attendance else candidate.rule.value.replace("_", " "),
        "sessions": [s.model_dump(mode="json") for s in candidate.sessions] if attendance else [],
        "attendance_percent": candidate.attendance_percent if attendance else None,
        "pupil": candidate.pupil.model_dump(mode="json")
        if candidate.pupil is not None and PupilField.IDENTITY in f
        else None,
        "social_care_category": category if PupilField.SOCIAL_CARE in f else None,
        "legal_basis": coverage.legal_basis,
    }


def subscription_matches(
    rules: Iterable[str], categories: Iterable[str], rule: str, category: str | None
) -> bool:
    """Whether a subscription (empty lists: everything) wants this alert."""
    wanted_rules, wanted_categories = set(rules), set(categories)
    if wanted_rules and rule not in wanted_rules:
        return False
    return not wanted_categories or (category is not None and category in wanted_categories)
