"""Which HTTP status each sharing domain error answers with."""

from __future__ import annotations

from services.sharing.domain.episodes import MatchingUnavailable
from services.sharing.domain.errors import Conflict, Duplicate, InvalidRequest, NotFound
from shared.problems import DomainError

STATUS_MAP: dict[type[DomainError], int] = {
    InvalidRequest: 422,
    Duplicate: 409,
    Conflict: 409,
    NotFound: 404,
    MatchingUnavailable: 503,
}
