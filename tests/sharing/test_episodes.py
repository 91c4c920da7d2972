"""POST/GET/PATCH /v1/episodes: children with a social worker, recorded by social care."""

from __future__ import annotations

from typing import Any

from tests.sharing.care import (
    authority,
    codes,
    days_ago,
    pupil,
    put_on_roll,
    record_episode,
    upn,
)
from tests.support.system import System


def test_social_care_records_an_episode_by_upn(system: System) -> None:
    la = authority(system, "800")
    episode = record_episode(
        system, la.social_care_headers, upn(1), category="CPP", practitioner="sw-17"
    )
    assert (episode["upn"], episode["category"], episode["la_code"], episode["identified_by"]) == (
        upn(1),
        "CPP",
        "800",
        "upn",
    )


def test_a_child_without_a_upn_is_found_on_the_rolls(system: System) -> None:
    la = authority(system, "800")
    school = system.create_organisation("school", la_code="800")
    put_on_roll(system, school, [pupil(5, legal_forename="Zoë", legal_surname="O'Brien-Smith")])
    body = {
        "child": {
            "upn": "UN2",
            "legal_forename": "zoe",
            "legal_surname": "OBrien Smith",
            "date_of_birth": "2014-03-01",
        },
        "category": "CLA",
        "start_date": days_ago(10).isoformat(),
    }
    response = system.sharing.post("/v1/episodes", json=body, headers=la.social_care_headers)
    assert response.status_code == 201, response.text
    assert (response.json()["upn"], response.json()["identified_by"]) == (upn(5), "match")
