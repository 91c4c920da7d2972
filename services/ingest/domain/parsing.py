"""Read a return in any of the three formats into plain values, collecting every problem.

Parsers check what one record can show on its own (field shapes, UPN check letters, a
session is AM or PM); `rules.validate_return` checks what needs the whole return and the
stored roll. A body that is not well-formed (bad syntax, not UTF-8, a DTD in XML) raises
`MalformedReturn` at once: there is nothing sensible to report after it.

Each mark is a tuple `(upn, date, session, code, ref)`; `ref` is an integer the parsed
return's `locate(ref, field)` turns back into a JSON pointer, CSV line or XML path, so
no location string is built unless there is a problem to report.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from operator import itemgetter
from typing import IO, Any, TypeVar
from xml.etree.ElementTree import Element, ParseError

import ijson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from services.ingest.domain.ctf import WEEKEND_ALLOWED, Token, decode_marks, split_well_formed
from services.ingest.domain.formats import MARK_COLUMNS, ROLL_COLUMNS
from services.ingest.domain.model import SESSIONS, DateRange, Pupil
from services.ingest.domain.problems import MalformedReturn, Problems
from shared.codes import NO_MARK
from shared.contracts.changes import EnrolmentStatus, SenProvision
from shared.identifiers import UpnCheck, check_upn
from shared.types import EARLIEST_DATE

_E = TypeVar("_E", SenProvision, EnrolmentStatus)

MarkRow = tuple[str, date, str, str, int]
"""(upn, date, session, code, ref)."""

NC_YEARS = frozenset({"N1", "N2", "R", "X", *(str(n) for n in range(1, 15))})
ETHNICITY = re.compile(r"^[A-Z]{4}$")
MAX_NAME = 100
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
_CTF_REF_STRIDE = 10_000_000
"""A CTF mark's ref is block * stride + offset; no AttendanceMarks string is this long."""


@dataclass
class ParsedReturn:
    """A return read from its body: roll, marks, `-` sessions, and how to name locations."""

    format: str
    locate: Callable[[int, str | None], str]
    """Where mark `ref` (and its `field`) is in the body."""
    locate_pupil: Callable[[int, str], str]
    """Where pupil `ref` (and its `field`) is in the body."""
    pupils: list[Pupil] = field(default_factory=list)
    pupil_refs: list[int] = field(default_factory=list)
    marks: list[MarkRow] = field(default_factory=list)
    no_marks: list[tuple[str, date, str]] = field(default_factory=list)
    replace_range: DateRange | None = None
    source_dfe_number: str | None = None
    """The CTF header's LEA + Estab, checked against the school's DfE number."""

    def covered_range(self) -> DateRange | None:
        """The first and last day the return speaks for (marks, `-` and replace range)."""
        days: list[date] = []
        for dated in (self.marks, self.no_marks):
            if dated:  # min and max in C, no list of days: a full year is 780,000 marks
                days += (min(map(itemgetter(1), dated)), max(map(itemgetter(1), dated)))
        if self.replace_range:
            days += [self.replace_range.start, self.replace_range.end]
        return DateRange(min(days), max(days)) if days else None


class _Dates:
    """Parses ISO dates, caching them: a year of marks has only a few hundred distinct days."""

    def __init__(self) -> None:
        self._cache: dict[str, date] = {}

    def __call__(self, raw: object) -> date | None:
        if not isinstance(raw, str):
            return None
        found = self._cache.get(raw)
        if found is None:
            if len(raw) != 10:
                return None
            try:
                found = date.fromisoformat(raw)
            except ValueError:
                return None
            self._cache[raw] = found
        return found


class _RecordReader:
    """Field checks shared by the three formats; problems go to `problems` at `where(field)`."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.dates = _Dates()
        self._calendars: dict[date, tuple[list[date], list[bool]]] = {}
        self._upns: dict[str, UpnCheck] = {}

    def calendar(self, start: date, days: int) -> tuple[list[date], list[bool]]:
        """At least `days` consecutive days from `start`, and whether each is a weekend.

        Shared by every pupil whose marks start that day, so a year of marks builds one
        list of dates instead of a date per session.
        """
        found = self._calendars.get(start)
        if found is None or len(found[0]) < days:
            span = [start + timedelta(days=n) for n in range(max(days, 366))]
            found = (span, [d.weekday() >= 5 for d in span])
            self._calendars[start] = found
        return found

    def upn(self, raw: object, where: Callable[[str], str]) -> tuple[str, bool] | None:
        if not isinstance(raw, str) or not raw.strip():
            self.problems.add(where("upn"), "upn_missing", "a UPN is required")
            return None
        # A daily return names each pupil twice (AM, PM): check each UPN string once.
        checked = self._upns.get(raw)
        if checked is None:
            checked = self._upns[raw] = check_upn(raw)
        if not checked.valid:
            self.problems.add(where("upn"), "upn_invalid", f"{checked.upn}: {checked.problem}")
            return None
        return checked.upn, checked.temporary

    def date(self, raw: object, where: Callable[[str], str], name: str) -> date | None:
        found = self.dates(raw)
        if found is None:
            self.problems.add(
                where(name), "date_invalid", f"{name} must be a date YYYY-MM-DD, not {raw!r}"
            )
        elif found < EARLIEST_DATE:
            # Nothing downstream could place it: its academic year is not a date.
            self.problems.add(
                where(name), "date_too_early", f"{name} {raw} is before {EARLIEST_DATE}"
            )
            return None
        return found

    def mark(
        self,
        upn: object,
        day: object,
        session: object,
        code: object,
        ref: int,
        where: Callable[[str], str],
        parsed: ParsedReturn,
    ) -> None:
        checked = self.upn(upn, where)
        found_day = self.date(day, where, "date")
        if session not in SESSIONS:
            self.problems.add(
                where("session"), "session_invalid", f"session must be AM or PM, not {session!r}"
            )
        if not isinstance(code, str) or not code or len(code) > 2:
            self.problems.add(
                where("code"), "code_invalid", f"code must be an attendance code, not {code!r}"
            )
            return
        if checked is None or found_day is None or session not in SESSIONS:
            return
        assert isinstance(session, str)
        if code == NO_MARK:
            parsed.no_marks.append((checked[0], found_day, session))
        else:
            parsed.marks.append((checked[0], found_day, session, code, ref))

    def pupil(
        self, raw: Mapping[str, Any], where: Callable[[str], str], *, fsm: bool | None
    ) -> Pupil | None:
        """A pupil from already-extracted string fields (`fsm` decoded by the caller)."""
        before = self.problems.total
        checked = self.upn(raw.get("upn"), where)
        names: dict[str, str] = {}
        for name in ("legal_surname", "legal_forename"):
            value = raw.get(name)
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
                self.problems.add(
                    where(name), "name_invalid", f"{name} must be 1 to {MAX_NAME} characters"
                )
            elif CONTROL_CHARACTER.search(value):
                # A NUL cannot even be stored in PostgreSQL text; no name holds any of them.
                self.problems.add(
                    where(name), "name_invalid", f"{name} must not contain control characters"
                )
            else:
                names[name] = value.strip()
        dob = self.date(raw.get("date_of_birth"), where, "date_of_birth")
        entry = self.date(raw.get("entry_date"), where, "entry_date")
        leaving_raw = raw.get("leaving_date")
        leaving = (
            None if leaving_raw in (None, "") else self.date(leaving_raw, where, "leaving_date")
        )
        gender = raw.get("gender")
        if gender not in ("M", "F", "U"):
            self.problems.add(
                where("gender"), "gender_invalid", f"gender must be M, F or U, not {gender!r}"
            )
        nc_year = raw.get("nc_year")
        if nc_year not in NC_YEARS:
            self.problems.add(
                where("nc_year"),
                "nc_year_invalid",
                f"nc_year must be N1, N2, R, 1-14 or X, not {nc_year!r}",
            )
        sen = _enum(SenProvision, raw.get("sen_provision"))
        if sen is None:
            self.problems.add(
                where("sen_provision"), "sen_provision_invalid", "sen_provision must be N, K or E"
            )
        status = _enum(EnrolmentStatus, raw.get("enrolment_status"))
        if status is None:
            self.problems.add(
                where("enrolment_status"),
                "enrolment_status_invalid",
                "enrolment_status must be C, M, S or G",
            )
        ethnicity = raw.get("ethnicity")
        if not isinstance(ethnicity, str) or not ETHNICITY.match(ethnicity):
            self.problems.add(
                where("ethnicity"),
                "ethnicity_invalid",
                "ethnicity must be a 4-letter DfE code such as WBRI",
            )
        if fsm is None:
            self.problems.add(
                where("fsm_eligible"),
                "fsm_eligible_invalid",
                "fsm_eligible must be true/false (CSV: Y/N)",
            )
        if entry and leaving and leaving < entry:
            self.problems.add(
                where("leaving_date"), "leaving_before_entry", "leaving_date is before entry_date"
            )
        if (
            self.problems.total != before
            or checked is None
            or dob is None
            or entry is None
            or sen is None
            or status is None
            or fsm is None
        ):
            return None
        return Pupil(
            upn=checked[0],
            upn_temporary=checked[1],
            date_of_birth=dob,
            gender=str(gender),
            nc_year=str(nc_year),
            sen_provision=sen,
            fsm_eligible=fsm,
            ethnicity=str(ethnicity),
            enrolment_status=status,
            entry_date=entry,
            leaving_date=leaving,
            legal_surname=names["legal_surname"],
            legal_forename=names["legal_forename"],
        )


def _enum(cls: type[_E], raw: object) -> _E | None:
    if not isinstance(raw, str):
        return None
    try:
        return cls(raw)
    except ValueError:
        return None


# --- JSON -----------------------------------------------------------------------------

_JSON_ARRAYS = frozenset({"pupils", "marks"})
_JSON_MARK = frozenset(MARK_COLUMNS)
_JSON_PUPIL = frozenset(ROLL_COLUMNS)


def _pointer(*parts: object) -> str:
    return "/" + "/".join(str(p) for p in parts)


_JsonEvent = tuple[str, Any]


_JSON_MAX_DEPTH = 20
"""A return nests three levels; deeper documents are refused before they exhaust the stack."""


_CONTAINER_STARTS = frozenset({"start_map", "start_array"})


def _json_value(first: _JsonEvent, events: Iterator[_JsonEvent], depth: int = 1) -> Any:
    """The whole value that starts with event `first` (a scalar, or everything up to the
    end of its object or array), read from the rest of `events`. Nested values are read
    by the recursive calls, so the first end event each level meets is its own."""
    event, value = first
    if event in ("start_map", "start_array") and depth > _JSON_MAX_DEPTH:
        raise MalformedReturn(f"The body nests JSON more than {_JSON_MAX_DEPTH} levels deep.")
    if event == "start_map":
        found: dict[str, Any] = {}
        for inner, key in events:
            if inner == "end_map":
                return found
            member = next(events)
            # A scalar member (every member of a mark) is taken as it is: no call per
            # value for the 12,000 of a daily return.
            found[key] = (
                member[1]
                if member[0] not in _CONTAINER_STARTS
                else _json_value(member, events, depth + 1)
            )
    elif event == "start_array":
        items: list[Any] = []
        for item in events:
            if item[0] == "end_array":
                return items
            items.append(_json_value(item, events, depth + 1))
    else:
        return value
    raise MalformedReturn("The body is not valid JSON: it ends inside a value.")


_ARRAY = object()
"""What `_json_members` gives as the value of an array member, before its items."""


def _json_members(body: IO[bytes]) -> Iterator[tuple[str, int | None, Any]]:
    """The top-level members of a JSON return as `(name, None, value)`; a `pupils` or
    `marks` array as `(name, None, _ARRAY)` and then its items one at a time as
    `(name, index, item)`, so a full year's marks are never one document in memory."""
    events: Iterator[_JsonEvent] = iter(ijson.basic_parse(body, use_float=True))
    first = next(events, None)
    if first is None or first[0] != "start_map":
        raise MalformedReturn("A JSON return is an object with pupils and marks.")
    for event, name in events:
        if event == "end_map":
            continue  # the end of the document (trailing content raises on the next read)
        start = next(events)
        if name in _JSON_ARRAYS and start[0] == "start_array":
            yield name, None, _ARRAY
            for index, item in enumerate(events):
                if item[0] == "end_array":
                    break
                yield name, index, _json_value(item, events, depth=3)
        else:
            yield name, None, _json_value(start, events, depth=2)


def _json_error(exc: ijson.JSONError) -> str:
    # yajl's message is a line of text and then the offending stretch of the body.
    raw = exc.args[0] if exc.args else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    first = text.splitlines()[0] if text else "unreadable"
    if "UTF8" in first:
        return "The body is not UTF-8: JSON returns must be UTF-8."
    return f"The body is not valid JSON: {first}."


def parse_json(body: IO[bytes], problems: Problems) -> ParsedReturn:
    """Read the native JSON format (UTF-8 only), one pupil or mark at a time."""
    parsed = ParsedReturn(
        "json",
        lambda ref, f: _pointer("marks", ref, *([f] if f else [])),
        lambda ref, f: _pointer("pupils", ref, f),
    )
    reader = _RecordReader(problems)
    arrays: set[str] = set()  # given as arrays
    given: set[str] = set()  # given as something else
    replace_range: object = None
    try:
        for name, index, raw in _json_members(body):
            if raw is _ARRAY:
                arrays.add(name)
            elif index is None:
                if name in _JSON_ARRAYS:
                    given.add(name)
                    problems.add(_pointer(name), "array_required", f"{name} must be an array")
                elif name == "replace_range":
                    replace_range = raw
                else:
                    problems.add(_pointer(name), "unknown_member", f"unknown member {name!r}")
            elif name == "pupils":
                _json_pupil(index, raw, reader, parsed, problems)
            else:
                _json_mark(index, raw, reader, parsed, problems)
    except ijson.JSONError as exc:
        raise MalformedReturn(_json_error(exc)) from exc
    for name in sorted(_JSON_ARRAYS - arrays - given):
        problems.add(_pointer(name), "array_required", f"{name} must be an array")
    parsed.replace_range = _replace_range(
        replace_range, reader, problems, lambda f: _pointer("replace_range", f)
    )
    return parsed


def _json_pupil(
    i: int, raw: object, reader: _RecordReader, parsed: ParsedReturn, problems: Problems
) -> None:
    def where(f: str) -> str:
        return _pointer("pupils", i, f)

    if not isinstance(raw, dict):
        problems.add(_pointer("pupils", i), "object_required", "a pupil is an object")
        return
    for extra in sorted(set(raw) - _JSON_PUPIL):
        problems.add(where(extra), "unknown_member", f"unknown member {extra!r}")
    fsm = raw.get("fsm_eligible")
    pupil = reader.pupil(raw, where, fsm=fsm if isinstance(fsm, bool) else None)
    if pupil:
        parsed.pupils.append(pupil)
        parsed.pupil_refs.append(i)


def _json_mark(
    i: int, raw: object, reader: _RecordReader, parsed: ParsedReturn, problems: Problems
) -> None:
    def where(f: str) -> str:
        return _pointer("marks", i, f)

    if not isinstance(raw, dict):
        problems.add(_pointer("marks", i), "object_required", "a mark is an object")
        return
    if raw.keys() != _JSON_MARK:
        for extra in sorted(set(raw) - _JSON_MARK):
            problems.add(where(extra), "unknown_member", f"unknown member {extra!r}")
    reader.mark(
        raw.get("upn"), raw.get("date"), raw.get("session"), raw.get("code"), i, where, parsed
    )


def _replace_range(
    raw: object, reader: _RecordReader, problems: Problems, where: Callable[[str], str]
) -> DateRange | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"from", "to"}:
        problems.add(
            where("").rstrip("/"),
            "replace_range_invalid",
            "replace_range is an object with from and to",
        )
        return None
    start = reader.date(raw["from"], where, "from")
    end = reader.date(raw["to"], where, "to")
    if start and end and end < start:
        problems.add(where("to"), "replace_range_invalid", "replace_range.to is before from")
        return None
    return DateRange(start, end) if start and end else None


# --- CSV ------------------------------------------------------------------------------


def _csv_rows(
    part: str, body: IO[bytes], columns: Iterable[str], problems: Problems
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of one CSV part, header checked; header is line 1."""
    text = io.TextIOWrapper(body, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text, strict=True)
    expected = tuple(columns)
    try:
        header = next(reader, None)
        if header is None or sorted(header) != sorted(expected):
            raise MalformedReturn(
                f"{part}: the header row must name exactly the columns "
                f"{','.join(expected)} (got {','.join(header or [])!r})."
            )
        width = len(header)
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) != width:
                problems.add(
                    f"{part}:{line}",
                    "csv_row_width",
                    f"row has {len(row)} fields, the header {width}",
                )
                continue
            yield line, dict(zip(header, row, strict=True))
    except UnicodeDecodeError as exc:
        raise MalformedReturn(
            f"{part} is not UTF-8 near line {reader.line_num + 1}: CSV returns must be UTF-8."
        ) from exc
    except csv.Error as exc:
        raise MalformedReturn(f"{part}:{reader.line_num}: not valid CSV: {exc}.") from exc
    finally:
        text.detach()


def parse_csv(
    roll: IO[bytes] | None,
    marks: IO[bytes],
    problems: Problems,
    *,
    replace_from: str | None = None,
    replace_to: str | None = None,
) -> ParsedReturn:
    """Read a CSV return: optional roll part, marks part, optional replace range fields."""
    parsed = ParsedReturn(
        "csv",
        lambda ref, f: f"marks.csv:{ref}" + (f"#{f}" if f else ""),
        lambda ref, f: f"roll.csv:{ref}#{f}",
    )
    reader = _RecordReader(problems)
    if roll is not None:
        for line, row in _csv_rows("roll.csv", roll, ROLL_COLUMNS, problems):

            def where(f: str, line: int = line) -> str:
                return f"roll.csv:{line}#{f}"

            fsm = {"Y": True, "N": False}.get(row["fsm_eligible"])
            pupil = reader.pupil(row, where, fsm=fsm)
            if pupil:
                parsed.pupils.append(pupil)
                parsed.pupil_refs.append(line)
    for line, row in _csv_rows("marks.csv", marks, MARK_COLUMNS, problems):

        def where_mark(f: str, line: int = line) -> str:
            return f"marks.csv:{line}#{f}"

        reader.mark(row["upn"], row["date"], row["session"], row["code"], line, where_mark, parsed)
    if (replace_from is None) != (replace_to is None):
        problems.add(
            "replace_from",
            "replace_range_invalid",
            "send both replace_from and replace_to, or neither",
        )
    elif replace_from is not None:
        parsed.replace_range = _replace_range(
            {"from": replace_from, "to": replace_to}, reader, problems, lambda f: f"replace_{f}"
        )
    return parsed


# --- CTF ------------------------------------------------------------------------------

_PUPIL_PATH = "/CTfile/CTFpupilData/Pupil"


def _text(element: Element, path: str) -> str | None:
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def parse_ctf(body: IO[bytes], problems: Problems) -> ParsedReturn:
    """Read a Common Transfer File in one streaming pass; DTDs and entities are refused."""
    blocks: list[str] = []

    def locate(ref: int, _field: str | None) -> str:
        block, offset = divmod(ref, _CTF_REF_STRIDE)
        return f"{blocks[block]}@{offset}"

    parsed = ParsedReturn("ctf", locate, lambda ref, f: f"{_PUPIL_PATH}[{ref}]/{f}")
    reader = _RecordReader(problems)
    header_day: date | None = None
    pupil_index = 0
    root: Element | None = None
    try:
        for event, element in iterparse(body, events=("start", "end"), forbid_dtd=True):
            if "}" in element.tag:
                element.tag = element.tag.split("}", 1)[1]
            if event == "start":
                if root is None:
                    root = element
                    if element.tag != "CTfile":
                        raise MalformedReturn(f"A CTF's root element is CTfile, not {element.tag}.")
                continue
            if element.tag == "Header":
                lea = _text(element, "SourceSchool/LEA")
                estab = _text(element, "SourceSchool/Estab")
                parsed.source_dfe_number = f"{lea}{estab}" if lea and estab else None
                if parsed.source_dfe_number is None:
                    problems.add(
                        "/CTfile/Header/SourceSchool",
                        "ctf_source_school_missing",
                        "Header/SourceSchool needs LEA and Estab",
                    )
                stamp = _text(element, "DateTime")
                header_day = reader.dates(stamp[:10]) if stamp else None
                element.clear()
            elif element.tag == "Pupil":
                pupil_index += 1
                _ctf_pupil(element, pupil_index, header_day, parsed, reader, blocks)
                element.clear()
    except DefusedXmlException as exc:
        raise MalformedReturn(
            f"The CTF declares a DTD or entities ({type(exc).__name__}); they are refused, "
            "never followed or expanded."
        ) from exc
    except ParseError as exc:
        raise MalformedReturn(f"The body is not well-formed XML: {exc}.") from exc
    if root is None:
        raise MalformedReturn("The body is empty.")
    return parsed


def _ctf_pupil(
    element: Element,
    index: int,
    header_day: date | None,
    parsed: ParsedReturn,
    reader: _RecordReader,
    blocks: list[str],
) -> None:
    ctf_names = {
        "upn": "UPN",
        "legal_surname": "Surname",
        "legal_forename": "Forename",
        "date_of_birth": "DOB",
        "gender": "Sex",
        "nc_year": "NCyearActual",
        "ethnicity": "Ethnicity",
        "enrolment_status": "EnrolStatus",
        "sen_provision": "SENhistory/SEN/SENprovision",
        "entry_date": "SchoolHistory/School/EntryDate",
        "leaving_date": "SchoolHistory/School/LeavingDate",
        "fsm_eligible": "FSMhistory/FSMinstance",
    }
    path = f"{_PUPIL_PATH}[{index}]"

    def where(f: str) -> str:
        return f"{path}/{ctf_names.get(f, f)}"

    sex = _text(element, "Sex") or _text(element, "Gender")
    sen_entries = element.findall("SENhistory/SEN")
    sen = _text(sen_entries[-1], "SENprovision") if sen_entries else "N"
    stays = _own_school_history(element, parsed.source_dfe_number)
    fsm = False
    for instance in element.findall("FSMhistory/FSMinstance"):
        end = reader.dates(_text(instance, "FSMendDate"))
        if end is None or (header_day is not None and end >= header_day):
            fsm = True
    raw = {
        "upn": _text(element, "UPN"),
        "legal_surname": _text(element, "Surname"),
        "legal_forename": _text(element, "Forename"),
        "date_of_birth": _text(element, "DOB"),
        "gender": sex if sex in ("M", "F") else ("U" if sex else None),
        "nc_year": _text(element, "NCyearActual"),
        "ethnicity": _text(element, "Ethnicity"),
        "enrolment_status": _text(element, "EnrolStatus") or "C",
        "sen_provision": sen,
    }
    # One roll entry per stay at the school (a pupil who left and came back has two).
    dates = [(_text(s, "EntryDate"), _text(s, "LeavingDate")) for s in stays] or [(None, None)]
    read = [
        reader.pupil({**raw, "entry_date": entry, "leaving_date": leaving}, where, fsm=fsm)
        for entry, leaving in dates
    ]
    pupils = [p for p in read if p is not None]
    if len(pupils) != len(read):
        return
    for pupil in pupils:
        parsed.pupils.append(pupil)
        parsed.pupil_refs.append(index)
    upn = pupils[0].upn
    for y, year in enumerate(element.findall("Attendance/YearData"), 1):
        for s, sessions in enumerate(year.findall("AttendSessions"), 1):
            block_path = f"{path}/Attendance/YearData[{y}]/AttendSessions[{s}]"
            start_path = f"{block_path}/AttendanceStartDate"
            start = reader.date(
                _text(sessions, "AttendanceStartDate"), _at(start_path), "AttendanceStartDate"
            )
            marks_el = sessions.find("AttendanceMarks")
            marks = (marks_el.text or "") if marks_el is not None else ""
            if start is None:
                continue
            block = len(blocks)
            blocks.append(f"{block_path}/AttendanceMarks")
            _ctf_marks(upn, start, marks, block, blocks, parsed, reader)


def _at(path: str) -> Callable[[str], str]:
    """A location function that names one fixed path whatever the field."""
    return lambda _field: path


def _own_school_history(element: Element, dfe_number: str | None) -> list[Element]:
    """The SchoolHistory entries of the school sending the file, one per stay (the last
    entry if none is clearly its own)."""
    schools = element.findall("SchoolHistory/School")
    own = [
        school
        for school in schools
        if dfe_number and f"{_text(school, 'LEA')}{_text(school, 'Estab')}" == dfe_number
    ]
    return own or schools[-1:]


def _ctf_marks(
    upn: str,
    start: date,
    marks: str,
    block: int,
    blocks: list[str],
    parsed: ParsedReturn,
    reader: _RecordReader,
) -> None:
    base = block * _CTF_REF_STRIDE
    tokens = split_well_formed(marks)
    if tokens is None or not _ctf_marks_fast(upn, start, tokens, base, parsed, reader):
        _ctf_marks_careful(upn, start, marks, block, blocks, parsed, reader)


def _ctf_marks_fast(
    upn: str, start: date, tokens: list[str], base: int, parsed: ParsedReturn, reader: _RecordReader
) -> bool:
    """Add the sessions of a well-formed string; False (nothing added) if one is misdated."""
    days, weekend = reader.calendar(start, (len(tokens) + 1) // 2)
    offsets = list(accumulate(map(len, tokens), initial=base))
    found: list[MarkRow] = []
    blank: list[tuple[str, date, str]] = []
    for position, code in enumerate(tokens):
        index = position >> 1
        if code == NO_MARK:
            if not weekend[index]:
                blank.append((upn, days[index], SESSIONS[position & 1]))
        elif weekend[index] and code not in WEEKEND_ALLOWED:
            return False
        else:
            found.append((upn, days[index], SESSIONS[position & 1], code, offsets[position]))
    parsed.marks.extend(found)
    parsed.no_marks.extend(blank)
    return True


def _ctf_marks_careful(
    upn: str,
    start: date,
    marks: str,
    block: int,
    blocks: list[str],
    parsed: ParsedReturn,
    reader: _RecordReader,
) -> None:
    """Read a string with problems token by token, naming each problem and its offset."""
    base = block * _CTF_REF_STRIDE
    for token in decode_marks(start, marks):
        if not isinstance(token, Token):
            reader.problems.add(f"{blocks[block]}@{token.offset}", token.code, token.detail)
        elif token.code == NO_MARK:
            if token.day.weekday() < 5:
                parsed.no_marks.append((upn, token.day, token.session))
        else:
            parsed.marks.append((upn, token.day, token.session, token.code, base + token.offset))
