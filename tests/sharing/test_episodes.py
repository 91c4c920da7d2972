"""POST/GET/PATCH /v1/episodes: children with a social worker, recorded by social care."""

from __future__ import annotations

from tests.sharing.care import (
    authority,
    codes,
    days_ago,
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


def test_an_episode_is_read_back_by_id(system: System) -> None:
    la = authority(system, "800")
    episode = record_episode(system, la.social_care_headers, upn(1))
    response = system.sharing.get(f"/v1/episodes/{episode['id']}", headers=la.social_care_headers)
    assert response.json() == episode


def test_episodes_are_listed_a_page_at_a_time(system: System) -> None:
    la = authority(system, "800")
    ids = {record_episode(system, la.social_care_headers, upn(n))["id"] for n in range(1, 4)}
    first = system.sharing.get(
        "/v1/episodes", params={"limit": 2}, headers=la.social_care_headers
    ).json()
    second = system.sharing.get(
        "/v1/episodes",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=la.social_care_headers,
    ).json()
    assert ({e["id"] for e in first["items"] + second["items"]}, second["next_cursor"]) == (
        ids,
        None,
    )


def test_episodes_are_listed_for_one_child(system: System) -> None:
    la = authority(system, "800")
    wanted = record_episode(system, la.social_care_headers, upn(1))
    record_episode(system, la.social_care_headers, upn(2))
    body = system.sharing.get(
        "/v1/episodes", params={"upn": upn(1)}, headers=la.social_care_headers
    ).json()
    assert [e["id"] for e in body["items"]] == [wanted["id"]]


def test_another_authoritys_social_care_cannot_see_the_episode(system: System) -> None:
    home, other = authority(system, "800"), authority(system, "801")
    episode = record_episode(system, home.social_care_headers, upn(1))
    response = system.sharing.get(
        f"/v1/episodes/{episode['id']}", headers=other.social_care_headers
    )
    assert response.status_code == 404


def test_another_authoritys_social_care_cannot_correct_the_episode(system: System) -> None:
    home, other = authority(system, "800"), authority(system, "801")
    episode = record_episode(system, home.social_care_headers, upn(1))
    response = system.sharing.patch(
        f"/v1/episodes/{episode['id']}", json={"category": "CLA"}, headers=other.social_care_headers
    )
    assert response.status_code == 404


def test_the_virtual_school_reads_its_authoritys_episodes(system: System) -> None:
    la = authority(system, "800")
    episode = record_episode(system, la.social_care_headers, upn(1), category="CLA")
    headers = system.headers_for(la.virtual_school["id"], "virtual_school", ["social_care:read"])
    body = system.sharing.get("/v1/episodes", headers=headers).json()
    assert [e["id"] for e in body["items"]] == [episode["id"]]


def test_closing_an_episode_keeps_who_when_and_before_and_after(system: System) -> None:
    la = authority(system, "800")
    episode = record_episode(system, la.social_care_headers, upn(1), start=days_ago(50))
    closed = system.sharing.patch(
        f"/v1/episodes/{episode['id']}",
        json={"end_date": days_ago(5).isoformat(), "reason": "case closed at review"},
        headers=la.social_care_headers,
    )
    assert closed.status_code == 200, closed.text
    history = system.sharing.get(
        f"/v1/episodes/{episode['id']}/history", headers=la.social_care_headers
    ).json()["items"]
    last = history[-1]
    assert (
        [h["action"] for h in history],
        last["client_id"],
        last["reason"],
        last["before"]["end_date"],
        last["after"]["end_date"],
    ) == (
        ["recorded", "closed"],
        la.client_id,
        "case closed at review",
        None,
        days_ago(5).isoformat(),
    )


def test_a_correction_is_recorded_as_corrected(system: System) -> None:
    la = authority(system, "800")
    episode = record_episode(system, la.social_care_headers, upn(1), category="CIN")
    system.sharing.patch(
        f"/v1/episodes/{episode['id']}", json={"category": "CPP"}, headers=la.social_care_headers
    )
    history = system.sharing.get(
        f"/v1/episodes/{episode['id']}/history", headers=la.social_care_headers
    ).json()["items"]
    assert (history[-1]["action"], history[-1]["before"]["category"]) == ("corrected", "CIN")


def test_an_overlapping_episode_of_the_same_category_is_a_conflict(system: System) -> None:
    la = authority(system, "800")
    record_episode(system, la.social_care_headers, upn(1), category="CLA", start=days_ago(100))
    response = system.sharing.post(
        "/v1/episodes",
        json={"child": {"upn": upn(1)}, "category": "CLA", "start_date": days_ago(50).isoformat()},
        headers=la.social_care_headers,
    )
    assert (response.status_code, codes(response)) == (409, ["overlapping_episode"])


def test_every_problem_of_an_episode_is_listed_and_nothing_is_stored(system: System) -> None:
    la = authority(system, "800")
    response = system.sharing.post(
        "/v1/episodes",
        json={
            "child": {"upn": "UN3", "legal_surname": "Smith"},
            "category": "CIN",
            "start_date": days_ago(1).isoformat(),
            "end_date": days_ago(9).isoformat(),
            "practitioner_ref": "has spaces",
        },
        headers=la.social_care_headers,
    )
    listed = system.sharing.get("/v1/episodes", headers=la.social_care_headers).json()["items"]
    assert (response.status_code, sorted(codes(response)), listed) == (
        422,
        [
            "ends_before_start",
            "invalid_practitioner_ref",
            "required_without_upn",
            "required_without_upn",
        ],
        [],
    )


def test_a_bad_upn_check_letter_is_refused(system: System) -> None:
    la = authority(system, "800")
    wrong = ("B" if upn(1)[0] != "B" else "C") + upn(1)[1:]
    response = system.sharing.post(
        "/v1/episodes",
        json={"child": {"upn": wrong}, "category": "CIN", "start_date": "2024-09-01"},
        headers=la.social_care_headers,
    )
    assert (response.status_code, codes(response)) == (422, ["invalid_upn"])


def test_schema_errors_are_all_listed(system: System) -> None:
    la = authority(system, "800")
    response = system.sharing.post(
        "/v1/episodes",
        json={"child": {"upn": upn(1)}, "category": "XYZ", "start_date": "not-a-date"},
        headers=la.social_care_headers,
    )
    assert (response.status_code, len(response.json()["errors"])) == (422, 2)


def test_an_empty_correction_is_refused(system: System) -> None:
    la = authority(system, "800")
    episode = record_episode(system, la.social_care_headers, upn(1))
    response = system.sharing.patch(
        f"/v1/episodes/{episode['id']}", json={}, headers=la.social_care_headers
    )
    assert (response.status_code, codes(response)) == (422, ["nothing_to_change"])


def test_anonymous_is_401(system: System) -> None:
    assert system.sharing.get("/v1/episodes").status_code == 401


def test_a_token_without_the_scope_is_403(system: System) -> None:
    la = authority(system, "800")
    headers = system.headers_for(la.social_care["id"], "social_care", ["social_care:read"])
    response = system.sharing.post(
        "/v1/episodes",
        json={"child": {"upn": upn(1)}, "category": "CIN", "start_date": "2024-09-01"},
        headers=headers,
    )
    assert response.status_code == 403


def test_only_social_care_may_hold_the_write_scope(system: System) -> None:
    school = system.create_organisation("school")
    response = system.sharing.post(
        "/v1/clients",
        json={
            "organisation_id": school["id"],
            "role": "school_system",
            "scopes": ["social_care:write"],
        },
        headers=system.admin_headers(),
    )
    assert (response.status_code, codes(response)) == (422, ["scope_not_for_role"])
