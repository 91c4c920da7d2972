"""Virtual schools and children's social care read who looked at the children in their
policy reach: only those children, only reads inside each child's episode window, at any
school; a practitioner's token only its caseload's; closing an episode ends social care's
sight of the child's reads."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from services.sharing.domain.token_exchange import (
    ACCESS_TOKEN_TYPE,
    PRACTITIONER_REF_TOKEN_TYPE,
    TOKEN_EXCHANGE_GRANT,
)
from tests.sharing.audit_support import audit_headers, event, read_audit, record
from tests.sharing.care import Authority, authority, days_ago, record_episode, upn
from tests.support.system import System

CHILD, OTHER_CHILD = upn(1), upn(2)


def read_on(days: int) -> datetime:
    """Noon UTC, `days` days ago: well inside that day whatever the clock says."""
    return datetime.combine(days_ago(days), time(12), tzinfo=UTC)


def school_read(school: dict[str, Any], *upns: str, days: int = 1) -> dict[str, Any]:
    """A school's own read of its pupils, as metrics would report it."""
    return event(
        [(u, str(school["urn"])) for u in upns],
        accessor_id=school["id"],
        accessor_type="school",
        role="school_system",
        occurred_at=read_on(days),
    )


def upns_seen(entries: list[dict[str, Any]]) -> list[list[str]]:
    return [[c["upn"] for c in e["children"]] for e in entries]


def practitioner_headers(system: System, la: Authority, practitioner: str) -> dict[str, str]:
    """A token of social care's case-management system acting for one practitioner."""
    client_id, secret = system.create_client(la.social_care["id"], "social_care", ["audit:read"])
    response = system.sharing.post(
        "/oauth/token",
        data={
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": system.token(client_id, secret),
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "actor_token": practitioner,
            "actor_token_type": PRACTITIONER_REF_TOKEN_TYPE,
        },
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_social_care_and_virtual_school_clients_may_hold_audit_read(system: System) -> None:
    la = authority(system, "800")
    created = [
        system.sharing.post(
            "/v1/clients",
            json={"organisation_id": org["id"], "role": role, "scopes": ["audit:read"]},
            headers=system.admin_headers(),
        ).status_code
        for org, role in ((la.social_care, "social_care"), (la.virtual_school, "virtual_school"))
    ]
    assert created == [201, 201]


def test_social_care_sees_a_schools_read_of_a_child_with_an_open_episode(
    system: System,
) -> None:
    la = authority(system, "800")
    school = system.create_organisation("school", la_code="800")
    record_episode(system, la.social_care_headers, CHILD, start=days_ago(30))
    record(system, school_read(school, CHILD))
    (entry,) = read_audit(system, audit_headers(system, la.social_care))
    assert (entry["accessor"]["organisation_id"], entry["children"]) == (
        school["id"],
        [{"upn": CHILD, "school_urn": school["urn"]}],
    )


def test_social_care_does_not_see_reads_of_a_child_without_an_episode(system: System) -> None:
    la = authority(system, "800")
    school = system.create_organisation("school", la_code="800")
    record_episode(system, la.social_care_headers, CHILD, start=days_ago(30))
    record(system, school_read(school, OTHER_CHILD))
    assert read_audit(system, audit_headers(system, la.social_care)) == []


def test_of_a_read_of_several_children_social_care_sees_only_its_own(system: System) -> None:
    la = authority(system, "800")
    school = system.create_organisation("school", la_code="800")
    record_episode(system, la.social_care_headers, CHILD, start=days_ago(30))
    record(system, school_read(school, CHILD, OTHER_CHILD))
    assert upns_seen(read_audit(system, audit_headers(system, la.social_care))) == [[CHILD]]


def test_social_care_does_not_see_reads_before_the_episode_started(system: System) -> None:
    la = authority(system, "800")
    school = system.create_organisation("school", la_code="800")
    record_episode(system, la.social_care_headers, CHILD, start=days_ago(30))
    record(system, school_read(school, CHILD, days=31), school_read(school, CHILD, days=29))
    entries = read_audit(system, audit_headers(system, la.social_care))
    assert [e["occurred_at"][:10] for e in entries] == [days_ago(29).isoformat()]


def test_another_authoritys_social_care_does_not_see_the_childs_reads(system: System) -> None:
    home, other = authority(system, "800"), authority(system, "801")
    school = system.create_organisation("school", la_code="800")
    record_episode(system, home.social_care_headers, CHILD, start=days_ago(30))
    record(system, school_read(school, CHILD))
    assert read_audit(system, audit_headers(system, other.social_care)) == []


def test_a_virtual_school_sees_reads_of_its_looked_after_child_placed_in_another_la(
    system: System,
) -> None:
    home = authority(system, "800")
    system.create_organisation("local_authority", la_code="801")
    school_away = system.create_organisation("school", la_code="801")
    record_episode(system, home.social_care_headers, CHILD, category="CLA", start=days_ago(30))
    record(system, school_read(school_away, CHILD))
    (entry,) = read_audit(system, audit_headers(system, home.virtual_school))
    assert entry["children"] == [{"upn": CHILD, "school_urn": school_away["urn"]}]


def test_a_practitioner_sees_only_reads_of_its_caseload(system: System) -> None:
    la = authority(system, "800")
    school = system.create_organisation("school", la_code="800")
    record_episode(system, la.social_care_headers, CHILD, start=days_ago(30), practitioner="sw-1")
    record_episode(
        system, la.social_care_headers, OTHER_CHILD, start=days_ago(30), practitioner="sw-2"
    )
    record(system, school_read(school, CHILD), school_read(school, OTHER_CHILD))
    entries = read_audit(system, practitioner_headers(system, la, "sw-1"))
    assert upns_seen(entries) == [[CHILD]]


def test_closing_the_episode_ends_social_cares_sight_of_the_childs_reads(
    system: System,
) -> None:
    la = authority(system, "800")
    school = system.create_organisation("school", la_code="800")
    episode = record_episode(system, la.social_care_headers, CHILD, start=days_ago(30))
    record(system, school_read(school, CHILD, days=10))
    closed = system.sharing.patch(
        f"/v1/episodes/{episode['id']}",
        json={"end_date": days_ago(5).isoformat(), "reason": "case closed at review"},
        headers=la.social_care_headers,
    )
    assert closed.status_code == 200, closed.text
    assert read_audit(system, audit_headers(system, la.social_care)) == []


def test_a_virtual_school_sees_no_reads_after_the_episode_ended(system: System) -> None:
    la = authority(system, "800")
    school = system.create_organisation("school", la_code="800")
    record_episode(
        system,
        la.social_care_headers,
        CHILD,
        category="CLA",
        start=days_ago(30),
        end=days_ago(5),
    )
    record(system, school_read(school, CHILD, days=10), school_read(school, CHILD, days=2))
    entries = read_audit(system, audit_headers(system, la.virtual_school))
    assert [e["occurred_at"][:10] for e in entries] == [days_ago(10).isoformat()]
