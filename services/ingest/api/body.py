"""Reading a return's body: size-capped, checksummed, spooled to disk, never held twice.

This is an `async` dependency because the body is read from the ASGI stream; the parsing
that follows runs in the (sync) handler, off the event loop.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import IO, Annotated

from fastapi import Depends, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from services.ingest.domain.formats import (
    CSV_MEDIA_TYPE,
    CTF_MEDIA_TYPE,
    JSON_MEDIA_TYPE,
    MULTIPART_MEDIA_TYPE,
)
from services.ingest.domain.problems import MalformedReturn, ReturnTooLarge, UnsupportedFormat
from services.ingest.settings import IngestSettings

SPOOL_IN_MEMORY = 1024 * 1024
MEDIA_FORMATS = {
    JSON_MEDIA_TYPE: "json",
    CSV_MEDIA_TYPE: "csv",
    MULTIPART_MEDIA_TYPE: "csv",
    CTF_MEDIA_TYPE: "ctf",
    "text/xml": "ctf",
}


@dataclass
class ReturnBody:
    """A received body: its format, its bytes on a spooled file (or parts), its checksum."""

    format: str
    media_type: str
    sha256: str
    size: int
    file: IO[bytes] | None = None
    parts: dict[str, IO[bytes]] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)


def too_large(limit: int) -> ReturnTooLarge:
    """The error for a body over `limit` bytes."""
    return ReturnTooLarge(f"The return is larger than the limit of {limit} bytes.")


async def capped(
    chunks: AsyncIterator[bytes], limit: int, digest: hashlib._Hash
) -> AsyncGenerator[bytes, None]:
    """Pass chunks through, hashing them, and stop with ReturnTooLarge past `limit` bytes."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        digest.update(chunk)
        yield chunk


def _media_type(request: Request) -> tuple[str, dict[str, str]]:
    raw = request.headers.get("content-type", "")
    media, _, rest = raw.partition(";")
    params = {}
    for item in rest.split(";"):
        key, _, value = item.strip().partition("=")
        if key:
            params[key.lower()] = value.strip('"').lower()
    return media.strip().lower(), params


async def read_return_body(request: Request) -> AsyncGenerator[ReturnBody, None]:
    """The request body as a ReturnBody, closed after the request; oversize bodies refused."""
    body = await _read(request)
    try:
        yield body
    finally:
        for file in [body.file, *body.parts.values()]:
            if file is not None:
                file.close()


async def _read(request: Request) -> ReturnBody:
    settings: IngestSettings = request.state.settings
    limit = settings.max_return_bytes
    media, params = _media_type(request)
    if media not in MEDIA_FORMATS:
        raise UnsupportedFormat(
            f"Content-Type {media or '(none)'} is not read here: send application/json, "
            "multipart/form-data (CSV parts), text/csv or application/xml (CTF)."
        )
    charset = params.get("charset", "utf-8")
    if media != CTF_MEDIA_TYPE and media != "text/xml" and charset not in ("utf-8", "utf8"):
        raise UnsupportedFormat(f"charset {charset} is not accepted: returns are UTF-8.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    digest = hashlib.sha256()
    stream = capped(request.stream(), limit, digest)
    if media == MULTIPART_MEDIA_TYPE:
        return await _read_multipart(request, stream, digest)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    async for chunk in stream:
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    return ReturnBody(MEDIA_FORMATS[media], media, digest.hexdigest(), size, file=spool)


async def _read_multipart(
    request: Request, stream: AsyncGenerator[bytes, None], digest: hashlib._Hash
) -> ReturnBody:
    parser = MultiPartParser(request.headers, stream, max_files=4, max_fields=8)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise MalformedReturn(f"The multipart body is malformed: {exc.message}") from exc
    body = ReturnBody("csv", MULTIPART_MEDIA_TYPE, digest.hexdigest(), 0)
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            value.file.seek(0)
            body.parts[name] = value.file
        else:
            body.fields[name] = value
    return body


ReturnBodyDep = Annotated[ReturnBody, Depends(read_return_body)]
