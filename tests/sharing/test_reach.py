"""GET /v1/policy/reach: every rule of the access policy, through the real API."""

from __future__ import annotations

from datetime import date

from tests.sharing.care import (
    authority,
    child_upns,
    codes,
    days_ago,
    reach_of,
    record_episode,
    school_urns,
    upn,
)
from tests.support.system import System


def test_a_school_sees_its_own_pupils_with_every_field(system: System) -> None:
    school = system.create_organisation("school", urn="410001")
    body = reach_of(system, school["id"])
    assert body["schools"] == [
        {
            "urn": "410001",
            "from_date": None,
            "to_date": None,
            "terms": 0,
            "fields": [
                "attendance",
                "enrolment",
                "identity",
                "gender",
                "fsm_eligible",
                "sen_provision",
                "ethnicity",
            ],
            "basis": {
                "kind": "own_pupils",
                "id": "own_pupils",
                "legal_basis": body["schools"][0]["basis"]["legal_basis"],
            },
        }
    ]


def test_a_trust_sees_a_school_only_while_it_was_in_the_trust(system: System) -> None:
    trust = system.create_organisation("trust")
    school = system.create_organisation("school", urn="410002")
    membership = system.add_trust_membership(
        school["id"], trust["id"], date(2020, 9, 1), date(2023, 8, 31)
    )
    [window] = reach_of(system, trust["id"])["schools"]
    assert (window["from_date"], window["to_date"], window["basis"]["id"]) == (
        "2020-09-01",
        "2023-08-31",
        f"trust_membership:{membership['id']}",
    )


def test_an_la_attendance_team_sees_the_schools_in_its_area_on_a_statutory_basis(
    system: System,
) -> None:
    la = authority(system, "800")
    system.create_organisation("school", urn="410003", la_code="800")
    system.create_organisation("school", urn="410004", la_code="801")
    body = reach_of(system, la.authority["id"])
    assert (school_urns(body), {s["basis"]["id"] for s in body["schools"]}) == (
        {"410003"},
        {"statutory:la_attendance"},
    )


def test_the_dfe_sees_every_school_in_aggregate_and_no_identity(system: System) -> None:
    dfe = system.create_organisation("dfe")
    body = reach_of(system, dfe["id"])
    assert (body["all_schools"], body["pupil_level"], "identity" in body["all_schools_fields"]) == (
        True,
        False,
        False,
    )


def test_the_virtual_school_follows_its_looked_after_child_to_a_school_in_another_la(
    system: System,
) -> None:
    la = authority(system, "800")
    record_episode(system, la.social_care_headers, upn(1), category="CLA", start=days_ago(30))
    [child] = reach_of(system, la.virtual_school["id"])["children"]
    assert (child["upn"], child["schools"], child["category"], child["basis"]["id"]) == (
        upn(1),
        None,
        "CLA",
        "statutory:virtual_school_looked_after",
    )


def test_the_virtual_school_sees_children_with_a_social_worker_on_the_extended_duty(
    system: System,
) -> None:
    la = authority(system, "800")
    record_episode(system, la.social_care_headers, upn(1), category="CPP")
    [child] = reach_of(system, la.virtual_school["id"])["children"]
    assert child["basis"]["id"] == "statutory:virtual_school_social_worker"


def test_a_childs_window_follows_the_episode_dates(system: System) -> None:
    la = authority(system, "800")
    episode = record_episode(
        system, la.social_care_headers, upn(1), start=days_ago(300), end=days_ago(100)
    )
    [child] = reach_of(system, la.virtual_school["id"])["children"]
    assert (child["from_date"], child["to_date"], child["episode_id"]) == (
        days_ago(300).isoformat(),
        days_ago(100).isoformat(),
        episode["id"],
    )


def test_social_care_sees_children_with_an_open_episode_attendance_fields_only(
    system: System,
) -> None:
    la = authority(system, "800")
    record_episode(system, la.social_care_headers, upn(1))
    [child] = reach_of(system, la.social_care["id"])["children"]
    assert child["fields"] == ["attendance", "enrolment", "identity"]


def test_children_on_the_same_terms_name_one_entry_of_terms(system: System) -> None:
    la = authority(system, "800")
    record_episode(system, la.social_care_headers, upn(1))
    record_episode(system, la.social_care_headers, upn(2), category="CPP")
    body = reach_of(system, la.social_care["id"])
    assert ([c["terms"] for c in body["children"]], len(body["terms"])) == ([0, 0], 1)


def test_closing_the_episode_ends_social_cares_access(system: System) -> None:
    la = authority(system, "800")
    episode = record_episode(system, la.social_care_headers, upn(1), start=days_ago(60))
    system.sharing.patch(
        f"/v1/episodes/{episode['id']}",
        json={"end_date": days_ago(1).isoformat()},
        headers=la.social_care_headers,
    )
    assert reach_of(system, la.social_care["id"])["children"] == []


def test_an_out_of_area_looked_after_child_is_visible_to_its_own_virtual_school_and_not_to_the_host_las_social_care(  # noqa: E501
    system: System,
) -> None:
    home, host = authority(system, "800"), authority(system, "801")
    system.create_organisation("school", urn="410009", la_code="801")
    record_episode(system, home.social_care_headers, upn(1), category="CLA")
    assert (
        upn(1) in child_upns(reach_of(system, home.virtual_school["id"])),
        upn(1) in child_upns(reach_of(system, host.social_care["id"])),
        upn(1) in child_upns(reach_of(system, host.virtual_school["id"])),
    ) == (True, False, False)


def test_a_partner_without_agreements_sees_nothing(system: System) -> None:
    partner = system.create_organisation("partner")
    body = reach_of(system, partner["id"])
    assert (body["schools"], body["children"], body["all_schools"]) == ([], [], False)


def test_the_visible_schools_endpoint_still_answers(system: System) -> None:
    school = system.create_organisation("school", urn="410010")
    response = system.sharing.get(
        f"/v1/policy/organisations/{school['id']}/visible-schools",
        headers=system.service_headers(["policy:read"]),
    )
    assert response.json()["schools"] == [{"urn": "410010", "from_date": None, "to_date": None}]


def test_social_care_episodes_are_served_for_breakdowns(system: System) -> None:
    la = authority(system, "800")
    record_episode(system, la.social_care_headers, upn(1), category="CPP")
    response = system.sharing.get(
        "/v1/policy/social-care-episodes",
        params={"upn": [upn(1), upn(2)]},
        headers=system.service_headers(["policy:read"]),
    )
    assert [(e["upn"], e["category"]) for e in response.json()["episodes"]] == [(upn(1), "CPP")]


def test_reach_needs_a_token(system: System) -> None:
    assert (
        system.sharing.get("/v1/policy/reach", params={"organisation_id": "x"}).status_code == 401
    )


def test_reach_is_for_services_holding_policy_read(system: System) -> None:
    response = system.sharing.get(
        "/v1/policy/reach",
        params={"organisation_id": "x"},
        headers=system.service_headers(["directory:read"]),
    )
    assert response.status_code == 403


def test_reach_of_an_unknown_organisation_is_404(system: System) -> None:
    response = system.sharing.get(
        "/v1/policy/reach",
        params={"organisation_id": "missing"},
        headers=system.service_headers(["policy:read"]),
    )
    assert response.status_code == 404


def test_an_actor_for_an_organisation_without_practitioners_is_422(system: System) -> None:
    school = system.create_organisation("school")
    response = system.sharing.get(
        "/v1/policy/reach",
        params={"organisation_id": school["id"], "actor": "sw-1"},
        headers=system.service_headers(["policy:read"]),
    )
    assert (response.status_code, codes(response)) == (422, ["actor_not_applicable"])


def test_reach_without_an_organisation_and_with_a_bad_actor_lists_both(system: System) -> None:
    response = system.sharing.get(
        "/v1/policy/reach",
        params={"actor": "not a ref"},
        headers=system.service_headers(["policy:read"]),
    )
    assert (response.status_code, len(response.json()["errors"])) == (422, 2)
