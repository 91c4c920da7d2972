"""RFC 9457 problem details, the one error shape every service answers with.

The hierarchy is small on purpose::

    DomainError                 raised by domain code; carries no HTTP status
     └── (each service's own errors, e.g. ReturnRejected, ChildNotVisible)

Each service maps its domain error classes to HTTP statuses in `api/errors.py` and
passes that table to `install_problem_handlers`, which also renders FastAPI's own
request-validation errors and `HTTPException`s in the same shape. Anything else is a
bug: it becomes a 500 problem with a trace id that is also logged.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://attendance-exchange.org/problems/"
DEFAULT_ERROR_CAP = 100


class ProblemItem(BaseModel):
    """One problem found in a request; a response lists every one of them."""

    location: str | None = Field(
        default=None,
        description="Where: a JSON pointer (/marks/3/code), a CSV line (marks.csv:17) "
        "or an XML element path (/CTfile/CTFpupilData/Pupil[2]/UPN).",
    )
    code: str = Field(description="Machine-readable reason, e.g. code_not_in_force.")
    detail: str = Field(description="What is wrong, for a person.")


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(default="about:blank", description="A URI naming the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(default=None, description="What happened this time.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[ProblemItem] = Field(
        default_factory=list, description="Every problem found, up to a cap."
    )
    errors_total: int | None = Field(
        default=None,
        description="How many problems were found in all, when more than `errors` lists.",
    )


@dataclass
class DomainError(Exception):
    """Base of every error raised by domain code; mapped to a status at the HTTP edge."""

    detail: str
    errors: Sequence[ProblemItem] = field(default_factory=list)
    errors_total: int | None = None
    kind: str = "domain-error"

    def __str__(self) -> str:
        return self.detail


def problem_response(
    status: int,
    *,
    detail: str | None = None,
    instance: str | None = None,
    kind: str | None = None,
    errors: Iterable[ProblemItem] = (),
    errors_total: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Render one problem as an `application/problem+json` response."""
    items = list(errors)
    problem = Problem(
        type=f"{PROBLEM_TYPE_BASE}{kind}" if kind else "about:blank",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        errors=items,
        errors_total=errors_total if errors_total and errors_total > len(items) else None,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _pointer(loc: Sequence[Any]) -> str:
    parts = list(loc)
    source = parts[0] if parts else "body"
    if source == "body":
        return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts[1:])
    return f"{source}:" + ".".join(str(p) for p in parts[1:])


def validation_items(errors: Iterable[Mapping[str, Any]]) -> list[ProblemItem]:
    """Convert pydantic/FastAPI validation errors to problem items with JSON pointers."""
    return [
        ProblemItem(
            location=_pointer(e.get("loc", ())),
            code=e.get("type", "invalid"),
            detail=e.get("msg", "invalid"),
        )
        for e in errors
    ]


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": desc}
    for status, desc in {
        400: "Malformed request (for example a body that is not valid JSON).",
        401: "No valid access token.",
        403: "The token lacks a scope, or the caller may not act on this resource.",
        404: "Not found, or not visible to this caller.",
        405: "Method not allowed.",
        422: "The request was understood but is invalid; every problem is listed.",
    }.items()
}
"""The error responses every route may give, declared once for OpenAPI and schemathesis."""


_OPERATIONS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def allowed_methods(request: Request) -> list[str]:
    """Every method the app's OpenAPI document lists for this path.

    Starlette answers 405 with the methods of the first route whose path matched; when
    GET and POST of one path are separate routes, that `Allow` would be wrong. A literal
    path (`/v1/alerts/events`) is its own resource, not an instance of a template
    (`/v1/alerts/{alert_id}`) it also happens to match.
    """
    paths = request.app.openapi().get("paths", {})
    path = request.url.path
    if path in paths:
        candidates = [paths[path]]
    else:
        candidates = [
            operations
            for template, operations in paths.items()
            if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path)
        ]
    return sorted({m.upper() for ops in candidates for m in ops if m in _OPERATIONS})


# A JSON string escape of NUL (\u0000) not itself escaped (an even run of backslashes
# before it): a raw NUL byte is already invalid JSON.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
JSON_BODY_CHECKED_UP_TO = 1 << 20
"""JSON bodies up to this size are read whole and checked for NUL before the app sees
them (every API request body; ingest's streamed returns check their own fields)."""


class RejectNulBytes:
    """ASGI middleware: a NUL byte in the path, the query or a JSON body of up to
    `JSON_BODY_CHECKED_UP_TO` bytes is refused with a 400 problem.

    No identifier, date, name or filter legitimately holds one, and PostgreSQL text
    cannot store or compare one: left alone it would surface as a database error (500).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = unquote_to_bytes(scope.get("query_string", b""))
        if b"\x00" in query or "\x00" in scope.get("path", ""):
            await self._refuse(scope, receive, send, "The request's path or query")
            return
        if not _small_json(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        # The substring test first: a regex tried at every offset of a daily return's
        # 230 KB cost ~15 ms; the substring search is a memchr-speed scan.
        if b"\\u0000" in body and _JSON_NUL.search(body):
            await self._refuse(scope, receive, send, "The request body")
            return
        replay = iter(messages)

        async def replayed() -> Message:
            # The body as it came, then whatever the client sends next (a disconnect).
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, where: str) -> None:
        response = problem_response(
            400,
            detail=f"{where} contains a NUL byte.",
            instance=scope.get("path", "").replace("\x00", ""),
            kind="malformed-request",
        )
        await response(scope, receive, send)


def _small_json(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    length = headers.get(b"content-length", b"")
    return (
        media_type.endswith(b"json") and length.isdigit() and int(length) <= JSON_BODY_CHECKED_UP_TO
    )


def install_problem_handlers(
    app: FastAPI, status_map: Mapping[type[DomainError], int] | None = None
) -> None:
    """Render domain errors, validation errors and HTTP errors as problem+json."""
    table = dict(status_map or {})

    def status_for(exc: DomainError) -> int:
        for cls in type(exc).__mro__:
            if cls in table:
                return table[cls]
        return 422

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(
            status_for(exc),
            detail=exc.detail,
            instance=request.url.path,
            kind=exc.kind,
            errors=exc.errors,
            errors_total=exc.errors_total,
        )

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        raw = list(exc.errors())
        malformed = any(e.get("type") == "json_invalid" for e in raw)
        items = validation_items(raw)
        return problem_response(
            400 if malformed else 422,
            detail="The request body is not valid JSON."
            if malformed
            else f"The request has {len(items)} problem(s).",
            instance=request.url.path,
            kind="malformed-request" if malformed else "validation-error",
            errors=items[:DEFAULT_ERROR_CAP],
            errors_total=len(items),
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(
            exc.status_code, detail=detail, instance=request.url.path, headers=headers
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        trace_id = uuid.uuid4().hex
        logger.exception("unhandled error, trace id %s", trace_id, exc_info=exc)
        return problem_response(
            500,
            detail=f"An unexpected error occurred; quote trace id {trace_id}.",
            instance=request.url.path,
        )

    app.add_middleware(RejectNulBytes)
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
