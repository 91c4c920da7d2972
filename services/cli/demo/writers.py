"""Write the synthetic authority to a directory: directory entries, returns, social care.

Layout of `--out DIR`::

    manifest.json      what was generated and every return in submission order
    directory.json     organisations, trust memberships and the clients to create
    social_care.json   CIN / CPP / CLA episodes with practitioner refs (SocialCareEpisodes),
                       and the children social care names without a UPN (`without_upn`)
    calibration.json   the headline absence figures the marks produce
    returns/<school>/  the returns themselves: NN-<kind>-<from>.json | .ctf.xml |
                       .roll.csv + .marks.csv (a CSV return is two parts) | .marks.csv

Returns are serialised with ingest's own writers (`services.ingest.domain.formats`), so
what is written is exactly what the ingest formats document. Schools are split across
the three formats; each term is one return (JSON and CSV ones carry the term as their
replace range); a later amendment return turns provisional `N` marks into their reasons.
A school changing trust mid-year has its returns split at the change, so each part can
be sent by the trust the school then belonged to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path

from services.cli.demo.calendar import SchoolCalendar
from services.cli.demo.calibration import Figures, calibration
from services.cli.demo.marks import Register, Registers, generate_registers
from services.cli.demo.population import (
    Child,
    DemoConfig,
    Enrolment,
    Population,
    School,
    Tag,
    build_population,
)
from services.ingest.domain.formats import (
    CtfSchool,
    ctf_return,
    json_return,
    marks_csv,
    roll_csv,
)
from services.ingest.domain.model import DateRange, Mark, Pupil
from services.ingest.domain.pupil_matching import normalise_name
from shared.contracts.changes import EnrolmentStatus, SenProvision
from shared.contracts.social_care import SocialCareEpisodes


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    CTF = "ctf"


class Kind(StrEnum):
    REGISTER = "register"
    AMENDMENT = "amendment"
    OLDER_YEAR = "older_year"


@dataclass(frozen=True)
class ReturnEntry:
    """One return file in the manifest."""

    school: str
    """The school's key in directory.json."""
    urn: str
    submitter: str
    """Key of the organisation whose client sends it: the school or its trust then."""
    kind: Kind
    format: Format
    path: str
    """Relative to the output directory; for CSV the `.marks.csv` part."""
    roll_path: str | None
    """CSV only: the `.roll.csv` part (absent for a marks-only return)."""
    replace_from: date | None
    replace_to: date | None
    first_day: date
    last_day: date
    pupils: int
    marks: int


MANIFEST = "manifest.json"
DIRECTORY = "directory.json"
SOCIAL_CARE = "social_care.json"
CALIBRATION = "calibration.json"

ROLE_BY_TYPE = {
    "school": "school_system",
    "trust": "trust_system",
    "local_authority": "la_attendance",
    "virtual_school": "virtual_school",
    "social_care": "social_care",
    "dfe": "dfe_analyst",
}
ALERTS = ["alerts:read", "alerts:subscribe"]
SCOPES_BY_TYPE = {
    "school": [
        "returns:write",
        "returns:read",
        "attendance:read",
        "metrics:read",
        "audit:read",
        *ALERTS,
    ],
    "trust": ["returns:write", "returns:read", "attendance:read", "metrics:read", "audit:read"],
    "local_authority": [
        "attendance:read",
        "metrics:read",
        "directory:read",
        "audit:read",
        *ALERTS,
    ],
    "virtual_school": [
        "attendance:read",
        "metrics:read",
        "social_care:read",
        "audit:read",
        *ALERTS,
    ],
    "social_care": [
        "attendance:read",
        "social_care:write",
        "social_care:read",
        "audit:read",
        *ALERTS,
    ],
    "dfe": ["metrics:read"],
}


def school_format(population: Population, school: School) -> Format:
    """Schools take turns: JSON, CSV, CTF; the neighbouring authority's school sends JSON."""
    home = population.home_schools()
    if school not in home:
        return Format.JSON
    return (Format.JSON, Format.CSV, Format.CTF)[home.index(school) % 3]


def pupil_row(enrolment: Enrolment, *, nc_year_offset: int = 0) -> Pupil:
    """The roll entry of an enrolment as ingest's writers take it."""
    child = enrolment.child
    nc_year = child.nc_year + nc_year_offset
    return Pupil(
        upn=child.upn,
        legal_surname=child.surname,
        legal_forename=child.forename,
        date_of_birth=child.date_of_birth,
        gender=child.gender,
        nc_year="R" if nc_year == 0 else str(nc_year),
        sen_provision=SenProvision(child.sen_provision),
        fsm_eligible=child.fsm_eligible,
        ethnicity=child.ethnicity,
        enrolment_status=EnrolmentStatus(enrolment.status),
        entry_date=enrolment.entry_date,
        leaving_date=enrolment.leaving_date,
    )


def submitter_for(population: Population, school: School, first: date, last: date) -> str:
    """The trust the school belonged to on every day from `first` to `last`, else the school."""
    for membership in population.memberships:
        if membership.school_key != school.key:
            continue
        ends = membership.end_date or date.max
        if membership.start_date <= first and last <= ends:
            return membership.trust_key
    return school.key


def _windows(
    population: Population, school: School, first: date, last: date
) -> list[tuple[date, date]]:
    """`first`..`last` cut at the school's trust changes."""
    cuts = sorted(
        m.start_date
        for m in population.memberships
        if m.school_key == school.key and first < m.start_date <= last
    )
    windows: list[tuple[date, date]] = []
    start = first
    for cut in cuts:
        windows.append((start, cut - timedelta(days=1)))
        start = cut
    windows.append((start, last))
    return windows


class _SchoolWriter:
    def __init__(
        self,
        out: Path,
        population: Population,
        school: School,
        registers: list[Register],
        older: list[Register],
        older_calendar: SchoolCalendar | None,
    ) -> None:
        self.out = out
        self.population = population
        self.school = school
        self.registers = registers
        self.older = older
        self.older_calendar = older_calendar
        self.format = school_format(population, school)
        self.entries: list[ReturnEntry] = []
        self.folder = Path("returns") / school.key
        (out / self.folder).mkdir(parents=True, exist_ok=True)

    def write_all(self) -> list[ReturnEntry]:
        if self.older and self.older_calendar is not None:
            days = self.older_calendar.register_days
            self._register_return(Kind.OLDER_YEAR, self.older, days[0], days[-1], nc_year_offset=-1)
        calendar = self.population.calendar
        for term in calendar.dates.terms:
            days = calendar.days_between(term.start, term.end)
            if not days:
                continue
            for first, last in _windows(self.population, self.school, days[0], days[-1]):
                self._register_return(Kind.REGISTER, self.registers, first, last)
        amended = [(r, d) for r in self.registers for d in sorted(r.provisional)]
        if amended:
            for first, last in _windows(
                self.population, self.school, calendar.first_day, calendar.last_day
            ):
                self._amendment(amended, first, last)
        return self.entries

    def _name(self, kind: Kind, first: date) -> str:
        return f"{len(self.entries) + 1:02d}-{kind.value.replace('_', '-')}-{first.isoformat()}"

    def _register_return(
        self,
        kind: Kind,
        registers: list[Register],
        first: date,
        last: date,
        *,
        nc_year_offset: int = 0,
    ) -> None:
        on_roll = [
            r
            for r in registers
            if any(
                r.enrolment.on_roll(first + timedelta(days=n))
                for n in range((last - first).days + 1)
            )
        ]
        if not on_roll:
            return
        pupils = [pupil_row(r.enrolment, nc_year_offset=nc_year_offset) for r in on_roll]
        if kind is Kind.OLDER_YEAR:
            pupils = [_as_then(p) for p in pupils]
        marks = [
            Mark(r.enrolment.child.upn, day, session, code)
            for r in on_roll
            for day, session, code in r.sessions(provisional=True)
            if first <= day <= last
        ]
        span = DateRange(first, last) if self.format is not Format.CTF else None
        self._write(kind, first, last, pupils, marks, span)

    def _amendment(self, amended: list[tuple[Register, date]], first: date, last: date) -> None:
        marks: list[Mark] = []
        for register, day in amended:
            if not first <= day <= last:
                continue
            am, pm = register.marks[day]
            upn = register.enrolment.child.upn
            marks += [Mark(upn, day, "AM", am), Mark(upn, day, "PM", pm)]
        if marks:
            self._write(Kind.AMENDMENT, first, last, [], marks, None)

    def _write(
        self,
        kind: Kind,
        first: date,
        last: date,
        pupils: list[Pupil],
        marks: list[Mark],
        span: DateRange | None,
    ) -> None:
        name = self._name(kind, first)
        roll_path: str | None = None
        # A CTF is a transfer file for whole pupil records; corrections to a few marks go
        # as a marks-only CSV, as a MIS would send them.
        fmt = Format.CSV if kind is Kind.AMENDMENT and self.format is Format.CTF else self.format
        if fmt is Format.JSON:
            path = self.folder / f"{name}.json"
            (self.out / path).write_bytes(json_return(pupils, marks, replace_range=span))
        elif fmt is Format.CSV:
            path = self.folder / f"{name}.marks.csv"
            (self.out / path).write_text(marks_csv(marks), encoding="utf-8", newline="")
            if pupils:
                roll = self.folder / f"{name}.roll.csv"
                (self.out / roll).write_text(roll_csv(pupils), encoding="utf-8", newline="")
                roll_path = roll.as_posix()
        else:
            path = self.folder / f"{name}.ctf.xml"
            school = CtfSchool(self.school.la_code, self.school.estab, self.school.name)
            # A fixed creation time (the evening after the last day) keeps files reproducible.
            created = datetime.combine(last + timedelta(days=1), time(18, 0))
            (self.out / path).write_bytes(ctf_return(school, pupils, marks, created=created))
        self.entries.append(
            ReturnEntry(
                school=self.school.key,
                urn=self.school.urn,
                submitter=submitter_for(self.population, self.school, first, last),
                kind=kind,
                format=fmt,
                path=path.as_posix(),
                roll_path=roll_path,
                replace_from=span.start if span else None,
                replace_to=span.end if span else None,
                first_day=first,
                last_day=last,
                pupils=len(pupils),
                marks=len(marks),
            )
        )


def _as_then(pupil: Pupil) -> Pupil:
    """A pupil as the roll stood a year earlier: single registration, not yet left."""
    return replace(pupil, enrolment_status=EnrolmentStatus.SINGLE, leaving_date=None)


def directory_document(population: Population) -> dict[str, object]:
    """The organisations, trust memberships and clients the loader creates."""
    la, neighbour = population.la, population.neighbour_la
    organisations: list[dict[str, object]] = [
        {"key": la.key, "type": "local_authority", "name": la.name, "la_code": la.code},
        {
            "key": la.virtual_school_key,
            "type": "virtual_school",
            "name": f"{la.name} Virtual School",
            "la_code": la.code,
        },
        {
            "key": la.social_care_key,
            "type": "social_care",
            "name": f"{la.name} Children's Social Care",
            "la_code": la.code,
        },
        {
            "key": neighbour.key,
            "type": "local_authority",
            "name": neighbour.name,
            "la_code": neighbour.code,
        },
    ]
    organisations += [
        {"key": t.key, "type": "trust", "name": t.name, "group_uid": t.group_uid}
        for t in population.trusts
    ]
    organisations += [
        {
            "key": s.key,
            "type": "school",
            "name": s.name,
            "urn": s.urn,
            "dfe_number": s.dfe_number,
            "phase": s.phase.value,
        }
        for s in population.schools
    ]
    clients = [
        {
            "organisation": o["key"],
            "role": ROLE_BY_TYPE[str(o["type"])],
            "scopes": SCOPES_BY_TYPE[str(o["type"])],
            "name": f"demo: {o['name']}",
        }
        for o in organisations
    ]
    return {
        "synthetic": True,
        "note": "Synthetic data: every school, trust, pupil and social worker is invented.",
        "organisations": organisations,
        "trust_memberships": [
            {
                "school": m.school_key,
                "trust": m.trust_key,
                "start_date": m.start_date,
                "end_date": m.end_date,
            }
            for m in population.memberships
        ],
        "clients": clients,
    }


NAMED_WITHOUT_UPN_EVERY = 4
"""One episode in this many (by UPN order) names its child by legal names and birth date."""


def named_without_upn(population: Population) -> list[dict[str, object]]:
    """The children whose episodes the loader records by names and date of birth.

    Social care often holds no UPN, and the sharing service then finds the child on the
    rolls; these exercise that. Only children the rolls identify uniquely are chosen
    (a twin-like clash of names and birth date would rightly be refused as ambiguous),
    and not the child placed out of area, whose record is the UPN case on purpose. The
    choice uses no random draws, so the marks of a seed do not change.
    """

    def identity(child: Child) -> tuple[str, str, date]:
        return normalise_name(child.forename), normalise_name(child.surname), child.date_of_birth

    holders: dict[tuple[str, str, date], set[str]] = {}
    for child in population.children:
        holders.setdefault(identity(child), set()).add(child.upn)
    placed = {e.child.upn for e in population.enrolments if Tag.PLACED_OUT_OF_AREA in e.tags}
    children = {c.upn: c for c in population.children}
    eligible = sorted(
        {
            e.upn
            for e in population.episodes
            if e.upn not in placed and len(holders[identity(children[e.upn])]) == 1
        }
    )
    return [
        {
            "upn": upn,
            "legal_forename": children[upn].forename,
            "legal_surname": children[upn].surname,
            "date_of_birth": children[upn].date_of_birth,
        }
        for upn in eligible[::NAMED_WITHOUT_UPN_EVERY]
    ]


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _dump(path: Path, document: object) -> None:
    path.write_text(json.dumps(document, indent=2, default=_json_default) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Generated:
    """What `write_demo` wrote, for the command's summary and for tests."""

    population: Population
    registers: Registers
    entries: list[ReturnEntry]
    figures: dict[str, Figures]


def write_demo(config: DemoConfig, out: Path) -> Generated:
    """Generate the authority for `config` and write every file under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    population = build_population(config)
    registers = generate_registers(population)
    entries: list[ReturnEntry] = []
    for school in population.schools:
        mine = [r for r in registers.year if r.enrolment.school.key == school.key]
        older = [r for r in registers.older if r.enrolment.school.key == school.key]
        entries += _SchoolWriter(
            out, population, school, mine, older, registers.older_calendar
        ).write_all()
    figures = calibration(population, registers.year)
    _dump(out / DIRECTORY, directory_document(population))
    _dump(
        out / SOCIAL_CARE,
        json.loads(SocialCareEpisodes(episodes=population.episodes).model_dump_json())
        | {
            "practitioners": population.practitioners,
            "without_upn": named_without_upn(population),
        },
    )
    _dump(out / CALIBRATION, {name: asdict(f) for name, f in figures.items()})
    _dump(
        out / MANIFEST,
        {
            "generator": "attx demo-data",
            "config": asdict(config),
            "academic_year": population.calendar.label,
            "la": {"code": population.la.code, "name": population.la.name},
            "returns": [asdict(e) for e in entries],
            "checksums": {e.path: _sha256(out / e.path) for e in entries},
        },
    )
    return Generated(population, registers, entries, figures)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(data_dir: Path) -> list[ReturnEntry]:
    """The returns listed in `data_dir/manifest.json`, in submission order."""
    document = json.loads((data_dir / MANIFEST).read_text(encoding="utf-8"))
    entries: list[ReturnEntry] = []
    for raw in document["returns"]:
        entries.append(
            ReturnEntry(
                school=raw["school"],
                urn=raw["urn"],
                submitter=raw["submitter"],
                kind=Kind(raw["kind"]),
                format=Format(raw["format"]),
                path=raw["path"],
                roll_path=raw["roll_path"],
                replace_from=_date(raw["replace_from"]),
                replace_to=_date(raw["replace_to"]),
                first_day=date.fromisoformat(raw["first_day"]),
                last_day=date.fromisoformat(raw["last_day"]),
                pupils=raw["pupils"],
                marks=raw["marks"],
            )
        )
    return entries


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
