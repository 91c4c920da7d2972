"""Lists and tables of values bound as parameters read the same on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Date, Engine, Integer, String, select

from services.metrics.store.projection import enrolment_t
from shared.db import create_db_engine
from shared.sql import one_of, values_table


@pytest.fixture
def engine(database_url: Callable[[str], str]) -> Iterator[Engine]:
    engine = create_db_engine(database_url("metrics"))
    yield engine
    engine.dispose()


def _enrol(engine: Engine, n: int) -> None:
    rows = [
        {
            "school_urn": f"{100000 + i % 7:06d}",
            "upn": f"A{i:011d}B",
            "legal_surname": "S",
            "legal_forename": "F",
            "date_of_birth": dt.date(2015, 1, 1),
            "gender": "F",
            "nc_year": "4",
            "sen_provision": "N",
            "fsm_eligible": False,
            "ethnicity": "WBRI",
            "ethnicity_group": "White",
            "enrolment_status": "C",
            "entry_date": dt.date(2020, 9, 1),
        }
        for i in range(n)
    ]
    with engine.begin() as connection:
        connection.execute(enrolment_t.insert(), rows)


def test_one_of_matches_exactly_the_values_given_beyond_any_parameter_limit(
    engine: Engine,
) -> None:
    _enrol(engine, 2500)
    wanted = [f"A{i:011d}B" for i in range(0, 5000, 2)]  # half are not on the roll
    with engine.connect() as connection:
        found = connection.execute(
            select(enrolment_t.c.upn).where(one_of(connection, enrolment_t.c.upn, wanted))
        ).scalars()
        assert sorted(found) == [f"A{i:011d}B" for i in range(0, 2500, 2)]


def test_one_of_an_empty_list_matches_nothing(engine: Engine) -> None:
    _enrol(engine, 3)
    with engine.connect() as connection:
        found = connection.execute(
            select(enrolment_t.c.id).where(one_of(connection, enrolment_t.c.id, []))
        ).all()
    assert found == []


def test_values_table_reads_back_typed_rows_joinable_to_a_table(engine: Engine) -> None:
    _enrol(engine, 10)
    rows = [(f"{100000 + i % 7:06d}", f"A{i:011d}B", i, dt.date(2024, 12, 13)) for i in (1, 4, 9)]
    with engine.connect() as connection:
        table = values_table(
            connection,
            "wanted",
            {"urn": String(), "upn": String(), "n": Integer(), "on": Date()},
            rows,
        )
        found = connection.execute(
            select(table.c.n, table.c.on, enrolment_t.c.upn)
            .select_from(
                table.join(
                    enrolment_t,
                    (enrolment_t.c.school_urn == table.c.urn) & (enrolment_t.c.upn == table.c.upn),
                )
            )
            .order_by(table.c.n)
        ).all()
    assert [tuple(r) for r in found] == [
        (1, dt.date(2024, 12, 13), "A00000000001B"),
        (4, dt.date(2024, 12, 13), "A00000000004B"),
        (9, dt.date(2024, 12, 13), "A00000000009B"),
    ]


def test_values_table_keeps_text_with_quotes_commas_braces_and_backslashes(engine: Engine) -> None:
    awkward = ["a,b", 'say "hi"', "{x}", "back\\slash", " spaced ", "", "NULL"]
    with engine.connect() as connection:
        table = values_table(
            connection, "awkward", {"n": Integer(), "s": String()}, list(enumerate(awkward))
        )
        found = connection.execute(select(table.c.s).order_by(table.c.n)).scalars().all()
    assert found == awkward


def test_an_empty_values_table_has_no_rows(engine: Engine) -> None:
    with engine.connect() as connection:
        table = values_table(connection, "no_rows", {"n": Integer(), "on": Date()}, [])
        assert connection.execute(select(table.c.n)).all() == []
