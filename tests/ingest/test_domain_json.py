"""The JSON return format, read one pupil or mark at a time: what it accepts and refuses."""

from __future__ import annotations

import io
import json

import pytest

from services.ingest.domain.parsing import parse_json
from services.ingest.domain.problems import MalformedReturn, Problems

PUPIL_FIELDS = json.loads(
    '{"upn": "A123456789012", "legal_surname": "Surname", "legal_forename": "Forename",'
    ' "date_of_birth": "2014-01-01", "gender": "F", "nc_year": "5", "sen_provision": "N",'
    ' "fsm_eligible": false, "ethnicity": "WBRI", "enrolment_status": "C",'
    ' "entry_date": "2019-09-02", "leaving_date": null}'
)
MARK = {"upn": "A123456789012", "date": "2024-09-02", "session": "AM", "code": "/"}


def parse(document: bytes) -> tuple[int, int, list[tuple[str | None, str]]]:
    problems = Problems()
    parsed = parse_json(io.BytesIO(document), problems)
    return len(parsed.pupils), len(parsed.marks), [(p.location, p.code) for p in problems.items]


def test_marks_may_come_before_pupils() -> None:
    document = json.dumps({"marks": [MARK], "pupils": [PUPIL_FIELDS]}).encode()
    assert parse(document)[:2] == (1, 1)


def test_every_problem_is_named_by_its_pointer_in_document_order() -> None:
    document = json.dumps(
        {"pupils": 3, "marks": [MARK, [1, {"a": 2}], {**MARK, "extra": 1}], "other": {"a": [1]}}
    ).encode()
    assert parse(document)[2] == [
        ("/pupils", "array_required"),
        ("/marks/1", "object_required"),
        ("/marks/2/extra", "unknown_member"),
        ("/other", "unknown_member"),
    ]


def test_a_missing_array_is_named_once() -> None:
    assert parse(b'{"pupils": []}')[2] == [("/marks", "array_required")]


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        (b'{"pupils": [], "marks": [', "not valid JSON: parse error: premature EOF"),
        (b'{"pupils": [], "marks": []} trailing', "not valid JSON: parse error: trailing garbage"),
        (b'[{"pupils": []}]', "an object with pupils and marks"),
        (b"", "not valid JSON: parse error: premature EOF"),
        ('{"pupils": [], "marks": [], "x": "Zoë"}'.encode("latin-1"), "not UTF-8"),
        (b'{"pupils": [], "marks": [' + b"[" * 100_000, "more than 20 levels deep"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_malformed(document: bytes, detail: str) -> None:
    with pytest.raises(MalformedReturn, match=detail):
        parse(document)
