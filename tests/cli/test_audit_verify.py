"""`attx audit verify` walks the chain: intact passes; an edited, removed or re-indexed entry
(written straight to the database with the append-only triggers out of the way) is named."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import Engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from services.cli.main import app
from services.sharing.domain.audit import RecordedHead, entry_hash
from services.sharing.domain.checkpoints import sign_checkpoint
from services.sharing.store.audit_repository import AuditRepository
from shared.db import create_db_engine
from tests.sharing.audit_support import event, record, upn
from tests.support.databases import as_owner
from tests.support.system import System

runner = CliRunner()


@pytest.fixture
def three_entries(system: System) -> str:
    """The sharing database URL, with three recorded reads."""
    record(system, *(event([(upn(n), "100001")]) for n in (1, 2, 3)))
    return str(system.settings["sharing"].database.url)


@pytest.fixture
def engine(three_entries: str) -> Iterator[Engine]:
    """The sharing database as its owner: only the owner can put the triggers aside."""
    engine = create_db_engine(as_owner(three_entries))
    yield engine
    engine.dispose()


def tamper(engine: Engine, table: str, statement: str) -> None:
    """Run `statement` past the append-only triggers, as someone with the owner's rights could."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Disabling is transactional, so the shared test database keeps its triggers.
            connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            connection.execute(text(statement))
            connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        else:
            for operation in ("update", "delete"):
                connection.execute(text(f"DROP TRIGGER {table}_no_{operation}"))
            connection.execute(text(statement))


def verify(url: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--database-url", url])
    return result.exit_code, result.output


def test_an_intact_chain_verifies(three_entries: str) -> None:
    code, output = verify(three_entries)
    assert (code, "intact: 3 entries" in output) == (0, True)


def test_an_empty_trail_verifies(system: System) -> None:
    code, _output = verify(str(system.settings["sharing"].database.url))
    assert code == 0


def test_an_edited_entry_is_named(three_entries: str, engine: Engine) -> None:
    tamper(
        engine, "audit_entry", "UPDATE audit_entry SET purpose = 'statistics' WHERE position = 2"
    )
    code, output = verify(three_entries)
    assert (code, "BROKEN at entry 2" in output, "altered" in output) == (1, True, True)


def test_an_edited_child_list_is_named(three_entries: str, engine: Engine) -> None:
    tamper(engine, "audit_entry", "UPDATE audit_entry SET children = '[]' WHERE position = 3")
    code, output = verify(three_entries)
    assert (code, "BROKEN at entry 3" in output) == (1, True)


def test_a_removed_entry_is_named(three_entries: str, engine: Engine) -> None:
    tamper(engine, "audit_entry_child", "DELETE FROM audit_entry_child WHERE position = 2")
    tamper(engine, "audit_entry", "DELETE FROM audit_entry WHERE position = 2")
    code, output = verify(three_entries)
    assert (code, "BROKEN at entry 2" in output, "missing" in output) == (1, True, True)


def test_a_removed_index_row_is_named(three_entries: str, engine: Engine) -> None:
    # Hiding a read from a school by deleting its index row must not go unnoticed.
    tamper(engine, "audit_entry_child", "DELETE FROM audit_entry_child WHERE position = 1")
    code, output = verify(three_entries)
    assert (code, "BROKEN at entry 1" in output, "index" in output) == (1, True, True)


def test_an_index_row_naming_no_entry_is_named(three_entries: str, engine: Engine) -> None:
    # Putting a read on someone's record by adding index rows must not go unnoticed.
    tamper(
        engine,
        "audit_entry_child",
        "INSERT INTO audit_entry_child (position, school_urn, upn) "
        f"VALUES (4, '100001', '{upn(9)}')",
    )
    code, output = verify(three_entries)
    assert (code, "BROKEN at entry 4" in output, "not in the trail" in output) == (1, True, True)


def test_index_rows_left_by_a_removed_last_entry_are_named(
    three_entries: str, engine: Engine
) -> None:
    tamper(engine, "audit_entry", "DELETE FROM audit_entry WHERE position = 3")
    code, output = verify(three_entries)
    assert (code, "BROKEN at entry 3" in output, "not in the trail" in output) == (1, True, True)


def head_of(url: str) -> str:
    """The head an operator would have kept: POSITION:HASH from an intact run's output."""
    match = re.search(r"head position (\d+), hash ([0-9a-f]{64})", verify(url)[1])
    assert match is not None
    return f"{match[1]}:{match[2]}"


def verify_against(url: str, head: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--database-url", url, "--recorded-head", head])
    return result.exit_code, result.output


def test_a_chain_grown_past_its_recorded_head_verifies(three_entries: str, system: System) -> None:
    head = head_of(three_entries)
    record(system, event([(upn(4), "100001")]))
    assert verify_against(three_entries, head)[0] == 0


def test_entries_removed_from_the_end_are_found_against_the_recorded_head(
    three_entries: str, engine: Engine
) -> None:
    head = head_of(three_entries)
    tamper(engine, "audit_entry_child", "DELETE FROM audit_entry_child WHERE position = 3")
    tamper(engine, "audit_entry", "DELETE FROM audit_entry WHERE position = 3")
    assert verify(three_entries)[0] == 0  # the shorter chain is valid on its own
    code, output = verify_against(three_entries, head)
    assert (code, "removed from its end" in output) == (1, True)


def rewrite_and_rehash_the_last_entry(engine: Engine) -> None:
    """Change the last entry and give it the hash of its new content: a valid chain again."""
    with Session(engine) as session:
        last = list(AuditRepository(session).walk())[-1]
    rehashed = entry_hash(
        replace(last.content, purpose="statistics"),
        position=last.position,
        previous_hash=last.previous_hash,
    )
    tamper(
        engine,
        "audit_entry",
        f"UPDATE audit_entry SET purpose = 'statistics', entry_hash = '{rehashed}' "
        f"WHERE position = {last.position}",
    )


def test_a_rewritten_and_rehashed_chain_is_found_against_the_recorded_head(
    three_entries: str, engine: Engine
) -> None:
    head = head_of(three_entries)
    rewrite_and_rehash_the_last_entry(engine)
    assert verify(three_entries)[0] == 0  # consistent again, so the chain alone cannot tell
    code, output = verify_against(three_entries, head)
    assert (code, "BROKEN at entry 3" in output, "rewritten" in output) == (1, True, True)


def test_a_malformed_recorded_head_is_refused(three_entries: str) -> None:
    code, output = verify_against(three_entries, "3:not-a-hash")
    assert (code, "POSITION:HASH" in output) == (2, True)


def checkpoint_of(system: System) -> str:
    """A checkpoint as a school, trust or LA would fetch and keep it."""
    school = system.create_organisation("school")
    headers = system.headers_for(str(school["id"]), "school_system", ["audit:read"])
    return str(system.sharing.get("/v1/audit/checkpoint", headers=headers).json()["checkpoint"])


def verify_checkpoint(url: str, token: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--database-url", url, "--checkpoint", token])
    return result.exit_code, result.output


def test_a_chain_grown_past_its_checkpoint_verifies(three_entries: str, system: System) -> None:
    token = checkpoint_of(system)
    record(system, event([(upn(4), "100001")]))
    code, output = verify_checkpoint(three_entries, token)
    assert (code, "head position 3" in output, "intact: 4 entries" in output) == (0, True, True)


def test_a_rewritten_and_rehashed_chain_is_found_against_its_checkpoint(
    three_entries: str, engine: Engine, system: System
) -> None:
    token = checkpoint_of(system)
    rewrite_and_rehash_the_last_entry(engine)
    code, output = verify_checkpoint(three_entries, token)
    assert (code, "BROKEN at entry 3" in output, "rewritten" in output) == (1, True, True)


def test_a_checkpoint_signed_by_another_key_is_refused(three_entries: str) -> None:
    forger = ECKey.generate_key("P-256", parameters={"kid": "forged"}, private=True)
    token = sign_checkpoint(
        RecordedHead(3, "0" * 64), issuer="https://forger", at=datetime.now(UTC), key=forger
    )
    code, output = verify_checkpoint(three_entries, token)
    assert (code, "not signed by any of this service's keys" in output) == (2, True)


def test_a_checkpoint_still_verifies_after_its_key_is_retired(
    three_entries: str, system: System
) -> None:
    token = checkpoint_of(system)
    system.sharing.post("/v1/signing-keys", headers=system.admin_headers())
    retired = system.sharing.post(
        "/v1/signing-keys/retire-previous", headers=system.admin_headers()
    )
    assert "retired" in {k["status"] for k in retired.json()["items"]}
    assert verify_checkpoint(three_entries, token)[0] == 0


def test_a_recorded_head_and_a_checkpoint_together_are_refused(three_entries: str) -> None:
    both = ["--recorded-head", "3:" + "0" * 64, "--checkpoint", "x.y.z"]
    result = runner.invoke(app, ["audit", "verify", "--database-url", three_entries, *both])
    assert (result.exit_code, "not both" in result.output) == (2, True)
