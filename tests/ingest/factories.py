"""Small builders for ingest tests: valid UPNs, pupils, marks, and submitting a return."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from stdnum.gb.upn import calc_check_digit

from services.ingest.domain.formats import json_return
from services.ingest.domain.model import Mark, Pupil
from shared.contracts.changes import EnrolmentStatus, SenProvision

AUTUMN_2024 = date(2024, 9, 2)
"""A Monday after the 2024 regulations began."""
SUMMER_2024 = date(2024, 6, 3)
"""A Monday under the 2006 regulations."""


def upn(serial: int, la: str = "202") -> str:
    """A valid permanent UPN."""
    body = f"{la}4001{24:02d}{serial:03d}"
    return calc_check_digit(body) + body


def pupil(serial: int = 1, **overrides: Any) -> Pupil:
    """A pupil on roll since 2019, with census characteristics."""
    values: dict[str, Any] = {
        "upn": upn(serial),
        "legal_surname": f"Surname{serial}",
        "legal_forename": f"Forename{serial}",
        "date_of_birth": date(2014, 3, 1),
        "gender": "F",
        "nc_year": "5",
        "sen_provision": SenProvision.NONE,
        "fsm_eligible": False,
        "ethnicity": "WBRI",
        "enrolment_status": EnrolmentStatus.SINGLE,
        "entry_date": date(2019, 9, 4),
    }
    values.update(overrides)
    return Pupil(**values)


def week_of_marks(p: Pupil, monday: date = AUTUMN_2024, code: str = "/") -> list[Mark]:
    """Monday to Friday, both sessions, one code (PM present is written `\\`)."""
    marks = []
    for offset in range(5):
        day = monday + timedelta(days=offset)
        marks.append(Mark(p.upn, day, "AM", code))
        marks.append(Mark(p.upn, day, "PM", "\\" if code == "/" else code))
    return marks


def json_body(pupils: list[Pupil], marks: list[Mark], **kwargs: Any) -> bytes:
    """A JSON return."""
    return json_return(pupils, marks, **kwargs)
