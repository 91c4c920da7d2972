"""Sharing's Reach applied to the read model: which days and fields of each enrolment a
caller may see, and why.

Following docs/access-policy.md ("How a data service applies Reach"): an enrolment (a
pupil `upn` on the roll of school `urn` from its entry date to its leaving date, over
each stay of a pupil who left and came back) is seen on the days of

- a `schools[]` window of that school, intersected with the enrolment's own dates; and
- a `children[]` window of that UPN (at any school when its `schools` is null, otherwise
  only within the listed school's window), also within the enrolment's dates.

Its fields are the union of the fields of every window that allows it; its days are the
union of those windows (merged, so no day counts twice). Plain values in, plain values out.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from services.metrics.domain.calendar import Period
from shared.contracts.policy import PupilField, ReachData
from shared.contracts.social_care import SocialCareCategory

_DAY = dt.timedelta(days=1)
Span = tuple[dt.date, dt.date]
"""Inclusive first and last day; open bounds are date.min / date.max."""


class Grant(NamedTuple):
    """One window of the decision that lets the caller see an enrolment (a tuple: a
    Reach has one for each of thousands of children)."""

    span: Span
    fields: frozenset[PupilField]
    legal_basis: str
    episode_id: str | None = None
    category: SocialCareCategory | None = None
    practitioner_ref: str | None = None


def merge(spans: Iterable[Span]) -> list[Span]:
    """Disjoint, sorted spans covering the same days (overlapping or adjacent ones joined)."""
    out: list[Span] = []
    for lo, hi in sorted(spans):
        if out and lo <= (out[-1][1] + _DAY if out[-1][1] < dt.date.max else out[-1][1]):
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def clip(spans: Iterable[Span], period: Period) -> list[Period]:
    """The parts of the spans inside the period."""
    return [
        Period(max(lo, period.start), min(hi, period.end))
        for lo, hi in spans
        if max(lo, period.start) <= min(hi, period.end)
    ]


def _span(lo: dt.date | None, hi: dt.date | None) -> Span:
    return (lo or dt.date.min, hi or dt.date.max)


def _meet(a: Span, b: Span) -> Span | None:
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None


class EnrolmentAccess:
    """What a caller may see of one enrolment: the grants that allow it, and from them
    the fields and the days (disjoint spans) it may see. Never changed once made; equal
    when the grants are."""

    # Slots, set once in __init__, rather than a frozen dataclass: views make one for
    # every enrolment of thousands of children, and a frozen dataclass sets each field
    # through object.__setattr__.
    __slots__ = ("fields", "grants", "spans")

    grants: tuple[Grant, ...]
    fields: frozenset[PupilField]
    spans: list[Span]

    def __init__(self, grants: tuple[Grant, ...]) -> None:
        self.grants = grants
        if len(grants) == 1:  # most enrolments: one window, nothing to merge
            (only,) = grants
            self.fields, self.spans = only.fields, [only.span]
        else:
            self.fields = frozenset().union(*(g.fields for g in grants))
            self.spans = merge(g.span for g in grants)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnrolmentAccess) and other.grants == self.grants

    def __hash__(self) -> int:
        return hash(self.grants)

    def __repr__(self) -> str:
        return f"EnrolmentAccess({self.grants!r})"

    def sees(self, field: PupilField) -> bool:
        return field in self.fields

    def shows(self, day: dt.date) -> bool:
        """Whether a mark of this day may be shown."""
        return any(lo <= day <= hi for lo, hi in self.spans)


class PupilReach:
    """A caller's Reach, indexed for the read model's enrolments; never changed once made
    (the sharing client keeps one for every request under the same policy)."""

    def __init__(self, reach: ReachData) -> None:
        # No decision gives every school at pupil level (the DfE's is aggregates only);
        # were one to, it is refused rather than read as "every pupil".
        self.pupil_level = reach["pupil_level"] and not reach["all_schools"]
        # Each of the Reach's terms read once: thousands of windows share a few.
        terms = [(frozenset(t["fields"]), t["basis"]["legal_basis"]) for t in reach["terms"]]
        self._schools: dict[str, list[Grant]] = defaultdict(list)
        for s in reach["schools"]:
            self._schools[s["urn"]].append(
                Grant(_span(s["from_date"], s["to_date"]), *terms[s["terms"]])
            )
        self._children: dict[str, list[tuple[Grant, dict[str, list[Span]] | None]]] = defaultdict(
            list
        )
        for c in reach["children"]:
            at: dict[str, list[Span]] | None = None
            if c["schools"] is not None:
                at = defaultdict(list)
                for w in c["schools"]:
                    at[w["urn"]].append(_span(w["from_date"], w["to_date"]))
            fields, legal_basis = terms[c["terms"]]
            grant = Grant(
                _span(c["from_date"], c["to_date"]),
                fields,
                legal_basis,
                c["episode_id"],
                c["category"],
                c["practitioner_ref"],
            )
            self._children[c["upn"]].append((grant, at))
        # Plain dicts: a lookup of a missing key must not add it to a shared index.
        self._schools = dict(self._schools)
        self._children = dict(self._children)

    @property
    def school_urns(self) -> list[str]:
        """Schools whose pupils may be seen (within their enrolments)."""
        return sorted(self._schools)

    @property
    def upns(self) -> list[str]:
        """Children named in the decision, wherever they are on roll."""
        return sorted(self._children)

    def child_grants(self) -> Iterator[tuple[str, Grant]]:
        """Each child's own windows (episodes, agreements), before any school is
        considered, by UPN in no particular order."""
        for upn, grants in self._children.items():
            for g, _ in grants:
                yield upn, g

    def access(
        self, upn: str, school_urn: str, stays: Sequence[tuple[dt.date, dt.date | None]]
    ) -> EnrolmentAccess | None:
        """What may be seen of this enrolment over its stays (entry, leaving or None),
        or None if nothing (not found): never a day between two stays."""
        of_school = self._schools.get(school_urn)
        of_child = self._children.get(upn)
        if of_school is None and of_child is None:
            return None  # views ask for every enrolment of thousands of children
        enrolled = [_span(lo, hi) for lo, hi in stays]
        found: list[Grant] = []
        for g in of_school or ():
            _within_stays(g, g.span, enrolled, found)
        for g, at in of_child or ():
            if at is None:  # at any school: the window itself
                _within_stays(g, g.span, enrolled, found)
                continue
            for w in at.get(school_urn, ()):
                if (inner := _meet(g.span, w)) is not None:
                    _within_stays(g, inner, enrolled, found)
        return EnrolmentAccess(tuple(found)) if found else None


def _within_stays(g: Grant, window: Span, enrolled: Sequence[Span], found: list[Grant]) -> None:
    """Add to `found` the grant over each part of `window` inside a stay."""
    lo, hi = window
    for stay_lo, stay_hi in enrolled:
        # `_meet` inlined: views ask for every enrolment of thousands of children.
        start = lo if lo > stay_lo else stay_lo
        end = hi if hi < stay_hi else stay_hi
        if start > end:
            continue
        if (start, end) == g.span:
            found.append(g)  # the window within the stay already: as it is
        else:
            # Made directly, not by `_replace` (slower).
            found.append(
                Grant(
                    (start, end),
                    g.fields,
                    g.legal_basis,
                    g.episode_id,
                    g.category,
                    g.practitioner_ref,
                )
            )


def within(
    access: EnrolmentAccess, windows: Sequence[tuple[dt.date | None, dt.date | None]]
) -> EnrolmentAccess | None:
    """The access limited to these windows (a scope's dates), or None if nothing is left."""
    found = [
        g._replace(span=span)
        for g in access.grants
        for lo, hi in windows
        if (span := _meet(g.span, _span(lo, hi))) is not None
    ]
    return EnrolmentAccess(tuple(found)) if found else None


F = PupilField
COLUMNS_BY_FIELD: dict[PupilField, tuple[str, ...]] = {
    F.IDENTITY: ("legal_surname", "legal_forename", "date_of_birth"),
    F.ENROLMENT: ("nc_year", "entry_date", "leaving_date", "earlier_stays"),
    F.GENDER: ("gender",),
    F.FSM: ("fsm_eligible",),
    F.SEN: ("sen_provision",),
    F.ETHNICITY: ("ethnicity", "ethnicity_group"),
}
"""The read model's enrolment columns each policy field covers (the UPN and school are the
row itself; attendance is every mark and measure)."""
FIELD_OF_COLUMN = {c: f for f, columns in COLUMNS_BY_FIELD.items() for c in columns}


def shown_columns(fields: frozenset[PupilField]) -> set[str]:
    """The enrolment columns the fields allow."""
    return {c for f in fields for c in COLUMNS_BY_FIELD.get(f, ())}


def by_legal_basis(
    reads: Iterable[tuple[str, str, EnrolmentAccess]],
) -> dict[str, list[tuple[str, str]]]:
    """The (UPN, school) children read, under each legal basis relied on (a child read
    under two windows' bases is under both), for the audit trail: one entry per basis."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for upn, urn, access in reads:
        for g in access.grants:
            found[g.legal_basis].add((upn, urn))
    return {basis: sorted(children) for basis, children in sorted(found.items())}
