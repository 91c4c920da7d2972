"""Data-sharing agreements: grant named pupils, see them in the grantee's reach, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tests.sharing.care import codes, days_ago, reach_of, upn
from tests.support.system import System


@dataclass
class Parties:
    school: dict[str, Any]
    partner: dict[str, Any]
    school_headers: dict[str, str]
    partner_headers: dict[str, str]


def parties(system: System) -> Parties:
    school = system.create_organisation("school", urn="420001")
    partner = system.create_organisation("partner", name="Family support charity")
    return Parties(
        school,
        partner,
        system.headers_for(school["id"], "school_system", ["agreements:write", "agreements:read"]),
        system.headers_for(partner["id"], "partner", ["agreements:read"]),
    )


def agreement(grantee_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "grantee_id": grantee_id,
        "purpose": "Family support for pupils with poor attendance",
        "lawful_basis": "6(1)(e)",
        "fields": ["attendance", "identity"],
        "upns": [upn(1), upn(2)],
        "ends_on": (date.today() + timedelta(days=90)).isoformat(),
    }
    return body | overrides


def grant(system: System, p: Parties, **overrides: Any) -> dict[str, Any]:
    response = system.sharing.post(
        "/v1/agreements", json=agreement(p.partner["id"], **overrides), headers=p.school_headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_the_grantee_sees_only_the_named_pupils_and_fields_at_the_grantors_school(
    system: System,
) -> None:
    p = parties(system)
    made = grant(system, p)
    children = reach_of(system, p.partner["id"])["children"]
    assert [
        (c["upn"], c["fields"], c["basis"]["id"], c["schools"][0]["urn"]) for c in children
    ] == [
        (upn(1), ["attendance", "identity"], made["id"], "420001"),
        (upn(2), ["attendance", "identity"], made["id"], "420001"),
    ]


def test_the_grantees_window_is_the_agreements(system: System) -> None:
    p = parties(system)
    grant(system, p, starts_on=days_ago(10).isoformat())
    child = reach_of(system, p.partner["id"])["children"][0]
    assert (child["from_date"], child["to_date"]) == (
        days_ago(10).isoformat(),
        (date.today() + timedelta(days=90)).isoformat(),
    )


def test_the_decision_names_the_lawful_basis(system: System) -> None:
    p = parties(system)
    grant(system, p, fields=["attendance", "sen_provision"], special_category_condition="9(2)(g)")
    child = reach_of(system, p.partner["id"])["children"][0]
    assert child["basis"]["legal_basis"] == "UK GDPR Art. 6(1)(e); Art. 9(2)(g)"


def test_an_agreement_not_yet_in_force_gives_nothing(system: System) -> None:
    p = parties(system)
    grant(system, p, starts_on=(date.today() + timedelta(days=5)).isoformat())
    assert reach_of(system, p.partner["id"])["children"] == []


def test_a_trusts_agreement_covers_only_the_schools_it_runs_and_while_it_runs_them(
    system: System,
) -> None:
    trust = system.create_organisation("trust")
    school = system.create_organisation("school", urn="420002")
    system.add_trust_membership(school["id"], trust["id"], days_ago(400), days_ago(5))
    partner = system.create_organisation("partner")
    headers = system.headers_for(trust["id"], "trust_system", ["agreements:write"])
    response = system.sharing.post(
        "/v1/agreements",
        json=agreement(partner["id"], starts_on=days_ago(30).isoformat()),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    child = reach_of(system, partner["id"])["children"][0]
    assert child["schools"] == [
        {"urn": "420002", "from_date": days_ago(30).isoformat(), "to_date": days_ago(5).isoformat()}
    ]


def test_revoking_ends_the_grantees_access(system: System) -> None:
    p = parties(system)
    made = grant(system, p)
    response = system.sharing.post(
        f"/v1/agreements/{made['id']}/revoke",
        json={"reason": "support ended"},
        headers=p.school_headers,
    )
    assert (response.status_code, reach_of(system, p.partner["id"])["children"]) == (200, [])


def test_both_parties_get_dated_receipts_of_grant_and_revocation(system: System) -> None:
    p = parties(system)
    made = grant(system, p)
    system.sharing.post(f"/v1/agreements/{made['id']}/revoke", json={}, headers=p.school_headers)
    seen_by = [
        [
            (r["event"], r["recorded_at"][:10])
            for r in system.sharing.get(
                f"/v1/agreements/{made['id']}/receipts", headers=headers
            ).json()["items"]
        ]
        for headers in (p.school_headers, p.partner_headers)
    ]
    today = date.today().isoformat()
    assert seen_by == [[("granted", today), ("revoked", today)]] * 2


def test_the_grantee_reads_the_agreement_with_its_pupils(system: System) -> None:
    p = parties(system)
    made = grant(system, p)
    body = system.sharing.get(f"/v1/agreements/{made['id']}", headers=p.partner_headers).json()
    assert (body["grantor_id"], body["upns"]) == (p.school["id"], sorted([upn(1), upn(2)]))


def test_the_grantor_lists_what_it_granted(system: System) -> None:
    p = parties(system)
    made = grant(system, p)
    body = system.sharing.get(
        "/v1/agreements", params={"side": "grantor"}, headers=p.school_headers
    ).json()
    assert [a["id"] for a in body["items"]] == [made["id"]]


def test_the_grantee_cannot_revoke(system: System) -> None:
    p = parties(system)
    grantee_school = system.create_organisation("school")
    granted = system.sharing.post(
        "/v1/agreements", json=agreement(grantee_school["id"]), headers=p.school_headers
    ).json()
    headers = system.headers_for(grantee_school["id"], "school_system", ["agreements:write"])
    response = system.sharing.post(
        f"/v1/agreements/{granted['id']}/revoke", json={}, headers=headers
    )
    assert response.status_code == 403


def test_a_third_party_cannot_see_the_agreement(system: System) -> None:
    p = parties(system)
    made = grant(system, p)
    stranger = system.create_organisation("partner")
    headers = system.headers_for(stranger["id"], "partner", ["agreements:read"])
    response = system.sharing.get(f"/v1/agreements/{made['id']}", headers=headers)
    assert response.status_code == 404


def test_special_category_fields_need_an_article_9_condition(system: System) -> None:
    p = parties(system)
    response = system.sharing.post(
        "/v1/agreements",
        json=agreement(p.partner["id"], fields=["attendance", "ethnicity"]),
        headers=p.school_headers,
    )
    assert (response.status_code, codes(response)) == (422, ["required_for_special_category"])


def test_every_problem_of_an_agreement_is_listed_and_nothing_is_stored(system: System) -> None:
    p = parties(system)
    response = system.sharing.post(
        "/v1/agreements",
        json=agreement(
            "missing",
            purpose=" ",
            fields=["attendance", "social_care", "attendance"],
            upns=[upn(1), upn(1), "A123"],
            starts_on=date(2020, 1, 2).isoformat(),
            ends_on=date(2020, 1, 1).isoformat(),
        ),
        headers=p.school_headers,
    )
    listed = system.sharing.get("/v1/agreements", headers=p.school_headers).json()["items"]
    assert (response.status_code, sorted(codes(response)), listed) == (
        422,
        sorted(
            [
                "grantee_not_found",
                "required",
                "field_not_shareable",
                "repeated",
                "repeated",
                "invalid_upn",
                "ends_before_start",
                "in_the_past",
            ]
        ),
        [],
    )


def test_a_partner_cannot_grant(system: System) -> None:
    partner = system.create_organisation("partner")
    response = system.sharing.post(
        "/v1/clients",
        json={"organisation_id": partner["id"], "role": "partner", "scopes": ["agreements:write"]},
        headers=system.admin_headers(),
    )
    assert (response.status_code, codes(response)) == (422, ["scope_not_for_role"])


def test_agreements_need_a_token(system: System) -> None:
    assert system.sharing.get("/v1/agreements").status_code == 401


def test_granting_needs_the_write_scope(system: System) -> None:
    p = parties(system)
    response = system.sharing.post(
        "/v1/agreements", json=agreement(p.school["id"]), headers=p.partner_headers
    )
    assert response.status_code == 403
