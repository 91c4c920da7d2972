"""DfE absence measures, per enrolment and summed over groups of enrolments.

The rules (DfE *Pupil absence statistics: methodology*, as this project reads it):
- Counted per enrolment. Headline figures cover pupils aged 5 to 15 on 31 August
  before the academic year. For pupils aged 15, sessions in the second half of the
  summer term are removed; enrolments that first start in the second half of the
  summer term are excluded for that year; enrolments with no possible sessions are
  excluded. Four-year-olds (aged 4 on that 31 August) are reported separately, under
  the same rules otherwise.
- `sess_possible` counts present, approved educational activity, authorised and
  unauthorised sessions, plus the 2020-22 covid `X` (possible, neither attendance nor
  absence). `sess_overall` = authorised + unauthorised.
- Rates sum sessions first, then divide.
- A persistent absentee's own overall absence is at least 10% of its own possible
  sessions; a severe absentee's at least 50%. Integers are compared, never floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from services.metrics.domain.calendar import (
    academic_year_of,
    age_on_31_august_before,
    summer_second_half,
)
from shared.codes import DFE_REASONS, NO_MARK, Category, category_on, lookup

HEADLINE_MIN_AGE = 5
HEADLINE_MAX_AGE = 15
FOUR_YEAR_OLDS_AGE = 4
PERSISTENT_PERCENT = 10
SEVERE_PERCENT = 50

RATE_COLUMNS: tuple[str, ...] = (
    "sess_possible",
    "sess_attended",
    "sess_authorised",
    "sess_unauthorised",
)
"""The counts attendance and absence rates are made of."""
COUNT_COLUMNS: tuple[str, ...] = (*RATE_COLUMNS, *DFE_REASONS)
"""Every additive session count the read model keeps, named by DfE variable."""


def in_headline_ages(date_of_birth: date, year: int) -> bool:
    """Whether a pupil is 5 to 15 on 31 August before academic year `year`."""
    return HEADLINE_MIN_AGE <= age_on_31_august_before(date_of_birth, year) <= HEADLINE_MAX_AGE


def stay_entry(entries: Sequence[date], day: date) -> date:
    """Of the entry dates of an enrolment's stays (oldest first), the one of the stay
    `day` belongs to: the latest begun by then (the first for a day before it). DfE
    counts each stay of a pupil who left and came back as its own enrolment, so the
    late-summer rule asks of the stay."""
    entry = entries[0]
    for later in entries[1:]:
        if later <= day:
            entry = later
    return entry


class Population(StrEnum):
    """The pupils a set of DfE absence figures covers."""

    HEADLINE = "headline"
    """Aged 5 to 15 on 31 August before the academic year."""
    FOUR_YEAR_OLDS = "four_year_olds"
    """Aged 4 on that day: DfE publishes their absence apart from the headline figures."""


def population_of(date_of_birth: date, entry_date: date, day: date) -> Population | None:
    """Which figures a session on `day` of this enrolment (its stay begun on
    `entry_date`) enters, if any."""
    year = academic_year_of(day)
    age = age_on_31_august_before(date_of_birth, year)
    if age == FOUR_YEAR_OLDS_AGE:
        population = Population.FOUR_YEAR_OLDS
    elif HEADLINE_MIN_AGE <= age <= HEADLINE_MAX_AGE:
        population = Population.HEADLINE
    else:
        return None
    second_half = summer_second_half(year)
    if age == HEADLINE_MAX_AGE and day in second_half:
        return None
    return None if entry_date in second_half else population


def counts_toward_headline(date_of_birth: date, entry_date: date, day: date) -> bool:
    """Whether a session on `day` of this enrolment enters DfE's headline measures."""
    return population_of(date_of_birth, entry_date, day) is Population.HEADLINE


def session_contribution(code: str, day: date) -> dict[str, int]:
    """The counts one register mark adds: {} for a not-possible session.

    `-` (no mark) and codes not in force on the day count as nothing here; ingest
    rejects both, and a gap in the register is a data-quality matter, not absence.
    """
    if code == NO_MARK or lookup(code, day) is None:
        return {}
    category = category_on(code, day)
    if category is Category.NOT_POSSIBLE:
        return {}
    found: dict[str, int] = {"sess_possible": 1}
    if category.is_attendance:
        found["sess_attended"] = 1
    elif category is Category.AUTHORISED:
        found["sess_authorised"] = 1
    elif category is Category.UNAUTHORISED:
        found["sess_unauthorised"] = 1
    definition = lookup(code, day)
    if category.is_absence and definition is not None and definition.dfe_reason:
        found[definition.dfe_reason] = 1
    return found


@dataclass(frozen=True)
class SessionCounts:
    """Additive session counts of one enrolment, day, week or group."""

    values: Mapping[str, int] = field(default_factory=dict)

    def __getitem__(self, column: str) -> int:
        return self.values.get(column, 0)

    # The properties read `values` directly: views ask them of thousands of pupils.
    @property
    def possible(self) -> int:
        return self.values.get("sess_possible", 0)

    @property
    def attended(self) -> int:
        return self.values.get("sess_attended", 0)

    @property
    def authorised(self) -> int:
        return self.values.get("sess_authorised", 0)

    @property
    def unauthorised(self) -> int:
        return self.values.get("sess_unauthorised", 0)

    @property
    def overall(self) -> int:
        return self.values.get("sess_authorised", 0) + self.values.get("sess_unauthorised", 0)

    def __add__(self, other: SessionCounts) -> SessionCounts:
        return SessionCounts({c: self[c] + other[c] for c in COUNT_COLUMNS})

    def as_row(self) -> dict[str, int]:
        """Every column, zeros included (the shape of a read-model row)."""
        return {c: self[c] for c in COUNT_COLUMNS}

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> SessionCounts:
        """Counts from a row holding every count column (missing or NULL is 0)."""
        return cls({c: int(values.get(c) or 0) for c in COUNT_COLUMNS})


class Rated(Protocol):
    """What a rate or a rule reads of some counts (`SessionCounts` or `RateCounts`)."""

    @property
    def possible(self) -> int: ...

    @property
    def attended(self) -> int: ...

    @property
    def overall(self) -> int: ...


class RateCounts(NamedTuple):
    """The counts of `RATE_COLUMNS`, in their order, for views of thousands of pupils:
    a tuple made in a fraction of a `SessionCounts`' time."""

    possible: int
    attended: int
    authorised: int
    unauthorised: int

    @property
    def overall(self) -> int:
        return self.authorised + self.unauthorised


DAY_CODE_BASE = 3
"""A day holds two sessions, so each of its counts is 0, 1 or 2: one base-3 digit."""
DAY_CODE_WEIGHTS: tuple[int, ...] = tuple(DAY_CODE_BASE**i for i in range(len(COUNT_COLUMNS)))
"""The weight of each count (`COUNT_COLUMNS` order) in a day's code; the largest code,
3**17 - 1, fits a 32-bit integer."""


def day_code(counts: SessionCounts) -> int:
    """A day's counts as one integer (`DAY_CODE_WEIGHTS`)."""
    return sum(w * counts[c] for w, c in zip(DAY_CODE_WEIGHTS, COUNT_COLUMNS, strict=True))


def count_marks(marks: Iterable[tuple[date, str]]) -> SessionCounts:
    """Sum the contributions of (day, code) marks."""
    totals = dict.fromkeys(COUNT_COLUMNS, 0)
    for day, code in marks:
        for column, n in session_contribution(code, day).items():
            totals[column] += n
    return SessionCounts(totals)


def is_persistent_absentee(counts: Rated) -> bool:
    """Overall absence at least 10% of possible sessions (exact integer comparison)."""
    return counts.possible > 0 and counts.overall * 100 >= PERSISTENT_PERCENT * counts.possible


def is_severe_absentee(counts: Rated) -> bool:
    """Overall absence at least 50% of possible sessions."""
    return counts.possible > 0 and counts.overall * 100 >= SEVERE_PERCENT * counts.possible


def percent(part: int, whole: int) -> float | None:
    """`part / whole x 100`, rounded to 4 places; None when `whole` is 0."""
    return round(part * 100 / whole, 4) if whole else None


@dataclass(frozen=True)
class GroupMeasures:
    """The additive totals of a group of enrolments; rates derive from them."""

    enrolments: int
    counts: SessionCounts
    persistent: int
    severe: int

    def __add__(self, other: GroupMeasures) -> GroupMeasures:
        return GroupMeasures(
            self.enrolments + other.enrolments,
            self.counts + other.counts,
            self.persistent + other.persistent,
            self.severe + other.severe,
        )

    @classmethod
    def empty(cls) -> GroupMeasures:
        return cls(0, SessionCounts(), 0, 0)

    @classmethod
    def of_enrolment(cls, counts: SessionCounts) -> GroupMeasures:
        """One enrolment's contribution; an enrolment with no possible sessions adds nothing."""
        if counts.possible == 0:
            return cls.empty()
        return cls(1, counts, int(is_persistent_absentee(counts)), int(is_severe_absentee(counts)))

    def as_dict(self) -> dict[str, int | float | None]:
        """Every measure by DfE variable name (plus `sess_attended`)."""
        c = self.counts
        out: dict[str, int | float | None] = {
            "enrolments": self.enrolments,
            "sess_possible": c.possible,
            "sess_attended": c.attended,
            "sess_attended_percent": percent(c.attended, c.possible),
            "sess_authorised": c.authorised,
            "sess_unauthorised": c.unauthorised,
            "sess_overall": c.overall,
            "sess_authorised_percent": percent(c.authorised, c.possible),
            "sess_unauthorised_percent": percent(c.unauthorised, c.possible),
            "sess_overall_percent": percent(c.overall, c.possible),
            "enrolments_pa_10_exact": self.persistent,
            "enrolments_pa_10_exact_percent": percent(self.persistent, self.enrolments),
            "enrolments_pa_50_exact": self.severe,
            "enrolments_pa_50_exact_percent": percent(self.severe, self.enrolments),
        }
        for reason in DFE_REASONS:
            out[reason] = c[reason]
        return out
