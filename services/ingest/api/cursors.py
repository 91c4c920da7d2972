"""The ingest lists' cursors: a kind prefix and a sequence number (`shared.cursors`)."""

from __future__ import annotations

from services.ingest.domain.problems import InvalidCursor
from shared import cursors


def encode_cursor(kind: str, position: int) -> str:
    """The cursor for `position` in a list of `kind`."""
    return cursors.encode_cursor(kind, position)


def decode_cursor(kind: str, cursor: str | None) -> int:
    """The position a cursor names (0, the start, for None); InvalidCursor if not ours."""
    if not cursor:
        return 0
    position = cursors.decode_cursor(kind, cursor)
    if position is None or not position.isdigit():
        raise InvalidCursor("The cursor was not issued by this list; start without one.")
    return int(position)
