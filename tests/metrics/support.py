"""Helpers for metrics API tests: feed the read model, build callers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from stdnum.gb.upn import calc_check_digit

from services.metrics.store.projection import apply_page
from shared.contracts.changes import Change
from shared.db import create_db_engine
from tests.metrics.factories import page, school_days
from tests.support.system import System


def feed(system: System, changes: list[Change], cursor: str = "c1") -> None:
    """Apply hand-built changes to the metrics read model, as the consumer would."""
    engine = create_db_engine(system.settings["metrics"].database.url)
    try:
        with engine.begin() as connection:
            apply_page(connection, page(changes, cursor))
    finally:
        engine.dispose()


def headers(system: System, organisation: dict[str, Any], scopes: list[str]) -> dict[str, str]:
    roles = {
        "school": "school_system",
        "trust": "trust_system",
        "local_authority": "la_attendance",
        "dfe": "dfe_analyst",
        "virtual_school": "virtual_school",
    }
    return system.headers_for(organisation["id"], roles[organisation["type"]], scopes)


DAYS = school_days(dt.date(2024, 9, 2), dt.date(2024, 9, 13))


def upn(serial: int) -> str:
    body = f"2024001{24:02d}{serial:03d}"
    return calc_check_digit(body) + body


def submit(system: System, school: dict[str, Any], codes: dict[int, str]) -> None:
    """A JSON return: pupils `serial -> code` for every session of DAYS."""
    pupils = [
        {
            "upn": upn(s),
            "legal_surname": "S",
            "legal_forename": "F",
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
        for s in codes
    ]
    marks = [
        {"upn": upn(s), "date": d.isoformat(), "session": session, "code": code}
        for s, code in codes.items()
        for d in DAYS
        for session in ("AM", "PM")
    ]
    hdrs = headers(system, school, ["returns:write"])
    response = system.ingest.post(
        f"/v1/schools/{school['urn']}/returns",
        content=json.dumps({"pupils": pupils, "marks": marks}),
        headers={**hdrs, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def absence(system: System, school: dict[str, Any]) -> dict[str, Any]:
    assert system.metrics is not None
    hdrs = headers(system, school, ["metrics:read"])
    response = system.metrics.get(
        "/v1/absence",
        params={"scope": f"school:{school['urn']}", "academic_year": "2024/25"},
        headers=hdrs,
    )
    assert response.status_code == 200, response.text
    measures: dict[str, Any] = response.json()["rows"][0]["measures"]
    return measures
