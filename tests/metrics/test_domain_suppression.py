"""Statistical disclosure control: primary and secondary suppression over all margins."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics.domain.groups import TOTAL
from services.metrics.domain.measures import GroupMeasures, SessionCounts
from services.metrics.domain.suppression import (
    SUPPRESSED,
    Family,
    Key,
    redact,
    relations,
    suppress,
)


def cell(enrolments: int, persistent: int = 0, severe: int = 0) -> GroupMeasures:
    return GroupMeasures(
        enrolments, SessionCounts({"sess_possible": enrolments * 10}), persistent, severe
    )


def with_margins(cells: dict[Key, GroupMeasures]) -> dict[Key, GroupMeasures]:
    """The full table: every cell plus every margin, as the service builds it."""
    table: dict[Key, GroupMeasures] = {}
    for key, measures in cells.items():
        for mask in itertools.product((False, True), repeat=len(key)):
            margin = tuple(TOTAL if m else v for v, m in zip(key, mask, strict=True))
            table[margin] = table.get(margin, GroupMeasures.empty()) + measures
    return table


@st.composite
def tables(draw: st.DrawFn) -> dict[Key, GroupMeasures]:
    dims = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 4)) for _ in range(dims)]
    cells: dict[Key, GroupMeasures] = {}
    for key in itertools.product(*[[f"v{i}" for i in range(n)] for n in sizes]):
        if draw(st.booleans()) or not cells:
            enrolments = draw(st.integers(1, 40))
            persistent = draw(st.integers(0, enrolments))
            severe = draw(st.integers(0, persistent))
            cells[key] = cell(enrolments, persistent, severe)
    return with_margins(cells)


@settings(max_examples=300, deadline=None)
@given(tables())
def test_every_margin_hides_none_or_at_least_two_members(table: dict[Key, GroupMeasures]) -> None:
    result = suppress(table)
    for family in Family:
        for rel in relations(list(table)):
            hidden = [m for m in rel.members if family in result[m]]
            assert len(hidden) != 1, (family, rel, hidden)


@settings(max_examples=300, deadline=None)
@given(tables())
def test_no_suppressed_value_follows_from_subtraction_along_a_margin(
    table: dict[Key, GroupMeasures],
) -> None:
    result = suppress(table)
    value: dict[Family, Callable[[Key], int]] = {
        Family.CELL: lambda k: table[k].enrolments,
        Family.PERSISTENT: lambda k: table[k].persistent,
        Family.SEVERE: lambda k: table[k].severe,
    }
    for family, of in value.items():
        for rel in relations(list(table)):
            for target in (m for m in rel.members if family in result[m]):
                others = [m for m in rel.members if m != target]
                unknown = [m for m in others if family in result[m]]
                if not unknown:
                    derived = (
                        of(rel.margin) - sum(of(c) for c in rel.children if c != target)
                        if target != rel.margin
                        else sum(of(c) for c in rel.children)
                    )
                    raise AssertionError(f"{target} = {derived} follows from {rel}")


@settings(max_examples=200, deadline=None)
@given(tables())
def test_every_small_group_and_small_absentee_count_is_suppressed(
    table: dict[Key, GroupMeasures],
) -> None:
    result = suppress(table)
    for key, measures in table.items():
        if measures.enrolments < 5:
            assert Family.CELL in result[key]
        if 0 < measures.persistent < 5:
            assert Family.PERSISTENT in result[key]
        if 0 < measures.severe < 5:
            assert Family.SEVERE in result[key]


def test_a_large_table_with_no_small_numbers_is_shown_whole() -> None:
    table = with_margins({("a",): cell(30, 6, 5), ("b",): cell(40, 0, 0)})
    assert all(not families for families in suppress(table).values())


def test_zero_absentees_stay_zero_when_other_cells_can_carry_the_suppression() -> None:
    table = with_margins({("a",): cell(30, 2), ("b",): cell(40, 0), ("c",): cell(50, 9)})
    result = suppress(table)
    assert Family.PERSISTENT in result[("a",)]
    assert Family.PERSISTENT not in result[("b",)]
    assert Family.PERSISTENT in result[("c",)]


def test_a_lone_small_cell_takes_the_next_smallest_sibling_with_it() -> None:
    table = with_margins({("a",): cell(3), ("b",): cell(20), ("c",): cell(9)})
    result = suppress(table)
    assert Family.CELL in result[("a",)]
    assert Family.CELL in result[("c",)]
    assert Family.CELL not in result[("b",)]


def test_a_small_cell_without_siblings_suppresses_its_margin() -> None:
    table = with_margins({("a", "x"): cell(3), ("b", "x"): cell(20), ("b", "y"): cell(20)})
    result = suppress(table)
    assert Family.CELL in result[("a", TOTAL)]


def test_redacting_a_cell_hides_every_measure() -> None:
    row = redact(cell(3).as_dict(), frozenset({Family.CELL}))
    assert set(row.values()) == {SUPPRESSED}


def test_redacting_persistent_absence_hides_its_count_and_rate_only() -> None:
    row = redact(cell(30, 2).as_dict(), frozenset({Family.PERSISTENT}))
    assert row["enrolments_pa_10_exact"] == SUPPRESSED
    assert row["enrolments_pa_10_exact_percent"] == SUPPRESSED
    assert row["enrolments"] == 30
