"""Ingest's domain errors, and the collector that gathers every problem of a return."""

from __future__ import annotations

from dataclasses import dataclass

from shared.problems import DEFAULT_ERROR_CAP, DomainError, ProblemItem


@dataclass
class ReturnRejected(DomainError):
    """The return breaks at least one rule; nothing of it is stored."""

    kind: str = "return-rejected"


@dataclass
class MalformedReturn(DomainError):
    """The body is not well-formed in its declared format (syntax, encoding, DTD/entities)."""

    kind: str = "malformed-return"


@dataclass
class ReturnTooLarge(DomainError):
    """The body is larger than the configured limit."""

    kind: str = "return-too-large"


@dataclass
class UnsupportedFormat(DomainError):
    """The Content-Type is not one ingest reads."""

    kind: str = "unsupported-media-type"


@dataclass
class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was used before for a different body."""

    kind: str = "idempotency-key-reused"


@dataclass
class SchoolNotFound(DomainError):
    """The directory does not know the school, or the caller may not see it."""

    kind: str = "school-not-found"


@dataclass
class NotSubmitter(DomainError):
    """The caller is neither the school nor its trust on the dates concerned."""

    kind: str = "not-school-or-trust"


@dataclass
class DirectoryUnavailable(DomainError):
    """The sharing service could not be asked who the school belongs to."""

    kind: str = "directory-unavailable"


@dataclass
class ReturnNotFound(DomainError):
    """No such return for this school, or not visible to this caller."""

    kind: str = "return-not-found"


@dataclass
class PupilNotOnRoll(DomainError):
    """No such pupil on the school's stored roll."""

    kind: str = "pupil-not-on-roll"


@dataclass
class InvalidCursor(DomainError):
    """A pagination cursor this service did not issue."""

    kind: str = "invalid-cursor"


class Problems:
    """Every problem found in a return: the first `cap` in full, and how many in all."""

    def __init__(self, cap: int = DEFAULT_ERROR_CAP) -> None:
        self.cap = cap
        self.items: list[ProblemItem] = []
        self.total = 0

    def add(self, location: str | None, code: str, detail: str) -> None:
        """Record one problem (kept in full while under the cap, counted always)."""
        self.total += 1
        if len(self.items) < self.cap:
            self.items.append(ProblemItem(location=location, code=code, detail=detail))

    def __bool__(self) -> bool:
        return self.total > 0

    def raise_if_any(self, detail: str = "The return was rejected; nothing was stored.") -> None:
        """Raise ReturnRejected listing the problems, if there are any."""
        if self.total:
            raise ReturnRejected(
                detail=f"{detail} {self.total} problem(s) found.",
                errors=list(self.items),
                errors_total=self.total,
            )
