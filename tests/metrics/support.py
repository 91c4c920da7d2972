"""Helpers for metrics API tests: feed the read model, build callers."""

from __future__ import annotations

from typing import Any

from services.metrics.store.projection import apply_page
from shared.contracts.changes import Change
from shared.db import create_db_engine
from tests.metrics.factories import page
from tests.support.system import System


def feed(system: System, changes: list[Change], cursor: str = "c1") -> None:
    """Apply hand-built changes to the metrics read model, as the consumer would."""
    engine = create_db_engine(system.settings["metrics"].database.url)
    try:
        with engine.begin() as connection:
            apply_page(connection, page(changes, cursor))
    finally:
        engine.dispose()


def headers(system: System, organisation: dict[str, Any], scopes: list[str]) -> dict[str, str]:
    roles = {
        "school": "school_system",
        "trust": "trust_system",
        "local_authority": "la_attendance",
        "dfe": "dfe_analyst",
        "virtual_school": "virtual_school",
    }
    return system.headers_for(organisation["id"], roles[organisation["type"]], scopes)
