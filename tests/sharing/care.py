"""Builders for the access-policy tests: pupils on rolls, care episodes, reach answers.

Everything goes through the real HTTP APIs with real tokens: pupils reach ingest's rolls
in a school's JSON return, episodes are recorded by a social care client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from stdnum.gb.upn import calc_check_digit

from services.ingest.domain.formats import json_return
from services.ingest.domain.model import Pupil
from shared.contracts.changes import EnrolmentStatus, SenProvision
from shared.contracts.policy import Reach
from tests.support.system import System


def days_ago(n: int) -> date:
    # The day asked on, not the day the module was imported: a run may cross midnight.
    return date.today() - timedelta(days=n)


def upn(serial: int, la: str = "202") -> str:
    """A valid permanent UPN."""
    body = f"{la}5001{24:02d}{serial:03d}"
    return calc_check_digit(body) + body


def pupil(serial: int, **overrides: Any) -> Pupil:
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


def put_on_roll(system: System, school: dict[str, Any], pupils: list[Pupil]) -> None:
    """The school submits a return holding these pupils (and no marks)."""
    headers = system.headers_for(school["id"], "school_system", ["returns:write"])
    response = system.ingest.post(
        f"/v1/schools/{school['urn']}/returns",
        content=json_return(pupils, []),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


@dataclass
class Authority:
    """A local authority with its social care and virtual school, and their clients."""

    la_code: str
    authority: dict[str, Any]
    social_care: dict[str, Any]
    virtual_school: dict[str, Any]
    social_care_headers: dict[str, str]
    client_id: str
    client_secret: str


def authority(system: System, la_code: str) -> Authority:
    """An LA, its children's social care (with a case-management client) and virtual school."""
    la = system.create_organisation("local_authority", la_code=la_code)
    social_care = system.create_organisation("social_care", la_code=la_code)
    virtual_school = system.create_organisation("virtual_school", la_code=la_code)
    client_id, secret = system.create_client(
        social_care["id"], "social_care", ["social_care:write", "social_care:read"]
    )
    headers = {"Authorization": f"Bearer {system.token(client_id, secret)}"}
    return Authority(la_code, la, social_care, virtual_school, headers, client_id, secret)


def record_episode(
    system: System,
    headers: dict[str, str],
    child_upn: str,
    *,
    category: str = "CIN",
    start: date | None = None,
    end: date | None = None,
    practitioner: str | None = None,
) -> dict[str, Any]:
    """POST /v1/episodes with a UPN; asserts it was recorded."""
    body: dict[str, Any] = {
        "child": {"upn": child_upn},
        "category": category,
        "start_date": (start or days_ago(100)).isoformat(),
        "end_date": end.isoformat() if end else None,
        "practitioner_ref": practitioner,
    }
    response = system.sharing.post("/v1/episodes", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def reach_of(system: System, organisation_id: str, actor: str | None = None) -> dict[str, Any]:
    """GET /v1/policy/reach as the platform service; asserts 200. Each window comes with
    its terms written in (`fields` and `basis` beside its `terms`), as a data service
    applies them."""
    params = {"organisation_id": organisation_id}
    if actor is not None:
        params["actor"] = actor
    response = system.sharing.get(
        "/v1/policy/reach", params=params, headers=system.service_headers(["policy:read"])
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    # Exactly the contract's shape: every field, none besides, as the model writes it.
    assert Reach.model_validate(body).model_dump(mode="json") == body
    terms = body["terms"]
    return body | {
        "schools": [s | terms[s["terms"]] for s in body["schools"]],
        "children": [c | terms[c["terms"]] for c in body["children"]],
    }


def child_upns(reach: dict[str, Any]) -> set[str]:
    return {c["upn"] for c in reach["children"]}


def school_urns(reach: dict[str, Any]) -> set[str]:
    return {s["urn"] for s in reach["schools"]}


def codes(response: Any) -> list[str]:
    """The problem codes of a problem+json response."""
    return [e["code"] for e in response.json()["errors"]]
