"""Finding a child on the rolls by legal names and date of birth: matched, ambiguous or
not found, never a guess (ingest's POST /v1/pupil-matches, and episodes that use it)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.ingest.domain.pupil_matching import RollEntry, match_pupil, normalise_name
from tests.sharing.care import authority, codes, days_ago, pupil, put_on_roll, upn
from tests.support.system import System


@pytest.mark.parametrize(
    ("written", "as_held"),
    [
        ("O'Brien", "OBRIEN"),
        ("Smith-Jones", "smith  jones"),
        ("Zoë", "Zoe"),
        ("  Ann  ", "ann"),
        ("D’Arcy", "Darcy"),
    ],
)
def test_names_differing_only_in_writing_are_the_same(written: str, as_held: str) -> None:
    assert normalise_name(written) == normalise_name(as_held)


@pytest.mark.parametrize(("one", "other"), [("Jon", "John"), ("SmithJones", "Smith Jones")])
def test_names_differing_in_spelling_are_different(one: str, other: str) -> None:
    assert normalise_name(one) != normalise_name(other)


def test_one_child_on_two_rolls_is_one_match() -> None:
    rolls = [RollEntry("A1", "Amy", "Lee"), RollEntry("A1", "AMY", "LEE")]
    assert match_pupil("amy", "lee", rolls).upn == "A1"


def test_two_pupils_with_the_same_names_are_ambiguous_without_a_upn() -> None:
    result = match_pupil(
        "amy", "lee", [RollEntry("A1", "Amy", "Lee"), RollEntry("A2", "Amy", "Lee")]
    )
    assert (result.outcome, result.candidates, result.upn) == ("ambiguous", 2, None)


def test_a_near_miss_is_not_found() -> None:
    result = match_pupil("Amie", "Lee", [RollEntry("A1", "Amy", "Lee")])
    assert (result.outcome, result.upn) == ("not_found", None)


def match(system: System, forename: str, surname: str, dob: str) -> dict[str, object]:
    response = system.ingest.post(
        "/v1/pupil-matches",
        json={"legal_forename": forename, "legal_surname": surname, "date_of_birth": dob},
        headers=system.service_headers(["changes:read"]),
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_ingest_matches_the_one_pupil_with_these_names_and_birth_date(system: System) -> None:
    school = system.create_organisation("school")
    put_on_roll(system, school, [pupil(1, legal_forename="Amy", legal_surname="Lee"), pupil(2)])
    assert match(system, "AMY", "lee", "2014-03-01") == {
        "outcome": "matched",
        "candidates": 1,
        "upn": upn(1),
    }


def test_ingest_says_ambiguous_for_two_pupils_with_the_same_names_and_birth_date(
    system: System,
) -> None:
    school = system.create_organisation("school")
    twins = [pupil(n, legal_forename="Amy", legal_surname="Lee") for n in (1, 2)]
    put_on_roll(system, school, twins)
    assert match(system, "Amy", "Lee", "2014-03-01") == {
        "outcome": "ambiguous",
        "candidates": 2,
        "upn": None,
    }


def test_ingest_says_not_found_for_another_birth_date(system: System) -> None:
    school = system.create_organisation("school")
    put_on_roll(system, school, [pupil(1, legal_forename="Amy", legal_surname="Lee")])
    assert match(system, "Amy", "Lee", "2014-03-02")["outcome"] == "not_found"


def test_pupil_matching_needs_a_token(system: System) -> None:
    assert system.ingest.post("/v1/pupil-matches", json={}).status_code == 401


def test_pupil_matching_is_for_services_holding_changes_read(system: System) -> None:
    response = system.ingest.post(
        "/v1/pupil-matches",
        json={"legal_forename": "A", "legal_surname": "B", "date_of_birth": "2014-03-01"},
        headers=system.service_headers(["attendance:read"]),
    )
    assert response.status_code == 403


def test_every_problem_of_a_match_request_is_listed(system: System) -> None:
    response = system.ingest.post(
        "/v1/pupil-matches",
        json={"legal_forename": "", "date_of_birth": "2014-02-30", "postcode": "BA1 1AA"},
        headers=system.service_headers(["changes:read"]),
    )
    assert (response.status_code, len(response.json()["errors"])) == (422, 4)


def episode_by_names(system: System, headers: dict[str, str], forename: str, surname: str) -> Any:
    return system.sharing.post(
        "/v1/episodes",
        json={
            "child": {
                "upn": "UN1",
                "legal_forename": forename,
                "legal_surname": surname,
                "date_of_birth": date(2014, 3, 1).isoformat(),
            },
            "category": "CIN",
            "start_date": days_ago(10).isoformat(),
        },
        headers=headers,
    )


def test_an_episode_for_a_child_without_a_upn_gets_the_matched_upn(system: System) -> None:
    la = authority(system, "800")
    school = system.create_organisation("school", la_code="800")
    put_on_roll(system, school, [pupil(5, legal_forename="Zoë", legal_surname="O'Brien-Smith")])
    response = episode_by_names(system, la.social_care_headers, "zoe", "OBrien Smith")
    assert response.status_code == 201, response.text
    assert (response.json()["upn"], response.json()["identified_by"]) == (upn(5), "match")


def test_an_ambiguous_child_is_refused_with_the_count_and_nothing_stored(system: System) -> None:
    la = authority(system, "800")
    school = system.create_organisation("school", la_code="800")
    put_on_roll(
        system, school, [pupil(n, legal_forename="Amy", legal_surname="Lee") for n in (1, 2)]
    )
    response = episode_by_names(system, la.social_care_headers, "Amy", "Lee")
    stored = system.sharing.get("/v1/episodes", headers=la.social_care_headers).json()["items"]
    assert (response.status_code, codes(response), stored) == (422, ["child_ambiguous"], [])
    assert "2 pupils" in response.json()["errors"][0]["detail"]


def test_a_child_not_on_any_roll_is_refused(system: System) -> None:
    la = authority(system, "800")
    response = episode_by_names(system, la.social_care_headers, "Nobody", "Known")
    assert (response.status_code, codes(response)) == (422, ["child_not_found"])
