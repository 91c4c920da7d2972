"""Putting pupil-level reads on record: the client every service calls before it answers.

A handler that serves pupil-level data calls `AuditRecorder.record_read` with the caller
(`Principal`), the children it is about to return (UPN and school URN), the endpoint, the
purpose and the legal basis. The recorder POSTs the event to the sharing service's
`/v1/audit/events` with the service's own client-credentials token (scope `audit:write`).

**Failure mode: fail closed, synchronously.** The event is recorded *before* the data is
returned; if the sharing service cannot be reached or refuses the event, `record_read`
raises `AuditUnavailable`, which every service maps to 503, and the caller gets no data.
A pupil-level read is never served without its audit entry. (The cost: reads of pupil-level
data are unavailable while the audit service is. An outbox would trade that for a delay.)
A read that returns no child records nothing. A handler that assembles a large answer
may write the record first (`AuditRecorder.read_record`), send it on the recorder's own
threads (`AuditRecorder.send_in_background`) and wait for that before answering: the
same guarantee, with the round trip to sharing overlapping the work.

**Purpose.** The caller may say why it reads with the `X-Purpose` request header, one of
`shared.contracts.audit.Purpose`; without it the role's default below is recorded. An
unknown value is refused with 422 like any other bad parameter, and a purpose the
caller's role may not read pupil-level data for (`PURPOSES_BY_ROLE`) with 403
(`PurposeNotAllowed`), before anything is recorded or served: purpose limitation (UK GDPR
Art. 5(1)(b)) means the trail must not say a read was for a purpose its reader has no
business with.

**Legal basis.** The basis of the policy decision that allowed the read when the service has
one; otherwise the role's statutory basis from `STATUTORY_BASIS` below (the gateways each
role's statutory duties rest on; UK GDPR Art. 6(1)(e) public task for all of them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import httpx2 as httpx
import orjson
from authlib.common.errors import AuthlibBaseError
from fastapi import Depends, Header, Request
from pydantic import WithJsonSchema

from shared.auth import Principal, Scope
from shared.contracts.audit import Purpose
from shared.problems import DomainError, ProblemItem
from shared.service_client import ServiceClient
from shared.settings import ServiceSettings

logger = logging.getLogger(__name__)

PURPOSE_HEADER = "X-Purpose"

DEFAULT_PURPOSE: dict[str, Purpose] = {
    "school_system": Purpose.REGISTER_KEEPING,
    "trust_system": Purpose.REGISTER_KEEPING,
    "la_attendance": Purpose.ATTENDANCE_SUPPORT,
    "virtual_school": Purpose.LOOKED_AFTER_EDUCATION,
    "social_care": Purpose.SAFEGUARDING,
    "partner": Purpose.ATTENDANCE_SUPPORT,
    "dfe_analyst": Purpose.STATISTICS,
    "admin": Purpose.OPERATIONS,
    "service": Purpose.OPERATIONS,
}
"""The purpose recorded when a caller of this role sends no `X-Purpose` header."""

_SCHOOL_PURPOSES = frozenset(
    {
        Purpose.REGISTER_KEEPING,
        Purpose.ATTENDANCE_SUPPORT,
        Purpose.MISSING_EDUCATION,
        Purpose.SAFEGUARDING,
    }
)
PURPOSES_BY_ROLE: dict[str, frozenset[Purpose]] = {
    "school_system": _SCHOOL_PURPOSES,
    "trust_system": _SCHOOL_PURPOSES,
    "la_attendance": frozenset(
        {Purpose.ATTENDANCE_SUPPORT, Purpose.MISSING_EDUCATION, Purpose.SAFEGUARDING}
    ),
    "virtual_school": frozenset(
        {Purpose.LOOKED_AFTER_EDUCATION, Purpose.ATTENDANCE_SUPPORT, Purpose.SAFEGUARDING}
    ),
    "social_care": frozenset({Purpose.SAFEGUARDING, Purpose.ATTENDANCE_SUPPORT}),
    "partner": frozenset({Purpose.ATTENDANCE_SUPPORT, Purpose.SAFEGUARDING}),
    "dfe_analyst": frozenset({Purpose.STATISTICS}),
    "admin": frozenset({Purpose.OPERATIONS}),
    "service": frozenset({Purpose.OPERATIONS}),
}
"""The purposes a caller of each role may state for a pupil-level read, its default among
them: the duties its statutory basis (`STATUTORY_BASIS`) rests on, or, for a partner, what
agreements are made for. Statistics are made from aggregates, never from pupils' rows
(only the DfE, which sees aggregates only, states it), and operations are the operator's."""

PUBLIC_TASK = "UK GDPR Art. 6(1)(e) public task"
STATUTORY_BASIS: dict[str, str] = {
    "school_system": f"{PUBLIC_TASK}; Education Act 1996 s.434 and the School Attendance "
    "(Pupil Registration) (England) Regulations 2024 (the attendance register)",
    "trust_system": f"{PUBLIC_TASK}; the School Attendance (Pupil Registration) (England) "
    "Regulations 2024, as proprietor of its academies",
    "la_attendance": f"{PUBLIC_TASK}; Education Act 1996 s.436A and DfE Working together to "
    "improve school attendance (statutory from 19 August 2024)",
    "virtual_school": f"{PUBLIC_TASK}; Children Act 1989 s.22(3A)-(3B) (promoting the "
    "educational achievement of looked-after children)",
    "social_care": f"{PUBLIC_TASK} and Art. 9(2)(g); Children Act 1989 s.17 and s.47; "
    "Children Act 2004 s.11",
    "dfe_analyst": f"{PUBLIC_TASK}; Education Act 1996 s.537A",
    "admin": f"{PUBLIC_TASK}: operating the service as processor for the controllers",
    "service": f"{PUBLIC_TASK}: operating the service as processor for the controllers",
}
"""The basis recorded when the service has no per-decision basis from the policy."""

UNKNOWN_ROLE_BASIS = f"{PUBLIC_TASK}: no statutory basis is recorded for this role"


@dataclass
class AuditUnavailable(DomainError):
    """The read could not be put on record, so it is not served (map to 503)."""

    kind: str = "audit-unavailable"


@dataclass
class PurposeNotAllowed(DomainError):
    """The caller's role may not read pupil-level data for the purpose it stated (map to 403)."""

    kind: str = "purpose-not-allowed"


def purpose_for(header: Purpose | None, role: str | None) -> Purpose:
    """The purpose to record: the caller's `X-Purpose`, else its role's default.

    Raises `PurposeNotAllowed` for a purpose the role may not state.
    """
    if header is None:
        return DEFAULT_PURPOSE.get(role or "", Purpose.OPERATIONS)
    allowed = PURPOSES_BY_ROLE.get(role or "", frozenset())
    if header not in allowed:
        listed = ", ".join(sorted(allowed)) or "none"
        raise PurposeNotAllowed(
            f"A {role or 'caller without a role'} may not read pupil-level data for "
            f"{header.value}.",
            [
                ProblemItem(
                    location=f"header:{PURPOSE_HEADER}",
                    code="purpose_not_allowed",
                    detail=f"{header.value} is not a purpose of this role; it may state: {listed}.",
                )
            ],
        )
    return header


def legal_basis_for(role: str | None, decision_basis: str | None = None) -> str:
    """The policy decision's basis when given, else the role's statutory basis."""
    if decision_basis:
        return decision_basis
    return STATUTORY_BASIS.get(role or "", UNKNOWN_ROLE_BASIS)


def _purpose_header(
    x_purpose: Annotated[
        Purpose | None,
        Header(
            alias=PURPOSE_HEADER,
            description="Why the data is read; recorded in the audit trail. Defaults by "
            "role (a school: register_keeping, an LA: attendance_support, a virtual school: "
            "looked_after_education, social care: safeguarding). A purpose the caller's "
            "role may not state is refused with 403: schools and trusts register_keeping, "
            "attendance_support, missing_education, safeguarding; an LA attendance_support, "
            "missing_education, safeguarding; a virtual school looked_after_education, "
            "attendance_support, safeguarding; social care safeguarding, "
            "attendance_support; a partner attendance_support, safeguarding.",
        ),
        # Absent, not null, when not sent: a header has no null, so the schema offers none.
        WithJsonSchema({"type": "string", "enum": [p.value for p in Purpose]}),
    ] = None,
) -> Purpose | None:
    return x_purpose


PurposeHeader = Annotated[Purpose | None, Depends(_purpose_header)]
"""A handler parameter: the `X-Purpose` header, validated against `Purpose`."""


class AuditRecorder:
    """Records pupil-level reads with the sharing service, synchronously, failing closed."""

    def __init__(self, http: ServiceClient, *, service: str) -> None:
        self._http = http
        self._service = service
        self._background = ThreadPoolExecutor(max_workers=4, thread_name_prefix="audit")

    @classmethod
    def from_settings(
        cls, settings: ServiceSettings, transport: httpx.BaseTransport | None, *, service: str
    ) -> AuditRecorder:
        """A recorder with the service's own client-credentials token, over `transport`."""
        return cls(
            ServiceClient.for_peer(
                settings,
                base_url=settings.sharing_url,
                scopes=[Scope.AUDIT_WRITE],
                transport=transport,
                timeout=5.0,
            ),
            service=service,
        )

    def record_read(
        self,
        *,
        principal: Principal,
        children: Iterable[tuple[str, str]],
        endpoint: str,
        purpose: Purpose | None,
        decision_basis: str | None = None,
    ) -> None:
        """Record that `principal` read these (UPN, school URN) children; raise if it cannot.

        Call it after the data is assembled and before it is returned. A purpose the
        caller's role may not state is refused (`PurposeNotAllowed`) even when no child
        is read.
        """
        record = self.read_record(
            principal=principal,
            children=children,
            endpoint=endpoint,
            purpose=purpose,
            decision_basis=decision_basis,
        )
        if record is not None:
            self.send(record)

    def read_record(
        self,
        *,
        principal: Principal,
        children: Iterable[tuple[str, str]],
        endpoint: str,
        purpose: Purpose | None,
        decision_basis: str | None = None,
    ) -> bytes | None:
        """The record of that read as sharing takes it (an `AuditEventBatch`, as JSON),
        for `send`; None when no child is read. A purpose the caller's role may not state
        is refused (`PurposeNotAllowed`) even then."""
        stated = purpose_for(purpose, principal.role)
        unique = sorted(set(children))
        if not unique:
            return None
        # `AuditEventBatch` as data, written by orjson: sharing validates it on receipt
        # (a record it refuses refuses the read), and a model for each of a view's
        # thousands of children here was time the reader waited for.
        event = {
            "occurred_at": datetime.now(UTC),
            "service": self._service,
            "endpoint": endpoint,
            "accessor": {
                "organisation_id": principal.organisation_id or principal.client_id,
                "organisation_type": principal.organisation_type or "unknown",
                "client_id": principal.client_id,
                "role": principal.role or "unknown",
                "actor": principal.actor,
            },
            "purpose": stated,
            "legal_basis": legal_basis_for(principal.role, decision_basis),
            "children": [{"upn": upn, "school_urn": urn} for upn, urn in unique],
        }
        return orjson.dumps({"events": [event]})

    def send(self, record: bytes) -> None:
        """Put a record (`read_record`) on the audit trail; raise `AuditUnavailable` if it
        cannot be, so the read is not served."""
        try:
            response = self._http.post("/v1/audit/events", content=record, headers=_JSON)
        except (httpx.HTTPError, AuthlibBaseError, OSError) as exc:
            logger.warning("audit trail unreachable; refusing the read: %s", exc)
            raise AuditUnavailable(
                "The read could not be recorded in the audit trail, so it is not served; "
                "try again shortly."
            ) from exc
        if response.status_code != 201:
            logger.warning(
                "audit trail refused the event (%s): %s", response.status_code, response.text
            )
            raise AuditUnavailable(
                f"The audit trail refused the record ({response.status_code}), "
                "so the read is not served."
            )

    def send_in_background(self, records: Sequence[bytes]) -> Future[None]:
        """`send` these records, in order, on the recorder's own threads, so the read goes
        on record while the handler assembles its answer. The handler must wait for the
        future's `result()` before answering: it raises what `send` raised.

        Returns once a thread has begun sending (or none is free within
        `_HANDOFF_SECONDS`): the handler's work that follows holds the interpreter lock,
        which the sending thread would otherwise wait for, up to the switch interval
        (5 ms), before its request left (benchmarks/README.md, stop 28)."""
        begun = threading.Event()

        def send_all() -> None:
            begun.set()  # the handler, waiting on it, lets this run until it waits for sharing
            for record in records:
                self.send(record)

        sending = self._background.submit(send_all)
        begun.wait(_HANDOFF_SECONDS)
        return sending

    def close(self) -> None:
        """Finish the records under way, then release the connection pool."""
        self._background.shutdown(wait=True)
        self._http.close()


_JSON = {"Content-Type": "application/json"}
_HANDOFF_SECONDS = 0.005
"""How long `send_in_background` waits for a sending thread to begin: a free one does at
once; when all are busy, the handler goes on and the record is sent when one is free."""


def _recorder(request: Request) -> AuditRecorder:
    recorder: AuditRecorder = request.state.audit_recorder
    return recorder


AuditRecorderDep = Annotated[AuditRecorder, Depends(_recorder)]
"""A handler parameter: the recorder the app's lifespan put in its state (`audit_recorder`)."""
