"""The access matrix: every kind of caller × every kind of child, no leak in any cell.

One world is built (once per module, through the real API with real tokens): LA 800 with
schools A, B (its own) and C (in another trust), LA 801 with school D; trust T runs A,
trust T2 runs C. The children:

- own: on A's roll;                       - neighbour: on B's roll;
- other_trust: on C's roll;               - other_la: on D's roll (LA 801);
- placed_out: looked after by LA 800 (open CLA episode, practitioner sw-1), at school D
  in LA 801;
- closed: had a CIN episode with LA 800 that ended 30 days ago; on B's roll.

A school-system partner holds an agreement from school A naming `own` and `placed_out`:
A cannot itself see `placed_out`, so neither may its grantee.

Each cell is what the caller's Reach lets it see of the child today, applied exactly as
a data service must (`seen`): "pupil", "aggregate" or "none".
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.sharing.bootstrap import bootstrap
from shared.db import create_db_engine
from tests.sharing.care import authority, days_ago, reach_of, record_episode, upn
from tests.support.databases import DatabaseFactory
from tests.support.system import (
    _SERVICES,
    ADMIN_CLIENT_ID,
    ADMIN_CLIENT_SECRET,
    SERVICE_CLIENT_ID,
    SERVICE_CLIENT_SECRET,
    System,
    _settings,
)
from tests.support.transport import AppTransport

CHILDREN = {
    "own": (upn(101), "A"),
    "neighbour": (upn(102), "B"),
    "other_trust": (upn(103), "C"),
    "other_la": (upn(104), "D"),
    "placed_out": (upn(105), "D"),
    "closed": (upn(106), "B"),
}

P, AGG, NONE = "pupil", "aggregate", "none"
MATRIX: dict[str, dict[str, str]] = {
    #                 own   neighbour other_trust other_la placed_out closed
    "school_a": dict(zip(CHILDREN, [P, NONE, NONE, NONE, NONE, NONE], strict=True)),
    "school_b": dict(zip(CHILDREN, [NONE, P, NONE, NONE, NONE, P], strict=True)),
    "trust_t": dict(zip(CHILDREN, [P, NONE, NONE, NONE, NONE, NONE], strict=True)),
    "trust_t2": dict(zip(CHILDREN, [NONE, NONE, P, NONE, NONE, NONE], strict=True)),
    "la_800": dict(zip(CHILDREN, [P, P, P, NONE, NONE, P], strict=True)),
    "la_801": dict(zip(CHILDREN, [NONE, NONE, NONE, P, P, NONE], strict=True)),
    "virtual_school_800": dict(zip(CHILDREN, [NONE, NONE, NONE, NONE, P, NONE], strict=True)),
    "virtual_school_801": dict(zip(CHILDREN, [NONE] * 6, strict=True)),
    "social_care_800": dict(zip(CHILDREN, [NONE, NONE, NONE, NONE, P, NONE], strict=True)),
    "social_care_801": dict(zip(CHILDREN, [NONE] * 6, strict=True)),
    "practitioner_sw1": dict(zip(CHILDREN, [NONE, NONE, NONE, NONE, P, NONE], strict=True)),
    "practitioner_sw2": dict(zip(CHILDREN, [NONE] * 6, strict=True)),
    "dfe": dict(zip(CHILDREN, [AGG] * 6, strict=True)),
    "partner_with_agreement": dict(zip(CHILDREN, [P, NONE, NONE, NONE, NONE, NONE], strict=True)),
    "partner_without": dict(zip(CHILDREN, [NONE] * 6, strict=True)),
}

FIELDS: dict[str, set[str]] = {
    "social_care_800": {"attendance", "enrolment", "identity"},
    "practitioner_sw1": {"attendance", "enrolment", "identity"},
    "virtual_school_800": {
        "attendance",
        "enrolment",
        "identity",
        "gender",
        "sen_provision",
        "social_care",
    },
    "partner_with_agreement": {"attendance"},
}
"""Callers whose fields are narrower than a school's: exactly these, never more."""


def _within(day: date, window: dict[str, Any]) -> bool:
    start, end = window.get("from_date"), window.get("to_date")
    return (start is None or date.fromisoformat(start) <= day) and (
        end is None or day <= date.fromisoformat(end)
    )


def seen(reach: dict[str, Any], child_upn: str, urn: str, day: date) -> tuple[str, set[str]]:
    """What a data service may show of a child at school `urn` on `day`, and which fields."""
    if reach["all_schools"] and not reach["pupil_level"]:
        return AGG, set(reach["all_schools_fields"])
    fields: set[str] = set()
    for school in reach["schools"]:
        if school["urn"] == urn and _within(day, school):
            fields |= set(school["fields"])
    for child in reach["children"]:
        at_school = child["schools"] is None or any(
            s["urn"] == urn and _within(day, s) for s in child["schools"]
        )
        if child["upn"] == child_upn and _within(day, child) and at_school:
            fields |= set(child["fields"])
    return (P, fields) if fields else (NONE, set())


def decided_on(reach: dict[str, Any]) -> date:
    """The day a Reach was decided on: the day its cells are read for."""
    return date.fromisoformat(reach["as_of"])


@pytest.fixture(scope="module")
def world(
    database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The world of the module docstring, and every caller's Reach (asked once each)."""
    with _system(database_factory, tmp_path_factory.mktemp("matrix")) as system:
        yield _build(system)


def _build(system: System) -> dict[str, Any]:
    home, host = authority(system, "800"), authority(system, "801")
    schools = {
        name: system.create_organisation("school", la_code=la)
        for name, la in (("A", "800"), ("B", "800"), ("C", "800"), ("D", "801"))
    }
    trust_t, trust_t2 = system.create_organisation("trust"), system.create_organisation("trust")
    system.add_trust_membership(schools["A"]["id"], trust_t["id"], date(2018, 9, 1))
    system.add_trust_membership(schools["C"]["id"], trust_t2["id"], date(2018, 9, 1))
    record_episode(
        system,
        home.social_care_headers,
        CHILDREN["placed_out"][0],
        category="CLA",
        start=days_ago(200),
        practitioner="sw-1",
    )
    record_episode(
        system,
        home.social_care_headers,
        CHILDREN["closed"][0],
        category="CIN",
        start=days_ago(300),
        end=days_ago(30),
        practitioner="sw-1",
    )
    partner, bystander = (
        system.create_organisation("partner"),
        system.create_organisation("partner"),
    )
    grantor = system.headers_for(schools["A"]["id"], "school_system", ["agreements:write"])
    response = system.sharing.post(
        "/v1/agreements",
        json={
            "grantee_id": partner["id"],
            "purpose": "Attendance support",
            "lawful_basis": "6(1)(e)",
            "fields": ["attendance"],
            "upns": [CHILDREN["own"][0], CHILDREN["placed_out"][0]],
            "starts_on": days_ago(10).isoformat(),
            "ends_on": (date.today() + timedelta(days=30)).isoformat(),
        },
        headers=grantor,
    )
    assert response.status_code == 201, response.text
    callers = {
        "school_a": (schools["A"]["id"], None),
        "school_b": (schools["B"]["id"], None),
        "trust_t": (trust_t["id"], None),
        "trust_t2": (trust_t2["id"], None),
        "la_800": (home.authority["id"], None),
        "la_801": (host.authority["id"], None),
        "virtual_school_800": (home.virtual_school["id"], None),
        "virtual_school_801": (host.virtual_school["id"], None),
        "social_care_800": (home.social_care["id"], None),
        "social_care_801": (host.social_care["id"], None),
        "practitioner_sw1": (home.social_care["id"], "sw-1"),
        "practitioner_sw2": (home.social_care["id"], "sw-2"),
        "dfe": (system.create_organisation("dfe")["id"], None),
        "partner_with_agreement": (partner["id"], None),
        "partner_without": (bystander["id"], None),
    }
    return {
        "urns": {name: s["urn"] for name, s in schools.items()},
        "reach": {name: reach_of(system, org, actor) for name, (org, actor) in callers.items()},
    }


CELLS = [(caller, child) for caller in MATRIX for child in CHILDREN]


@pytest.mark.parametrize(("caller", "child"), CELLS)
def test_the_cell_shows_exactly_what_the_policy_allows(
    world: dict[str, Any], caller: str, child: str
) -> None:
    child_upn, school = CHILDREN[child]
    reach = world["reach"][caller]
    level, _fields = seen(reach, child_upn, world["urns"][school], decided_on(reach))
    assert level == MATRIX[caller][child]


@pytest.mark.parametrize("caller", sorted(FIELDS))
def test_a_narrow_caller_gets_only_its_fields(world: dict[str, Any], caller: str) -> None:
    visible = [c for c in CHILDREN if MATRIX[caller][c] == P]
    reach = world["reach"][caller]
    got = {
        frozenset(seen(reach, CHILDREN[c][0], world["urns"][CHILDREN[c][1]], decided_on(reach))[1])
        for c in visible
    }
    assert got == {frozenset(FIELDS[caller])}


def test_the_virtual_school_still_sees_the_closed_episode_while_it_was_open(
    world: dict[str, Any],
) -> None:
    child_upn, school = CHILDREN["closed"]
    during = days_ago(100)
    assert (
        seen(world["reach"]["virtual_school_800"], child_upn, world["urns"][school], during)[0] == P
    )


def test_social_care_no_longer_sees_the_closed_episode_even_in_the_past(
    world: dict[str, Any],
) -> None:
    child_upn, school = CHILDREN["closed"]
    during = days_ago(100)
    assert (
        seen(world["reach"]["social_care_800"], child_upn, world["urns"][school], during)[0] == NONE
    )


def test_every_window_names_its_basis(world: dict[str, Any]) -> None:
    windows = [w for r in world["reach"].values() for w in r["schools"] + r["children"]]
    assert all(w["basis"]["legal_basis"] for w in windows)


class _system:
    """The `system` fixture's apps, built once for a whole module (the world is read-only)."""

    def __init__(self, factory: DatabaseFactory, workdir: Path) -> None:
        self._factory, self._workdir, self._stack = factory, workdir, ExitStack()

    def __enter__(self) -> System:
        settings = {
            name: _settings(name, self._factory.fresh(name, self._workdir), {})
            for name in _SERVICES
        }
        engine = create_db_engine(settings["sharing"].database.url)
        try:
            seeded = bootstrap(
                engine,
                admin_client_id=ADMIN_CLIENT_ID,
                admin_client_secret=ADMIN_CLIENT_SECRET,
                service_client_id=SERVICE_CLIENT_ID,
                service_client_secret=SERVICE_CLIENT_SECRET,
            )
        finally:
            engine.dispose()
        transport = AppTransport()
        clients: dict[str, TestClient] = {}
        for name, service_settings in settings.items():
            package, _cls, url = _SERVICES[name]
            app = importlib.import_module(f"{package}.main").create_app(
                service_settings, transport=transport
            )
            clients[name] = self._stack.enter_context(TestClient(app, base_url=url))
            transport.mount(url, clients[name])
        return System(clients, transport, seeded, settings)

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
