"""Which schools an organisation may see, and over which dates.

Plain functions over plain values, so the rules are tested without a database. This is
the simple, school-level policy: a school sees itself, a trust the schools it has run
(each over its membership window), a local authority the schools in its area, the DfE
every school but only in aggregate. Virtual schools and children's social care see
children, not schools: their reach is per child (care episodes) and is not decided here,
so they get no schools from this function.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class SchoolWindow:
    """One school visible from `from_date` to `to_date` inclusive (None: unbounded)."""

    urn: str
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True)
class Visibility:
    """The outcome: some schools, or all of them; pupil-level or aggregates only."""

    schools: tuple[SchoolWindow, ...] = ()
    all_schools: bool = False
    pupil_level: bool = True


@dataclass(frozen=True)
class Membership:
    """A school's time in a trust, as the policy needs it."""

    urn: str
    start_date: date
    end_date: date | None


def school_visibility(urn: str) -> Visibility:
    """A school sees its own pupils, at any date."""
    return Visibility(schools=(SchoolWindow(urn),))


def trust_visibility(memberships: Iterable[Membership]) -> Visibility:
    """A trust sees each of its schools only over the time the school was in the trust."""
    windows = sorted(
        (SchoolWindow(m.urn, m.start_date, m.end_date) for m in memberships),
        key=lambda w: (w.urn, w.from_date or date.min),
    )
    return Visibility(schools=tuple(windows))


def local_authority_visibility(urns_in_area: Iterable[str]) -> Visibility:
    """A local authority sees every school in its area, at any date."""
    return Visibility(schools=tuple(SchoolWindow(u) for u in sorted(urns_in_area)))


def dfe_visibility() -> Visibility:
    """The DfE sees every school, in aggregate only (subject to disclosure control)."""
    return Visibility(all_schools=True, pupil_level=False)


def no_school_visibility() -> Visibility:
    """Organisations whose reach is not school-based (or, like the operator, none)."""
    return Visibility()
