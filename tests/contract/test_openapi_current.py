"""The committed OpenAPI documents are exactly what the apps generate."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.openapi import generate, render
from services.cli.registry import ALL_SERVICES, ServiceInfo

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "openapi"


@pytest.mark.parametrize("info", ALL_SERVICES, ids=lambda i: i.name)
def test_committed_openapi_document_is_current(info: ServiceInfo) -> None:
    committed = OPENAPI_DIR / f"{info.name}.json"
    assert committed.exists(), f"run `attx openapi` to write {committed.name}"
    assert committed.read_text(encoding="utf-8") == render(generate(info)), (
        f"{committed.name} is stale: run `attx openapi` and commit the result"
    )


@pytest.mark.parametrize("info", ALL_SERVICES, ids=lambda i: i.name)
def test_every_operation_has_a_stable_id_and_declares_its_errors(info: ServiceInfo) -> None:
    document = generate(info)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["operationId"], (method, path)
            if operation.get("security"):
                assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)
