"""Metrics API tests run the whole system in-process; the feed consumer thread is off so
each test decides when changes are applied (consumer tests switch it on themselves)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def system_settings() -> dict[str, dict[str, Any]]:
    return {"metrics": {"feed_consumer_enabled": False}}
