"""School-year dates: academic years, terms, the second half of the summer term, weeks.

An academic year runs from 1 September to 31 August and is named by its first
calendar year (2023 is "2023/24"). Terms follow DfE's statistical terms: autumn from
1 September to 31 December, spring from 1 January to Easter Sunday, summer from the
day after Easter Sunday to 31 August. The second half of the summer term, which DfE
removes for pupils aged 15, runs from the spring bank holiday (the last Monday of May)
to 31 July.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from shared.types import EARLIEST_DATE


class Term(StrEnum):
    AUTUMN = "autumn"
    SPRING = "spring"
    SUMMER = "summer"


@dataclass(frozen=True)
class Period:
    """An inclusive range of dates."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def days(self) -> int:
        return (self.end - self.start).days + 1


REPORTABLE = Period(EARLIEST_DATE, date(2999, 12, 31))
"""The dates the service reports on; a question about any other is refused. Far from
them the weeks and years around a date cannot be reckoned (a year before 1 or after
9999), and no register holds one."""


def academic_year_of(day: date) -> int:
    """The academic year (by its first calendar year) that `day` falls in."""
    return day.year if day.month >= 9 else day.year - 1


def academic_year_period(year: int) -> Period:
    return Period(date(year, 9, 1), date(year + 1, 8, 31))


_ACADEMIC_YEAR = re.compile(r"^(\d{4})/(\d{2})$")


def parse_academic_year(text: str) -> int:
    """`2023/24` -> 2023; raises ValueError for anything else (including `2023/25`)."""
    found = _ACADEMIC_YEAR.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not an academic year like 2023/24")
    first = int(found.group(1))
    if (first + 1) % 100 != int(found.group(2)):
        raise ValueError(f"{text!r}: the second year must follow the first")
    if not REPORTABLE.start.year <= first < REPORTABLE.end.year:
        raise ValueError(
            f"{text!r} is not an academic year reported on: "
            f"{format_academic_year(REPORTABLE.start.year)} to "
            f"{format_academic_year(REPORTABLE.end.year - 1)}"
        )
    return first


def format_academic_year(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


def time_period(year: int) -> str:
    """DfE's `time_period` for an academic year: 2023 -> `202324`."""
    return f"{year}{(year + 1) % 100:02d}"


def easter_sunday(year: int) -> date:
    """Easter Sunday (Gregorian), by the anonymous Meeus/Jones/Butcher algorithm."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def term_period(year: int, term: Term) -> Period:
    """The dates of one DfE statistical term of academic year `year`."""
    easter = easter_sunday(year + 1)
    if term is Term.AUTUMN:
        return Period(date(year, 9, 1), date(year, 12, 31))
    if term is Term.SPRING:
        return Period(date(year + 1, 1, 1), easter)
    return Period(easter + timedelta(days=1), date(year + 1, 8, 31))


def spring_bank_holiday(calendar_year: int) -> date:
    """The last Monday of May."""
    last = date(calendar_year, 5, 31)
    return last - timedelta(days=last.weekday())


def summer_second_half(year: int) -> Period:
    """Second half of the summer term of academic year `year`: spring bank holiday to 31 July."""
    return Period(spring_bank_holiday(year + 1), date(year + 1, 7, 31))


def age_on_31_august_before(date_of_birth: date, year: int) -> int:
    """Age on 31 August before academic year `year` (the age DfE groups pupils by)."""
    ref = date(year, 8, 31)
    before_birthday = (ref.month, ref.day) < (date_of_birth.month, date_of_birth.day)
    return ref.year - date_of_birth.year - (1 if before_birthday else 0)


def week_start(day: date) -> date:
    """The Monday of the week `day` is in."""
    return day - timedelta(days=day.weekday())
