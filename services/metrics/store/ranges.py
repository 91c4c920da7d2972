"""Many ranges of an enrolment's days as arrays, for views of thousands of pupils.

A view of 2,000 children counts four periods of every child over each window of its
access: some 10,000 (slot, enrolment, period) ranges. As `Period` objects each is built,
hashed and clipped in Python; as columns of ordinals they are clipped and placed on the
held days in a few array operations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.metrics.domain.calendar import Period

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Ranges:
    """Range i is enrolment `enrolment[i]`'s days `first[i]` to `last[i]` (inclusive,
    as `date.toordinal`), counted for `slot[i]` (what the caller adds it up under). A
    range may be empty (last before first): it counts nothing."""

    slot: IntArray
    enrolment: IntArray
    first: IntArray
    last: IntArray

    @classmethod
    def of(cls, ranges: Sequence[tuple[int, int, dt.date, dt.date]]) -> Ranges:
        """Ranges from (slot, enrolment id, first day, last day) tuples."""
        n = len(ranges)
        return cls(
            np.fromiter((r[0] for r in ranges), np.int64, n),
            np.fromiter((r[1] for r in ranges), np.int64, n),
            np.fromiter((r[2].toordinal() for r in ranges), np.int64, n),
            np.fromiter((r[3].toordinal() for r in ranges), np.int64, n),
        )

    def __len__(self) -> int:
        return len(self.slot)

    def triples(self) -> list[tuple[int, int, Period]]:
        """The ranges as (slot, enrolment id, period) triples (for the database)."""
        day = dt.date.fromordinal
        return [
            (s, e, Period(day(lo), day(hi)))
            for s, e, lo, hi in zip(
                self.slot.tolist(),
                self.enrolment.tolist(),
                self.first.tolist(),
                self.last.tolist(),
                strict=True,
            )
        ]

    def clipped(self, periods: Sequence[Period]) -> Ranges:
        """Each range's part inside each of `periods`, counted for slot
        `slot x len(periods) + the period's index`; empty parts left out."""
        width = len(periods)
        starts = np.array([p.start.toordinal() for p in periods], np.int64)
        ends = np.array([p.end.toordinal() for p in periods], np.int64)
        first = np.maximum(self.first[:, None], starts)
        last = np.minimum(self.last[:, None], ends)
        slot = self.slot[:, None] * width + np.arange(width)
        kept = first <= last
        return Ranges(
            slot[kept],
            np.broadcast_to(self.enrolment[:, None], kept.shape)[kept],
            first[kept],
            last[kept],
        )
