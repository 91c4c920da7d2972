"""The body cap also holds while streaming, for bodies that declare no length."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

from services.ingest.api.body import capped
from services.ingest.domain.problems import ReturnTooLarge


def test_streaming_stops_reading_past_the_limit() -> None:
    consumed = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal consumed
        while True:
            consumed += 1024
            yield b"x" * 1024

    async def drain() -> None:
        async for _chunk in capped(endless(), 10 * 1024, hashlib.sha256()):
            pass

    with pytest.raises(ReturnTooLarge):
        asyncio.run(drain())
    assert consumed == 11 * 1024
