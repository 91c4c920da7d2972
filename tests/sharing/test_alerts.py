"""Alerts through the API: who receives what under the policy, once, pollable, audited."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contracts.alerts import AlertRule
from tests.sharing.alert_support import (
    ALERT_SETTINGS,
    alerts_of,
    area,
    candidate,
    propose,
)
from tests.sharing.care import codes
from tests.support.system import System

SW = AlertRule.SOCIAL_WORKER_UNEXPLAINED_ABSENCE
KINDS = ("school", "local_authority", "virtual_school", "social_care")


@pytest.fixture
def system_settings() -> dict[str, dict[str, Any]]:
    return ALERT_SETTINGS


def receivers(system: System, a: Any) -> list[str]:
    return [k for k in KINDS if alerts_of(system, a.headers[k])]


def test_a_missing_education_alert_reaches_everyone_who_may_see_the_child(
    system: System,
) -> None:
    a = area(system, "202", 21)
    propose(system, candidate(a.child, a.school["urn"]))
    assert receivers(system, a) == list(KINDS)


def test_a_social_worker_rule_goes_only_to_those_reaching_the_child_by_an_episode(
    system: System,
) -> None:
    a = area(system, "202", 22)
    propose(system, candidate(a.child, a.school["urn"], SW))
    assert receivers(system, a) == ["virtual_school", "social_care"]


def test_a_social_worker_rule_about_a_child_without_an_episode_reaches_nobody(
    system: System,
) -> None:
    a = area(system, "202", 23, category=None)
    intake = propose(system, candidate(a.child, a.school["urn"], SW))
    assert intake["alerts_created"] == 0


def test_an_organisation_of_another_authority_receives_nothing(system: System) -> None:
    here = area(system, "202", 24)
    elsewhere = area(system, "213", 25)
    propose(system, candidate(here.child, here.school["urn"]))
    assert receivers(system, elsewhere) == []


def test_the_same_condition_is_stored_once_per_recipient(system: System) -> None:
    a = area(system, "202", 26)
    propose(system, candidate(a.child, a.school["urn"]))
    again = propose(system, candidate(a.child, a.school["urn"]))
    assert (again["alerts_created"], len(alerts_of(system, a.headers["school"]))) == (0, 1)


def test_a_new_run_of_the_same_rule_is_a_new_alert(system: System) -> None:
    a = area(system, "202", 27)
    propose(system, candidate(a.child, a.school["urn"], start="2025-01-06"))
    propose(system, candidate(a.child, a.school["urn"], start="2025-02-03"))
    assert len(alerts_of(system, a.headers["school"])) == 2


def test_an_alert_says_what_happened_which_sessions_and_since_when(system: System) -> None:
    a = area(system, "202", 28)
    sent = candidate(a.child, a.school["urn"])
    propose(system, sent)
    [alert] = alerts_of(system, a.headers["local_authority"])
    assert (alert["summary"], alert["since"], len(alert["sessions"])) == (
        sent["summary"],
        sent["since"],
        6,
    )


def test_social_care_is_not_shown_the_category_the_virtual_school_is(system: System) -> None:
    a = area(system, "202", 29, category="CPP")
    propose(system, candidate(a.child, a.school["urn"]))
    shown = [
        alerts_of(system, a.headers[k])[0]["social_care_category"]
        for k in ("school", "social_care", "virtual_school")
    ]
    assert shown == [None, None, "CPP"]


def test_polling_from_the_last_cursor_returns_only_new_alerts(system: System) -> None:
    a = area(system, "202", 30)
    propose(system, candidate(a.child, a.school["urn"], start="2025-01-06"))
    first = system.sharing.get("/v1/alerts", headers=a.headers["school"]).json()
    propose(system, candidate(a.child, a.school["urn"], start="2025-02-03"))
    later = system.sharing.get(
        "/v1/alerts", params={"cursor": first["next_cursor"]}, headers=a.headers["school"]
    ).json()
    assert [i["condition_key"].rsplit(":", 1)[1] for i in later["items"]] == ["2025-02-03"]


def test_an_empty_poll_keeps_the_cursor(system: System) -> None:
    a = area(system, "202", 31)
    propose(system, candidate(a.child, a.school["urn"]))
    first = system.sharing.get("/v1/alerts", headers=a.headers["school"]).json()
    empty = system.sharing.get(
        "/v1/alerts", params={"cursor": first["next_cursor"]}, headers=a.headers["school"]
    ).json()
    assert (empty["items"], empty["next_cursor"]) == ([], first["next_cursor"])


def test_another_organisations_alert_is_not_found(system: System) -> None:
    here = area(system, "202", 32)
    elsewhere = area(system, "213", 33)
    propose(system, candidate(here.child, here.school["urn"]))
    [alert] = alerts_of(system, here.headers["school"])
    response = system.sharing.get(f"/v1/alerts/{alert['id']}", headers=elsewhere.headers["school"])
    assert response.status_code == 404


def test_reading_alerts_is_on_the_audit_trail(system: System) -> None:
    a = area(system, "202", 34)
    propose(system, candidate(a.child, a.school["urn"]))
    alerts_of(system, a.headers["social_care"])
    response = system.sharing.get("/v1/audit", params={"upn": a.child}, headers=a.headers["school"])
    entries = [(e["accessor"]["organisation_id"], e["endpoint"]) for e in response.json()["items"]]
    assert (a.authority.social_care["id"], "GET /v1/alerts") in entries


def test_proposing_alerts_needs_a_token(system: System) -> None:
    response = system.sharing.post("/v1/alerts/events", json={"candidates": []})
    assert response.status_code == 401


def test_proposing_alerts_needs_the_alerts_write_scope(system: System) -> None:
    a = area(system, "202", 35)
    response = system.sharing.post(
        "/v1/alerts/events",
        json={"candidates": [candidate(a.child, a.school["urn"])]},
        headers=a.headers["school"],
    )
    assert response.status_code == 403


def test_only_a_service_client_may_hold_alerts_write(system: System) -> None:
    school = system.create_organisation("school")
    response = system.sharing.post(
        "/v1/clients",
        json={"organisation_id": school["id"], "role": "school_system", "scopes": ["alerts:write"]},
        headers=system.admin_headers(),
    )
    assert codes(response) == ["scope_not_for_role"]


def test_polling_needs_the_alerts_read_scope(system: System) -> None:
    school = system.create_organisation("school")
    headers = system.headers_for(school["id"], "school_system", ["alerts:subscribe"])
    assert system.sharing.get("/v1/alerts", headers=headers).status_code == 403


def test_every_bad_candidate_is_reported_and_nothing_is_stored(system: System) -> None:
    a = area(system, "202", 36)
    bad_upn = candidate("1234567890123", a.school["urn"])
    backwards = candidate(a.child, a.school["urn"]) | {"since": "2030-01-01"}
    good = candidate(a.child, a.school["urn"], start="2025-03-03")
    response = system.sharing.post(
        "/v1/alerts/events",
        json={"candidates": [bad_upn, backwards, good]},
        headers=system.service_headers(["alerts:write"]),
    )
    assert (response.status_code, codes(response), alerts_of(system, a.headers["school"])) == (
        422,
        ["invalid_upn", "since_after_until"],
        [],
    )


def test_a_bad_poll_cursor_is_a_problem(system: System) -> None:
    a = area(system, "202", 37)
    response = system.sharing.get(
        "/v1/alerts", params={"cursor": "nonsense"}, headers=a.headers["school"]
    )
    assert (response.status_code, codes(response)) == (422, ["invalid_cursor"])
