"""The plain values a return is made of, shared by the parsers, the rules and the writers.

Marks are plain tuples, not objects: a full-year backfill of a 2,000-pupil school is
about 760,000 of them, and a tuple of shared strings and cached dates costs a fraction
of a dataclass instance (see benchmarks/README.md for the peak RSS this buys).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from shared.contracts.changes import Enrolment, EnrolmentStatus, SenProvision, Stay, on_roll

SESSIONS = ("AM", "PM")


@dataclass(frozen=True, slots=True)
class Pupil:
    """One pupil on the roll of the school a return is for, as the census records them."""

    upn: str
    legal_surname: str
    legal_forename: str
    date_of_birth: date
    gender: str
    nc_year: str
    sen_provision: SenProvision
    fsm_eligible: bool
    ethnicity: str
    enrolment_status: EnrolmentStatus
    entry_date: date
    leaving_date: date | None = None
    upn_temporary: bool = False
    earlier_stays: tuple[tuple[date, date], ...] = ()
    """Stays before the latest (entry, leaving), oldest first: a pupil who left and
    came back."""

    @property
    def stays(self) -> tuple[tuple[date, date | None], ...]:
        """Every stay, oldest first: (entry date, leaving date or None while on roll)."""
        return (*self.earlier_stays, (self.entry_date, self.leaving_date))

    def on_roll(self, day: date) -> bool:
        """Whether the pupil is on the school's roll on `day` (entry and leaving days count)."""
        return on_roll(self.stays, day)

    def on_roll_between(self, start: date, end: date) -> bool:
        """Whether the pupil is on the school's roll on any day from `start` to `end`."""
        return any(lo <= end and (hi is None or hi >= start) for lo, hi in self.stays)

    def to_enrolment(self, school_urn: str) -> Enrolment:
        """The contract shape of this roll entry, as the change feed publishes it."""
        return Enrolment(
            school_urn=school_urn,
            upn=self.upn,
            upn_temporary=self.upn_temporary,
            legal_surname=self.legal_surname,
            legal_forename=self.legal_forename,
            date_of_birth=self.date_of_birth,
            gender=self.gender,
            nc_year=self.nc_year,
            sen_provision=self.sen_provision,
            fsm_eligible=self.fsm_eligible,
            ethnicity=self.ethnicity,
            enrolment_status=self.enrolment_status,
            entry_date=self.entry_date,
            leaving_date=self.leaving_date,
            earlier_stays=[Stay(entry_date=lo, leaving_date=hi) for lo, hi in self.earlier_stays],
        )

    @classmethod
    def from_enrolment(cls, enrolment: Enrolment) -> Pupil:
        """The roll entry of a stored or published enrolment."""
        return cls(
            upn=enrolment.upn,
            legal_surname=enrolment.legal_surname,
            legal_forename=enrolment.legal_forename,
            date_of_birth=enrolment.date_of_birth,
            gender=enrolment.gender,
            nc_year=enrolment.nc_year,
            sen_provision=enrolment.sen_provision,
            fsm_eligible=enrolment.fsm_eligible,
            ethnicity=enrolment.ethnicity,
            enrolment_status=enrolment.enrolment_status,
            entry_date=enrolment.entry_date,
            leaving_date=enrolment.leaving_date,
            upn_temporary=enrolment.upn_temporary,
            earlier_stays=tuple((s.entry_date, s.leaving_date) for s in enrolment.earlier_stays),
        )


class Mark(NamedTuple):
    """One register mark: a pupil's code for one session. `-` means no mark entered."""

    upn: str
    date: date
    session: str
    code: str


@dataclass(frozen=True, slots=True)
class DateRange:
    """An inclusive range of days."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end
