"""The audit tables themselves: append-only at the database, one chain under concurrency,
and a reach of more children than one query takes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from services.sharing.domain.audit import AuditReach, ChildReach, verify_chain
from services.sharing.store.audit_repository import CHILD_BATCH, AuditFilters, AuditRepository
from shared.db import create_db_engine
from tests.sharing.audit_support import entry_content
from tests.support.databases import as_owner

WRITERS = 8


@pytest.fixture
def engine(database_url: Callable[[str], str]) -> Iterator[Engine]:
    """The sharing database as its owner: the triggers refuse even the owner (the service's
    own role is refused by its privileges before them, `tests/shared/test_runtime_role.py`)."""
    engine = create_db_engine(as_owner(database_url("sharing")))
    yield engine
    engine.dispose()


def append(engine: Engine, serial: int) -> None:
    with Session(engine) as session:
        AuditRepository(session).append([entry_content(serial)])
        session.commit()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET purpose = 'statistics'",
        "DELETE FROM audit_entry_child",
        "UPDATE audit_entry_child SET upn = 'X'",
    ],
)
def test_the_database_refuses_to_change_the_trail(engine: Engine, statement: str) -> None:
    append(engine, 1)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))


def test_the_database_refuses_to_delete_an_entry(engine: Engine) -> None:
    append(engine, 1)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry"))


def test_the_database_refuses_to_truncate_the_trail(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its unqualified DELETE is refused above")
    append(engine, 1)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_entry_child, audit_entry"))


def test_concurrent_writers_extend_one_chain(engine: Engine) -> None:
    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def writer(serial: int) -> None:
        barrier.wait()
        try:
            append(engine, serial)
        except BaseException as exc:  # collected, so the assertion shows what went wrong
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(1, WRITERS + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        report = verify_chain(AuditRepository(session).walk())
    assert (failures, report.entries, report.broken) == ([], WRITERS, None)


def many_children() -> tuple[ChildReach, ...]:
    """Windows of enough children for three batches (the UPNs need not be valid here)."""
    return tuple(ChildReach(f"T{n:012d}") for n in range(CHILD_BATCH * 2 + CHILD_BATCH // 2))


def reads_in_every_batch(engine: Engine) -> None:
    """Reads, oldest first, of a child in each batch of `many_children`, and of one outside."""
    with Session(engine) as session:
        AuditRepository(session).append(
            [
                entry_content(1, "T000000000005"),
                entry_content(2, f"T{CHILD_BATCH + 5:012d}"),
                entry_content(3, "T999999999999"),
                entry_content(4, f"T{CHILD_BATCH * 2 + 5:012d}"),
            ]
        )
        session.commit()


def test_a_reach_of_many_children_finds_reads_in_every_batch(engine: Engine) -> None:
    reads_in_every_batch(engine)
    with Session(engine) as session:
        rows = AuditRepository(session).page(
            AuditReach(children=many_children()), AuditFilters(), before=None, limit=10
        )
        assert [r.position for r in rows] == [4, 2, 1]


def test_a_reach_of_many_children_pages_newest_first_across_batches(engine: Engine) -> None:
    reads_in_every_batch(engine)
    with Session(engine) as session:
        rows = AuditRepository(session).page(
            AuditReach(children=many_children()), AuditFilters(), before=None, limit=1
        )
        assert [r.position for r in rows] == [4, 2]
