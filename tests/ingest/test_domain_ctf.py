"""Reading CTF files: the AttendanceMarks decision, pupils, and hostile XML."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from services.ingest.domain.ctf import Token, TokenError, decode_marks, encode_marks
from services.ingest.domain.formats import CtfSchool, ctf_return
from services.ingest.domain.model import Mark
from services.ingest.domain.parsing import parse_ctf
from services.ingest.domain.problems import MalformedReturn, Problems
from tests.ingest.factories import AUTUMN_2024, pupil

SAMPLES = __import__("pathlib").Path(__file__).parent / "samples"
MONDAY = AUTUMN_2024


def tokens(start: date, marks: str) -> list[Token | TokenError]:
    return list(decode_marks(start, marks))


def test_a_letter_and_digit_are_one_session() -> None:
    found = tokens(MONDAY, "/C2")
    assert [(t.session, t.code) for t in found if isinstance(t, Token)] == [
        ("AM", "/"),
        ("PM", "C2"),
    ]


def test_sessions_run_am_pm_over_calendar_days() -> None:
    found = tokens(MONDAY, "/\\/\\")
    assert [(t.day, t.session) for t in found if isinstance(t, Token)] == [
        (MONDAY, "AM"),
        (MONDAY, "PM"),
        (MONDAY + timedelta(1), "AM"),
        (MONDAY + timedelta(1), "PM"),
    ]


def test_a_digit_not_after_a_letter_is_ambiguous() -> None:
    found = tokens(MONDAY, "/1")
    assert [t.code for t in found if isinstance(t, TokenError)] == ["ctf_marks_ambiguous"]


def test_a_mark_on_a_saturday_is_refused_as_misaligned() -> None:
    friday = MONDAY + timedelta(days=4)
    found = tokens(friday, "/\\/\\")
    assert [t.code for t in found if isinstance(t, TokenError)] == ["ctf_marks_weekend"] * 2


def test_encoding_and_decoding_round_trip() -> None:
    codes = {(MONDAY, "AM"): "/", (MONDAY, "PM"): "Y1", (MONDAY + timedelta(7), "AM"): "I"}
    text = encode_marks(MONDAY, MONDAY + timedelta(7), codes)
    decoded = {
        (t.day, t.session): t.code
        for t in tokens(MONDAY, text)
        if isinstance(t, Token) and t.code != "-"
    }
    assert decoded == codes


def test_a_ctf_gives_roll_and_marks() -> None:
    p = pupil(fsm_eligible=True)
    body = ctf_return(
        CtfSchool("202", "4001", "T"),
        [p],
        [Mark(p.upn, MONDAY, "AM", "/"), Mark(p.upn, MONDAY, "PM", "C2")],
    )
    parsed = parse_ctf(io.BytesIO(body), problems := Problems())
    assert not problems
    assert parsed.pupils == [p]
    expected = [(p.upn, MONDAY, "AM", "/"), (p.upn, MONDAY, "PM", "C2")]
    assert [m[:4] for m in parsed.marks] == expected
    assert parsed.source_dfe_number == "2024001"


def test_the_sample_ctf_parses() -> None:
    with (SAMPLES / "ctf25-two-pupils.xml").open("rb") as f:
        parsed = parse_ctf(f, problems := Problems())
    assert not problems, problems.items
    assert len(parsed.pupils) == 2
    assert parsed.no_marks


def test_a_bad_mark_names_its_element_and_offset() -> None:
    p = pupil()
    body = ctf_return(CtfSchool("202", "4001", "T"), [p], [Mark(p.upn, MONDAY, "AM", "/")])
    body = body.replace(b"<AttendanceMarks>/", b"<AttendanceMarks>/1")
    parse_ctf(io.BytesIO(body), problems := Problems())
    assert problems.items[0].location == (
        "/CTfile/CTFpupilData/Pupil[1]/Attendance/YearData[1]/AttendSessions[1]/AttendanceMarks@1"
    )


@pytest.mark.parametrize("sample", ["xxe.xml", "billion-laughs.xml", "malformed.xml"])
def test_hostile_or_broken_xml_is_malformed_not_followed(sample: str) -> None:
    with (SAMPLES / sample).open("rb") as f, pytest.raises(MalformedReturn):
        parse_ctf(f, Problems())


def test_a_root_other_than_ctfile_is_malformed() -> None:
    with pytest.raises(MalformedReturn, match="CTfile"):
        parse_ctf(io.BytesIO(b"<Other/>"), Problems())


def _ctf_with_marks(marks_text: str, start: date = MONDAY) -> bytes:
    """A one-pupil CTF whose only AttendanceMarks string is `marks_text`, from `start`."""
    p = pupil()
    body = ctf_return(CtfSchool("202", "4001", "T"), [p], [Mark(p.upn, MONDAY, "AM", "/")])
    body = body.replace(
        f"<AttendanceStartDate>{MONDAY.isoformat()}".encode(),
        f"<AttendanceStartDate>{start.isoformat()}".encode(),
    )
    return body.replace(
        b"<AttendanceMarks>/-</AttendanceMarks>",
        f"<AttendanceMarks>{marks_text}</AttendanceMarks>".encode(),
    )


@pytest.mark.parametrize(
    ("marks_text", "start"),
    [
        # Thursday to the next Friday: two-character codes, a weekend of blanks and #.
        ("/\\" + "C2L" + "--" + "##" + "/\\" * 4 + "-I", MONDAY + timedelta(days=3)),
        # A Friday, a blank weekend, then a closure and a weekday blank.
        ("/\\" + "----" + "##" + "-/", MONDAY + timedelta(days=4)),
    ],
)
def test_a_well_formed_string_reads_as_the_token_by_token_reader_does(
    marks_text: str, start: date
) -> None:
    parsed = parse_ctf(io.BytesIO(_ctf_with_marks(marks_text, start)), problems := Problems())
    assert not problems, problems.items
    decoded = [t for t in decode_marks(start, marks_text) if isinstance(t, Token)]
    assert [(m[1], m[2], m[3], m[4] % 10_000_000) for m in parsed.marks] == [
        (t.day, t.session, t.code, t.offset) for t in decoded if t.code != "-"
    ]
    assert [(n[1], n[2]) for n in parsed.no_marks] == [
        (t.day, t.session) for t in decoded if t.code == "-" and t.day.weekday() < 5
    ]


def test_a_misdated_mark_in_a_well_formed_string_is_reported_at_its_offset() -> None:
    friday = MONDAY + timedelta(days=4)
    parsed = parse_ctf(io.BytesIO(_ctf_with_marks("/\\C2", friday)), problems := Problems())
    assert [(i.code, i.location.rsplit("@", 1)[1]) for i in problems.items] == [
        ("ctf_marks_weekend", "2")
    ]
    assert [m[1:4] for m in parsed.marks] == [(friday, "AM", "/"), (friday, "PM", "\\")]
