"""Opaque keyset cursors: a list is ordered by a unique key and a cursor names the last one."""

from __future__ import annotations

import base64
import binascii
import json

from services.sharing.domain.errors import InvalidRequest
from shared.problems import ProblemItem

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(last_key: str) -> str:
    """The cursor that continues after `last_key`."""
    raw = json.dumps({"after": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key a cursor continues after; a cursor this service did not make is refused."""
    if cursor is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = data["after"]
        if isinstance(after, str):
            return after
    except (binascii.Error, ValueError, KeyError, TypeError):
        pass
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
