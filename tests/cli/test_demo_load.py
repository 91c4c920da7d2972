"""Loading a small demo authority end to end: directory, clients, every return accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.cli.demo.loader import CLIENTS_FILE, LoadSummary, load_demo
from services.cli.demo.population import DemoConfig
from services.cli.demo.writers import Generated, write_demo
from tests.support.system import (
    ADMIN_CLIENT_ID,
    ADMIN_CLIENT_SECRET,
    INGEST_URL,
    SHARING_URL,
    System,
)

SMALL = DemoConfig(schools=2, pupils=100, weeks=3, seed=5)


@pytest.fixture
def demo_dir(tmp_path: Path) -> tuple[Path, Generated]:
    out = tmp_path / "demo"
    return out, write_demo(SMALL, out)


def _load(system: System, data_dir: Path) -> LoadSummary:
    return load_demo(
        SHARING_URL,
        INGEST_URL,
        ADMIN_CLIENT_ID,
        ADMIN_CLIENT_SECRET,
        data_dir,
        transport=system.transport,
        echo=lambda _line: None,
    )


def test_every_return_of_the_demo_is_accepted(
    system: System,
    demo_dir: tuple[Path, Generated],
) -> None:
    data_dir, generated = demo_dir
    summary = _load(system, data_dir)
    assert summary.failures == []
    assert summary.returns_accepted == len(generated.entries)


def test_the_directory_holds_the_authority_its_trusts_and_schools(
    system: System,
    demo_dir: tuple[Path, Generated],
) -> None:
    data_dir, generated = demo_dir
    _load(system, data_dir)
    mover = generated.population.schools[0]
    record = system.sharing.get(f"/v1/schools/{mover.urn}", headers=system.admin_headers())
    assert record.status_code == 200
    assert len(record.json()["trusts"]) == 2


def test_loading_twice_reuses_organisations_clients_and_receipts(
    system: System,
    demo_dir: tuple[Path, Generated],
) -> None:
    data_dir, generated = demo_dir
    first = _load(system, data_dir)
    second = _load(system, data_dir)
    assert second.organisations_created == 0
    assert second.organisations_existing == first.organisations_created
    assert second.clients_reused == first.clients_created
    assert (second.returns_accepted, second.returns_replayed) == (0, len(generated.entries))


def test_client_secrets_are_kept_readable_by_the_owner_only(
    system: System,
    demo_dir: tuple[Path, Generated],
) -> None:
    data_dir, _generated = demo_dir
    _load(system, data_dir)
    path = data_dir / CLIENTS_FILE
    assert path.stat().st_mode & 0o077 == 0
    assert all(c["client_secret"] for c in json.loads(path.read_text()).values())
