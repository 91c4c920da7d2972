"""Which HTTP status each metrics domain error answers with."""

from __future__ import annotations

from shared.problems import DomainError

STATUS_MAP: dict[type[DomainError], int] = {}
