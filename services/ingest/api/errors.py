"""Which HTTP status each ingest domain error answers with."""

from __future__ import annotations

from services.ingest.domain.problems import (
    DirectoryUnavailable,
    IdempotencyKeyReused,
    InvalidCursor,
    MalformedReturn,
    NotSubmitter,
    PupilNotOnRoll,
    ReturnNotFound,
    ReturnRejected,
    ReturnTooLarge,
    SchoolNotFound,
    UnsupportedFormat,
)
from shared.audit import AuditUnavailable, PurposeNotAllowed
from shared.problems import DomainError

STATUS_MAP: dict[type[DomainError], int] = {
    ReturnRejected: 422,
    IdempotencyKeyReused: 422,
    InvalidCursor: 422,
    MalformedReturn: 400,
    ReturnTooLarge: 413,
    UnsupportedFormat: 415,
    NotSubmitter: 403,
    SchoolNotFound: 404,
    ReturnNotFound: 404,
    PupilNotOnRoll: 404,
    DirectoryUnavailable: 503,
    AuditUnavailable: 503,
    PurposeNotAllowed: 403,
}
