"""How this service reads and writes the CTF `AttendanceMarks` string (see docs/ctf.md).

The DfE specification of how CTF 24/25 write the two-character 2024 codes inside that
string could not be confirmed, so this module implements one documented, unambiguous
reading and refuses everything that would need guessing:

- The string holds one token per session, AM then PM, for **every calendar day** from
  `AttendanceStartDate` on, weekends and holidays included.
- A token is one mark character, or a letter followed by one digit (`C1`, `C2`, `J1`,
  `Y1`..`Y7`): no attendance code is a digit, so a digit always belongs to the letter
  before it and the split is never ambiguous.
- `-` is "no mark entered" (not a code). On a Saturday or Sunday only `-` or `#` may
  appear: any other mark there means the file was written weekday-only, which would
  shift every later day, so it is refused rather than silently misdated.
- A digit that does not follow a letter, whitespace or any other stray character is
  refused with its offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from services.ingest.domain.model import SESSIONS

WEEKEND_ALLOWED = frozenset({"-", "#"})
MARK_CHARACTERS = frozenset("/\\#-ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WELL_FORMED = re.compile(r"(?:[A-Z][0-9]?|[/\\#-])*")
_TOKEN = re.compile(r"[A-Z][0-9]?|.", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Token:
    """One session read from an AttendanceMarks string."""

    day: date
    session: str
    code: str
    offset: int
    """Zero-based character offset of the token in the string."""


@dataclass(frozen=True, slots=True)
class TokenError:
    """Why part of an AttendanceMarks string cannot be read."""

    offset: int
    code: str
    detail: str


def is_weekend(day: date) -> bool:
    """Saturday or Sunday."""
    return day.weekday() >= 5


def decode_marks(start: date, marks: str) -> Iterator[Token | TokenError]:
    """The sessions of one AttendanceMarks string, and a TokenError for each unreadable part."""
    index = 0
    position = 0
    length = len(marks)
    while index < length:
        char = marks[index]
        offset = index
        if char.isdigit():
            yield TokenError(
                offset,
                "ctf_marks_ambiguous",
                f"digit {char!r} at offset {offset} does not follow a letter",
            )
            index += 1
            position += 1
            continue
        if char not in MARK_CHARACTERS:
            yield TokenError(
                offset,
                "ctf_marks_invalid_character",
                f"character {char!r} at offset {offset} is not a register mark",
            )
            index += 1
            position += 1
            continue
        code = char
        if char.isalpha() and index + 1 < length and marks[index + 1].isdigit():
            code = marks[index : index + 2]
            index += 2
        else:
            index += 1
        day = start + timedelta(days=position // 2)
        session = SESSIONS[position % 2]
        position += 1
        if is_weekend(day) and code not in WEEKEND_ALLOWED:
            yield TokenError(
                offset,
                "ctf_marks_weekend",
                f"mark {code!r} at offset {offset} falls on {day.isoformat()}, a "
                f"{day.strftime('%A')}: this service reads AttendanceMarks as every calendar "
                "day, so a weekday-only string would be misdated; only '-' or '#' may fall "
                "on a weekend",
            )
            continue
        yield Token(day, session, code, offset)


def split_well_formed(marks: str) -> list[str] | None:
    """The tokens of a string made only of well-formed tokens, one per session; else None.

    The fast path of `decode_marks` for the usual, valid string: two regular-expression
    passes in C instead of a Python step per character. None (a stray digit or character)
    means the caller must use `decode_marks` to name each problem and its offset.
    """
    if _WELL_FORMED.fullmatch(marks) is None:
        return None
    return _TOKEN.findall(marks)


def encode_marks(start: date, end: date, codes: Mapping[tuple[date, str], str]) -> str:
    """The AttendanceMarks string for `start`..`end` inclusive; sessions not in `codes` are `-`."""
    parts: list[str] = []
    day = start
    while day <= end:
        for session in SESSIONS:
            code = codes.get((day, session), "-")
            if is_weekend(day) and code not in WEEKEND_ALLOWED:
                raise ValueError(f"a CTF cannot carry mark {code!r} on {day.isoformat()}")
            parts.append(code)
        day += timedelta(days=1)
    return "".join(parts)
