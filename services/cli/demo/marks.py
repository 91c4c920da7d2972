"""Register marks for every enrolment of the synthetic authority, session by session.

Per enrolment, absence comes from the child's latent propensity `p` (population.py):

- **Spells** of whole-day absence follow a two-state Markov chain whose stationary
  share is the day-level part of `p`: a spell starts with probability `s` and goes on
  with probability `c`, so `s = r(1 - c) / (1 - r)` gives a long-run rate `r`. `c`
  grows with `r`, so frequent absentees have longer spells, as in real registers.
  A spell's reason is drawn once: illness `I` dominates; unauthorised `O` takes a
  larger share the higher the propensity (persistent absentees' absence is more often
  unauthorised); a few are `C` or `R`. The first day of some spells is first recorded
  `N` (no reason yet) and amended to the real reason in a later return.
- **Single sessions**: medical appointments `M` (AM or PM) and arrivals after the
  register closed `U` (AM).
- **A term-time holiday** for about one child in ten: 3-5 days before a break, `G`
  (not agreed) or `C` (leave granted in exceptional circumstances); before 2024 the
  agreed ones are `H`.
- **Suspensions** `E` for some secondary pupils; **part-time timetables** `C2` for a few
  children with an EHC plan.

Present sessions are `/` (AM) and `\\` (PM), with `L` for late before the register
closed; each year group has one educational visit (`V`). INSET days are `#`; one school
is closed by snow for a day (`Y4`, single `Y` before 2024). Sessions a dual-registered
child spends at the other school are `D`.

Every mark is valid on its date in the code set then in force (shared.codes).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from services.cli.demo.calendar import TERMS, SchoolCalendar
from services.cli.demo.population import Child, Enrolment, Phase, Population, School
from shared.codes import REGULATIONS_2024_START

AM_PRESENT = "/"
PM_PRESENT = "\\"
SINGLE_SESSION_SHARE = 0.12
"""Share of a child's absence that comes as single sessions (appointments, late arrival)."""


@dataclass
class Register:
    """The marks of one enrolment: final codes, and what the first return said instead."""

    enrolment: Enrolment
    marks: dict[date, tuple[str, str]] = field(default_factory=dict)
    provisional: dict[date, tuple[str, str]] = field(default_factory=dict)
    """Days first returned with `N`, later amended to the code in `marks`."""

    def sessions(self, *, provisional: bool = False) -> Iterator[tuple[date, str, str]]:
        """(day, session, code) in date order; `provisional` gives the first-returned codes."""
        for day in sorted(self.marks):
            codes = self.provisional.get(day, self.marks[day]) if provisional else self.marks[day]
            yield day, "AM", codes[0]
            yield day, "PM", codes[1]


@dataclass(frozen=True)
class Codes:
    """The codes the generator writes, in the set in force for the period."""

    closure: str
    part_time: str
    agreed_holiday: str


CODES_2024 = Codes(closure="Y4", part_time="C2", agreed_holiday="C")
CODES_2006 = Codes(closure="Y", part_time="C", agreed_holiday="H")


def codes_for(day: date) -> Codes:
    return CODES_2024 if day >= REGULATIONS_2024_START else CODES_2006


@dataclass(frozen=True)
class SchoolEvents:
    """What happens to a whole school or year group: closures and trips."""

    closed: frozenset[date]
    trips: dict[int, date]


def school_events(school: School, calendar: SchoolCalendar, seed: int, snow: bool) -> SchoolEvents:
    rng = random.Random(f"attx-demo:{seed}:events:{school.key}:{calendar.year}")
    days = calendar.pupil_days
    closed: set[date] = set()
    if snow:
        winter = [d for d in days if d.month in (1, 2)]
        if winter:
            closed.add(rng.choice(winter))
    years = range(0, 14)
    trips = {year: rng.choice(days) for year in years}
    return SchoolEvents(frozenset(closed), trips)


def _break_starts(calendar: SchoolCalendar) -> list[int]:
    """Indexes into pupil_days of the last day before each half term or holiday."""
    days = calendar.pupil_days
    ends = [i for i in range(len(days) - 1) if (days[i + 1] - days[i]).days > 3]
    if calendar.weeks is None:
        ends.append(len(days) - 1)  # the summer holiday; a cut-short year has not reached it
    return ends


@dataclass
class _Special:
    """Absences planned ahead of the daily loop, and the share of sessions they take."""

    days: dict[date, tuple[str, str]]
    share: float


class _EnrolmentMarks:
    """Generates one enrolment's register with its own random stream."""

    def __init__(
        self,
        enrolment: Enrolment,
        calendar: SchoolCalendar,
        events: SchoolEvents,
        seed: int,
        label: str,
        nc_year: int,
    ) -> None:
        self.enrolment = enrolment
        self.child: Child = enrolment.child
        self.calendar = calendar
        self.events = events
        self.nc_year = nc_year
        self.rng = random.Random(
            f"attx-demo:{seed}:{label}:{enrolment.school.key}:{enrolment.child.upn}"
        )

    def generate(self) -> Register:
        rng = self.rng
        p = self.child.propensity
        register = Register(self.enrolment)
        days = [d for d in self.calendar.register_days if self.enrolment.on_roll(d)]
        special = self._special_absences(days)
        day_rate = max(0.0, p * (1 - SINGLE_SESSION_SHARE) - special.share)
        carry_on = max(0.45, day_rate)
        start = min(1.0, day_rate * (1 - carry_on) / (1 - day_rate)) if day_rate < 1 else 1.0
        spell: str | None = None
        for day in days:
            codes = codes_for(day)
            if self.calendar.is_inset(day):
                register.marks[day] = ("#", "#")
                continue
            if day in self.events.closed:
                register.marks[day] = (codes.closure, codes.closure)
                continue
            if self.enrolment.at_other_school(day):
                register.marks[day] = ("D", "D")
                spell = None
                continue
            if day in special.days:
                register.marks[day] = special.days[day]
                spell = None
                continue
            if spell is not None and rng.random() < carry_on:
                register.marks[day] = (spell, spell)
                continue
            spell = None
            if rng.random() < start:
                spell = self._spell_reason(p)
                register.marks[day] = (spell, spell)
                if spell in ("I", "O") and rng.random() < (0.2 if spell == "I" else 0.45):
                    register.provisional[day] = ("N", "N")
                continue
            register.marks[day] = self._present_day(day, p, codes)
        return register

    def _spell_reason(self, p: float) -> str:
        unauthorised = 0.14 + 1.2 * max(0.0, p - 0.06)
        return self.rng.choices(
            ("I", "O", "C", "R", "N"),
            weights=(0.70, unauthorised, 0.04, 0.01, 0.005),
        )[0]

    def _present_day(self, day: date, p: float, codes: Codes) -> tuple[str, str]:
        rng = self.rng
        trip = self.events.trips.get(self.nc_year) == day
        am = "V" if trip else AM_PRESENT
        pm = "V" if trip else PM_PRESENT
        if rng.random() < 2 * SINGLE_SESSION_SHARE * p:
            if rng.random() < 0.7:
                if rng.random() < 0.5:
                    am = "M"
                else:
                    pm = "M"
            else:
                am = "U"
        elif am == AM_PRESENT and rng.random() < 0.02 + 0.15 * p:
            am = "L"
        if self.enrolment.status == "S" and am == "V":
            am, pm = AM_PRESENT, PM_PRESENT
        return am, pm

    def _special_absences(self, days: list[date]) -> _Special:
        """Holidays, suspensions and part-time timetables, planned before the daily loop."""
        rng = self.rng
        out: dict[date, tuple[str, str]] = {}
        pupil_days = [d for d in days if not self.calendar.is_inset(d)]
        if not pupil_days:
            return _Special(out, 0.0)
        position = {d: i for i, d in enumerate(self.calendar.pupil_days)}
        on_roll = set(pupil_days)
        ends = _break_starts(self.calendar)
        if ends and rng.random() < 0.10 + 0.3 * self.child.propensity:
            end = rng.choice(ends)
            length = rng.randint(3, 5)
            block = [self.calendar.pupil_days[i] for i in range(max(0, end - length + 1), end + 1)]
            for day in block:
                if day in on_roll:
                    agreed = codes_for(day).agreed_holiday
                    code = agreed if rng.random() < (0.4 if agreed == "H" else 0.12) else "G"
                    out[day] = (code, code)
        school = self.enrolment.school
        if school.phase is Phase.SECONDARY and self.child.propensity > 0.08 and rng.random() < 0.12:
            first = rng.choice(pupil_days)
            for day in pupil_days[pupil_days.index(first) :][: rng.randint(1, 3)]:
                out[day] = ("E", "E")
        if self.child.sen_provision == "E" and self.child.propensity > 0.2 and rng.random() < 0.3:
            first = rng.choice(pupil_days)
            for day in pupil_days[pupil_days.index(first) :][:20]:
                if day not in out and position.get(day) is not None:
                    out[day] = (AM_PRESENT, codes_for(day).part_time)
        absent_sessions = sum(
            (am not in (AM_PRESENT,)) + (pm not in (PM_PRESENT,)) for am, pm in out.values()
        )
        return _Special(out, absent_sessions / (2 * len(pupil_days)))


@dataclass
class Registers:
    """Every register of the year, and of the earlier (pre-2024 codes) term."""

    year: list[Register]
    older: list[Register]
    older_calendar: SchoolCalendar | None


OLDER_YEAR_SCHOOLS = 2
"""How many schools also send the summer term of the year before."""


def generate_registers(population: Population) -> Registers:
    """The marks of every enrolment, deterministic for the population's seed."""
    seed = population.config.seed
    calendar = population.calendar
    snow_school = population.home_schools()[1].key
    events = {
        s.key: school_events(s, calendar, seed, snow=s.key == snow_school)
        for s in population.schools
    }
    year = [
        _EnrolmentMarks(e, calendar, events[e.school.key], seed, "year", e.child.nc_year).generate()
        for e in population.enrolments
    ]
    older: list[Register] = []
    older_calendar: SchoolCalendar | None = None
    if population.config.older_year and population.config.year - 1 in TERMS:
        summer = TERMS[population.config.year - 1].terms[2]
        older_calendar = SchoolCalendar(population.config.year - 1, start=summer.start)
        older_events = {
            s.key: school_events(s, older_calendar, seed, snow=False)
            for s in population.home_schools()[:OLDER_YEAR_SCHOOLS]
        }
        for enrolment in population.enrolments:
            school_events_ = older_events.get(enrolment.school.key)
            if (
                school_events_ is None
                or enrolment.entry_date >= calendar.first_day
                or enrolment.status != "C"
            ):
                continue
            then = Enrolment(
                enrolment.child, enrolment.school, "C", enrolment.entry_date, leaving_date=None
            )
            register = _EnrolmentMarks(
                then, older_calendar, school_events_, seed, "older", enrolment.child.nc_year - 1
            ).generate()
            older.append(register)
    return Registers(year, older, older_calendar)
