"""Which HTTP status each ingest domain error answers with."""

from __future__ import annotations

from shared.problems import DomainError

STATUS_MAP: dict[type[DomainError], int] = {}
