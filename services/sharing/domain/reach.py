"""The access policy: for one caller, which schools and children it may see, when, and what.

It grows `domain.policy` (schools, trusts, local authorities, the DfE) with children:
virtual schools and children's social care see children through their care episodes,
and any organisation may be granted named pupils by a data-sharing agreement. Plain
values in, plain values out; `api/policy.py` gathers the facts and serves the answer as
`shared.contracts.policy.Reach`.

Fields each basis allows (UK GDPR data minimisation; ✓ = allowed)::

    basis                        attendance enrolment identity gender fsm sen ethnicity social_care
    school (own pupils)              ✓          ✓        ✓       ✓     ✓   ✓      ✓
    trust (its schools)              ✓          ✓        ✓       ✓     ✓   ✓      ✓
    LA attendance (its area)         ✓          ✓        ✓       ✓     ✓   ✓      ✓
    virtual school (its children)    ✓          ✓        ✓       ✓         ✓                ✓
    social care (open episodes)      ✓          ✓        ✓
    agreement                      as the agreement names (never social_care)
    DfE (aggregates only)            ✓          ✓                ✓     ✓   ✓      ✓

Time bounds: a school window is the school's own pupils while enrolled (the data service
intersects it with its enrolment dates); a trust's follows the membership; a child's
follows the episode, or the agreement. Social care sees a child only while an episode
in its authority is open on the day asked (`as_of`): closing the episode ends access,
including to the past. A virtual school keeps every episode's window, past ones too:
its head reports on the education of the children it looked after. An agreement gives
its window only while in force (not revoked, `starts_on <= as_of <= ends_on`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from services.sharing.domain.policy import Membership, SchoolWindow
from shared.contracts.policy import BasisKind, PupilField
from shared.contracts.social_care import SocialCareCategory

F = PupilField
ALL_PUPIL_FIELDS: tuple[PupilField, ...] = (
    F.ATTENDANCE,
    F.ENROLMENT,
    F.IDENTITY,
    F.GENDER,
    F.FSM,
    F.SEN,
    F.ETHNICITY,
)
SCHOOL_FIELDS = ALL_PUPIL_FIELDS
TRUST_FIELDS = ALL_PUPIL_FIELDS
LOCAL_AUTHORITY_FIELDS = ALL_PUPIL_FIELDS
VIRTUAL_SCHOOL_FIELDS: tuple[PupilField, ...] = (
    F.ATTENDANCE,
    F.ENROLMENT,
    F.IDENTITY,
    F.GENDER,
    F.SEN,
    F.SOCIAL_CARE,
)
SOCIAL_CARE_FIELDS: tuple[PupilField, ...] = (F.ATTENDANCE, F.ENROLMENT, F.IDENTITY)
DFE_FIELDS: tuple[PupilField, ...] = (
    F.ATTENDANCE,
    F.ENROLMENT,
    F.GENDER,
    F.FSM,
    F.SEN,
    F.ETHNICITY,
)
AGREEMENT_FIELDS: tuple[PupilField, ...] = ALL_PUPIL_FIELDS
"""What an agreement may name: what a school holds, so never social care's facts."""
SPECIAL_CATEGORY_FIELDS = frozenset({F.SEN, F.ETHNICITY})
"""Special category data (UK GDPR Art. 9: health, racial or ethnic origin)."""


@dataclass(frozen=True)
class StatutoryBasis:
    """A statutory gateway, named in every decision that relies on it."""

    id: str
    legal_basis: str


OWN_PUPILS = StatutoryBasis(
    "own_pupils",
    "The school is the controller of its own admission and attendance registers "
    "(Education (Pupil Registration) (England) Regulations 2006); UK GDPR Art. 6(1)(c), (e).",
)
TRUST = StatutoryBasis(
    "trust_membership",
    "The academy trust is the proprietor and controller of its academies' registers while "
    "it runs them (Education (Pupil Registration) (England) Regulations 2006); "
    "UK GDPR Art. 6(1)(c), (e).",
)
LA_ATTENDANCE = StatutoryBasis(
    "statutory:la_attendance",
    "Education Act 1996 ss. 436A, 437-444; School Attendance (Pupil Registration) "
    "(England) Regulations 2024 (daily register sharing with the local authority); "
    "UK GDPR Art. 6(1)(c), (e); Art. 9(2)(g), DPA 2018 Sch. 1 para 6.",
)
VIRTUAL_SCHOOL_LOOKED_AFTER = StatutoryBasis(
    "statutory:virtual_school_looked_after",
    "Children Act 1989 s. 22(3A) (duty to promote the educational achievement of looked-"
    "after children; virtual school head, Children and Families Act 2014 s. 22(3B)); "
    "UK GDPR Art. 6(1)(e); Art. 9(2)(g), DPA 2018 Sch. 1 para 6.",
)
VIRTUAL_SCHOOL_SOCIAL_WORKER = StatutoryBasis(
    "statutory:virtual_school_social_worker",
    "Children Act 1989 s. 17 and the extended virtual school head role for children with "
    "a social worker (DfE guidance, 2021, on the LA's duties); UK GDPR Art. 6(1)(e); "
    "Art. 9(2)(g), DPA 2018 Sch. 1 para 6 and para 18 (safeguarding).",
)
SOCIAL_CARE = StatutoryBasis(
    "statutory:social_care",
    "Children Act 1989 ss. 17, 20, 31, 47; Children Act 2004 ss. 10, 11; UK GDPR "
    "Art. 6(1)(e); Art. 9(2)(g), DPA 2018 Sch. 1 para 18 (safeguarding).",
)
DFE_AGGREGATES = StatutoryBasis(
    "statutory:dfe_aggregates",
    "Education Act 1996 s. 537A (information about pupils to the Secretary of State); "
    "aggregates only; UK GDPR Art. 6(1)(e).",
)
STATUTORY_BASES = {
    b.id: b
    for b in (
        OWN_PUPILS,
        TRUST,
        LA_ATTENDANCE,
        VIRTUAL_SCHOOL_LOOKED_AFTER,
        VIRTUAL_SCHOOL_SOCIAL_WORKER,
        SOCIAL_CARE,
        DFE_AGGREGATES,
    )
}
"""Every statutory basis a decision can name, by id."""


class Basis(NamedTuple):
    """Why one window is allowed (a tuple: a Reach has one for each of thousands of
    children)."""

    kind: BasisKind
    id: str
    legal_basis: str


@dataclass(frozen=True)
class SchoolGrant:
    """A school's pupils, over a window, with what may be seen and why."""

    window: SchoolWindow
    fields: tuple[PupilField, ...]
    basis: Basis


class ChildGrant(NamedTuple):
    """One child over a window; `schools` None means at any school (a tuple: a social
    care's Reach names thousands of children)."""

    upn: str
    from_date: date | None
    to_date: date | None
    fields: tuple[PupilField, ...]
    basis: Basis
    episode_id: str | None = None
    """The social-care episode the window follows, if any."""
    category: SocialCareCategory | None = None
    practitioner_ref: str | None = None
    """An episode's allocated practitioner, to the virtual school and the social care
    whose episode it is (their views list children by it)."""
    schools: tuple[SchoolWindow, ...] | None = None


@dataclass(frozen=True)
class ReachDecision:
    """The whole decision for one caller."""

    schools: tuple[SchoolGrant, ...] = ()
    children: tuple[ChildGrant, ...] = ()
    all_schools: bool = False
    all_schools_fields: tuple[PupilField, ...] = ()
    pupil_level: bool = True


class EpisodeFact(NamedTuple):
    """A care episode as the policy needs it (a tuple: an authority has thousands)."""

    id: str
    upn: str
    category: SocialCareCategory
    start_date: date
    end_date: date | None
    practitioner_ref: str | None

    def open_on(self, day: date) -> bool:
        """Whether the episode has started and not yet ended on `day`."""
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


@dataclass(frozen=True)
class AgreementFact:
    """An agreement as the policy needs it, with the grantor's own school windows."""

    id: str
    upns: tuple[str, ...]
    fields: tuple[PupilField, ...]
    starts_on: date
    ends_on: date
    revoked: bool
    legal_basis: str
    grantor_schools: tuple[SchoolWindow, ...]

    def in_force_on(self, day: date) -> bool:
        """Whether the agreement gives access on `day`."""
        return not self.revoked and self.starts_on <= day <= self.ends_on


def _statutory(basis: StatutoryBasis) -> Basis:
    kind = BasisKind.STATUTORY if basis.id.startswith("statutory:") else BasisKind.OWN_PUPILS
    return Basis(kind, basis.id, basis.legal_basis)


def school_reach(urn: str) -> ReachDecision:
    """A school: its own pupils, while enrolled there."""
    return ReachDecision(
        schools=(SchoolGrant(SchoolWindow(urn), SCHOOL_FIELDS, _statutory(OWN_PUPILS)),)
    )


def trust_reach(memberships: Iterable[tuple[str, Membership]]) -> ReachDecision:
    """A trust: pupils of each school over the time that school was in the trust.

    `memberships` pairs each membership's id with its dates, so each window names it.
    """
    grants = sorted(
        (
            SchoolGrant(
                SchoolWindow(m.urn, m.start_date, m.end_date),
                TRUST_FIELDS,
                Basis(BasisKind.TRUST_MEMBERSHIP, f"trust_membership:{mid}", TRUST.legal_basis),
            )
            for mid, m in memberships
        ),
        key=lambda g: (g.window.urn, g.window.from_date or date.min),
    )
    return ReachDecision(schools=tuple(grants))


def local_authority_reach(urns_in_area: Iterable[str]) -> ReachDecision:
    """An LA attendance team: pupils of the schools in its area."""
    basis = _statutory(LA_ATTENDANCE)
    return ReachDecision(
        schools=tuple(
            SchoolGrant(SchoolWindow(u), LOCAL_AUTHORITY_FIELDS, basis)
            for u in sorted(urns_in_area)
        )
    )


def dfe_reach() -> ReachDecision:
    """The DfE: every school, aggregates only."""
    return ReachDecision(all_schools=True, all_schools_fields=DFE_FIELDS, pupil_level=False)


def virtual_school_reach(episodes: Iterable[EpisodeFact]) -> ReachDecision:
    """A virtual school: every child of its authority's episodes, at any school, per episode.

    Looked-after children under the s. 22(3A) duty; children in need and on protection
    plans under the extended role for children with a social worker.
    """
    looked_after = _statutory(VIRTUAL_SCHOOL_LOOKED_AFTER)
    with_social_worker = _statutory(VIRTUAL_SCHOOL_SOCIAL_WORKER)
    grants = [
        ChildGrant(
            upn=e.upn,
            from_date=e.start_date,
            to_date=e.end_date,
            fields=VIRTUAL_SCHOOL_FIELDS,
            basis=looked_after
            if e.category is SocialCareCategory.LOOKED_AFTER
            else with_social_worker,
            episode_id=e.id,
            category=e.category,
            practitioner_ref=e.practitioner_ref,
        )
        for e in episodes
    ]
    return ReachDecision(children=_sorted(grants))


def social_care_reach(
    episodes: Iterable[EpisodeFact], *, as_of: date, practitioner: str | None
) -> ReachDecision:
    """Social care: children with an episode of its authority open on `as_of`.

    Acting for a practitioner, only that practitioner's caseload (episodes allocated to
    them). Attendance fields only: no SEN, no ethnicity, no FSM.
    """
    basis = _statutory(SOCIAL_CARE)
    grants = [
        ChildGrant(
            upn=e.upn,
            from_date=e.start_date,
            to_date=e.end_date,
            fields=SOCIAL_CARE_FIELDS,
            basis=basis,
            episode_id=e.id,
            category=e.category,
            practitioner_ref=e.practitioner_ref,
        )
        for e in episodes
        if e.open_on(as_of) and (practitioner is None or e.practitioner_ref == practitioner)
    ]
    return ReachDecision(children=_sorted(grants))


def agreement_grants(agreements: Iterable[AgreementFact], *, as_of: date) -> tuple[ChildGrant, ...]:
    """The children agreements in force give the grantee, limited to the grantor's own reach.

    The grantor named the pupils; whether each is (or was) on one of its rolls is known
    only to the data service, so each window carries the grantor's school windows clipped
    to the agreement, and the data service shows the child only there. An agreement
    whose grantor no longer sees any school in its window gives nothing.
    """
    grants: list[ChildGrant] = []
    for agreement in agreements:
        if not agreement.in_force_on(as_of):
            continue
        schools = _clip(agreement.grantor_schools, agreement.starts_on, agreement.ends_on)
        if not schools:
            continue
        basis = Basis(BasisKind.AGREEMENT, agreement.id, agreement.legal_basis)
        grants += [
            ChildGrant(
                upn=upn,
                from_date=agreement.starts_on,
                to_date=agreement.ends_on,
                fields=agreement.fields,
                basis=basis,
                schools=schools,
            )
            for upn in agreement.upns
        ]
    return _sorted(grants)


def with_agreements(decision: ReachDecision, grants: tuple[ChildGrant, ...]) -> ReachDecision:
    """A decision plus the children agreements give (an agreement never removes access)."""
    if not grants:
        return decision  # most callers: no agreement; their children are in order already
    return ReachDecision(
        schools=decision.schools,
        children=_sorted([*decision.children, *grants]),
        all_schools=decision.all_schools,
        all_schools_fields=decision.all_schools_fields,
        pupil_level=decision.pupil_level,
    )


def _clip(windows: Iterable[SchoolWindow], start: date, end: date) -> tuple[SchoolWindow, ...]:
    clipped = []
    for w in windows:
        lo = max(w.from_date or start, start)
        hi = min(w.to_date or end, end)
        if lo <= hi:
            clipped.append(SchoolWindow(w.urn, lo, hi))
    return tuple(sorted(clipped, key=lambda w: (w.urn, w.from_date or date.min)))


def _sorted(grants: Iterable[ChildGrant]) -> tuple[ChildGrant, ...]:
    return tuple(sorted(grants, key=lambda g: (g.upn, g.from_date or date.min, g.basis.id)))
