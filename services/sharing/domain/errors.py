"""The errors sharing's domain raises; `api/errors.py` maps each to an HTTP status."""

from __future__ import annotations

from dataclasses import dataclass

from shared.problems import DomainError


@dataclass
class InvalidRequest(DomainError):
    """The request is well-formed but breaks a rule; every broken rule is listed."""

    kind: str = "invalid-request"


@dataclass
class Duplicate(DomainError):
    """Something with the same unique identifier already exists."""

    kind: str = "duplicate"


@dataclass
class NotFound(DomainError):
    """No such resource (or not one this caller may see)."""

    kind: str = "not-found"


@dataclass
class Conflict(DomainError):
    """The change contradicts what is stored (e.g. overlapping trust memberships)."""

    kind: str = "conflict"
