"""Errors the metrics domain raises; `api/errors.py` maps each to an HTTP status."""

from __future__ import annotations

from dataclasses import dataclass

from shared.problems import DomainError


@dataclass
class InvalidQuery(DomainError):
    """The question asked is malformed: every problem is listed."""

    kind: str = "invalid-query"


@dataclass
class NotVisible(DomainError):
    """The scope, pupil or school asked about is outside the caller's reach (or absent)."""

    kind: str = "not-found"


@dataclass
class PeerUnavailable(DomainError):
    """A peer service (sharing, ingest) could not answer."""

    kind: str = "peer-unavailable"
