"""The audit trail's HTTP API: services record reads; schools, trusts, LAs and the operator
read who looked at their pupils, each only within reach; nobody edits it. Virtual schools
and social care: test_audit_care.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from services.sharing.domain.secrets import hash_secret
from services.sharing.store.models import OAuthClient
from shared.db import create_db_engine
from tests.sharing.audit_support import (
    audit_headers,
    event,
    read_audit,
    record,
    upn,
    with_wrong_check_letter,
)
from tests.support.system import System


@pytest.fixture
def la_camden(system: System) -> dict[str, object]:
    return system.create_organisation("local_authority", la_code="202")


@pytest.fixture
def school_a(system: System, la_camden: dict[str, object]) -> dict[str, object]:
    return system.create_organisation("school", la_code="202")


@pytest.fixture
def school_b(system: System, la_camden: dict[str, object]) -> dict[str, object]:
    return system.create_organisation("school", la_code="202")


# --- POST /v1/audit/events -------------------------------------------------------------


def test_recording_without_a_token_is_401(system: System) -> None:
    response = system.sharing.post("/v1/audit/events", json={"events": []})
    assert response.status_code == 401


def test_recording_without_audit_write_is_403(system: System) -> None:
    headers = system.service_headers(["directory:read"])
    response = system.sharing.post("/v1/audit/events", json={"events": []}, headers=headers)
    assert response.status_code == 403


def test_audit_write_cannot_be_given_to_a_school_client(system: System) -> None:
    school = system.create_organisation("school")
    response = system.sharing.post(
        "/v1/clients",
        json={"organisation_id": school["id"], "role": "school_system", "scopes": ["audit:write"]},
        headers=system.admin_headers(),
    )
    assert response.status_code == 422


def test_a_non_service_client_holding_audit_write_still_cannot_record(system: System) -> None:
    # The API never grants audit:write to another role; a row that does must not record.
    school = system.create_organisation("school")
    engine = create_db_engine(system.settings["sharing"].database.url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(
            OAuthClient(
                client_id="rogue-school",
                organisation_id=school["id"],
                name="rogue",
                role="school_system",
                scopes="audit:write",
                secret_hash=hash_secret("rogue-secret"),
                created_at=now,
                secret_rotated_at=now,
            )
        )
        session.commit()
    engine.dispose()
    token = system.token("rogue-school", "rogue-secret")
    response = system.sharing.post(
        "/v1/audit/events",
        json={"events": [event([(upn(1), "100001")])]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403


def test_a_batch_is_appended_in_order_at_the_next_positions(system: System) -> None:
    record(system, event([(upn(1), "100001")]))
    receipt = record(system, event([(upn(2), "100001")]), event([(upn(3), "100001")]))
    assert (receipt["recorded"], receipt["first_position"], receipt["last_position"]) == (2, 2, 3)


def test_each_entry_stores_the_hash_of_the_one_before(system: System) -> None:
    record(system, event([(upn(1), "100001")]), event([(upn(2), "100001")]))
    newest, oldest = read_audit(system, system.admin_headers())
    assert newest["previous_hash"] == oldest["entry_hash"]


def test_the_first_entry_chains_onto_the_genesis_hash(system: System) -> None:
    record(system, event([(upn(1), "100001")]))
    (entry,) = read_audit(system, system.admin_headers())
    assert entry["previous_hash"] == "0" * 64


def test_a_malformed_batch_lists_every_problem(system: System) -> None:
    bad = event([(upn(1), "1234")])
    bad["purpose"] = "curiosity"
    del bad["legal_basis"]
    response = system.sharing.post(
        "/v1/audit/events", json={"events": [bad]}, headers=system.service_headers(["audit:write"])
    )
    assert response.status_code == 422
    locations = {e["location"] for e in response.json()["errors"]}
    assert {
        "/events/0/purpose",
        "/events/0/legal_basis",
        "/events/0/children/0/school_urn",
    } <= locations


def test_every_malformed_upn_is_listed(system: System) -> None:
    response = system.sharing.post(
        "/v1/audit/events",
        json={
            "events": [
                event([(upn(3), "100001")]),
                event([("short", "100001"), ("a" * 13, "100001")]),
            ]
        },
        headers=system.service_headers(["audit:write"]),
    )
    assert [e["location"] for e in response.json()["errors"]] == [
        "/events/1/children/0/upn",
        "/events/1/children/1/upn",
    ]


def test_a_upn_with_a_wrong_check_letter_is_still_recorded(system: System) -> None:
    # The trail records what was served; refusing the record would refuse the read.
    record(system, event([(with_wrong_check_letter(upn(1)), "100001")]))
    assert len(read_audit(system, system.admin_headers())) == 1


def test_a_batch_with_a_problem_records_nothing(system: System) -> None:
    system.sharing.post(
        "/v1/audit/events",
        json={"events": [event([(upn(2), "100001")]), event([("short", "100001")])]},
        headers=system.service_headers(["audit:write"]),
    )
    assert read_audit(system, system.admin_headers()) == []


# --- GET /v1/audit: access --------------------------------------------------------------


def test_reading_without_a_token_is_401(system: System) -> None:
    assert system.sharing.get("/v1/audit").status_code == 401


def test_reading_without_audit_read_is_403(system: System, school_a: dict[str, object]) -> None:
    headers = system.headers_for(str(school_a["id"]), "school_system", ["directory:read"])
    assert system.sharing.get("/v1/audit", headers=headers).status_code == 403


def test_a_bad_query_lists_every_problem(system: System) -> None:
    response = system.sharing.get(
        "/v1/audit",
        params={"from": "2025-02-01", "to": "2025-01-01", "upn": "X123", "cursor": "nonsense"},
        headers=system.admin_headers(),
    )
    assert response.status_code == 422
    assert [e["location"] for e in response.json()["errors"]] == [
        "query:from",
        "query:upn",
        "query:cursor",
    ]


def test_a_malformed_date_is_422(system: System) -> None:
    response = system.sharing.get(
        "/v1/audit", params={"from": "yesterday"}, headers=system.admin_headers()
    )
    assert response.status_code == 422


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_the_trail_cannot_be_changed_through_the_api(system: System, method: str) -> None:
    record(system, event([(upn(1), "100001")]))
    response = system.sharing.request(method, "/v1/audit", headers=system.admin_headers())
    assert response.status_code == 405


# --- GET /v1/audit: reach ---------------------------------------------------------------


def test_a_school_sees_who_read_its_pupils(system: System, school_a: dict[str, object]) -> None:
    record(system, event([(upn(1), str(school_a["urn"]))], accessor_id="the-la", actor="officer-7"))
    (entry,) = read_audit(system, audit_headers(system, school_a))
    assert (entry["accessor"]["organisation_id"], entry["accessor"]["actor"]) == (
        "the-la",
        "officer-7",
    )


def test_a_school_does_not_see_reads_of_another_schools_pupils(
    system: System, school_a: dict[str, object], school_b: dict[str, object]
) -> None:
    record(system, event([(upn(1), str(school_b["urn"]))]))
    assert read_audit(system, audit_headers(system, school_a)) == []


def test_a_school_sees_only_its_own_children_of_a_read_across_schools(
    system: System, school_a: dict[str, object], school_b: dict[str, object]
) -> None:
    record(system, event([(upn(1), str(school_a["urn"])), (upn(2), str(school_b["urn"]))]))
    (entry,) = read_audit(system, audit_headers(system, school_a))
    assert entry["children"] == [{"upn": upn(1), "school_urn": school_a["urn"]}]


def test_an_la_sees_reads_at_the_schools_in_its_area(
    system: System, la_camden: dict[str, object], school_a: dict[str, object]
) -> None:
    record(system, event([(upn(1), str(school_a["urn"]))]))
    assert len(read_audit(system, audit_headers(system, la_camden))) == 1


def test_an_la_does_not_see_reads_at_another_las_schools(
    system: System, la_camden: dict[str, object]
) -> None:
    system.create_organisation("local_authority", la_code="800")
    school_in_banes = system.create_organisation("school", la_code="800")
    record(system, event([(upn(1, la="800"), str(school_in_banes["urn"]))]))
    assert read_audit(system, audit_headers(system, la_camden)) == []


def test_a_trust_sees_reads_of_a_school_only_while_it_ran_it(
    system: System, school_a: dict[str, object]
) -> None:
    trust = system.create_organisation("trust")
    system.add_trust_membership(str(school_a["id"]), trust["id"], date(2024, 9, 1))
    before = datetime(2024, 8, 20, 12, tzinfo=UTC)
    during = datetime(2024, 10, 1, 12, tzinfo=UTC)
    urn = str(school_a["urn"])
    record(system, event([(upn(1), urn)], occurred_at=before))
    record(system, event([(upn(2), urn)], occurred_at=during))
    entries = read_audit(system, audit_headers(system, trust))
    assert [e["children"][0]["upn"] for e in entries] == [upn(2)]


def test_the_operator_admin_sees_every_read(
    system: System, school_a: dict[str, object], school_b: dict[str, object]
) -> None:
    record(system, event([(upn(1), str(school_a["urn"]))]), event([(upn(2), "999999")]))
    assert len(read_audit(system, system.admin_headers())) == 2


def test_a_virtual_school_without_episodes_sees_no_reads(
    system: System, la_camden: dict[str, object]
) -> None:
    virtual = system.create_organisation("virtual_school", la_code="202")
    record(system, event([(upn(1), "100001")]))
    assert read_audit(system, audit_headers(system, virtual)) == []


# --- GET /v1/audit: filters, pages, CSV -------------------------------------------------


def test_the_upn_filter_finds_reads_of_one_pupil(system: System) -> None:
    record(system, event([(upn(1), "100001")]), event([(upn(2), "100001")]))
    (entry,) = read_audit(system, system.admin_headers(), upn=upn(2))
    assert entry["children"] == [{"upn": upn(2), "school_urn": "100001"}]


def test_the_accessor_filter_finds_reads_by_one_organisation(system: System) -> None:
    record(system, event([(upn(1), "100001")], accessor_id="one"), event([(upn(1), "100001")]))
    (entry,) = read_audit(system, system.admin_headers(), accessor_organisation_id="one")
    assert entry["accessor"]["organisation_id"] == "one"


def test_from_and_to_are_inclusive_days(system: System) -> None:
    for day in (1, 2, 3):
        record(
            system,
            event([(upn(day), "100001")], occurred_at=datetime(2025, 1, day, 23, tzinfo=UTC)),
        )
    entries = read_audit(
        system, system.admin_headers(), **{"from": "2025-01-02", "to": "2025-01-02"}
    )
    assert [e["children"][0]["upn"] for e in entries] == [upn(2)]


def test_reads_up_to_the_last_date_there_is_are_all_listed(system: System) -> None:
    record(system, event([(upn(1), "100001")]))
    entries = read_audit(
        system, system.admin_headers(), **{"from": "0001-01-01", "to": "9999-12-31"}
    )
    assert [e["children"][0]["upn"] for e in entries] == [upn(1)]


def test_pages_follow_the_cursor_newest_first(system: System) -> None:
    record(system, *(event([(upn(n), "100001")]) for n in (1, 2, 3)))
    first = system.sharing.get("/v1/audit", params={"limit": 2}, headers=system.admin_headers())
    second = system.sharing.get(
        "/v1/audit",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=system.admin_headers(),
    )
    positions = [e["position"] for e in first.json()["items"] + second.json()["items"]]
    assert (positions, second.json()["next_cursor"]) == ([3, 2, 1], None)


def test_csv_has_one_row_per_child_read(system: System) -> None:
    record(system, event([(upn(1), "100001"), (upn(2), "100002")]))
    response = system.sharing.get(
        "/v1/audit", headers={**system.admin_headers(), "Accept": "text/csv"}
    )
    lines = response.text.strip().splitlines()
    assert (response.headers["content-type"].startswith("text/csv"), len(lines)) == (True, 3)
