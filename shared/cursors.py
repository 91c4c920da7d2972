"""Opaque page cursors: the kind of list and a position in it, base64url-encoded.

Clients pass a cursor back unchanged. One that names another kind of list, or that was
not made here, decodes to None, and each service answers it with its own problem.
"""

from __future__ import annotations

import base64
import binascii


def encode_cursor(kind: str, position: str | int) -> str:
    """The cursor for `position` in a list of `kind` (no padding: safe in a query)."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> str | None:
    """The position a cursor of `kind` names, or None if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, colon, position = raw.partition(":")
    return position if prefix == kind and colon else None
