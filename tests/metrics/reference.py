"""A brute-force reference for DfE's absence measures, written straight from the rules.

Deliberately independent of the service: it reads the final register (after every
change), walks each enrolment's marks one by one and applies the methodology as the
domain README states it. Only the code table (`shared.codes`) is shared.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from shared.codes import Category, category_on, lookup
from shared.contracts.changes import (
    ChangePage,
    Enrolment,
    EnrolmentRemoved,
    EnrolmentUpserted,
    MarkUpserted,
    MarkWithdrawn,
)


@dataclass
class Register:
    """The state the feed describes: enrolments and their marks."""

    enrolments: dict[tuple[str, str], Enrolment] = field(default_factory=dict)
    marks: dict[tuple[str, str], dict[tuple[dt.date, str], str]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def apply(self, page: ChangePage) -> None:
        for c in page.changes:
            if isinstance(c, EnrolmentUpserted):
                self.enrolments[(c.enrolment.school_urn, c.enrolment.upn)] = c.enrolment
            elif isinstance(c, EnrolmentRemoved):
                self.enrolments.pop((c.school_urn, c.upn), None)
                self.marks.pop((c.school_urn, c.upn), None)
            elif isinstance(c, MarkUpserted):
                self.marks[(c.school_urn, c.upn)][(c.date, c.session.value)] = c.code
            elif isinstance(c, MarkWithdrawn):
                self.marks[(c.school_urn, c.upn)].pop((c.date, c.session.value), None)


def _last_monday_of_may(year: int) -> dt.date:
    day = dt.date(year, 5, 31)
    while day.weekday() != 0:
        day -= dt.timedelta(days=1)
    return day


def _stay(e: Enrolment, day: dt.date) -> dt.date:
    """The entry date of the stay `day` belongs to: each stay of a pupil who left and
    came back is its own enrolment (a day before every stay: the first)."""
    begun = [entry for entry, _ in e.stays if entry <= day]
    return begun[-1] if begun else e.stays[0][0]


def _counted(e: Enrolment, day: dt.date, population: str) -> bool:
    start_year = day.year if day.month >= 9 else day.year - 1
    reference = dt.date(start_year, 8, 31)
    age = reference.year - e.date_of_birth.year
    if (reference.month, reference.day) < (e.date_of_birth.month, e.date_of_birth.day):
        age -= 1
    # Headline: 5 to 15; DfE reports four-year-olds apart, by the same rules.
    if population == "four_year_olds" and age != 4:
        return False
    if population == "headline" and (age < 5 or age > 15):
        return False
    half_start = _last_monday_of_may(start_year + 1)
    half_end = dt.date(start_year + 1, 7, 31)
    if age == 15 and half_start <= day <= half_end:
        return False
    return not half_start <= _stay(e, day) <= half_end


@dataclass
class Totals:
    enrolments: int = 0
    possible: int = 0
    attended: int = 0
    authorised: int = 0
    unauthorised: int = 0
    persistent: int = 0
    severe: int = 0
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def reference_measures(
    register: Register,
    start: dt.date,
    end: dt.date,
    key: object = None,
    schools: set[str] | None = None,
    population: str = "headline",
) -> dict[tuple[str, ...], Totals]:
    """Totals per group; `key(enrolment) -> tuple` groups (default: one group `()`);
    `population`: "headline" or "four_year_olds"."""
    out: dict[tuple[str, ...], Totals] = defaultdict(Totals)
    for (urn, upn), e in register.enrolments.items():
        if schools is not None and urn not in schools:
            continue
        per_stay: dict[dt.date, Totals] = defaultdict(Totals)
        for (day, _session), code in register.marks.get((urn, upn), {}).items():
            if not start <= day <= end or not _counted(e, day, population):
                continue
            category = category_on(code, day)
            if category is Category.NOT_POSSIBLE:
                continue
            s = per_stay[_stay(e, day)]
            s.possible += 1
            if category in (Category.PRESENT, Category.APPROVED_ACTIVITY):
                s.attended += 1
            elif category is Category.AUTHORISED:
                s.authorised += 1
            elif category is Category.UNAUTHORISED:
                s.unauthorised += 1
            definition = lookup(code, day)
            if (
                definition is not None
                and definition.dfe_reason
                and category in (Category.AUTHORISED, Category.UNAUTHORISED)
            ):
                s.reasons[definition.dfe_reason] += 1
        group = key(e) if callable(key) else ()
        for s in per_stay.values():  # only stays with a possible session are here
            t = out[group]
            t.enrolments += 1
            t.possible += s.possible
            t.attended += s.attended
            t.authorised += s.authorised
            t.unauthorised += s.unauthorised
            overall = s.authorised + s.unauthorised
            t.persistent += 1 if Fraction(overall, s.possible) >= Fraction(1, 10) else 0
            t.severe += 1 if Fraction(overall, s.possible) >= Fraction(1, 2) else 0
            for r, n in s.reasons.items():
                t.reasons[r] += n
    return dict(out)
