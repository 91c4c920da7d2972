"""The school year of the synthetic local authority: terms, half terms, bank holidays, INSET.

Dates follow the pattern English local authorities publish (195 days a year, of which 5
are INSET days, leaving the 190 pupil days the regulations require), written out per
year rather than derived, because Easter moves the spring/summer boundary around and
authorities do not all agree on it. Only the years listed in `TERMS` are supported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property


@dataclass(frozen=True)
class Term:
    """One term, with its half-term break (weekdays inside the break are not school days)."""

    start: date
    end: date
    half_term: tuple[date, date]


@dataclass(frozen=True)
class YearDates:
    """The published dates of one academic year."""

    terms: tuple[Term, Term, Term]
    bank_holidays: frozenset[date]
    inset_days: frozenset[date]
    spring_bank_holiday: date
    """The last Monday of May: DfE drops sessions of 15-year-olds from this day on."""


TERMS: dict[int, YearDates] = {
    2023: YearDates(
        terms=(
            Term(date(2023, 9, 4), date(2023, 12, 20), (date(2023, 10, 30), date(2023, 11, 3))),
            Term(date(2024, 1, 3), date(2024, 3, 28), (date(2024, 2, 12), date(2024, 2, 16))),
            Term(date(2024, 4, 15), date(2024, 7, 22), (date(2024, 5, 27), date(2024, 5, 31))),
        ),
        bank_holidays=frozenset({date(2024, 5, 6), date(2024, 5, 27)}),
        inset_days=frozenset(
            {
                date(2023, 9, 4),
                date(2023, 9, 5),
                date(2024, 1, 3),
                date(2024, 4, 15),
                date(2024, 7, 22),
            }
        ),
        spring_bank_holiday=date(2024, 5, 27),
    ),
    2024: YearDates(
        terms=(
            Term(date(2024, 9, 2), date(2024, 12, 20), (date(2024, 10, 28), date(2024, 11, 1))),
            Term(date(2025, 1, 6), date(2025, 4, 4), (date(2025, 2, 17), date(2025, 2, 21))),
            Term(date(2025, 4, 22), date(2025, 7, 22), (date(2025, 5, 26), date(2025, 5, 30))),
        ),
        bank_holidays=frozenset({date(2025, 5, 5), date(2025, 5, 26)}),
        inset_days=frozenset(
            {
                date(2024, 9, 2),
                date(2024, 9, 3),
                date(2025, 1, 6),
                date(2025, 4, 22),
                date(2025, 7, 22),
            }
        ),
        spring_bank_holiday=date(2025, 5, 26),
    ),
    2025: YearDates(
        terms=(
            Term(date(2025, 9, 1), date(2025, 12, 19), (date(2025, 10, 27), date(2025, 10, 31))),
            Term(date(2026, 1, 5), date(2026, 3, 27), (date(2026, 2, 16), date(2026, 2, 20))),
            Term(date(2026, 4, 13), date(2026, 7, 20), (date(2026, 5, 25), date(2026, 5, 29))),
        ),
        bank_holidays=frozenset({date(2026, 5, 4), date(2026, 5, 25)}),
        inset_days=frozenset(
            {
                date(2025, 9, 1),
                date(2025, 9, 2),
                date(2026, 1, 5),
                date(2026, 4, 13),
                date(2026, 7, 20),
            }
        ),
        spring_bank_holiday=date(2026, 5, 25),
    ),
}


def supported_years() -> list[int]:
    return sorted(TERMS)


@dataclass(frozen=True)
class SchoolCalendar:
    """The register days of one academic year (`year` is the autumn's calendar year)."""

    year: int
    weeks: int | None = None
    """Keep only the first N weeks of the autumn term (small demo sets and tests)."""
    start: date | None = None
    """Keep only days from this one on (a partial year, e.g. one summer term)."""

    def __post_init__(self) -> None:
        if self.year not in TERMS:
            years = ", ".join(str(y) for y in supported_years())
            raise ValueError(f"no term dates for {self.year}/{self.year + 1 - 2000}; have {years}")

    @property
    def dates(self) -> YearDates:
        return TERMS[self.year]

    @property
    def first_day(self) -> date:
        return self.dates.terms[0].start

    @property
    def last_day(self) -> date:
        return self.register_days[-1]

    @property
    def label(self) -> str:
        """`2024/25`."""
        return f"{self.year}/{(self.year + 1) % 100:02d}"

    @cached_property
    def register_days(self) -> tuple[date, ...]:
        """Every day the register is kept: term weekdays outside half terms and bank holidays.

        INSET days are included: the register shows them as `#` planned closures.
        """
        days: list[date] = []
        cutoff = self.first_day + timedelta(weeks=self.weeks) if self.weeks is not None else None
        for term in self.dates.terms:
            day = term.start
            while day <= term.end:
                in_half_term = term.half_term[0] <= day <= term.half_term[1]
                if (
                    day.weekday() < 5
                    and not in_half_term
                    and day not in self.dates.bank_holidays
                    and (cutoff is None or day < cutoff)
                    and (self.start is None or day >= self.start)
                ):
                    days.append(day)
                day += timedelta(days=1)
        return tuple(days)

    def is_inset(self, day: date) -> bool:
        return day in self.dates.inset_days

    @cached_property
    def pupil_days(self) -> tuple[date, ...]:
        """Register days that are not INSET days."""
        return tuple(d for d in self.register_days if not self.is_inset(d))

    def term_of(self, day: date) -> int:
        """0, 1 or 2 for autumn, spring, summer; raises ValueError outside term."""
        for index, term in enumerate(self.dates.terms):
            if term.start <= day <= term.end:
                return index
        raise ValueError(f"{day.isoformat()} is not in a term of {self.label}")

    def days_between(self, start: date, end: date) -> tuple[date, ...]:
        """Register days from `start` to `end`, inclusive."""
        return tuple(d for d in self.register_days if start <= d <= end)
