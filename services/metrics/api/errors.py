"""Which HTTP status each metrics domain error answers with."""

from __future__ import annotations

from services.metrics.domain.errors import InvalidQuery, NotVisible, PeerUnavailable
from shared.audit import AuditUnavailable, PurposeNotAllowed
from shared.problems import DomainError

STATUS_MAP: dict[type[DomainError], int] = {
    InvalidQuery: 422,
    NotVisible: 404,
    PeerUnavailable: 503,
    AuditUnavailable: 503,
    PurposeNotAllowed: 403,
}
