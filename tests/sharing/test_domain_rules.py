"""Sharing's domain rules, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from services.sharing.domain import policy
from services.sharing.domain.organisations import (
    OrganisationDraft,
    OrganisationType,
    Window,
    organisation_problems,
)
from services.sharing.domain.roles import client_problems
from services.sharing.domain.secrets import hash_secret, verify_secret
from services.sharing.store.pagination import decode_cursor, encode_cursor


def test_a_secret_verifies_against_its_hash() -> None:
    assert verify_secret("s3cret", hash_secret("s3cret"))


def test_a_wrong_secret_does_not_verify() -> None:
    assert not verify_secret("s3cret!", hash_secret("s3cret"))


def test_each_hash_has_its_own_salt() -> None:
    assert hash_secret("same") != hash_secret("same")


def test_a_malformed_stored_hash_never_verifies() -> None:
    assert not verify_secret("x", "plain-text")


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        (Window(date(2020, 1, 1), date(2020, 12, 31)), Window(date(2021, 1, 1), None), False),
        (Window(date(2020, 1, 1), date(2020, 12, 31)), Window(date(2020, 12, 31), None), True),
        (Window(date(2020, 1, 1), None), Window(date(2030, 1, 1), None), True),
        (Window(date(2022, 1, 1), None), Window(date(2020, 1, 1), date(2021, 12, 31)), False),
    ],
)
def test_windows_overlap_when_they_share_a_day(a: Window, b: Window, overlap: bool) -> None:
    assert a.overlaps(b) is overlap
    assert b.overlaps(a) is overlap


def test_a_valid_school_has_no_problems() -> None:
    draft = OrganisationDraft(
        OrganisationType.SCHOOL, "A school", urn="100001", dfe_number="8002000", phase="secondary"
    )
    assert organisation_problems(draft) == []


def test_a_local_authority_with_a_two_digit_code_is_a_problem() -> None:
    draft = OrganisationDraft(OrganisationType.LOCAL_AUTHORITY, "LA", la_code="80")
    assert [p.code for p in organisation_problems(draft)] == ["invalid_la_code"]


def test_a_dfe_organisation_carries_no_identifiers() -> None:
    draft = OrganisationDraft(OrganisationType.DFE, "DfE", urn="100001")
    assert [p.code for p in organisation_problems(draft)] == ["not_applicable"]


def test_admin_is_only_an_operator_role() -> None:
    problems = client_problems(OrganisationType.TRUST, "admin", ["directory:read"])
    assert [p.code for p in problems] == ["role_not_for_organisation_type"]


def test_returns_write_is_for_submitting_systems_only() -> None:
    problems = client_problems(OrganisationType.LOCAL_AUTHORITY, "la_attendance", ["returns:write"])
    assert [p.code for p in problems] == ["scope_not_for_role"]


def test_a_trust_window_is_its_membership() -> None:
    decision = policy.trust_visibility(
        [
            policy.Membership("100002", date(2021, 9, 1), None),
            policy.Membership("100001", date(2019, 9, 1), date(2021, 8, 31)),
        ]
    )
    assert decision.schools == (
        policy.SchoolWindow("100001", date(2019, 9, 1), date(2021, 8, 31)),
        policy.SchoolWindow("100002", date(2021, 9, 1), None),
    )


def test_the_dfe_sees_aggregates_only() -> None:
    decision = policy.dfe_visibility()
    assert (decision.all_schools, decision.pupil_level) == (True, False)


def test_a_cursor_round_trips() -> None:
    assert decode_cursor(encode_cursor("abc")) == "abc"
