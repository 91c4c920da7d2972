"""The consumer thread in the lifespan: woken at once by POST /v1/feed/notifications."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.metrics.support import absence, submit
from tests.support.system import System


@pytest.fixture
def system_settings() -> dict[str, dict[str, Any]]:
    # The consumer thread runs, but polls so rarely that only a notification wakes it.
    return {"metrics": {"feed_consumer_enabled": True, "feed_poll_interval_seconds": 3600}}


def test_a_notification_wakes_the_consumer(system: System) -> None:
    assert system.metrics is not None
    school = system.create_organisation("school", la_code="202")
    time.sleep(0.2)  # let the thread finish its first (empty) catch-up and start waiting
    submit(system, school, {1: "I"})
    response = system.metrics.post(
        "/v1/feed/notifications", headers=system.service_headers(["feed:notify"])
    )
    assert response.status_code == 202
    deadline = time.monotonic() + 30
    while absence(system, school)["enrolments"] in (0, "c") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert absence(system, school)["sess_authorised"] == 20


def test_notifying_needs_the_feed_notify_scope(system: System) -> None:
    assert system.metrics is not None
    response = system.metrics.post(
        "/v1/feed/notifications", headers=system.service_headers(["metrics:read"])
    )
    assert response.status_code == 403
