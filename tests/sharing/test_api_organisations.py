"""The organisation directory: creating, validating, listing and reading organisations."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.support.system import System


def post(system: System, body: dict[str, Any]) -> Any:
    return system.sharing.post("/v1/organisations", json=body, headers=system.admin_headers())


def locations(response: Any) -> set[str]:
    return {e["location"] for e in response.json()["errors"]}


SCHOOL = {
    "type": "school",
    "name": "Argyle Primary",
    "urn": "100001",
    "dfe_number": "2022001",
    "phase": "primary",
}


def test_a_school_is_created_in_the_area_of_its_dfe_number(system: System) -> None:
    response = post(system, SCHOOL)
    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["urn"], body["la_code"]) == ("school", "100001", "202")


def test_every_problem_of_a_school_is_listed_at_once(system: System) -> None:
    response = post(
        system,
        {
            "type": "school",
            "name": " ",
            "urn": "12345",
            "dfe_number": "99912",
            "phase": "middle",
            "group_uid": "7",
        },
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert locations(response) == {"/name", "/urn", "/dfe_number", "/phase", "/group_uid"}


def test_a_dfe_number_with_an_unpublished_la_code_is_refused(system: System) -> None:
    response = post(system, SCHOOL | {"dfe_number": "9992001"})
    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["unknown_la_code"]


def test_newer_la_codes_are_accepted(system: System) -> None:
    for code in ("838", "839", "940", "941", "942", "943"):
        response = post(system, {"type": "local_authority", "name": f"LA {code}", "la_code": code})
        assert response.status_code == 201, response.text


def test_missing_required_fields_are_each_named(system: System) -> None:
    response = post(system, {"type": "school", "name": "No identifiers"})
    assert response.status_code == 422
    assert locations(response) == {"/urn", "/dfe_number", "/phase"}


def test_a_duplicate_urn_is_409(system: System) -> None:
    assert post(system, SCHOOL).status_code == 201
    response = post(system, SCHOOL | {"dfe_number": "2022002"})
    assert response.status_code == 409
    assert locations(response) == {"/urn"}


def test_a_second_local_authority_with_the_same_code_is_409(system: System) -> None:
    assert (
        post(system, {"type": "local_authority", "name": "Camden", "la_code": "202"}).status_code
        == 201
    )
    response = post(system, {"type": "local_authority", "name": "Camden again", "la_code": "202"})
    assert response.status_code == 409


def test_many_schools_may_share_an_la_code(system: System) -> None:
    post(system, {"type": "local_authority", "name": "Camden", "la_code": "202"})
    assert post(system, SCHOOL).status_code == 201
    assert post(system, SCHOOL | {"urn": "100002", "dfe_number": "2022002"}).status_code == 201


def test_a_trust_needs_a_numeric_group_uid(system: System) -> None:
    response = post(
        system, {"type": "trust", "name": "Northern Education Trust", "group_uid": "TR-1"}
    )
    assert response.status_code == 422
    assert locations(response) == {"/group_uid"}


def test_a_virtual_school_belongs_to_an_existing_local_authority(system: System) -> None:
    response = post(system, {"type": "virtual_school", "name": "Camden VS", "la_code": "202"})
    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["local_authority_not_found"]
    post(system, {"type": "local_authority", "name": "Camden", "la_code": "202"})
    created = post(system, {"type": "virtual_school", "name": "Camden VS", "la_code": "202"})
    assert created.status_code == 201


def test_social_care_belongs_to_an_existing_local_authority(system: System) -> None:
    post(system, {"type": "local_authority", "name": "BANES", "la_code": "800"})
    response = post(system, {"type": "social_care", "name": "BANES CSC", "la_code": "800"})
    assert response.status_code == 201
    assert response.json()["la_code"] == "800"


def test_the_operator_cannot_be_created_through_the_api(system: System) -> None:
    response = post(system, {"type": "operator", "name": "Another operator"})
    assert response.status_code == 422


def test_an_unknown_type_is_422(system: System) -> None:
    assert post(system, {"type": "college", "name": "X"}).status_code == 422


def test_an_organisation_is_read_by_id(system: System) -> None:
    created = system.create_organisation("dfe")
    headers = system.headers_for(created["id"], "dfe_analyst", ["directory:read"])
    response = system.sharing.get(f"/v1/organisations/{created['id']}", headers=headers)
    assert response.status_code == 200
    assert response.json() == created


def test_an_unknown_organisation_is_404(system: System) -> None:
    response = system.sharing.get("/v1/organisations/nope", headers=system.admin_headers())
    assert response.status_code == 404


def test_the_list_is_paged_with_an_opaque_cursor(system: System) -> None:
    created = {system.create_organisation("trust")["id"] for _ in range(5)}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"type": "trust", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = system.sharing.get(
            "/v1/organisations", params=params, headers=system.admin_headers()
        ).json()
        assert len(page["items"]) <= 2
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)


def test_the_list_filters_by_type(system: System) -> None:
    system.create_organisation("trust")
    page = system.sharing.get(
        "/v1/organisations", params={"type": "operator"}, headers=system.admin_headers()
    ).json()
    assert [o["id"] for o in page["items"]] == [system.operator_id]


def test_a_forged_cursor_is_422(system: System) -> None:
    response = system.sharing.get(
        "/v1/organisations", params={"cursor": "not-a-cursor"}, headers=system.admin_headers()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "query:cursor"


def test_a_school_record_lists_its_trusts_with_dates(system: System) -> None:

    school = system.create_organisation("school", urn="123456")
    first = system.create_organisation("trust", group_uid="111")
    second = system.create_organisation("trust", group_uid="222")
    system.add_trust_membership(school["id"], first["id"], date(2019, 9, 1), date(2023, 8, 31))
    system.add_trust_membership(school["id"], second["id"], date(2023, 9, 1))
    response = system.sharing.get("/v1/schools/123456", headers=system.service_headers())
    assert response.status_code == 200
    record = response.json()
    assert record["organisation_id"] == school["id"]
    assert record["la_code"] == "202"
    assert record["trusts"] == [
        {
            "trust_id": first["id"],
            "group_uid": "111",
            "start_date": "2019-09-01",
            "end_date": "2023-08-31",
        },
        {
            "trust_id": second["id"],
            "group_uid": "222",
            "start_date": "2023-09-01",
            "end_date": None,
        },
    ]


def test_an_unknown_urn_is_404(system: System) -> None:
    response = system.sharing.get("/v1/schools/999999", headers=system.service_headers())
    assert response.status_code == 404
