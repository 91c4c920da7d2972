"""The audit trail's rules: the hash chain, its verification, and who may read which entries.

The chain. Entries are numbered 1, 2, 3, ... (`position`). Each stores the hash of the
entry before it (`previous_hash`; the first stores `GENESIS_HASH`) and its own hash::

    entry_hash = SHA-256( canonical_json(content + {"position": n, "previous_hash": p}) )

where `canonical_json` is JSON with sorted keys, no insignificant whitespace, UTF-8, and
timestamps in UTC ISO 8601 with microseconds. Changing any field of any entry, removing an
entry from the middle, or reordering entries breaks the chain at the first entry affected.
Removing entries from the *end*, or rewriting the chain and rehashing every entry, leaves a
valid chain: `attx audit verify` prints the head (position and hash) so an operator can keep
it elsewhere, and `--recorded-head` checks a kept head against the chain later.

Plain values in, plain values out: no database here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from operator import itemgetter
from typing import Any, NamedTuple

from services.sharing.domain.organisations import OrganisationType
from services.sharing.domain.roles import Role

GENESIS_HASH = "0" * 64
"""The `previous_hash` of the first entry."""


class Child(NamedTuple):
    """One child read, at one school (a tuple: an entry may name thousands)."""

    upn: str
    school_urn: str


@dataclass(frozen=True)
class EntryContent:
    """Everything an entry says, i.e. everything its hash covers apart from its place."""

    id: str
    recorded_at: datetime
    occurred_at: datetime
    service: str
    endpoint: str
    accessor_organisation_id: str
    accessor_organisation_type: str
    client_id: str
    role: str
    actor: str | None
    purpose: str
    legal_basis: str
    reported_by: str
    children: tuple[Child, ...]
    """In their canonical order, duplicates dropped (`sorted_children`), whatever order
    they were given in: hashed, stored and indexed in that order, sorted once."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", sorted_children(self.children))


@dataclass(frozen=True)
class ChainedEntry:
    """An entry as stored: its content, its place, and the two hashes."""

    position: int
    content: EntryContent
    previous_hash: str
    entry_hash: str
    indexed_children: tuple[Child, ...] | None = None
    """As stored, the rows of the children index, which must list exactly `content.children`."""


def _timestamp(value: datetime) -> str:
    # The same instant must serialise the same whatever zone the driver hands back.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


_SCHOOL_THEN_UPN = itemgetter(1, 0)


def sorted_children(children: Iterable[Child]) -> tuple[Child, ...]:
    """Children in their canonical order, duplicates dropped."""
    return tuple(sorted(set(children), key=_SCHOOL_THEN_UPN))


def canonical_bytes(content: EntryContent, *, position: int, previous_hash: str) -> bytes:
    """The exact bytes an entry's hash is taken over."""
    document: dict[str, Any] = {
        "position": position,
        "previous_hash": previous_hash,
        "id": content.id,
        "recorded_at": _timestamp(content.recorded_at),
        "occurred_at": _timestamp(content.occurred_at),
        "service": content.service,
        "endpoint": content.endpoint,
        "accessor_organisation_id": content.accessor_organisation_id,
        "accessor_organisation_type": content.accessor_organisation_type,
        "client_id": content.client_id,
        "role": content.role,
        "actor": content.actor,
        "purpose": content.purpose,
        "legal_basis": content.legal_basis,
        "reported_by": content.reported_by,
        "children": [[c.upn, c.school_urn] for c in content.children],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def entry_hash(content: EntryContent, *, position: int, previous_hash: str) -> str:
    """The SHA-256 (hex) of the entry's canonical serialisation."""
    return hashlib.sha256(
        canonical_bytes(content, position=position, previous_hash=previous_hash)
    ).hexdigest()


def chain(
    contents: Sequence[EntryContent], *, head_position: int, head_hash: str
) -> list[ChainedEntry]:
    """Append `contents` in order after the head (position 0 and GENESIS_HASH when empty)."""
    entries: list[ChainedEntry] = []
    position, previous = head_position, head_hash
    for content in contents:
        position += 1
        digest = entry_hash(content, position=position, previous_hash=previous)
        entries.append(ChainedEntry(position, content, previous, digest))
        previous = digest
    return entries


@dataclass(frozen=True)
class ChainBreak:
    """The first entry at which the chain does not hold, and why."""

    position: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """What walking the chain found."""

    entries: int
    head_position: int
    head_hash: str
    broken: ChainBreak | None


@dataclass(frozen=True)
class RecordedHead:
    """A head (position and hash) that `attx audit verify` printed once and someone kept."""

    position: int
    entry_hash: str


def verify_chain(
    entries: Iterable[ChainedEntry],
    *,
    recorded: RecordedHead | None = None,
    index_beyond: Callable[[int], int | None] | None = None,
) -> ChainReport:
    """Walk entries in position order; report the first that is altered, missing or misplaced.

    With a `recorded` head, also report a chain that no longer reaches it (entries removed
    from its end) or holds another entry there (the chain rewritten and rehashed), which
    the chain alone cannot show. `index_beyond` gives, for the chain's head position, the
    first position beyond the chain that children index rows name
    (`AuditRepository.first_index_position_beyond`): rows added to the index (say, to put
    a read on someone's record) that the entries alone cannot show.
    """
    report = _walk(entries, recorded)
    stray = (
        index_beyond(report.head_position)
        if report.broken is None and index_beyond is not None
        else None
    )
    if stray is not None:
        return replace(
            report,
            broken=ChainBreak(
                stray,
                f"children index rows name entry {stray}, which is not in the trail "
                "(index rows were added, or the entry was removed and its rows left)",
            ),
        )
    if report.broken is None and recorded is not None and report.head_position < recorded.position:
        return ChainReport(
            report.entries,
            report.head_position,
            report.head_hash,
            ChainBreak(
                recorded.position,
                f"the chain ends at entry {report.head_position}, before the recorded head "
                f"at {recorded.position}: entries were removed from its end",
            ),
        )
    return report


def _walk(entries: Iterable[ChainedEntry], recorded: RecordedHead | None) -> ChainReport:
    expected_position, previous, count = 1, GENESIS_HASH, 0
    for entry in entries:
        count += 1
        if entry.position != expected_position:
            missing = (
                f"{expected_position}"
                if entry.position == expected_position + 1
                else (f"{expected_position} to {entry.position - 1}")
            )
            reason = (
                f"entry {missing} is missing: the chain jumps to {entry.position}"
                if entry.position > expected_position
                else f"entry {entry.position} appears out of order"
            )
            return ChainReport(
                count, expected_position - 1, previous, ChainBreak(expected_position, reason)
            )
        fault = _fault(entry, previous, recorded)
        if fault is not None:
            return ChainReport(
                count, entry.position - 1, previous, ChainBreak(entry.position, fault)
            )
        previous = entry.entry_hash
        expected_position += 1
    return ChainReport(count, expected_position - 1, previous, None)


def _fault(entry: ChainedEntry, previous: str, recorded: RecordedHead | None) -> str | None:
    """Why an entry in its right place breaks the chain (after `previous`), or None."""
    if entry.previous_hash != previous:
        return (
            "its previous_hash is not the hash of the entry before it "
            "(an entry before it was removed or replaced)"
        )
    if entry_hash(entry.content, position=entry.position, previous_hash=previous) != (
        entry.entry_hash
    ):
        return "its content no longer matches its hash (the entry was altered)"
    if (
        entry.indexed_children is not None
        and sorted_children(entry.indexed_children) != entry.content.children
    ):
        return (
            "its children index does not list exactly its children "
            "(index rows were added or removed)"
        )
    if (
        recorded is not None
        and entry.position == recorded.position
        and entry.entry_hash != recorded.entry_hash
    ):
        return (
            "its hash is not the recorded head's (the chain was rewritten and rehashed "
            "from here or before)"
        )
    return None


@dataclass(frozen=True)
class SchoolReach:
    """Entries about one school's pupils that a caller may read, by date read (inclusive)."""

    urn: str
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True)
class ChildReach:
    """Entries about one child, at any school, that a caller may read, by date read (inclusive)."""

    upn: str
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True)
class AuditReach:
    """Which entries a caller may read: everything, or reads of pupils at some schools, or
    reads of some children wherever they were read."""

    everything: bool = False
    schools: tuple[SchoolReach, ...] = ()
    children: tuple[ChildReach, ...] = ()

    @cached_property
    def windows_by_upn(self) -> dict[str, tuple[ChildReach, ...]]:
        """`children` by UPN, so trimming a page does not scan every window per child."""
        by_upn: dict[str, list[ChildReach]] = {}
        for window in self.children:
            by_upn.setdefault(window.upn, []).append(window)
        return {upn: tuple(windows) for upn, windows in by_upn.items()}


def merged_child_windows(windows: Iterable[ChildReach]) -> tuple[ChildReach, ...]:
    """Each child's windows with overlapping and adjacent ones joined, by UPN then date.

    A virtual school may hold several episodes of one child; one window per spell keeps
    the query's predicates to what is needed.
    """
    merged: list[ChildReach] = []
    ordered = sorted(set(windows), key=lambda w: (w.upn, w.from_date or date.min))
    for window in ordered:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.upn == window.upn
            and (
                last.to_date is None
                or window.from_date is None
                or window.from_date <= last.to_date + timedelta(days=1)
            )
        ):
            to_date = (
                None
                if last.to_date is None or window.to_date is None
                else max(last.to_date, window.to_date)
            )
            merged[-1] = ChildReach(window.upn, last.from_date, to_date)
        else:
            merged.append(window)
    return tuple(merged)


def audit_reach(
    *,
    organisation_type: str | None,
    role: str | None,
    school_urn: str | None = None,
    trust_memberships: Iterable[SchoolReach] = (),
    area_urns: Iterable[str] = (),
    child_windows: Iterable[ChildReach] = (),
) -> AuditReach:
    """Whose reads a caller may see: a school its pupils', a trust its schools' over the time
    it ran them, a local authority its area's schools', a virtual school or children's
    social care the children in its policy reach over each child's window (`child_windows`,
    from `domain.reach`), the operator's admin everything.

    Nobody else (the DfE, partners, services) reads the trail.
    """
    if organisation_type == OrganisationType.OPERATOR and role == Role.ADMIN:
        return AuditReach(everything=True)
    if organisation_type == OrganisationType.SCHOOL and school_urn is not None:
        return AuditReach(schools=(SchoolReach(school_urn),))
    if organisation_type == OrganisationType.TRUST:
        return AuditReach(schools=tuple(trust_memberships))
    if organisation_type == OrganisationType.LOCAL_AUTHORITY:
        return AuditReach(schools=tuple(SchoolReach(u) for u in sorted(set(area_urns))))
    if organisation_type in (OrganisationType.VIRTUAL_SCHOOL, OrganisationType.SOCIAL_CARE):
        return AuditReach(children=merged_child_windows(child_windows))
    return AuditReach()


def _within(from_date: date | None, to_date: date | None, day: date) -> bool:
    return (from_date is None or from_date <= day) and (to_date is None or day <= to_date)


def child_visible(reach: AuditReach, child: Child, read_on: date) -> bool:
    """Whether a caller with `reach` may see that this child, read on `read_on`, was read."""
    if reach.everything:
        return True
    return any(
        s.urn == child.school_urn and _within(s.from_date, s.to_date, read_on)
        for s in reach.schools
    ) or any(
        _within(c.from_date, c.to_date, read_on) for c in reach.windows_by_upn.get(child.upn, ())
    )
