"""Opaque cursors: a kind prefix and a position, base64url-encoded."""

from __future__ import annotations

import base64
import binascii

from services.ingest.domain.problems import InvalidCursor


def encode_cursor(kind: str, position: int) -> str:
    """The cursor for `position` in a list of `kind`."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int:
    """The position a cursor names (0, the start, for None); InvalidCursor if not ours."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, position = raw.partition(":")
        if prefix == kind and position.isdigit():
            return int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidCursor("The cursor was not issued by this list; start without one.")
