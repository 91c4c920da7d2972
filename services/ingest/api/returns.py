"""Returns: submit one, read its receipt, list them, take a pupil off the roll, and read a
pupil's marks and history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Header, Path, Query, Response
from fastapi.responses import JSONResponse

from services.ingest.api.body import ReturnBodyDep
from services.ingest.api.cursors import decode_cursor, encode_cursor
from services.ingest.api.deps import (
    CanReadReturns,
    CanSubmitReturns,
    NotifierDep,
    SessionDep,
    SettingsDep,
    SharingDep,
)
from services.ingest.domain.access import caller_windows
from services.ingest.domain.model import DateRange
from services.ingest.domain.problems import NotSubmitter, ReturnNotFound, SchoolNotFound
from services.ingest.ingestion import accept_return, remove_from_roll
from services.ingest.schemas import (
    MarkHistoryEntry,
    PupilMark,
    PupilMarks,
    ReceiptPage,
    ReceiptPublic,
    ReturnIn,
)
from services.ingest.store.repository import IngestRepository
from shared.audit import AuditRecorderDep, PurposeHeader
from shared.auth import Principal
from shared.contracts.directory import SchoolRecord
from shared.identifiers import URN_PATTERN, normalise_upn
from shared.problems import PROBLEM_MEDIA_TYPE, Problem

router = APIRouter(tags=["returns"])

Urn = Annotated[str, Path(pattern=URN_PATTERN, description="The school's 6-digit URN.")]

_CSV_PART = {
    "type": "string",
    "format": "binary",
    "description": "A CSV file as docs/formats.md §2 describes.",
}
_RETURN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A return in one of three formats (docs/formats.md).",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ReturnIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["roll", "marks"],
                    "properties": {
                        "roll": _CSV_PART,
                        "marks": _CSV_PART,
                        "replace_from": {"type": "string", "format": "date"},
                        "replace_to": {"type": "string", "format": "date"},
                    },
                }
            },
            "text/csv": {
                "schema": {
                    "type": "string",
                    "description": "Marks-only CSV: upn,date,session,code.",
                }
            },
            "application/xml": {
                "schema": {"type": "string", "description": "A DfE Common Transfer File."}
            },
        },
    }
}
_PROBLEM = {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}


def add_return_body_schemas(app: FastAPI) -> None:
    """Put the JSON return's schema into components (the body is read raw, not by FastAPI)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            model = ReturnIn.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model.pop("$defs", {}))
            components["ReturnIn"] = model
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _school(sharing: SharingDep, urn: Urn) -> SchoolRecord:
    school = sharing.school(urn)
    if school is None:
        raise SchoolNotFound(f"No school with URN {urn} is known.")
    return school


SchoolDep = Annotated[SchoolRecord, Depends(_school)]


def _submitter(principal: CanSubmitReturns, school: SchoolDep) -> Principal:
    """Refuse, before the body is read, callers who never act for this school."""
    if not caller_windows(principal.organisation_id, school):
        raise NotSubmitter(f"Only school {school.urn} or its trust may submit its returns.")
    return principal


def _reader_windows(principal: CanReadReturns, school: SchoolDep) -> list[DateRange]:
    """The dates over which the caller may read this school's data; none is 404."""
    windows = caller_windows(principal.organisation_id, school)
    if not windows:
        raise SchoolNotFound(f"No school with URN {school.urn} is visible to you.")
    return windows


@router.post(
    "/schools/{urn}/returns",
    status_code=201,
    response_model=ReceiptPublic,
    openapi_extra=_RETURN_BODY,
    responses={
        200: {"model": ReceiptPublic, "description": "Replay of an Idempotency-Key."},
        413: {**_PROBLEM, "description": "The body is larger than the limit."},
        415: {**_PROBLEM, "description": "Not JSON, CSV or CTF XML."},
        503: {**_PROBLEM, "description": "The directory could not be asked."},
    },
)
def submit_return(
    urn: Urn,
    principal: Annotated[Principal, Depends(_submitter)],
    school: SchoolDep,
    body: ReturnBodyDep,
    session: SessionDep,
    settings: SettingsDep,
    notifier: NotifierDep,
    background: BackgroundTasks,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="Makes retries safe: the same key and body give the first receipt.",
        ),
    ] = None,
) -> ReceiptPublic:
    """Submit a return (JSON, CSV or CTF); it is stored whole or not at all."""
    now = datetime.now(UTC)
    accepted = accept_return(
        IngestRepository(session),
        school=school,
        principal=principal,
        body=body,
        idempotency_key=idempotency_key,
        today=now.date(),
        now=now,
        max_errors=settings.max_errors,
    )
    receipt = ReceiptPublic.of(accepted.receipt)
    response.headers["Location"] = f"/v1/schools/{urn}/returns/{receipt.id}"
    if not accepted.created:
        response.status_code = 200
    else:
        # Background tasks run after the response is sent, so after the commit.
        background.add_task(notifier.notify)
    return receipt


@router.get("/schools/{urn}/returns/{return_id}", response_model=ReceiptPublic)
def get_return(
    urn: Urn,
    return_id: Annotated[str, Path(max_length=36)],
    windows: Annotated[list[DateRange], Depends(_reader_windows)],
    session: SessionDep,
) -> ReceiptPublic:
    """The receipt of one return."""
    record = IngestRepository(session).receipt(urn, return_id)
    if record is None or not any(record.submitted_at.date() in w for w in windows):
        raise ReturnNotFound(f"No return {return_id} for school {urn}.")
    return ReceiptPublic.of(record)


@router.get("/schools/{urn}/returns", response_model=ReceiptPage)
def list_returns(
    urn: Urn,
    windows: Annotated[list[DateRange], Depends(_reader_windows)],
    session: SessionDep,
    after: Annotated[str | None, Query(description="Cursor from the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ReceiptPage:
    """A school's receipts, oldest first, a page at a time."""
    rows = IngestRepository(session).receipts(
        urn, after_seq=decode_cursor("r", after), limit=limit + 1, windows=windows
    )
    page = rows[:limit]
    next_cursor = encode_cursor("r", page[-1].seq or 0) if len(rows) > limit else None
    return ReceiptPage(returns=[ReceiptPublic.of(r) for r in page], next_cursor=next_cursor)


Upn = Annotated[str, Path(min_length=13, max_length=13, description="The pupil's UPN.")]


@router.delete(
    "/schools/{urn}/pupils/{upn}",
    response_model=ReceiptPublic,
    responses={
        404: {**_PROBLEM, "description": "The pupil is not on the school's roll."},
        503: {**_PROBLEM, "description": "The directory could not be asked."},
    },
)
def remove_pupil(
    urn: Urn,
    upn: Upn,
    principal: Annotated[Principal, Depends(_submitter)],
    school: SchoolDep,
    session: SessionDep,
    notifier: NotifierDep,
    background: BackgroundTasks,
    response: Response,
) -> ReceiptPublic:
    """Take a pupil off the school's roll as a correction (entered at the wrong school).

    Every stored mark of the pupil at this school is withdrawn on the record (the history
    keeps each code) and the feed carries `mark.withdrawn` for each, then
    `enrolment.removed`. A leaver is not removed: submit the leaving date instead. The
    caller must be the school, or its trust on every date of the enrolment. The answer
    is a receipt with format `removal`.
    """
    now = datetime.now(UTC)
    record = remove_from_roll(
        IngestRepository(session),
        school=school,
        principal=principal,
        upn=normalise_upn(upn),
        today=now.date(),
        now=now,
    )
    receipt = ReceiptPublic.of(record)
    response.headers["Location"] = f"/v1/schools/{urn}/returns/{receipt.id}"
    background.add_task(notifier.notify)
    return receipt


MARKS_ENDPOINT = "GET /v1/schools/{urn}/pupils/{upn}/marks"


@router.get(
    "/schools/{urn}/pupils/{upn}/marks",
    response_model=PupilMarks,
    responses={503: {**_PROBLEM, "description": "The read could not be put on record."}},
)
def pupil_marks(
    urn: Urn,
    upn: Upn,
    principal: CanReadReturns,
    windows: Annotated[list[DateRange], Depends(_reader_windows)],
    session: SessionDep,
    audit: AuditRecorderDep,
    purpose: PurposeHeader,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
    history: Annotated[bool, Query(description="Include every change of each mark.")] = False,
) -> PupilMarks | JSONResponse:
    """A pupil's current marks at a school between two dates; with history, every change.

    A withdrawn mark appears with `code: null` when history is asked for. A read that finds
    marks is put on the audit trail before it is answered (503 if it cannot be).
    """
    upn = normalise_upn(upn)
    asked = DateRange(from_ or date.min, to or date.max)
    clipped = [DateRange(max(w.start, asked.start), min(w.end, asked.end)) for w in windows]
    clipped = [w for w in clipped if w.start <= w.end]
    repo = IngestRepository(session)
    current = {(m.date, m.session): m for m in repo.marks_of_pupil(urn, upn, clipped)}
    marks: dict[tuple[date, str], PupilMark] = {
        key: PupilMark(date=m.date, session=m.session, code=m.code, return_id=m.return_id)
        for key, m in current.items()
    }
    if history:
        for change, client_id in repo.history_of_pupil(urn, upn, clipped):
            assert change.date is not None
            assert change.session is not None
            key = (change.date, change.session)
            entry = marks.setdefault(
                key,
                PupilMark(
                    date=change.date,
                    session=change.session,
                    code=None,
                    return_id=None,
                ),
            )
            if entry.history is None:
                entry.history = []
            entry.history.append(MarkHistoryEntry.of(change, client_id))
        for entry in marks.values():
            entry.history = entry.history or []
    if marks:
        audit.record_read(
            principal=principal, children=[(upn, urn)], endpoint=MARKS_ENDPOINT, purpose=purpose
        )
    return PupilMarks(school_urn=urn, upn=upn, marks=[marks[k] for k in sorted(marks)])
