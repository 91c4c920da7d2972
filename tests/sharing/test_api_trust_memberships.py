"""Schools' memberships of trusts: dated, and never two at once for one school."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.support.system import System


def membership(
    system: System, school_id: str, trust_id: str, start: str, end: str | None = None
) -> Any:
    body = {"school_id": school_id, "trust_id": trust_id, "start_date": start, "end_date": end}
    return system.sharing.post("/v1/trust-memberships", json=body, headers=system.admin_headers())


def test_a_school_joins_a_trust(system: System) -> None:
    school, trust = system.create_organisation("school"), system.create_organisation("trust")
    response = membership(system, school["id"], trust["id"], "2022-09-01")
    assert response.status_code == 201
    assert response.json()["end_date"] is None


def test_an_overlapping_membership_is_409(system: System) -> None:
    school = system.create_organisation("school")
    first, second = system.create_organisation("trust"), system.create_organisation("trust")
    membership(system, school["id"], first["id"], "2020-09-01", "2023-08-31")
    response = membership(system, school["id"], second["id"], "2023-08-31")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "overlapping_membership"


def test_consecutive_memberships_are_allowed(system: System) -> None:
    school = system.create_organisation("school")
    first, second = system.create_organisation("trust"), system.create_organisation("trust")
    membership(system, school["id"], first["id"], "2020-09-01", "2023-08-31")
    assert membership(system, school["id"], second["id"], "2023-09-01").status_code == 201


def test_an_open_membership_blocks_any_later_one_until_ended(system: System) -> None:
    school = system.create_organisation("school")
    first, second = system.create_organisation("trust"), system.create_organisation("trust")
    open_one = membership(system, school["id"], first["id"], "2020-09-01").json()
    assert membership(system, school["id"], second["id"], "2024-01-01").status_code == 409
    ended = system.sharing.patch(
        f"/v1/trust-memberships/{open_one['id']}",
        json={"end_date": "2023-12-31"},
        headers=system.admin_headers(),
    )
    assert ended.status_code == 200
    assert membership(system, school["id"], second["id"], "2024-01-01").status_code == 201


def test_ending_before_the_start_is_422(system: System) -> None:
    school, trust = system.create_organisation("school"), system.create_organisation("trust")
    response = membership(system, school["id"], trust["id"], "2022-09-01", "2022-08-31")
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "ends_before_start"


def test_school_and_trust_must_be_of_the_right_types(system: System) -> None:
    trust = system.create_organisation("trust")
    response = membership(system, trust["id"], "missing", "2022-09-01")
    assert response.status_code == 422
    assert {e["location"] for e in response.json()["errors"]} == {"/school_id", "/trust_id"}


def test_memberships_are_listed_by_trust(system: System) -> None:
    trust = system.create_organisation("trust")
    schools = [system.create_organisation("school") for _ in range(3)]
    for school in schools:
        system.add_trust_membership(school["id"], trust["id"], date(2021, 9, 1))
    system.add_trust_membership(
        system.create_organisation("school")["id"],
        system.create_organisation("trust")["id"],
        date(2021, 9, 1),
    )
    page = system.sharing.get(
        "/v1/trust-memberships", params={"trust_id": trust["id"]}, headers=system.admin_headers()
    ).json()
    assert sorted(m["school_id"] for m in page["items"]) == sorted(s["id"] for s in schools)


def test_ending_an_unknown_membership_is_404(system: System) -> None:
    response = system.sharing.patch(
        "/v1/trust-memberships/nope",
        json={"end_date": "2024-01-01"},
        headers=system.admin_headers(),
    )
    assert response.status_code == 404
