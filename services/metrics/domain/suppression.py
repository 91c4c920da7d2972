"""Statistical disclosure control for callers who may see aggregates only.

A table is every cell of a multi-way breakdown *and* every margin (a key holding
`TOTAL` in a position sums that dimension), as DfE's own files publish them. Each
margin with its children forms one linear relation, `margin = sum(children)`.

Primary suppression (threshold `t`, default 5):
- a cell of fewer than `t` enrolments has every measure suppressed;
- a count of persistent (or severe) absentees from 1 to `t - 1` is suppressed with its rate.

Secondary suppression, per family of measures (the whole cell; persistent; severe):
for each relation with exactly one suppressed member, suppress one more member -
the sibling with the smallest non-zero value, else the margin itself - and repeat
over all relations until nothing changes. Then every relation holds 0 or at least 2
suppressed members, so no suppressed value can be recovered by subtracting along a
margin. A zero is never suppressed for being small; only when a relation offers no
non-zero member at all is a zero hidden, since otherwise the one unknown would follow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.metrics.domain.groups import TOTAL
from services.metrics.domain.measures import GroupMeasures

Key = tuple[str, ...]
SUPPRESSED = "c"
DEFAULT_THRESHOLD = 5


class Family(StrEnum):
    """Measures suppressed together."""

    CELL = "cell"
    PERSISTENT = "persistent"
    SEVERE = "severe"


PERSISTENT_MEASURES = ("enrolments_pa_10_exact", "enrolments_pa_10_exact_percent")
SEVERE_MEASURES = ("enrolments_pa_50_exact", "enrolments_pa_50_exact_percent")


@dataclass(frozen=True)
class Relation:
    """`margin` equals the sum of `children`."""

    margin: Key
    children: tuple[Key, ...]

    @property
    def members(self) -> tuple[Key, ...]:
        return (self.margin, *self.children)


def relations(keys: list[Key]) -> list[Relation]:
    """Every margin-equals-sum-of-children relation among the keys of a table."""
    present = set(keys)
    by_slot: dict[tuple[int, Key], list[Key]] = defaultdict(list)
    for key in keys:
        for i, value in enumerate(key):
            if value != TOTAL:
                by_slot[(i, (*key[:i], TOTAL, *key[i + 1 :]))].append(key)
    found = []
    for (_, margin), children in sorted(by_slot.items()):
        if margin in present:
            found.append(Relation(margin, tuple(sorted(children))))
    return found


def _secondary(rels: list[Relation], value: Callable[[Key], int], suppressed: set[Key]) -> set[Key]:
    """Grow `suppressed` until no relation has exactly one suppressed member."""
    result = set(suppressed)
    changed = True
    while changed:
        changed = False
        for rel in rels:
            hidden = [m for m in rel.members if m in result]
            if len(hidden) != 1:
                continue
            visible_children = [c for c in rel.children if c not in result]
            ordered = sorted(
                (c for c in visible_children if value(c) > 0), key=lambda c: (value(c), c)
            )
            if not ordered and rel.margin not in result and value(rel.margin) > 0:
                ordered = [rel.margin]
            if not ordered:
                ordered = [m for m in rel.members if m not in result]
            if ordered:
                result.add(ordered[0])
                changed = True
    return result


def suppress(
    table: Mapping[Key, GroupMeasures], *, threshold: int = DEFAULT_THRESHOLD
) -> dict[Key, frozenset[Family]]:
    """Which families of measures to show as `c` in each cell of `table`."""
    keys = list(table)
    rels = relations(keys)
    cell = _secondary(
        rels,
        lambda k: table[k].enrolments,
        {k for k, m in table.items() if m.enrolments < threshold},
    )
    persistent = _secondary(
        rels,
        lambda k: table[k].persistent,
        cell | {k for k, m in table.items() if 0 < m.persistent < threshold},
    )
    severe = _secondary(
        rels,
        lambda k: table[k].severe,
        cell | {k for k, m in table.items() if 0 < m.severe < threshold},
    )
    return {
        k: frozenset(
            f
            for f, s in (
                (Family.CELL, cell),
                (Family.PERSISTENT, persistent),
                (Family.SEVERE, severe),
            )
            if k in s
        )
        for k in keys
    }


def redact(
    measures: dict[str, int | float | None], families: frozenset[Family]
) -> dict[str, int | float | str | None]:
    """A row of measures with the suppressed families replaced by `c`."""
    out: dict[str, int | float | str | None] = dict(measures)
    if Family.CELL in families:
        return dict.fromkeys(out, SUPPRESSED)
    if Family.PERSISTENT in families:
        out.update(dict.fromkeys(PERSISTENT_MEASURES, SUPPRESSED))
    if Family.SEVERE in families:
        out.update(dict.fromkeys(SEVERE_MEASURES, SUPPRESSED))
    return out
