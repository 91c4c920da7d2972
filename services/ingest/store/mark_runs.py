"""A run: one pupil's new marks from one return, kept as one `ingest_change` row.

A backfill writes hundreds of thousands of new marks, and a feed row per mark doubled
the cost of the write (every row and its index entries, once in the register and again
in `ingest_change`). So each pupil's marks written directly (all new, nothing withdrawn)
are one row: its `marks` column holds them as text, and its `sequence` is the last of
len(run) consecutive feed numbers reserved for them. The feed and the history expand a
run as they read it, so readers see one change per mark, numbered as if each had a row.

Encoding: one token per mark, space-separated, in (date, session) order: the ISO date,
`A` or `P` for the session, then the code (`2024-09-02A/`, `2024-09-02PC1`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from operator import itemgetter

from services.ingest.domain.parsing import MarkRow

_SESSION_LETTER = {"AM": "A", "PM": "P"}
_LETTER_SESSION = {letter: session for session, letter in _SESSION_LETTER.items()}


@dataclass(frozen=True)
class Run:
    """One pupil's marks as a run's text, and how many marks it holds."""

    upn: str
    count: int
    text: str


def runs(marks: Sequence[MarkRow]) -> Iterator[Run]:
    """The run of each pupil of sorted marks, in the marks' order."""
    # One pass per pupil; each date's ISO form is made once (a year is ~200 days, each
    # in every pupil's run).
    iso = {day: day.isoformat() for day in set(map(itemgetter(1), marks))}
    letter = _SESSION_LETTER
    for upn, group in groupby(marks, key=itemgetter(0)):
        tokens = [f"{iso[d]}{letter[s]}{c}" for _upn, d, s, c, _ref in group]
        yield Run(upn, len(tokens), " ".join(tokens))


def unpack(text: str) -> list[tuple[date, str, str]]:
    """The (date, session, code) marks of a run's text, in order."""
    fromisoformat = date.fromisoformat
    return [(fromisoformat(t[:10]), _LETTER_SESSION[t[10]], t[11:]) for t in text.split(" ")]
