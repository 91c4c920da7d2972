"""Webhook delivery to a real receiver over HTTP: signatures, retries, crashes, scope, audit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.sharing.alert_support import (
    ALERT_SETTINGS,
    Clock,
    area,
    candidate,
    dispatcher,
    propose,
    receiver,
    subscribe,
)
from tests.support.system import System


@pytest.fixture
def system_settings() -> dict[str, dict[str, Any]]:
    return ALERT_SETTINGS


def deliveries(system: System, headers: dict[str, str], subscription_id: str) -> list[Any]:
    response = system.sharing.get(
        f"/v1/subscriptions/{subscription_id}/deliveries", headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def test_a_delivered_alert_verifies_with_the_subscription_secret(system: System) -> None:
    a = area(system, "202", 1)
    with receiver() as hook:
        sub = subscribe(system, a.headers["social_care"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        dispatcher(system).run_once()
    [request] = hook.requests
    payload = Webhook(sub["secret"]).verify(request.body, request.headers)
    assert (payload["type"], payload["data"]["upn"]) == (
        "attendance.alert.missing_education",
        a.child,
    )


def test_the_webhook_id_is_the_delivery_id(system: System) -> None:
    a = area(system, "202", 2)
    with receiver() as hook:
        sub = subscribe(system, a.headers["school"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        dispatcher(system).run_once()
    [delivery] = deliveries(system, a.headers["school"], sub["id"])
    assert hook.requests[0].headers["webhook-id"] == delivery["id"]


def test_during_a_rotation_both_secrets_verify(system: System) -> None:
    a = area(system, "202", 3)
    with receiver() as hook:
        old = subscribe(system, a.headers["virtual_school"], hook.url)
        response = system.sharing.post(
            f"/v1/subscriptions/{old['id']}/rotate-secret", headers=a.headers["virtual_school"]
        )
        new = response.json()
        propose(system, candidate(a.child, a.school["urn"]))
        dispatcher(system).run_once()
    [request] = hook.requests
    verified = [
        Webhook(s).verify(request.body, request.headers) for s in (old["secret"], new["secret"])
    ]
    assert verified[0] == verified[1]


def test_a_tampered_body_does_not_verify(system: System) -> None:
    a = area(system, "202", 4)
    with receiver() as hook:
        sub = subscribe(system, a.headers["social_care"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        dispatcher(system).run_once()
    [request] = hook.requests
    tampered = request.body.replace(a.child.encode(), b"A000000000000")
    with pytest.raises(Exception, match="signature"):
        Webhook(sub["secret"]).verify(tampered, request.headers)


def test_a_receiver_failing_three_times_then_recovering_gets_the_alert_exactly_once_more(
    system: System,
) -> None:
    a = area(system, "202", 5)
    with receiver(fail_first=3) as hook:
        subscribe(system, a.headers["social_care"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        clock = Clock()  # after the alert was queued, as time runs on
        worker = dispatcher(system, clock)
        for wait in (0, 10, 20, 40, 80, 3600):  # back-off: 10 s, then doubling
            clock.advance(wait)
            worker.run_once()
            worker.run_once()  # nothing more is due at the same instant
    assert (len(hook.requests), len(hook.accepted)) == (4, 1)


def test_every_attempt_is_recorded(system: System) -> None:
    a = area(system, "202", 6)
    with receiver(fail_first=3) as hook:
        sub = subscribe(system, a.headers["social_care"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        clock = Clock()  # after the alert was queued, as time runs on
        worker = dispatcher(system, clock)
        for wait in (0, 10, 20, 40):
            clock.advance(wait)
            worker.run_once()
    [delivery] = deliveries(system, a.headers["social_care"], sub["id"])
    assert (delivery["status"], [t["status_code"] for t in delivery["attempt_log"]]) == (
        "delivered",
        [500, 500, 500, 204],
    )


def test_a_retry_is_not_sent_before_its_back_off(system: System) -> None:
    a = area(system, "202", 7)
    with receiver(fail_first=1) as hook:
        subscribe(system, a.headers["social_care"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        clock = Clock()  # after the alert was queued, as time runs on
        worker = dispatcher(system, clock)
        worker.run_once()
        clock.advance(9)
        worker.run_once()
    assert len(hook.requests) == 1


def test_a_delivery_failing_every_time_is_dead_lettered(system: System) -> None:
    a = area(system, "202", 8)
    with receiver(fail_first=100) as hook:
        sub = subscribe(system, a.headers["social_care"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        clock = Clock()  # after the alert was queued, as time runs on
        worker = dispatcher(system, clock, max_attempts=3)
        for _ in range(5):
            worker.run_once()
            clock.advance(3600)
    [delivery] = deliveries(system, a.headers["social_care"], sub["id"])
    assert (delivery["status"], delivery["attempts"], len(hook.requests)) == ("dead", 3, 3)


def test_an_alert_committed_but_never_sent_is_delivered_by_a_new_process(
    system: System,
) -> None:
    a = area(system, "202", 9)
    with receiver() as hook:
        subscribe(system, a.headers["social_care"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))  # committed; the process "dies"
        dispatcher(system).run_once()  # a new engine and dispatcher on the same database
    assert len(hook.accepted) == 1


def test_a_lease_left_by_a_killed_dispatcher_is_taken_again_once_it_expires(
    system: System,
) -> None:
    a = area(system, "202", 10)
    with receiver() as hook:
        subscribe(system, a.headers["social_care"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        clock = Clock()  # after the alert was queued, as time runs on
        dispatcher(system, clock, lease_seconds=60).claim()  # claimed, then killed mid-send
        survivor = dispatcher(system, clock, lease_seconds=60)
        survivor.run_once()
        sent_while_leased = len(hook.requests)
        clock.advance(61)
        survivor.run_once()
    assert (sent_while_leased, len(hook.accepted)) == (0, 1)


def test_an_organisation_outside_the_childs_scope_never_receives_it(system: System) -> None:
    here = area(system, "202", 11)
    elsewhere = area(system, "213", 12)
    with receiver() as ours, receiver() as theirs:
        for kind in ("school", "local_authority", "virtual_school", "social_care"):
            subscribe(system, here.headers[kind], ours.url)
            subscribe(system, elsewhere.headers[kind], theirs.url)
        propose(system, candidate(here.child, here.school["urn"]))
        dispatcher(system).run_once()
    assert (len(ours.accepted), len(theirs.requests)) == (4, 0)


def test_only_the_events_subscribed_to_are_delivered(system: System) -> None:
    a = area(system, "202", 13)
    with receiver() as hook:
        subscribe(system, a.headers["school"], hook.url, events=["suspension_or_exclusion"])
        propose(system, candidate(a.child, a.school["urn"]))
        dispatcher(system).run_once()
    assert hook.requests == []


def test_a_category_filter_keeps_other_children_out(system: System) -> None:
    a = area(system, "202", 14, category="CIN")
    with receiver() as hook:
        subscribe(system, a.headers["virtual_school"], hook.url, categories=["CLA"])
        propose(system, candidate(a.child, a.school["urn"]))
        dispatcher(system).run_once()
    assert hook.requests == []


def test_a_deleted_subscription_receives_nothing_more(system: System) -> None:
    a = area(system, "202", 15)
    with receiver() as hook:
        sub = subscribe(system, a.headers["school"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        response = system.sharing.delete(
            f"/v1/subscriptions/{sub['id']}", headers=a.headers["school"]
        )
        assert response.status_code == 204
        dispatcher(system).run_once()
    assert hook.requests == []


def test_the_target_is_checked_again_at_send_time(system: System) -> None:
    a = area(system, "202", 16)
    with receiver() as hook:
        sub = subscribe(system, a.headers["school"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        dispatcher(system, allow_local_targets=False).run_once()
    [delivery] = deliveries(system, a.headers["school"], sub["id"])
    assert (hook.requests, delivery["last_error"].startswith("target refused")) == ([], True)


def test_a_delivery_is_on_the_audit_trail(system: System) -> None:
    a = area(system, "202", 17)
    with receiver() as hook:
        sub = subscribe(system, a.headers["social_care"], hook.url)
        propose(system, candidate(a.child, a.school["urn"]))
        dispatcher(system).run_once()
        assert len(hook.accepted) == 1
    response = system.sharing.get("/v1/audit", params={"upn": a.child}, headers=a.headers["school"])
    entries = [(e["accessor"]["organisation_id"], e["endpoint"]) for e in response.json()["items"]]
    assert (a.authority.social_care["id"], f"WEBHOOK alert to subscription {sub['id']}") in entries


def test_the_payload_carries_only_the_fields_the_recipient_may_see(system: System) -> None:
    a = area(system, "202", 18)
    with receiver() as care, receiver() as virtual:
        subscribe(system, a.headers["social_care"], care.url)
        subscribe(system, a.headers["virtual_school"], virtual.url)
        propose(system, candidate(a.child, a.school["urn"]))
        dispatcher(system).run_once()
    categories = [
        json.loads(hook.requests[0].body)["data"]["social_care_category"]
        for hook in (care, virtual)
    ]
    assert categories == [None, "CIN"]
