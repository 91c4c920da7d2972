"""The synthetic local authority: schools, trusts, pupils, enrolments and social-care episodes.

Everything is drawn from one `random.Random` seeded with `DemoConfig.seed`, so the same
configuration always yields the same authority, pupil for pupil. The two authorities are
real (Bath and North East Somerset, 800, and its neighbour South Gloucestershire, 803,
because the directory accepts only published LA codes); every school, trust, child and
social worker in them is invented.

Each child carries a latent absence propensity (the share of possible sessions they
would miss over a year), drawn from a beta distribution whose mean is shifted by the
characteristics DfE finds most associated with absence: phase, FSM eligibility, SEN
provision and having a social worker. Drawing the propensity per child rather than
marking sessions independently is what produces a realistic persistent-absence share:
with independent marks almost nobody would reach 10%.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from stdnum.gb.upn import calc_check_digit

from services.cli.demo import names
from services.cli.demo.calendar import SchoolCalendar
from shared.contracts.social_care import SocialCareCategory, SocialCareEpisode


class Phase(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    SPECIAL = "special"


PHASE_YEARS: dict[Phase, tuple[int, ...]] = {
    Phase.PRIMARY: (0, 1, 2, 3, 4, 5, 6),
    Phase.SECONDARY: (7, 8, 9, 10, 11),
    Phase.SPECIAL: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
}
"""NC years taught in each phase; 0 is Reception."""

ROLL_WEIGHT: dict[Phase, float] = {Phase.PRIMARY: 1.0, Phase.SECONDARY: 3.3, Phase.SPECIAL: 0.4}
"""Relative roll sizes: a secondary is about 3.3 times a primary, a special school small."""

OTHER_LA_CODES = ("801", "802", "803", "865", "866", "933", "916", "878")
"""Real LA codes whose UPNs mid-year arrivals from elsewhere in England carry."""


@dataclass(frozen=True)
class DemoConfig:
    """What to generate. The defaults are the documented demo authority."""

    schools: int = 10
    pupils: int = 5000
    seed: int = 2024
    year: int = 2024
    weeks: int | None = None
    """Generate only the first N weeks of the autumn term (small sets for tests)."""
    older_year: bool = True
    """Also generate the summer term of the year before, in the pre-2024 code set."""

    def __post_init__(self) -> None:
        if self.schools < 2:
            raise ValueError("the demo authority needs at least 2 schools")
        if self.pupils < 20 * self.schools:
            raise ValueError(f"{self.pupils} pupils is too few for {self.schools} schools")


@dataclass(frozen=True)
class LocalAuthority:
    code: str
    name: str
    key: str

    @property
    def virtual_school_key(self) -> str:
        return f"{self.key}-virtual-school"

    @property
    def social_care_key(self) -> str:
        return f"{self.key}-social-care"


@dataclass(frozen=True)
class School:
    key: str
    urn: str
    la_code: str
    estab: str
    name: str
    phase: Phase
    academy: bool

    @property
    def dfe_number(self) -> str:
        return f"{self.la_code}{self.estab}"


@dataclass(frozen=True)
class Trust:
    key: str
    name: str
    group_uid: str


@dataclass(frozen=True)
class TrustMembership:
    trust_key: str
    school_key: str
    start_date: date
    end_date: date | None = None


@dataclass
class Child:
    """One child, whatever school(s) they attend this year."""

    upn: str
    forename: str
    surname: str
    date_of_birth: date
    gender: str
    ethnicity: str
    fsm_eligible: bool
    sen_provision: str
    nc_year: int
    """0 is Reception."""
    propensity: float = 0.0
    """The share of possible sessions this child misses over a year, before chance."""
    social_care: SocialCareCategory | None = None

    @property
    def nc_year_code(self) -> str:
        return "R" if self.nc_year == 0 else str(self.nc_year)


class Tag(StrEnum):
    """The awkward cases an enrolment exercises, so tests and docs can find them."""

    JOINER = "joiner"
    LEAVER = "leaver"
    MOVER_OUT = "mover_out"
    MOVER_IN = "mover_in"
    DUAL_MAIN = "dual_main"
    DUAL_SUBSIDIARY = "dual_subsidiary"
    PLACED_OUT_OF_AREA = "placed_out_of_area"


@dataclass
class Enrolment:
    """A child on one school's roll (a mover has two)."""

    child: Child
    school: School
    status: str
    """`C` single registration, `M` main dual, `S` subsidiary dual."""
    entry_date: date
    leaving_date: date | None = None
    other_school_days: frozenset[int] = frozenset()
    """Weekdays (Monday 0) the child spends at the other school of a dual registration."""
    dual_from: date | None = None
    tags: set[Tag] = field(default_factory=set)

    def on_roll(self, day: date) -> bool:
        return self.entry_date <= day and (self.leaving_date is None or day <= self.leaving_date)

    def at_other_school(self, day: date) -> bool:
        """Whether the register shows `D` on `day` (the child is at the dual partner)."""
        if self.status == "C" or self.dual_from is None or day < self.dual_from:
            return False
        at_partner_days = day.weekday() in self.other_school_days
        return at_partner_days if self.status == "M" else not at_partner_days


@dataclass
class Population:
    """The whole synthetic authority for one academic year."""

    config: DemoConfig
    calendar: SchoolCalendar
    la: LocalAuthority
    neighbour_la: LocalAuthority
    schools: list[School]
    trusts: list[Trust]
    memberships: list[TrustMembership]
    children: list[Child]
    enrolments: list[Enrolment]
    episodes: list[SocialCareEpisode]
    practitioners: dict[str, list[str]]
    """Practitioner reference -> UPNs on that worker's caseload."""

    def school(self, key: str) -> School:
        return next(s for s in self.schools if s.key == key)

    def enrolments_at(self, school: School) -> list[Enrolment]:
        return [e for e in self.enrolments if e.school.key == school.key]

    def home_schools(self) -> list[School]:
        return [s for s in self.schools if s.la_code == self.la.code]


# Absence propensity: mean share of sessions missed, as multipliers on a base rate.
# Ratios follow DfE autumn 2023/24 (FSM 10.4% vs 5.5%; EHCP 12.4%, SEN support 10.3%,
# no SEN 6.1%), phase differences in persistent absence (primary < secondary < special)
# and the social-worker figures (CPP persistent absence about 57%, CIN 49%, CLA 20%).
BASE_PROPENSITY = 0.049
PHASE_FACTOR = {Phase.PRIMARY: 0.85, Phase.SECONDARY: 1.2, Phase.SPECIAL: 1.35}
FSM_FACTOR = {True: 1.6, False: 0.87}
SEN_FACTOR = {"N": 1.0, "K": 1.45, "E": 1.5}
SOCIAL_CARE_FACTOR: dict[SocialCareCategory | None, float] = {
    None: 1.0,
    SocialCareCategory.CHILD_IN_NEED: 2.0,
    SocialCareCategory.CHILD_PROTECTION_PLAN: 2.6,
    SocialCareCategory.LOOKED_AFTER: 1.0,
}
CONCENTRATION = 4.0
"""Beta concentration (a + b): lower spreads children further apart around their mean."""
MAX_PROPENSITY = 0.97


def propensity_mean(child: Child, phase: Phase) -> float:
    """The expected share of sessions missed by a child with these characteristics."""
    mean = (
        BASE_PROPENSITY
        * PHASE_FACTOR[phase]
        * FSM_FACTOR[child.fsm_eligible]
        * SEN_FACTOR[child.sen_provision]
        * SOCIAL_CARE_FACTOR[child.social_care]
    )
    return min(mean, 0.6)


def draw_propensity(rng: random.Random, mean: float) -> float:
    a = mean * CONCENTRATION
    b = (1 - mean) * CONCENTRATION
    return min(rng.betavariate(a, b), MAX_PROPENSITY)


class UpnAllocator:
    """Allocates unique UPNs: LA code, establishment, year of allocation, serial, check letter."""

    def __init__(self) -> None:
        self._serials: dict[tuple[str, str, int], int] = {}

    def allocate(self, la_code: str, estab: str, year: int) -> str:
        key = (la_code, estab, year % 100)
        serial = self._serials.get(key, 0) + 1
        if serial > 999:
            raise ValueError(f"more than 999 UPNs allocated by {la_code}{estab} in {year}")
        self._serials[key] = serial
        body = f"{la_code}{estab}{year % 100:02d}{serial:03d}"
        return calc_check_digit(body) + body


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def date_of_birth(rng: random.Random, nc_year: int, academic_year: int) -> date:
    """A birthday consistent with `nc_year` in the academic year starting in `academic_year`.

    Reception children are 4 on 31 August before the year, Year N children N + 4, so a
    child in Year N was born between 1 September and 31 August of the year
    `academic_year - 5 - N` / `academic_year - 4 - N`.
    """
    start = date(academic_year - 5 - nc_year, 9, 1)
    return start + timedelta(days=rng.randrange(365))


class _Builder:
    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.rng = random.Random(f"attx-demo:{config.seed}")
        self.calendar = SchoolCalendar(config.year, config.weeks)
        self.upns = UpnAllocator()
        self.la = LocalAuthority("800", "Bath and North East Somerset", "la-800")
        self.neighbour_la = LocalAuthority("803", "South Gloucestershire", "la-803")
        self.schools: list[School] = []
        self.children: list[Child] = []
        self.enrolments: list[Enrolment] = []

    # --- schools and trusts -------------------------------------------------------------

    def build_schools(self) -> None:
        n = self.config.schools
        special = 1 if n >= 4 else 0
        secondary = max(1, round(n * 0.3))
        primary = n - special - secondary
        phases = [Phase.PRIMARY] * primary + [Phase.SECONDARY] * secondary
        phases += [Phase.SPECIAL] * special
        counters = {Phase.PRIMARY: 0, Phase.SECONDARY: 0, Phase.SPECIAL: 0}
        used_urns: set[int] = set()
        for index, phase in enumerate(phases):
            number = counters[phase]
            counters[phase] += 1
            academy = index % 2 == 0 and phase is not Phase.SPECIAL
            self.schools.append(
                School(
                    key=f"school-{index + 1:02d}",
                    urn=str(self._urn(used_urns, academy)),
                    la_code=self.la.code,
                    estab=f"{_ESTAB_BASE[phase] + number + 1:04d}",
                    name=_school_name(phase, number),
                    phase=phase,
                    academy=academy,
                )
            )
        self.schools.append(
            School(
                key="school-neighbour",
                urn=str(self._urn(used_urns, True)),
                la_code=self.neighbour_la.code,
                estab="4001",
                name=names.NEIGHBOUR_SCHOOL_NAME,
                phase=Phase.SECONDARY,
                academy=True,
            )
        )

    def _urn(self, used: set[int], academy: bool) -> int:
        low, high = (140000, 149999) if academy else (109000, 109999)
        while True:
            urn = self.rng.randint(low, high)
            if urn not in used:
                used.add(urn)
                return urn

    def build_trusts(self) -> tuple[list[Trust], list[TrustMembership]]:
        trusts = [
            Trust("trust-mere-valley", "Mere Valley Learning Trust", "17452"),
            Trust("trust-kingsdown", "Kingsdown Academies Trust", "16830"),
        ]
        academies = [s for s in self.home_schools() if s.academy]
        memberships: list[TrustMembership] = []
        converted = date(self.config.year - 4, 9, 1)
        # Mid-year: the first day of the spring term, a typical re-brokering date.
        moved = self.calendar.dates.terms[1].start.replace(day=1)
        for index, school in enumerate(academies):
            if index == 0:
                # The school that changes trust mid-year.
                memberships.append(
                    TrustMembership(trusts[0].key, school.key, converted, moved - timedelta(days=1))
                )
                memberships.append(TrustMembership(trusts[1].key, school.key, moved))
            else:
                trust = trusts[index % 2]
                memberships.append(TrustMembership(trust.key, school.key, converted))
        return trusts, memberships

    def home_schools(self) -> list[School]:
        return [s for s in self.schools if s.la_code == self.la.code]

    # --- children ----------------------------------------------------------------------

    def new_child(self, school: School, nc_year: int, *, arrival: bool = False) -> Child:
        rng = self.rng
        male_share = 0.72 if school.phase is Phase.SPECIAL else 0.51
        gender = "M" if rng.random() < male_share else "F"
        ethnicity = _weighted(rng, names.ETHNICITY_WEIGHTS)
        group = names.name_group(ethnicity)
        if school.phase is Phase.SPECIAL:
            sen = "E"
        else:
            roll = rng.random()
            boy = 1.3 if gender == "M" else 0.7
            sen = "E" if roll < 0.024 * boy else "K" if roll < 0.16 * boy else "N"
        fsm = rng.random() < (0.38 if sen != "N" else 0.22)
        reception_year = self.config.year - nc_year
        if arrival:
            upn = self.upns.allocate(
                rng.choice(OTHER_LA_CODES), f"{rng.randint(2000, 4999)}", reception_year
            )
        else:
            upn = self.upns.allocate(*self._allocating_school(school, nc_year), reception_year)
        return Child(
            upn=upn,
            forename=rng.choice(names.FORENAMES[group][gender]),
            surname=rng.choice(names.SURNAMES[group]),
            date_of_birth=date_of_birth(rng, nc_year, self.config.year),
            gender=gender,
            ethnicity=ethnicity,
            fsm_eligible=fsm,
            sen_provision=sen,
            nc_year=nc_year,
        )

    def _allocating_school(self, school: School, nc_year: int) -> tuple[str, str]:
        """UPNs are allocated on first entry to school, so secondary pupils carry a primary's."""
        if school.phase is Phase.PRIMARY:
            return school.la_code, school.estab
        primaries = [
            s for s in self.schools if s.phase is Phase.PRIMARY and s.la_code == school.la_code
        ]
        if primaries:
            chosen = self.rng.choice(primaries)
            return chosen.la_code, chosen.estab
        return school.la_code, f"{2900 + nc_year:04d}"

    def build_rolls(self) -> None:
        home = self.home_schools()
        weights = [ROLL_WEIGHT[s.phase] for s in home]
        total = sum(weights)
        first = self.calendar.first_day
        for school, weight in zip(home, weights, strict=True):
            size = max(10, round(self.config.pupils * weight / total))
            years = PHASE_YEARS[school.phase]
            for i in range(size):
                nc_year = years[i % len(years)]
                child = self.new_child(school, nc_year)
                self.children.append(child)
                self.enrolments.append(
                    Enrolment(child, school, "C", self._entry_date(school, nc_year, first))
                )
        neighbour = self.schools[-1]
        for i in range(max(10, self.config.pupils // 40)):
            nc_year = PHASE_YEARS[neighbour.phase][i % 5]
            child = self.new_child(neighbour, nc_year)
            self.children.append(child)
            self.enrolments.append(
                Enrolment(child, neighbour, "C", self._entry_date(neighbour, nc_year, first))
            )

    def _entry_date(self, school: School, nc_year: int, first: date) -> date:
        """Continuing pupils joined at the start of the year they entered this school."""
        entry_year = {Phase.PRIMARY: 0, Phase.SECONDARY: 7, Phase.SPECIAL: 1}[school.phase]
        start = self.config.year - max(0, nc_year - entry_year)
        day = date(start, 9, 1)
        return first if start == self.config.year else day

    # --- awkward cases ----------------------------------------------------------------

    def _pupil_day(self, low: float, high: float) -> date:
        """A pupil day somewhere between fractions `low` and `high` of the year."""
        days = self.calendar.pupil_days
        return days[
            int(len(days) * low) + self.rng.randrange(max(1, int(len(days) * (high - low))))
        ]

    def add_joiners_and_leavers(self) -> None:
        home = self.home_schools()
        joiners = max(1, round(self.config.pupils * 0.03))
        for _ in range(joiners):
            school = self.rng.choice(home)
            child = self.new_child(school, self.rng.choice(PHASE_YEARS[school.phase]), arrival=True)
            self.children.append(child)
            enrolment = Enrolment(child, school, "C", self._pupil_day(0.05, 0.9), tags={Tag.JOINER})
            self.enrolments.append(enrolment)
        singles = [e for e in self.enrolments if not e.tags and e.school.la_code == self.la.code]
        for enrolment in self.rng.sample(singles, max(1, round(len(singles) * 0.025))):
            enrolment.leaving_date = self._pupil_day(0.05, 0.95)
            enrolment.tags.add(Tag.LEAVER)

    def add_movers(self) -> None:
        """Pupils who leave one of the authority's schools for another of the same phase."""
        by_phase: dict[Phase, list[School]] = {}
        for school in self.home_schools():
            by_phase.setdefault(school.phase, []).append(school)
        candidates = [
            e
            for e in self.enrolments
            if not e.tags
            and e.school.la_code == self.la.code
            and e.school.phase is not Phase.SPECIAL
        ]
        for enrolment in self.rng.sample(candidates, max(1, round(len(candidates) * 0.01))):
            others = [s for s in by_phase[enrolment.school.phase] if s.key != enrolment.school.key]
            if not others:
                continue  # the only school of its phase: nowhere of the same phase to go
            left = self._pupil_day(0.2, 0.7)
            enrolment.leaving_date = left
            enrolment.tags.add(Tag.MOVER_OUT)
            days = self.calendar.pupil_days
            joined = days[min(len(days) - 1, days.index(left) + 1 + self.rng.randrange(6))]
            self.enrolments.append(
                Enrolment(
                    enrolment.child, self.rng.choice(others), "C", joined, tags={Tag.MOVER_IN}
                )
            )

    def add_dual_registrations(self) -> None:
        """Children on two rolls: mainstream main (M) and, two days a week, a subsidiary (S)."""
        home = self.home_schools()
        specials = [s for s in home if s.phase is Phase.SPECIAL]
        candidates = [
            e
            for e in self.enrolments
            if not e.tags
            and e.school.la_code == self.la.code
            and e.school.phase is not Phase.SPECIAL
            and e.child.sen_provision != "N"
        ]
        if not candidates:
            candidates = [
                e for e in self.enrolments if not e.tags and e.school.la_code == self.la.code
            ]
        count = max(1, round(len(self.enrolments) * 0.003))
        for main in self.rng.sample(candidates, min(count, len(candidates))):
            partners = specials or [s for s in home if s.key != main.school.key]
            partner = self.rng.choice(partners)
            start = self._pupil_day(0.0, 0.3)
            main.status = "M"
            main.other_school_days = frozenset({1, 3})
            main.dual_from = start
            main.tags.add(Tag.DUAL_MAIN)
            self.enrolments.append(
                Enrolment(
                    main.child,
                    partner,
                    "S",
                    start,
                    other_school_days=frozenset({1, 3}),
                    dual_from=start,
                    tags={Tag.DUAL_SUBSIDIARY},
                )
            )

    # --- social care -----------------------------------------------------------------

    def add_social_care(self) -> tuple[list[SocialCareEpisode], dict[str, list[str]]]:
        rng = self.rng
        home_children = {
            e.child.upn: e.child
            for e in self.enrolments
            if e.school.la_code == self.la.code and not e.tags & {Tag.MOVER_IN}
        }
        pool = list(home_children.values())
        weights = [
            (3.0 if c.fsm_eligible else 1.0) * (2.0 if c.sen_provision != "N" else 1.0)
            for c in pool
        ]
        shares = [
            (SocialCareCategory.CHILD_IN_NEED, 0.015),
            (SocialCareCategory.CHILD_PROTECTION_PLAN, 0.005),
            (SocialCareCategory.LOOKED_AFTER, 0.007),
        ]
        chosen: set[str] = set()
        for category, share in shares:
            wanted = min(max(1, round(len(pool) * share)), len(pool) - len(chosen))
            while wanted:
                child = rng.choices(pool, weights=weights)[0]
                if child.upn in chosen:
                    continue
                chosen.add(child.upn)
                child.social_care = category
                wanted -= 1
        self._place_out_of_area()
        cared = [c for c in self.children if c.social_care is not None]
        workers = [f"SW{self.la.code}-{i + 1:03d}" for i in range(math.ceil(len(cared) / 12))]
        caseloads: dict[str, list[str]] = {w: [] for w in workers}
        episodes: list[SocialCareEpisode] = []
        year_start = self.calendar.first_day
        for child in cared:
            assert child.social_care is not None
            worker = rng.choice(workers)
            caseloads[worker].append(child.upn)
            episodes.append(self._episode(child, child.social_care, year_start, worker))
        return episodes, caseloads

    def _place_out_of_area(self) -> None:
        """One looked-after child of the authority attends the neighbouring authority's school."""
        neighbour = self.schools[-1]
        home_primary_school = next(s for s in self.home_schools() if s.phase is Phase.PRIMARY)
        child = self.new_child(home_primary_school, 9)
        child.social_care = SocialCareCategory.LOOKED_AFTER
        self.children.append(child)
        self.enrolments.append(
            Enrolment(
                child,
                neighbour,
                "C",
                self._entry_date(neighbour, 9, self.calendar.first_day),
                tags={Tag.PLACED_OUT_OF_AREA},
            )
        )

    def _episode(
        self, child: Child, category: SocialCareCategory, year_start: date, worker: str
    ) -> SocialCareEpisode:
        rng = self.rng
        back = {
            SocialCareCategory.LOOKED_AFTER: 1400,
            SocialCareCategory.CHILD_IN_NEED: 700,
            SocialCareCategory.CHILD_PROTECTION_PLAN: 400,
        }[category]
        start = (
            year_start - timedelta(days=rng.randrange(back)) + timedelta(days=rng.randrange(120))
        )
        end: date | None = None
        if category is not SocialCareCategory.LOOKED_AFTER and rng.random() < 0.3:
            end = max(start + timedelta(days=60), year_start + timedelta(days=rng.randrange(300)))
        return SocialCareEpisode(
            upn=child.upn,
            category=category,
            start_date=start,
            end_date=end,
            la_code=self.la.code,
            practitioner_ref=worker,
        )

    # --- absence propensity ----------------------------------------------------------

    def assign_propensities(self) -> None:
        main_phase: dict[str, Phase] = {}
        for enrolment in self.enrolments:
            if enrolment.status != "S" and Tag.MOVER_IN not in enrolment.tags:
                main_phase[enrolment.child.upn] = enrolment.school.phase
        for child in self.children:
            child.propensity = draw_propensity(
                self.rng, propensity_mean(child, main_phase[child.upn])
            )


_ESTAB_BASE = {Phase.PRIMARY: 2000, Phase.SECONDARY: 4000, Phase.SPECIAL: 7000}


def _school_name(phase: Phase, number: int) -> str:
    pool = {
        Phase.PRIMARY: names.PRIMARY_NAMES,
        Phase.SECONDARY: names.SECONDARY_NAMES,
        Phase.SPECIAL: names.SPECIAL_NAMES,
    }[phase]
    name = pool[number % len(pool)]
    return name if number < len(pool) else f"{name} ({number // len(pool) + 1})"


def build_population(config: DemoConfig) -> Population:
    """The synthetic authority described by `config`; the same config gives the same result."""
    builder = _Builder(config)
    builder.build_schools()
    trusts, memberships = builder.build_trusts()
    builder.build_rolls()
    builder.add_joiners_and_leavers()
    builder.add_movers()
    builder.add_dual_registrations()
    episodes, caseloads = builder.add_social_care()
    builder.assign_propensities()
    return Population(
        config=config,
        calendar=builder.calendar,
        la=builder.la,
        neighbour_la=builder.neighbour_la,
        schools=builder.schools,
        trusts=trusts,
        memberships=memberships,
        children=builder.children,
        enrolments=builder.enrolments,
        episodes=episodes,
        practitioners=caseloads,
    )
