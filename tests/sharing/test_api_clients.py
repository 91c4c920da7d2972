"""OAuth clients: created for an organisation and role, secrets shown once, revocable."""

from __future__ import annotations

from typing import Any

from tests.support.system import ADMIN_CLIENT_ID, System


def create(system: System, organisation_id: str, role: str, scopes: list[str]) -> Any:
    body = {"organisation_id": organisation_id, "role": role, "scopes": scopes}
    return system.sharing.post("/v1/clients", json=body, headers=system.admin_headers())


def test_a_new_client_gets_its_secret_in_the_response(system: System) -> None:
    school = system.create_organisation("school")
    response = create(system, school["id"], "school_system", ["returns:write", "returns:read"])
    assert response.status_code == 201
    body = response.json()
    assert len(body["client_secret"]) >= 40
    assert body["scopes"] == ["returns:write", "returns:read"]


def test_the_secret_is_never_shown_again(system: System) -> None:
    school = system.create_organisation("school")
    client_id = create(system, school["id"], "school_system", ["returns:read"]).json()["client_id"]
    read = system.sharing.get(f"/v1/clients/{client_id}", headers=system.admin_headers()).json()
    listed = system.sharing.get(
        "/v1/clients", params={"organisation_id": school["id"]}, headers=system.admin_headers()
    ).json()["items"]
    assert "client_secret" not in read
    assert [c["client_id"] for c in listed] == [client_id]
    assert "client_secret" not in listed[0]


def test_a_role_must_suit_the_organisation_type(system: System) -> None:
    school = system.create_organisation("school")
    response = create(system, school["id"], "la_attendance", ["attendance:read"])
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "role_not_for_organisation_type"


def test_service_scopes_are_for_the_service_role_only(system: System) -> None:
    trust = system.create_organisation("trust")
    response = create(system, trust["id"], "trust_system", ["changes:read", "policy:read"])
    assert response.status_code == 422
    assert [e["location"] for e in response.json()["errors"]] == ["/scopes/0", "/scopes/1"]


def test_every_client_problem_is_listed(system: System) -> None:
    school = system.create_organisation("school")
    response = create(system, school["id"], "superuser", ["returns:write", "nonsense"])
    assert response.status_code == 422
    assert {e["code"] for e in response.json()["errors"]} == {"unknown_role", "unknown_scope"}


def test_a_client_of_an_unknown_organisation_is_422(system: System) -> None:
    assert create(system, "missing", "school_system", ["returns:read"]).status_code == 422


def test_revoking_records_when(system: System) -> None:
    school = system.create_organisation("school")
    client_id, _ = system.create_client(school["id"], "school_system", ["returns:read"])
    response = system.sharing.post(
        f"/v1/clients/{client_id}/revoke", headers=system.admin_headers()
    )
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None


def test_an_unknown_client_is_404(system: System) -> None:
    for response in (
        system.sharing.get("/v1/clients/nope", headers=system.admin_headers()),
        system.sharing.post("/v1/clients/nope/secret", headers=system.admin_headers()),
        system.sharing.post("/v1/clients/nope/revoke", headers=system.admin_headers()),
    ):
        assert response.status_code == 404


def test_the_bootstrapped_clients_are_listed(system: System) -> None:
    listed = system.sharing.get(
        "/v1/clients",
        params={"organisation_id": system.operator_id},
        headers=system.admin_headers(),
    ).json()["items"]
    assert {c["role"] for c in listed} == {"admin", "service"}
    assert ADMIN_CLIENT_ID in {c["client_id"] for c in listed}
