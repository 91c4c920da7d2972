"""Ingest's request and response shapes (tables never leave the store)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.ingest.store.models import ReturnRecord
from services.ingest.store.repository import FeedChange
from shared.contracts.changes import RollEntry, Session


class ReplaceRange(BaseModel):
    """Inclusive days the return fully replaces."""

    model_config = ConfigDict(populate_by_name=True)

    from_: dt.date = Field(alias="from")
    to: dt.date


class PupilIn(RollEntry):
    """A pupil of the JSON roll (the school is the URN in the path)."""

    model_config = ConfigDict(extra="forbid")

    school_urn: str = Field(default="", exclude=True, json_schema_extra={"readOnly": True})


class MarkIn(BaseModel):
    """One session mark; `-` means no mark entered."""

    model_config = ConfigDict(extra="forbid")

    upn: str = Field(examples=["A123456789012"])
    date: dt.date
    session: Session
    code: str = Field(max_length=2, examples=["/", "\\", "C2", "-"])


class ReturnIn(BaseModel):
    """The native JSON return (docs/formats.md §1)."""

    model_config = ConfigDict(extra="forbid")

    pupils: list[PupilIn]
    marks: list[MarkIn]
    replace_range: ReplaceRange | None = None


class WarningExample(BaseModel):
    upn: str
    date: dt.date | None = None
    session: str | None = None


class QualityWarningOut(BaseModel):
    """A data-quality finding; it never rejects a return."""

    code: Literal["no_mark_entered", "unresolved_n_code", "pupil_without_marks"]
    detail: str
    count: int
    examples: list[WarningExample]


class PupilCounts(BaseModel):
    inserted: int
    changed: int
    unchanged: int
    removed: int = Field(description="Taken off the roll as a correction (a removal).")


class MarkCounts(BaseModel):
    inserted: int
    changed: int
    unchanged: int
    withdrawn: int


class ReceiptPublic(BaseModel):
    """What an accepted return did."""

    id: str
    school_urn: str
    format: Literal["json", "csv", "ctf", "removal"] = Field(
        description="The return's format, or `removal`: a pupil taken off the roll "
        "(`DELETE /v1/schools/{urn}/pupils/{upn}`)."
    )
    submitted_at: dt.datetime
    client_id: str
    organisation_id: str | None
    checksum_sha256: str = Field(description="SHA-256 of the request body bytes.")
    idempotency_key: str | None
    replace_range: ReplaceRange | None
    pupils: PupilCounts
    marks: MarkCounts
    warnings: list[QualityWarningOut]

    @classmethod
    def of(cls, r: ReturnRecord) -> ReceiptPublic:
        """The public receipt of a stored return."""
        warnings: list[dict[str, Any]] = json.loads(r.warnings)
        return cls(
            id=r.id,
            school_urn=r.school_urn,
            format=r.format,
            submitted_at=r.submitted_at,
            client_id=r.client_id,
            organisation_id=r.organisation_id,
            checksum_sha256=r.checksum_sha256,
            idempotency_key=r.idempotency_key,
            replace_range=(
                ReplaceRange(from_=r.replace_from, to=r.replace_to)
                if r.replace_from and r.replace_to
                else None
            ),
            pupils=PupilCounts(
                inserted=r.pupils_inserted,
                changed=r.pupils_changed,
                unchanged=r.pupils_unchanged,
                removed=r.pupils_removed,
            ),
            marks=MarkCounts(
                inserted=r.marks_inserted,
                changed=r.marks_changed,
                unchanged=r.marks_unchanged,
                withdrawn=r.marks_withdrawn,
            ),
            warnings=[QualityWarningOut.model_validate(w) for w in warnings],
        )


class ReceiptPage(BaseModel):
    """One page of a school's receipts, oldest first."""

    returns: list[ReceiptPublic]
    next_cursor: str | None = Field(description="Opaque; pass as `after` for the next page.")


class MarkHistoryEntry(BaseModel):
    """One change of a mark: the code before and after, when, by which return and client."""

    kind: Literal["mark.upserted", "mark.withdrawn"]
    previous_code: str | None
    code: str | None
    recorded_at: dt.datetime
    return_id: str | None
    client_id: str | None

    @classmethod
    def of(cls, change: FeedChange, client_id: str | None) -> MarkHistoryEntry:
        """A history entry from a feed row."""
        return cls(
            kind=change.kind,
            previous_code=change.previous_code,
            code=change.code,
            recorded_at=change.recorded_at,
            return_id=change.return_id,
            client_id=client_id,
        )


class PupilMark(BaseModel):
    """A pupil's session: the current code (null once withdrawn) and, if asked, its history."""

    date: dt.date
    session: Session
    code: str | None
    return_id: str | None
    history: list[MarkHistoryEntry] | None = None


class PupilMarks(BaseModel):
    """`GET /v1/schools/{urn}/pupils/{upn}/marks`."""

    school_urn: str
    upn: str
    marks: list[PupilMark]
