"""Accepting a return: parse, authorise on its dates, lock, validate, write, receipt.

The order matters: the body is parsed before any lock (CPU work, no contention), the
per-school lock is taken before the idempotency check and the roll is read (so two
identical concurrent submissions give one return and one replay), nothing is written
until every rule has passed, and the feed is written last (see store/repository.py).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime

from services.ingest.api.body import ReturnBody
from services.ingest.domain.access import caller_windows, covers
from services.ingest.domain.model import DateRange
from services.ingest.domain.parsing import ParsedReturn, parse_csv, parse_ctf, parse_json
from services.ingest.domain.problems import (
    IdempotencyKeyReused,
    MalformedReturn,
    NotSubmitter,
    Problems,
    PupilNotOnRoll,
)
from services.ingest.domain.rules import (
    N_CODE_SCHOOL_DAYS,
    WARNING_EXAMPLES,
    QualityWarning,
    no_mark_warning,
    pupils_without_marks_warning,
    school_days_before,
    unresolved_n_warning,
    validate_return,
)
from services.ingest.store.models import ReturnRecord
from services.ingest.store.repository import IngestRepository, warnings_json
from shared.auth import Principal
from shared.contracts.directory import SchoolRecord


@dataclass(frozen=True)
class Accepted:
    """The receipt, and whether this request created it (False: an idempotent replay)."""

    receipt: ReturnRecord
    created: bool


def parse_body(body: ReturnBody, problems: Problems) -> ParsedReturn:
    """Parse a received body in its format."""
    if body.format == "json":
        assert body.file is not None
        return parse_json(body.file, problems)
    if body.format == "ctf":
        assert body.file is not None
        return parse_ctf(body.file, problems)
    if body.file is not None:
        return parse_csv(None, body.file, problems)
    missing = [p for p in ("roll", "marks") if p not in body.parts]
    if missing:
        raise MalformedReturn(f"The multipart return lacks the part(s): {', '.join(missing)}.")
    return parse_csv(
        body.parts["roll"],
        body.parts["marks"],
        problems,
        replace_from=body.fields.get("replace_from"),
        replace_to=body.fields.get("replace_to"),
    )


def _warning_dict(warning: QualityWarning) -> dict[str, object]:
    out = asdict(warning)
    out["examples"] = [{"upn": u, "date": d, "session": s} for u, d, s in warning.examples]
    return out


def _require_acting_for(school: SchoolRecord, principal: Principal, span: DateRange) -> None:
    """Refuse a caller that does not act for the school on every day of `span`."""
    if not covers(caller_windows(principal.organisation_id, school), span):
        raise NotSubmitter(
            f"Your organisation does not act for school {school.urn} on every date from "
            f"{span.start.isoformat()} to {span.end.isoformat()}."
        )


def accept_return(
    repo: IngestRepository,
    *,
    school: SchoolRecord,
    principal: Principal,
    body: ReturnBody,
    idempotency_key: str | None,
    today: date,
    now: datetime,
    max_errors: int,
) -> Accepted:
    """Store a valid return whole and give its receipt; raise listing every problem otherwise."""
    urn = school.urn
    problems = Problems(max_errors)
    parsed = parse_body(body, problems)
    span = parsed.covered_range()
    if span is not None:
        _require_acting_for(school, principal, span)
    repo.lock_school(urn)
    if idempotency_key is not None:
        earlier = repo.receipt_by_key(principal.client_id, idempotency_key)
        if earlier is not None:
            if earlier.checksum_sha256 == body.sha256 and earlier.school_urn == urn:
                return Accepted(earlier, created=False)
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for a different return; use a new key."
            )
    stored_stays = repo.roll_stays(urn)
    stored = repo.roll(urn, (p.upn for p in parsed.pupils))
    validate_return(
        parsed,
        stored_roll=stored,
        stored_stays=stored_stays,
        today=today,
        problems=problems,
        school_dfe_number=school.dfe_number,
    )
    problems.raise_if_any()

    return_id = str(uuid.uuid4())
    written = repo.upsert_pupils(urn, parsed.pupils, stored, return_id)
    new_pupils = sum(1 for p in written if p.upn not in stored)
    written_marks = repo.write_marks(
        urn, parsed.marks, parsed.replace_range, return_id, span=span, roll=stored_stays
    )
    counts = written_marks.counts
    n_marks, n_total = repo.unresolved_n(
        urn, school_days_before(today, N_CODE_SCHOOL_DAYS), WARNING_EXAMPLES
    )
    warnings = [
        w
        for w in (
            no_mark_warning(parsed.no_marks),
            unresolved_n_warning(n_marks, n_total),
            pupils_without_marks_warning(parsed, span),
        )
        if w is not None
    ]
    record = ReturnRecord(
        id=return_id,
        school_urn=urn,
        format=body.format,
        submitted_at=now,
        client_id=principal.client_id,
        organisation_id=principal.organisation_id,
        checksum_sha256=body.sha256,
        idempotency_key=idempotency_key,
        replace_from=parsed.replace_range.start if parsed.replace_range else None,
        replace_to=parsed.replace_range.end if parsed.replace_range else None,
        pupils_inserted=new_pupils,
        pupils_changed=len(written) - new_pupils,
        pupils_unchanged=len(parsed.pupils) - len(written),
        marks_inserted=counts.inserted,
        marks_changed=counts.changed,
        marks_unchanged=counts.unchanged,
        marks_withdrawn=counts.withdrawn,
        warnings=warnings_json(_warning_dict(w) for w in warnings),
    )
    repo.add_receipt(record)
    repo.publish_changes(urn, written, written_marks, return_id, now)
    return Accepted(record, created=True)


def remove_from_roll(
    repo: IngestRepository,
    *,
    school: SchoolRecord,
    principal: Principal,
    upn: str,
    today: date,
    now: datetime,
) -> ReturnRecord:
    """Take a pupil off the school's stored roll as a correction (entered at the wrong
    school, say), withdrawing every mark on the record; its receipt has format `removal`.

    The caller must act for the school on every day of the enrolment, as a return
    covering those days would need. A leaver is not removed: a return gives the
    leaving date, and the marks stay.
    """
    urn = school.urn
    repo.lock_school(urn)
    pupil = repo.roll(urn, [upn]).get(upn)
    if pupil is None:
        raise PupilNotOnRoll(f"No pupil {upn} is on the roll of school {urn}.")
    first_entry = pupil.stays[0][0]
    _require_acting_for(
        school,
        principal,
        DateRange(first_entry, max(pupil.entry_date, pupil.leaving_date or today)),
    )
    return_id = str(uuid.uuid4())
    record = ReturnRecord(
        id=return_id,
        school_urn=urn,
        format="removal",
        submitted_at=now,
        client_id=principal.client_id,
        organisation_id=principal.organisation_id,
        checksum_sha256=hashlib.sha256(b"").hexdigest(),  # no body
        pupils_removed=1,
    )
    repo.add_receipt(record)
    # The count is known once the feed is written (last); the session writes it at commit.
    record.marks_withdrawn = repo.remove_from_roll(urn, upn, return_id, now)
    return record
