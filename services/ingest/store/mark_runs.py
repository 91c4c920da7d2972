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

from collections.abc import Iterable, Mapping
from datetime import date

_SESSION_LETTER = {"AM": "A", "PM": "P"}
_LETTER_SESSION = {letter: session for session, letter in _SESSION_LETTER.items()}


def pack(marks: Iterable[tuple[date, str, str]], iso: Mapping[date, str] | None = None) -> str:
    """A run's text from its (date, session, code) marks, already in (date, session) order.

    `iso` may give the dates' ISO forms, made once for a whole return's runs.
    """
    if iso is None:
        return " ".join(f"{d.isoformat()}{_SESSION_LETTER[s]}{c}" for d, s, c in marks)
    return " ".join(f"{iso[d]}{_SESSION_LETTER[s]}{c}" for d, s, c in marks)


def unpack(run: str) -> list[tuple[date, str, str]]:
    """The (date, session, code) marks of a run's text, in order."""
    fromisoformat = date.fromisoformat
    return [(fromisoformat(t[:10]), _LETTER_SESSION[t[10]], t[11:]) for t in run.split(" ")]
