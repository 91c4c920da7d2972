"""The read model follows ingest's real change feed: cursor, restarts, rebuild, wake-ups."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from services.metrics.clients.ingest import IngestFeedClient
from services.metrics.consumer import catch_up, rebuild
from services.metrics.main import feed_client
from services.metrics.store.projection import apply_page, mark_t, read_cursor
from shared.db import create_db_engine
from tests.metrics.support import absence, headers, submit, upn
from tests.support.system import System


@pytest.fixture
def engine(system: System) -> Iterator[Engine]:
    engine = create_db_engine(system.settings["metrics"].database.url)
    yield engine
    engine.dispose()


@pytest.fixture
def ingest_feed(system: System) -> Iterator[IngestFeedClient]:
    client = feed_client(system.settings["metrics"], system.transport)
    yield client
    client.close()


def test_a_submitted_return_reaches_the_measures(
    system: System, engine: Engine, ingest_feed: IngestFeedClient
) -> None:
    school = system.create_organisation("school", la_code="202")
    submit(system, school, {1: "/", 2: "I"})
    catch_up(engine, ingest_feed)
    m = absence(system, school)
    assert (m["enrolments"], m["sess_possible"], m["sess_authorised"]) == (2, 40, 20)


def test_a_pupil_taken_off_the_roll_leaves_the_measures(
    system: System, engine: Engine, ingest_feed: IngestFeedClient
) -> None:
    school = system.create_organisation("school", la_code="202")
    submit(system, school, {1: "/", 2: "I"})
    catch_up(engine, ingest_feed)
    removed = system.ingest.delete(
        f"/v1/schools/{school['urn']}/pupils/{upn(2)}",
        headers=headers(system, school, ["returns:write"]),
    )
    assert removed.status_code == 200, removed.text
    catch_up(engine, ingest_feed)
    m = absence(system, school)
    assert (m["enrolments"], m["sess_possible"], m["sess_authorised"]) == (1, 20, 0)


def test_catching_up_twice_counts_nothing_twice(
    system: System, engine: Engine, ingest_feed: IngestFeedClient
) -> None:
    school = system.create_organisation("school", la_code="202")
    submit(system, school, {1: "/", 2: "I"})
    catch_up(engine, ingest_feed)
    assert catch_up(engine, ingest_feed) == 0
    assert absence(system, school)["sess_possible"] == 40


def test_a_crash_before_commit_loses_the_page_and_the_restart_reapplies_it(
    system: System, engine: Engine, ingest_feed: IngestFeedClient
) -> None:
    school = system.create_organisation("school", la_code="202")
    submit(system, school, {1: "O"})
    page = ingest_feed.changes(None, 1000)

    def apply_then_die() -> None:
        with engine.begin() as connection:
            apply_page(connection, page)
            raise RuntimeError("the process died here")

    with pytest.raises(RuntimeError):
        apply_then_die()
    with engine.connect() as connection:
        assert read_cursor(connection) is None
        assert connection.execute(select(func.count()).select_from(mark_t)).scalar_one() == 0
    catch_up(engine, ingest_feed)
    assert absence(system, school)["sess_unauthorised"] == 20


def test_rebuilding_from_zero_gives_identical_numbers(
    system: System, engine: Engine, ingest_feed: IngestFeedClient
) -> None:
    school = system.create_organisation("school", la_code="202")
    submit(system, school, {1: "/", 2: "I", 3: "O"})
    catch_up(engine, ingest_feed)
    submit(system, school, {2: "/"})  # an amendment: pupil 2 was in after all
    catch_up(engine, ingest_feed)
    before = absence(system, school)
    rebuild(engine, ingest_feed)
    assert absence(system, school) == before
