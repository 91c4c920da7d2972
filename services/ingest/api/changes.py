"""The change feed: every roll and mark change in commit order, replayable from the start."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import TypeAdapter

from services.ingest.api.cursors import decode_cursor, encode_cursor
from services.ingest.api.deps import CanReadChanges, SessionDep
from services.ingest.store.repository import FeedChange, IngestRepository
from shared.contracts.changes import Change, ChangePage

router = APIRouter(tags=["changes"])
_CHANGE: TypeAdapter[Change] = TypeAdapter(Change)


def _change(row: FeedChange) -> Change:
    base: dict[str, object] = {
        "kind": row.kind,
        "sequence": row.sequence,
        "recorded_at": row.recorded_at,
    }
    if row.kind == "enrolment.upserted":
        base["enrolment"] = json.loads(row.enrolment or "{}")
    else:
        base |= {
            "school_urn": row.school_urn,
            "upn": row.upn,
            "date": row.date,
            "session": row.session,
            "code": row.code,
            "previous_code": row.previous_code,
            "return_id": row.return_id,
        }
    return _CHANGE.validate_python({k: v for k, v in base.items() if v is not None})


@router.get("/changes", response_model=ChangePage)
def read_changes(
    _principal: CanReadChanges,
    session: SessionDep,
    after: Annotated[
        str | None,
        Query(description="Cursor from the previous page; omit to replay from the start."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> ChangePage:
    """Changes after the cursor, oldest first (service clients only: scope changes:read)."""
    position = decode_cursor("c", after)
    rows = IngestRepository(session).changes(position, limit + 1)
    page = rows[:limit]
    last = page[-1].sequence if page else position
    return ChangePage(
        changes=[_change(r) for r in page],
        next_cursor=encode_cursor("c", last or 0),
        has_more=len(rows) > limit,
    )
