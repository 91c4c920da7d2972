"""`attx submit`: the body it streams, and how it reports receipts and problems."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2 as httpx
import pytest
from stdnum.gb.upn import calc_check_digit

from services.cli.submit import (
    ReturnFormat,
    access_token,
    build_upload,
    detect_format,
    format_problem,
    send_return,
)
from tests.support.system import INGEST_URL, SHARING_URL, System


def _return(upn: str, code: str) -> str:
    pupil = {
        "upn": upn,
        "legal_surname": "Smith",
        "legal_forename": "Amy",
        "date_of_birth": "2014-03-01",
        "gender": "F",
        "nc_year": "5",
        "sen_provision": "N",
        "fsm_eligible": False,
        "ethnicity": "WBRI",
        "enrolment_status": "C",
        "entry_date": "2019-09-04",
        "leaving_date": None,
    }
    mark = {"upn": upn, "date": "2024-09-04", "session": "AM", "code": code}
    return json.dumps({"pupils": [pupil], "marks": [mark]})


def _valid_upn() -> str:
    body = "800200124001"
    return calc_check_digit(body) + body


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("r.json", ReturnFormat.JSON),
        ("r.ctf.xml", ReturnFormat.CTF),
        ("r.marks.csv", ReturnFormat.CSV),
    ],
)
def test_the_format_comes_from_the_file_extension(name: str, expected: ReturnFormat) -> None:
    assert detect_format(Path(name)) is expected


def test_an_unknown_extension_asks_for_format() -> None:
    with pytest.raises(ValueError, match="--format"):
        detect_format(Path("return.txt"))


def test_the_multipart_body_is_the_same_for_the_same_files(tmp_path: Path) -> None:
    marks = tmp_path / "m.csv"
    marks.write_text("upn,date,session,code\r\n")
    roll = tmp_path / "r.csv"
    roll.write_text("upn\r\n")
    first = build_upload(marks, ReturnFormat.CSV, roll=roll)
    second = build_upload(marks, ReturnFormat.CSV, roll=roll)
    assert b"".join(first.chunks()) == b"".join(second.chunks())
    assert first.length == len(b"".join(first.chunks()))


def _school_token(system: System) -> tuple[str, str]:
    school = system.create_organisation("school", la_code="800")
    client_id, secret = system.create_client(school["id"], "school_system", ["returns:write"])
    token = access_token(
        f"{SHARING_URL}/oauth/token", client_id, secret, transport=system.transport
    )
    return school["urn"], token


def test_a_streamed_return_is_accepted_with_a_receipt(system: System, tmp_path: Path) -> None:
    urn, token = _school_token(system)
    upn = _valid_upn()
    path = tmp_path / "return.json"
    path.write_text(_return(upn, "/"))
    sent: list[int] = []
    with httpx.Client(transport=system.transport) as http:
        response = send_return(
            http,
            ingest_url=INGEST_URL,
            urn=urn,
            token=token,
            upload=build_upload(path, ReturnFormat.JSON),
            advance=sent.append,
        )
    assert response.status_code == 201, response.text
    assert response.json()["marks"]["inserted"] == 1
    assert sum(sent) == path.stat().st_size


def test_a_rejected_return_prints_every_problem_with_its_location(
    system: System,
    tmp_path: Path,
) -> None:
    urn, token = _school_token(system)
    upn = _valid_upn()
    path = tmp_path / "return.json"
    path.write_text(_return(upn, "H"))
    with httpx.Client(transport=system.transport) as http:
        response = send_return(
            http,
            ingest_url=INGEST_URL,
            urn=urn,
            token=token,
            upload=build_upload(path, ReturnFormat.JSON),
        )
    assert response.status_code == 422
    text = format_problem(response)
    assert text.startswith("422 ")
    assert "/marks/0/code" in text
