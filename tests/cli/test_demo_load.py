"""Loading a small demo authority end to end: directory, clients, returns and episodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.cli.demo.loader import CLIENTS_FILE, LoadSummary, load_demo
from services.cli.demo.population import DemoConfig, Tag
from services.cli.demo.writers import SOCIAL_CARE, Generated, write_demo
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
    assert (second.episodes_recorded, second.episodes_existing) == (
        0,
        len(generated.population.episodes),
    )


def test_client_secrets_are_kept_readable_by_the_owner_only(
    system: System,
    demo_dir: tuple[Path, Generated],
) -> None:
    data_dir, _generated = demo_dir
    _load(system, data_dir)
    path = data_dir / CLIENTS_FILE
    assert path.stat().st_mode & 0o077 == 0
    assert all(c["client_secret"] for c in json.loads(path.read_text()).values())


def _social_care_key(generated: Generated) -> str:
    return generated.population.la.social_care_key


def _stored_episodes(system: System, data_dir: Path, key: str) -> list[dict[str, object]]:
    client = json.loads((data_dir / CLIENTS_FILE).read_text())[key]
    token = system.token(client["client_id"], client["client_secret"], ["social_care:read"])
    response = system.sharing.get(
        "/v1/episodes", params={"limit": 200}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_every_social_care_episode_is_recorded_as_the_authoritys_social_care(
    system: System,
    demo_dir: tuple[Path, Generated],
) -> None:
    data_dir, generated = demo_dir
    summary = _load(system, data_dir)
    assert summary.failures == []
    stored = _stored_episodes(system, data_dir, _social_care_key(generated))
    assert sorted((e["upn"], e["category"], e["practitioner_ref"]) for e in stored) == sorted(
        (e.upn, e.category.value, e.practitioner_ref) for e in generated.population.episodes
    )


def test_the_looked_after_child_placed_out_of_area_has_an_episode(
    system: System,
    demo_dir: tuple[Path, Generated],
) -> None:
    data_dir, generated = demo_dir
    _load(system, data_dir)
    placed = next(
        e.child for e in generated.population.enrolments if Tag.PLACED_OUT_OF_AREA in e.tags
    )
    stored = _stored_episodes(system, data_dir, _social_care_key(generated))
    assert [e["category"] for e in stored if e["upn"] == placed.upn] == ["CLA"]


def test_children_named_without_a_upn_are_found_on_the_rolls(
    system: System,
    demo_dir: tuple[Path, Generated],
) -> None:
    data_dir, generated = demo_dir
    named = {c["upn"] for c in json.loads((data_dir / SOCIAL_CARE).read_text())["without_upn"]}
    summary = _load(system, data_dir)
    stored = _stored_episodes(system, data_dir, _social_care_key(generated))
    assert named
    assert summary.episodes_matched == len(named)
    assert {e["upn"] for e in stored if e["identified_by"] == "match"} == named


def test_a_stored_social_care_client_without_episode_scopes_is_replaced(
    system: System,
    demo_dir: tuple[Path, Generated],
) -> None:
    data_dir, generated = demo_dir
    _load(system, data_dir)
    key = _social_care_key(generated)
    path = data_dir / CLIENTS_FILE
    clients = json.loads(path.read_text())
    # What a load from before episodes were loaded left behind.
    client_id, secret = system.create_client(
        clients[key]["organisation_id"], "social_care", ["attendance:read"]
    )
    clients[key] |= {"client_id": client_id, "client_secret": secret}
    path.write_text(json.dumps(clients))
    again = _load(system, data_dir)
    assert again.failures == []
    assert again.clients_replaced == 1
    assert again.episodes_existing == len(generated.population.episodes)
