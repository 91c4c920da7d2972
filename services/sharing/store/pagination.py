"""Opaque keyset cursors: a list is ordered by a unique key and a cursor names the last one."""

from __future__ import annotations

from services.sharing.domain.errors import InvalidRequest
from shared import cursors
from shared.problems import ProblemItem

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(last_key: str) -> str:
    """The cursor that continues after `last_key`."""
    return cursors.encode_cursor("after", last_key)


def decode_cursor(cursor: str | None) -> str | None:
    """The key a cursor continues after; a cursor this service did not make is refused."""
    if cursor is None:
        return None
    after = cursors.decode_cursor("after", cursor)
    if after is not None:
        return after
    raise InvalidRequest(
        "The cursor is not one this service issued.",
        [
            ProblemItem(
                location="query:cursor",
                code="invalid_cursor",
                detail="pass back the next_cursor of a previous page unchanged",
            )
        ],
    )


def next_cursor(keys: list[str], limit: int) -> str | None:
    """Given the keys of a page fetched with `limit + 1`, the cursor of the next page."""
    return encode_cursor(keys[limit - 1]) if len(keys) > limit else None
