"""The absence figures a generated cohort actually produces, by DfE's counting rules.

The counting is the metrics service's own (`services.metrics.domain.measures`): the
same headline filter (ages 5-15, 15-year-olds' second half of summer removed, late
summer starters excluded), per-enrolment persistent and severe absence, rates summed
before dividing. So the figures printed here are what the dashboards will show once
the returns are loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from services.cli.demo.marks import Register
from services.cli.demo.population import Enrolment, Population
from services.metrics.domain.measures import (
    GroupMeasures,
    count_marks,
    counts_toward_headline,
    percent,
)
from shared.contracts.social_care import SocialCareCategory


@dataclass(frozen=True)
class Figures:
    """The headline measures of one group of enrolments, in percent."""

    enrolments: int
    overall: float
    authorised: float
    unauthorised: float
    persistent: float
    severe: float

    @classmethod
    def of(cls, measures: GroupMeasures) -> Figures:
        c = measures.counts
        return cls(
            enrolments=measures.enrolments,
            overall=percent(c.overall, c.possible) or 0.0,
            authorised=percent(c.authorised, c.possible) or 0.0,
            unauthorised=percent(c.unauthorised, c.possible) or 0.0,
            persistent=percent(measures.persistent, measures.enrolments) or 0.0,
            severe=percent(measures.severe, measures.enrolments) or 0.0,
        )


def enrolment_measures(register: Register) -> GroupMeasures:
    """One enrolment's contribution to the headline measures (final, amended codes)."""
    enrolment = register.enrolment
    child = enrolment.child
    marks = (
        (day, code)
        for day, _session, code in register.sessions()
        if counts_toward_headline(child.date_of_birth, enrolment.entry_date, day)
    )
    return GroupMeasures.of_enrolment(count_marks(marks))


GROUPS: dict[str, Callable[[Enrolment], bool]] = {
    "all": lambda e: True,
    "primary": lambda e: e.school.phase == "primary",
    "secondary": lambda e: e.school.phase == "secondary",
    "special": lambda e: e.school.phase == "special",
    "fsm": lambda e: e.child.fsm_eligible,
    "not fsm": lambda e: not e.child.fsm_eligible,
    "no sen": lambda e: e.child.sen_provision == "N",
    "sen support": lambda e: e.child.sen_provision == "K",
    "ehc plan": lambda e: e.child.sen_provision == "E",
    "child in need": lambda e: e.child.social_care is SocialCareCategory.CHILD_IN_NEED,
    "child on plan": lambda e: e.child.social_care is SocialCareCategory.CHILD_PROTECTION_PLAN,
    "looked after": lambda e: e.child.social_care is SocialCareCategory.LOOKED_AFTER,
}
"""The groups the calibration report breaks figures down by (social care: any time)."""


def calibration(population: Population, registers: Iterable[Register]) -> dict[str, Figures]:
    """Headline figures of the authority's own schools, overall and by group."""
    home = {s.key for s in population.home_schools()}
    totals = {name: GroupMeasures.empty() for name in GROUPS}
    for register in registers:
        enrolment = register.enrolment
        # The looked-after child placed out of area counts for the authority too: the
        # virtual school reports on its children wherever they go to school.
        if enrolment.school.key not in home and enrolment.child.social_care is None:
            continue
        measures = enrolment_measures(register)
        for name, belongs in GROUPS.items():
            if belongs(enrolment):
                totals[name] = totals[name] + measures
    return {name: Figures.of(m) for name, m in totals.items()}


def format_figures(figures: dict[str, Figures]) -> str:
    """A small fixed-width table of the figures."""
    lines = [
        f"{'group':15} {'enrol':>6} {'overall':>8} {'auth':>6} {'unauth':>7} "
        f"{'PA 10%':>7} {'SA 50%':>7}"
    ]
    for name, f in figures.items():
        lines.append(
            f"{name:15} {f.enrolments:6d} {f.overall:7.2f}% {f.authorised:5.2f}% "
            f"{f.unauthorised:6.2f}% {f.persistent:6.1f}% {f.severe:6.1f}%"
        )
    return "\n".join(lines)
