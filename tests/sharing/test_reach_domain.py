"""The access policy's rules as plain functions (domain.reach, domain.token_exchange)."""

from __future__ import annotations

from datetime import date

from services.sharing.domain.policy import SchoolWindow
from services.sharing.domain.reach import (
    SOCIAL_CARE_FIELDS,
    AgreementFact,
    EpisodeFact,
    agreement_grants,
    social_care_reach,
    virtual_school_reach,
)
from services.sharing.domain.token_exchange import narrowed_scope
from shared.contracts.policy import PupilField
from shared.contracts.social_care import SocialCareCategory

DAY = date(2025, 3, 3)
CLA, CIN = SocialCareCategory.LOOKED_AFTER, SocialCareCategory.CHILD_IN_NEED


def episode(
    upn: str,
    start: date,
    end: date | None,
    ref: str | None = None,
    category: SocialCareCategory = CIN,
) -> EpisodeFact:
    return EpisodeFact(f"e-{upn}", upn, category, start, end, ref)


def agreement(**overrides: object) -> AgreementFact:
    values: dict[str, object] = {
        "id": "ag-1",
        "upns": ("U1",),
        "fields": (PupilField.ATTENDANCE,),
        "starts_on": date(2025, 1, 1),
        "ends_on": date(2025, 6, 30),
        "revoked": False,
        "legal_basis": "UK GDPR Art. 6(1)(e)",
        "grantor_schools": (SchoolWindow("100001"),),
    }
    return AgreementFact(**(values | overrides))  # type: ignore[arg-type]


def test_social_care_sees_an_episode_open_on_the_day() -> None:
    decision = social_care_reach(
        [episode("U1", date(2025, 1, 1), None)], as_of=DAY, practitioner=None
    )
    assert [(c.upn, c.fields) for c in decision.children] == [("U1", SOCIAL_CARE_FIELDS)]


def test_social_care_does_not_see_an_episode_that_ended_before_the_day() -> None:
    ended = episode("U1", date(2024, 1, 1), date(2025, 3, 2))
    assert social_care_reach([ended], as_of=DAY, practitioner=None).children == ()


def test_social_care_does_not_see_an_episode_not_yet_started() -> None:
    future = episode("U1", date(2025, 3, 4), None)
    assert social_care_reach([future], as_of=DAY, practitioner=None).children == ()


def test_a_practitioner_sees_only_episodes_allocated_to_them() -> None:
    episodes = [episode("U1", DAY, None, "sw-1"), episode("U2", DAY, None, "sw-2")]
    decision = social_care_reach(episodes, as_of=DAY, practitioner="sw-1")
    assert [c.upn for c in decision.children] == ["U1"]


def test_social_care_is_told_the_category_and_practitioner_of_its_episodes() -> None:
    # Its view lists children by them without asking for the episodes again.
    decision = social_care_reach(
        [episode("U1", DAY, None, "sw-1", CLA)], as_of=DAY, practitioner=None
    )
    assert [(c.category, c.practitioner_ref) for c in decision.children] == [(CLA, "sw-1")]


def test_a_virtual_school_is_told_the_category_and_practitioner_of_each_episode() -> None:
    decision = virtual_school_reach([episode("U1", DAY, None, "sw-1", CLA)])
    assert [(c.category, c.practitioner_ref) for c in decision.children] == [(CLA, "sw-1")]


def test_social_care_never_gets_sen_or_ethnicity() -> None:
    assert {PupilField.SEN, PupilField.ETHNICITY, PupilField.FSM} & set(SOCIAL_CARE_FIELDS) == set()


def test_the_virtual_schools_basis_depends_on_the_category() -> None:
    decision = virtual_school_reach(
        [episode("U1", DAY, None, category=CLA), episode("U2", DAY, None, category=CIN)]
    )
    assert [c.basis.id for c in decision.children] == [
        "statutory:virtual_school_looked_after",
        "statutory:virtual_school_social_worker",
    ]


def test_an_agreement_is_limited_to_the_grantors_windows_within_its_own() -> None:
    fact = agreement(grantor_schools=(SchoolWindow("100001", date(2024, 9, 1), date(2025, 2, 28)),))
    [grant] = agreement_grants([fact], as_of=date(2025, 2, 1))
    assert grant.schools == (SchoolWindow("100001", date(2025, 1, 1), date(2025, 2, 28)),)


def test_an_agreement_whose_grantor_sees_no_school_in_its_window_gives_nothing() -> None:
    fact = agreement(grantor_schools=(SchoolWindow("100001", date(2020, 1, 1), date(2024, 1, 1)),))
    assert agreement_grants([fact], as_of=date(2025, 2, 1)) == ()


def test_a_revoked_agreement_gives_nothing() -> None:
    assert agreement_grants([agreement(revoked=True)], as_of=date(2025, 2, 1)) == ()


def test_an_agreement_after_its_end_gives_nothing() -> None:
    assert agreement_grants([agreement()], as_of=date(2025, 7, 1)) == ()


def test_an_exchange_keeps_the_requested_scopes_the_subject_holds() -> None:
    assert narrowed_scope("social_care:read", "social_care:read social_care:write") == (
        "social_care:read"
    )


def test_an_exchange_refuses_a_scope_the_subject_lacks() -> None:
    assert narrowed_scope("social_care:write", "social_care:read") is None


def test_an_exchange_without_a_scope_keeps_the_subjects() -> None:
    assert narrowed_scope(None, "a b") == "a b"
