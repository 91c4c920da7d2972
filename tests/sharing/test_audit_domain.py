"""The chain's rules without a database: hashing, verification, and who sees which child."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

from services.sharing.domain.audit import (
    GENESIS_HASH,
    AuditReach,
    Child,
    ChildReach,
    EntryContent,
    SchoolReach,
    audit_reach,
    chain,
    child_visible,
    entry_hash,
    merged_child_windows,
    verify_chain,
)

WHEN = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)


def content(n: int = 1, **changes: object) -> EntryContent:
    base = EntryContent(
        id=f"id-{n}",
        recorded_at=WHEN,
        occurred_at=WHEN,
        service="metrics",
        endpoint="GET /v1/pupils",
        accessor_organisation_id="la",
        accessor_organisation_type="local_authority",
        client_id="la-client",
        role="la_attendance",
        actor=None,
        purpose="attendance_support",
        legal_basis="public task",
        reported_by="attx-service",
        children=(Child("A20240012400", "100001"), Child("B20240012400", "100002")),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_the_hash_ignores_the_order_children_are_given_in() -> None:
    reordered = content(children=tuple(reversed(content().children)))
    assert entry_hash(reordered, position=1, previous_hash=GENESIS_HASH) == entry_hash(
        content(), position=1, previous_hash=GENESIS_HASH
    )


def test_the_hash_is_the_same_instant_in_any_zone() -> None:
    elsewhere = WHEN.astimezone(timezone(timedelta(hours=5)))
    assert entry_hash(
        content(occurred_at=elsewhere), position=1, previous_hash=GENESIS_HASH
    ) == entry_hash(content(), position=1, previous_hash=GENESIS_HASH)


def test_the_hash_covers_the_actor() -> None:
    assert entry_hash(
        content(actor="officer-1"), position=1, previous_hash=GENESIS_HASH
    ) != entry_hash(content(), position=1, previous_hash=GENESIS_HASH)


def test_the_hash_covers_the_previous_hash() -> None:
    assert entry_hash(content(), position=1, previous_hash="f" * 64) != entry_hash(
        content(), position=1, previous_hash=GENESIS_HASH
    )


def test_a_fresh_chain_verifies() -> None:
    entries = chain([content(n) for n in range(1, 4)], head_position=0, head_hash=GENESIS_HASH)
    assert verify_chain(entries).broken is None


def test_swapped_entries_break_the_chain_at_the_first() -> None:
    entries = chain([content(n) for n in range(1, 4)], head_position=0, head_hash=GENESIS_HASH)
    swapped = [entries[0], entries[2], entries[1]]
    broken = verify_chain(swapped).broken
    assert broken is not None
    assert broken.position == 2


def test_a_chain_continues_from_its_head() -> None:
    first = chain([content(1)], head_position=0, head_hash=GENESIS_HASH)
    second = chain([content(2)], head_position=1, head_hash=first[0].entry_hash)
    assert verify_chain(first + second).entries == 2


def test_a_trust_sees_a_child_read_on_the_last_day_of_its_window() -> None:
    reach = AuditReach(schools=(SchoolReach("100001", date(2024, 9, 1), date(2025, 1, 6)),))
    assert child_visible(reach, Child("A20240012400", "100001"), date(2025, 1, 6))


def test_a_trust_does_not_see_a_child_read_after_its_window() -> None:
    reach = AuditReach(schools=(SchoolReach("100001", date(2024, 9, 1), date(2025, 1, 6)),))
    assert not child_visible(reach, Child("A20240012400", "100001"), date(2025, 1, 7))


def test_only_the_operators_admin_reads_everything() -> None:
    assert audit_reach(organisation_type="operator", role="service") == AuditReach()


def test_the_dfe_reads_no_audit() -> None:
    assert audit_reach(organisation_type="dfe", role="dfe_analyst") == AuditReach()


def test_a_child_in_reach_is_seen_read_at_any_school_inside_its_window() -> None:
    reach = AuditReach(children=(ChildReach("A20240012400", date(2024, 9, 1), None),))
    assert child_visible(reach, Child("A20240012400", "999999"), date(2024, 9, 1))


def test_a_child_in_reach_is_not_seen_read_before_its_window() -> None:
    reach = AuditReach(children=(ChildReach("A20240012400", date(2024, 9, 1), None),))
    assert not child_visible(reach, Child("A20240012400", "999999"), date(2024, 8, 31))


def test_another_child_at_the_same_school_is_not_seen() -> None:
    reach = AuditReach(children=(ChildReach("A20240012400", None, None),))
    assert not child_visible(reach, Child("B20240012400", "100001"), date(2024, 9, 1))


def test_social_care_reads_the_trail_of_its_childrens_windows() -> None:
    windows = [ChildReach("A20240012400", date(2024, 9, 1), None)]
    reach = audit_reach(organisation_type="social_care", role="social_care", child_windows=windows)
    assert reach == AuditReach(children=tuple(windows))


def test_overlapping_and_adjacent_windows_of_a_child_are_joined() -> None:
    windows = [
        ChildReach("A20240012400", date(2024, 9, 1), date(2024, 12, 31)),
        ChildReach("A20240012400", date(2025, 1, 1), date(2025, 3, 1)),
        ChildReach("A20240012400", date(2025, 2, 1), date(2025, 2, 10)),
    ]
    assert merged_child_windows(windows) == (
        ChildReach("A20240012400", date(2024, 9, 1), date(2025, 3, 1)),
    )


def test_windows_of_a_child_with_a_gap_between_stay_apart() -> None:
    windows = [
        ChildReach("A20240012400", date(2025, 1, 3), None),
        ChildReach("A20240012400", date(2024, 9, 1), date(2025, 1, 1)),
    ]
    assert merged_child_windows(windows) == (
        ChildReach("A20240012400", date(2024, 9, 1), date(2025, 1, 1)),
        ChildReach("A20240012400", date(2025, 1, 3), None),
    )


def test_an_open_window_absorbs_later_windows_of_the_child() -> None:
    windows = [
        ChildReach("A20240012400", date(2024, 9, 1), None),
        ChildReach("A20240012400", date(2025, 1, 1), date(2025, 2, 1)),
    ]
    assert merged_child_windows(windows) == (ChildReach("A20240012400", date(2024, 9, 1), None),)
