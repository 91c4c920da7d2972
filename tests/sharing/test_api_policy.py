"""GET /v1/policy/organisations/{id}/visible-schools, for each organisation type."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.support.system import System


def visible(system: System, organisation_id: str) -> Any:
    return system.sharing.get(
        f"/v1/policy/organisations/{organisation_id}/visible-schools",
        headers=system.service_headers(["policy:read"]),
    )


def test_a_school_sees_itself(system: System) -> None:
    school = system.create_organisation("school", urn="111111")
    body = visible(system, school["id"]).json()
    assert body["organisation_type"] == "school"
    assert body["pupil_level"] is True
    assert body["schools"] == [{"urn": "111111", "from_date": None, "to_date": None}]


def test_a_trust_sees_its_schools_over_their_membership_windows(system: System) -> None:
    trust = system.create_organisation("trust")
    left = system.create_organisation("school", urn="222221")
    stayed = system.create_organisation("school", urn="222222")
    system.add_trust_membership(left["id"], trust["id"], date(2019, 9, 1), date(2023, 8, 31))
    system.add_trust_membership(stayed["id"], trust["id"], date(2021, 9, 1))
    system.create_organisation("school", urn="222223")
    body = visible(system, trust["id"]).json()
    assert body["all_schools"] is False
    assert body["schools"] == [
        {"urn": "222221", "from_date": "2019-09-01", "to_date": "2023-08-31"},
        {"urn": "222222", "from_date": "2021-09-01", "to_date": None},
    ]


def test_a_local_authority_sees_the_schools_in_its_area(system: System) -> None:
    authority = system.create_organisation("local_authority", la_code="800")
    system.create_organisation("school", urn="333331", la_code="800")
    system.create_organisation("school", urn="333332", la_code="800")
    system.create_organisation("school", urn="333333", la_code="202")
    body = visible(system, authority["id"]).json()
    assert [s["urn"] for s in body["schools"]] == ["333331", "333332"]


def test_the_dfe_sees_every_school_in_aggregate_only(system: System) -> None:
    dfe = system.create_organisation("dfe")
    body = visible(system, dfe["id"]).json()
    assert (body["all_schools"], body["pupil_level"], body["schools"]) == (True, False, [])


def test_a_virtual_school_sees_no_school_as_such(system: System) -> None:
    system.create_organisation("local_authority", la_code="800")
    system.create_organisation("school", la_code="800")
    virtual_school = system.create_organisation("virtual_school", la_code="800")
    body = visible(system, virtual_school["id"]).json()
    assert (body["all_schools"], body["schools"]) == (False, [])


def test_an_unknown_organisation_is_404(system: System) -> None:
    assert visible(system, "missing").status_code == 404
