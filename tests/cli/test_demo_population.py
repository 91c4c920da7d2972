"""The synthetic authority: deterministic, valid identifiers, realistic shares, awkward cases."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from services.cli.demo.population import DemoConfig, Population, Tag, build_population
from shared.contracts.social_care import SocialCareCategory
from shared.identifiers import check_upn


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(DemoConfig())


def _fingerprint(population: Population) -> list[tuple[object, ...]]:
    return [
        (
            e.school.urn,
            e.child.upn,
            e.child.forename,
            e.child.surname,
            e.child.date_of_birth,
            e.status,
            e.entry_date,
            e.leaving_date,
            round(e.child.propensity, 12),
        )
        for e in population.enrolments
    ]


def test_the_same_seed_gives_the_same_authority(population: Population) -> None:
    assert _fingerprint(build_population(DemoConfig())) == _fingerprint(population)


def test_another_seed_gives_other_pupils(population: Population) -> None:
    other = build_population(DemoConfig(seed=99))
    assert {c.upn for c in other.children} != {c.upn for c in population.children}


def test_the_default_authority_has_ten_schools_of_three_phases_and_about_5000_pupils(
    population: Population,
) -> None:
    phases = Counter(s.phase.value for s in population.home_schools())
    assert phases == {"primary": 6, "secondary": 3, "special": 1}
    home_children = {
        e.child.upn for e in population.enrolments if e.school.la_code == population.la.code
    }
    assert 4800 <= len(home_children) <= 5400


def test_every_upn_has_a_valid_check_letter_and_belongs_to_one_child(
    population: Population,
) -> None:
    upns = [c.upn for c in population.children]
    assert len(set(upns)) == len(upns)
    assert all(check_upn(u).valid and not check_upn(u).temporary for u in upns)


def test_dates_of_birth_agree_with_the_national_curriculum_year(population: Population) -> None:
    for child in population.children:
        # A child in year N is N + 4 on 31 August before the academic year.
        on_31_august = date(population.config.year, 8, 31)
        age = (
            on_31_august.year
            - child.date_of_birth.year
            - (
                (on_31_august.month, on_31_august.day)
                < (child.date_of_birth.month, child.date_of_birth.day)
            )
        )
        assert age == child.nc_year + 4, child


def test_sen_and_fsm_shares_are_close_to_the_national_ones(population: Population) -> None:
    children = population.children
    sen = Counter(c.sen_provision for c in children)
    assert 0.11 <= sen["K"] / len(children) <= 0.15
    assert 0.035 <= sen["E"] / len(children) <= 0.055
    assert 0.21 <= sum(c.fsm_eligible for c in children) / len(children) <= 0.29


def test_ethnicity_codes_are_dfe_codes_with_white_british_the_largest_group(
    population: Population,
) -> None:
    codes = Counter(c.ethnicity for c in population.children)
    assert all(len(code) == 4 and code.isupper() for code in codes)
    assert codes.most_common(1)[0][0] == "WBRI"
    assert len(codes) >= 15


def test_children_with_a_social_worker_are_about_the_published_shares(
    population: Population,
) -> None:
    counts = Counter(e.category for e in population.episodes)
    children = len(population.children)
    assert 0.010 <= counts[SocialCareCategory.CHILD_IN_NEED] / children <= 0.020
    assert 0.003 <= counts[SocialCareCategory.CHILD_PROTECTION_PLAN] / children <= 0.008
    assert 0.005 <= counts[SocialCareCategory.LOOKED_AFTER] / children <= 0.010


def test_every_social_care_episode_has_a_practitioner_with_that_child_on_their_caseload(
    population: Population,
) -> None:
    for episode in population.episodes:
        assert episode.la_code == population.la.code
        assert episode.practitioner_ref is not None
        assert episode.upn in population.practitioners[episode.practitioner_ref]


def test_one_school_changes_trust_on_the_first_of_january(population: Population) -> None:
    by_school: dict[str, list[tuple[str, date, date | None]]] = {}
    for m in population.memberships:
        by_school.setdefault(m.school_key, []).append((m.trust_key, m.start_date, m.end_date))
    changed = [spans for spans in by_school.values() if len(spans) == 2]
    assert len(changed) == 1
    (first, _s1, ended), (second, started, _e2) = sorted(changed[0], key=lambda s: s[1])
    assert first != second
    assert (ended, started) == (date(2024, 12, 31), date(2025, 1, 1))


def test_a_looked_after_child_is_placed_in_the_neighbouring_authoritys_school(
    population: Population,
) -> None:
    placed = [e for e in population.enrolments if Tag.PLACED_OUT_OF_AREA in e.tags]
    assert len(placed) == 1
    assert placed[0].school.la_code == population.neighbour_la.code
    assert placed[0].child.social_care is SocialCareCategory.LOOKED_AFTER
    assert any(ep.upn == placed[0].child.upn for ep in population.episodes)


def test_a_mover_has_two_enrolments_that_do_not_overlap(population: Population) -> None:
    movers = [e for e in population.enrolments if Tag.MOVER_IN in e.tags]
    assert movers
    for joined in movers:
        left = next(
            e for e in population.enrolments if e.child is joined.child and Tag.MOVER_OUT in e.tags
        )
        assert left.school.key != joined.school.key
        assert left.leaving_date is not None
        assert left.leaving_date < joined.entry_date


def test_mid_year_joiners_and_leavers_are_present(population: Population) -> None:
    first = population.calendar.first_day
    joiners = [e for e in population.enrolments if Tag.JOINER in e.tags]
    leavers = [e for e in population.enrolments if Tag.LEAVER in e.tags]
    assert joiners
    assert all(e.entry_date > first for e in joiners)
    assert leavers
    assert all(e.leaving_date is not None for e in leavers)


def test_a_dual_registered_child_is_main_at_one_school_and_subsidiary_at_another(
    population: Population,
) -> None:
    subsidiaries = [e for e in population.enrolments if e.status == "S"]
    assert subsidiaries
    for sub in subsidiaries:
        main = next(e for e in population.enrolments if e.child is sub.child and e.status == "M")
        assert main.school.key != sub.school.key
        tuesday = date(2024, 12, 3)
        assert main.at_other_school(tuesday) != sub.at_other_school(tuesday)


def test_too_few_schools_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 schools"):
        DemoConfig(schools=1)
