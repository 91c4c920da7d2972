"""Write attendance returns in the three formats ingest accepts (docs/formats.md).

For anyone who needs to *produce* returns — the demo-data generator, a MIS vendor's
test harness, the benchmarks. Every writer takes the same plain values::

    from services.ingest.domain.formats import CtfSchool, json_return, multipart_return, ctf_return
    from services.ingest.domain.model import Mark, Pupil

    body = json_return(pupils, marks)                          # application/json
    content_type, body = multipart_return(pupils, marks)       # multipart/form-data (CSV parts)
    body = ctf_return(CtfSchool("202", "4001", "Camden School"), pupils, marks)  # application/xml

`replace_range` (a `DateRange`) marks the return as a full replacement of those days.
The writers do not validate: send what they write and ingest reports every problem.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from xml.sax.saxutils import escape

from services.ingest.domain.ctf import encode_marks
from services.ingest.domain.model import DateRange, Mark, Pupil
from shared.codes import NO_MARK, lookup

JSON_MEDIA_TYPE = "application/json"
CSV_MEDIA_TYPE = "text/csv"
MULTIPART_MEDIA_TYPE = "multipart/form-data"
CTF_MEDIA_TYPE = "application/xml"

ROLL_COLUMNS = (
    "upn",
    "legal_surname",
    "legal_forename",
    "date_of_birth",
    "gender",
    "nc_year",
    "sen_provision",
    "fsm_eligible",
    "ethnicity",
    "enrolment_status",
    "entry_date",
    "leaving_date",
)
MARK_COLUMNS = ("upn", "date", "session", "code")


def one_entry_per_stay(pupils: Iterable[Pupil]) -> Iterator[Pupil]:
    """Each pupil as the JSON and CSV rolls list it: once per stay at the school."""
    for p in pupils:
        if not p.earlier_stays:
            yield p
            continue
        for entry, leaving in p.stays:
            yield replace(p, entry_date=entry, leaving_date=leaving, earlier_stays=())


def pupil_json(pupil: Pupil) -> dict[str, object]:
    """One pupil as the JSON format writes it."""
    return {
        "upn": pupil.upn,
        "legal_surname": pupil.legal_surname,
        "legal_forename": pupil.legal_forename,
        "date_of_birth": pupil.date_of_birth.isoformat(),
        "gender": pupil.gender,
        "nc_year": pupil.nc_year,
        "sen_provision": pupil.sen_provision.value,
        "fsm_eligible": pupil.fsm_eligible,
        "ethnicity": pupil.ethnicity,
        "enrolment_status": pupil.enrolment_status.value,
        "entry_date": pupil.entry_date.isoformat(),
        "leaving_date": pupil.leaving_date.isoformat() if pupil.leaving_date else None,
    }


def json_return(
    pupils: Iterable[Pupil], marks: Iterable[Mark], *, replace_range: DateRange | None = None
) -> bytes:
    """A return in the native JSON format, UTF-8 encoded."""
    document: dict[str, object] = {
        "pupils": [pupil_json(p) for p in one_entry_per_stay(pupils)],
        "marks": [
            {"upn": m.upn, "date": m.date.isoformat(), "session": m.session, "code": m.code}
            for m in marks
        ],
    }
    if replace_range is not None:
        document["replace_range"] = {
            "from": replace_range.start.isoformat(),
            "to": replace_range.end.isoformat(),
        }
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def roll_csv(pupils: Iterable[Pupil]) -> str:
    """The `roll` part of a CSV return."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ROLL_COLUMNS)
    for p in one_entry_per_stay(pupils):
        writer.writerow(
            [
                p.upn,
                p.legal_surname,
                p.legal_forename,
                p.date_of_birth.isoformat(),
                p.gender,
                p.nc_year,
                p.sen_provision.value,
                "Y" if p.fsm_eligible else "N",
                p.ethnicity,
                p.enrolment_status.value,
                p.entry_date.isoformat(),
                p.leaving_date.isoformat() if p.leaving_date else "",
            ]
        )
    return out.getvalue()


def marks_csv(marks: Iterable[Mark]) -> str:
    """The `marks` part of a CSV return (or a whole `text/csv` marks-only return)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MARK_COLUMNS)
    for m in marks:
        writer.writerow([m.upn, m.date.isoformat(), m.session, m.code])
    return out.getvalue()


def multipart_return(
    pupils: Iterable[Pupil], marks: Iterable[Mark], *, replace_range: DateRange | None = None
) -> tuple[str, bytes]:
    """A CSV return as `multipart/form-data`: the Content-Type header value and the body."""
    boundary = f"attx-{uuid.uuid4().hex}"
    parts: list[tuple[str, str | None, str]] = [
        ("roll", "roll.csv", roll_csv(pupils)),
        ("marks", "marks.csv", marks_csv(marks)),
    ]
    if replace_range is not None:
        parts.append(("replace_from", None, replace_range.start.isoformat()))
        parts.append(("replace_to", None, replace_range.end.isoformat()))
    chunks: list[bytes] = []
    for name, filename, text in parts:
        disposition = f'form-data; name="{name}"'
        headers = f"--{boundary}\r\nContent-Disposition: {disposition}"
        if filename:
            headers += f'; filename="{filename}"\r\nContent-Type: text/csv; charset=utf-8'
        chunks.append(f"{headers}\r\n\r\n".encode() + text.encode("utf-8") + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"{MULTIPART_MEDIA_TYPE}; boundary={boundary}", b"".join(chunks)


@dataclass(frozen=True)
class CtfSchool:
    """The school a CTF comes from: LA code, 4-digit establishment number, name."""

    lea: str
    estab: str
    name: str


def academic_year(day: date) -> int:
    """The calendar year an academic year starts in (years run 1 August to 31 July here)."""
    return day.year if day.month >= 8 else day.year - 1


def _element(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def _session_totals(marks: Sequence[Mark]) -> dict[str, int]:
    totals = {"possible": 0, "authorised": 0, "attended": 0, "unauthorised": 0}
    for m in marks:
        found = lookup(m.code, m.date)
        if found is None or not found.category.is_possible:
            continue
        totals["possible"] += 1
        totals["attended"] += found.category.is_attendance
        totals["authorised"] += found.category.value == "authorised_absence"
        totals["unauthorised"] += found.category.value == "unauthorised_absence"
    return totals


def _pupil_ctf(school: CtfSchool, pupil: Pupil, marks: Sequence[Mark]) -> str:
    out = [
        "<Pupil>",
        _element("UPN", pupil.upn),
        _element("Surname", pupil.legal_surname),
        _element("Forename", pupil.legal_forename),
        _element("DOB", pupil.date_of_birth.isoformat()),
        _element("Sex", pupil.gender),
        _element("NCyearActual", pupil.nc_year),
        _element("Ethnicity", pupil.ethnicity),
        _element("EnrolStatus", pupil.enrolment_status.value),
        "<SENhistory><SEN>",
        _element("StartDate", pupil.entry_date.isoformat()),
        _element("SENprovision", pupil.sen_provision.value),
        "</SEN></SENhistory>",
    ]
    if pupil.fsm_eligible:
        out.append("<FSMhistory><FSMinstance>")
        out.append(_element("FSMstartDate", pupil.entry_date.isoformat()))
        out.append("</FSMinstance></FSMhistory>")
    out.append("<SchoolHistory>")
    for entry, leaving in pupil.stays:  # a pupil who left and came back: one per stay
        out += [
            "<School>",
            _element("LEA", school.lea),
            _element("Estab", school.estab),
            _element("SchoolName", school.name),
            _element("EntryDate", entry.isoformat()),
        ]
        if leaving:
            out.append(_element("LeavingDate", leaving.isoformat()))
        out.append("</School>")
    out.append("</SchoolHistory>")
    by_year: dict[int, list[Mark]] = defaultdict(list)
    for m in marks:
        by_year[academic_year(m.date)].append(m)
    if by_year:
        out.append("<Attendance>")
        for year in sorted(by_year):
            year_marks = sorted(by_year[year], key=lambda m: (m.date, m.session))
            totals = _session_totals([m for m in year_marks if m.code != NO_MARK])
            codes = {(m.date, m.session): m.code for m in year_marks}
            out += [
                "<YearData>",
                _element("Year", year),
                _element("LEA", school.lea),
                _element("Estab", school.estab),
                _element("SchoolName", school.name),
                _element("SessionsPossible", totals["possible"]),
                _element("SessionsAuthorised", totals["authorised"]),
                _element("SessionsAttended", totals["attended"]),
                _element("SessionsUnauthorised", totals["unauthorised"]),
                "<AttendSessions>",
                _element("AttendanceStartDate", year_marks[0].date.isoformat()),
                _element(
                    "AttendanceMarks", encode_marks(year_marks[0].date, year_marks[-1].date, codes)
                ),
                "</AttendSessions>",
                "</YearData>",
            ]
        out.append("</Attendance>")
    out.append("</Pupil>")
    return "".join(out)


def iter_ctf_return(
    school: CtfSchool,
    pupils: Iterable[Pupil],
    marks: Iterable[Mark],
    *,
    created: datetime | None = None,
) -> Iterator[bytes]:
    """A CTF 25 (partial) carrying the roll and marks, as UTF-8 chunks, one pupil at a time."""
    created = created or datetime.now().replace(microsecond=0)
    by_pupil: dict[str, list[Mark]] = defaultdict(list)
    for m in marks:
        by_pupil[m.upn].append(m)
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile><Header>'
        + _element("DocumentName", "Common Transfer File")
        + _element("CTFversion", "25.0")
        + _element("DateTime", created.isoformat())
        + _element("DocumentQualifier", "partial")
        + _element("DataDescriptor", "Attendance")
        + _element("SupplierID", "Attendance Exchange")
        + "<SourceSchool>"
        + _element("LEA", school.lea)
        + _element("Estab", school.estab)
        + _element("SchoolName", school.name)
        + _element("AcademicYear", academic_year(created.date()))
        + "</SourceSchool>"
        + "<DestSchool>"
        + _element("LEA", school.lea)
        + _element("Estab", school.estab)
        + "</DestSchool></Header>\n<CTFpupilData>\n"
    ).encode("utf-8")
    for pupil in pupils:
        yield (_pupil_ctf(school, pupil, by_pupil.get(pupil.upn, [])) + "\n").encode("utf-8")
    yield b"</CTFpupilData></CTfile>\n"


def ctf_return(
    school: CtfSchool,
    pupils: Iterable[Pupil],
    marks: Iterable[Mark],
    *,
    created: datetime | None = None,
) -> bytes:
    """A whole CTF as bytes; use `iter_ctf_return` to stream a large one."""
    return b"".join(iter_ctf_return(school, pupils, marks, created=created))
