"""Building a breakdown: regrouping cells, adding every margin, ordering rows."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

from services.metrics.domain.groups import TOTAL
from services.metrics.domain.measures import GroupMeasures

Key = tuple[str, ...]


def regroup(
    rows: Iterable[tuple[Key, GroupMeasures]], to_key: Callable[[Key], Key]
) -> dict[Key, GroupMeasures]:
    """Sum rows into the cells `to_key` maps them to (measures are additive)."""
    cells: dict[Key, GroupMeasures] = {}
    for key, measures in rows:
        target = to_key(key)
        cells[target] = cells.get(target, GroupMeasures.empty()) + measures
    return cells


def with_margins(cells: Mapping[Key, GroupMeasures], width: int) -> dict[Key, GroupMeasures]:
    """Cells plus every margin (`TOTAL` in any subset of positions), the grand total included."""
    table: dict[Key, GroupMeasures] = {}
    for key, measures in cells.items():
        for mask in itertools.product((False, True), repeat=width):
            margin = tuple(TOTAL if m else v for v, m in zip(key, mask, strict=True))
            table[margin] = table.get(margin, GroupMeasures.empty()) + measures
    if not table:
        table[tuple([TOTAL] * width)] = GroupMeasures.empty()
    return table


def ordered(keys: Iterable[Key]) -> list[Key]:
    """Rows in a stable order: by value, each dimension's total after its values."""
    return sorted(keys, key=lambda k: tuple((v == TOTAL, v) for v in k))


def label(group_by: Sequence[str], key: Key) -> dict[str, str]:
    return dict(zip(group_by, key, strict=True))
