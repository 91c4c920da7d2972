"""The generated registers: valid codes on school days, the awkward cases, calibration."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from services.cli.demo.calibration import Figures, calibration
from services.cli.demo.marks import Registers, generate_registers
from services.cli.demo.population import DemoConfig, Population, Tag, build_population
from shared.codes import lookup


@pytest.fixture(scope="module")
def generated() -> tuple[Population, Registers]:
    population = build_population(DemoConfig())
    return population, generate_registers(population)


@pytest.fixture(scope="module")
def figures(generated: tuple[Population, Registers]) -> dict[str, Figures]:
    population, registers = generated
    return calibration(population, registers.year)


def _codes(registers: Registers) -> Counter[str]:
    return Counter(code for r in registers.year for _d, _s, code in r.sessions())


def test_the_same_seed_gives_the_same_marks(generated: tuple[Population, Registers]) -> None:
    _population, registers = generated
    again = generate_registers(build_population(DemoConfig()))
    assert [r.marks for r in again.year[:300]] == [r.marks for r in registers.year[:300]]


def test_every_mark_is_a_code_in_force_on_its_date(
    generated: tuple[Population, Registers],
) -> None:
    _population, registers = generated
    for register in [*registers.year, *registers.older]:
        for day, session, code in register.sessions(provisional=True):
            assert lookup(code, day) is not None, (register.enrolment.child.upn, day, session)


def test_marks_fall_only_on_register_days_while_the_pupil_is_on_roll(
    generated: tuple[Population, Registers],
) -> None:
    population, registers = generated
    days = set(population.calendar.register_days)
    for register in registers.year:
        assert set(register.marks) <= days
        assert all(register.enrolment.on_roll(d) for d in register.marks)


def test_no_register_is_kept_at_weekends_half_terms_or_bank_holidays(
    generated: tuple[Population, Registers],
) -> None:
    population, _registers = generated
    days = set(population.calendar.register_days)
    assert not any(d.weekday() >= 5 for d in days)
    assert date(2024, 10, 30) not in days  # autumn half term
    assert date(2025, 5, 5) not in days  # early May bank holiday
    assert len(population.calendar.pupil_days) == 190


def test_inset_days_are_planned_closures_for_everyone_on_roll(
    generated: tuple[Population, Registers],
) -> None:
    _population, registers = generated
    for register in registers.year:
        if date(2025, 1, 6) in register.marks:
            assert register.marks[date(2025, 1, 6)] == ("#", "#")


def test_absence_reasons_mix_illness_first_with_the_other_reasons_present(
    generated: tuple[Population, Registers],
) -> None:
    codes = _codes(generated[1])
    absence = {
        c: n for c, n in codes.items() if c in ["I", "M", "G", "O", "N", "U", "E", "C", "C2", "R"]
    }
    assert max(absence, key=lambda c: absence[c]) == "I"
    assert {"M", "G", "O", "U", "E", "C2", "L", "V", "D", "Y4"} <= set(codes)


def test_provisional_n_marks_are_amended_to_a_reason(
    generated: tuple[Population, Registers],
) -> None:
    amended = [(r, d) for r in generated[1].year for d in r.provisional]
    assert len(amended) > 100
    assert all(r.provisional[d] == ("N", "N") and r.marks[d][0] in ("I", "O") for r, d in amended)


def test_the_dual_registered_child_is_d_at_the_main_school_on_days_at_the_other(
    generated: tuple[Population, Registers],
) -> None:
    _population, registers = generated
    mains = [r for r in registers.year if Tag.DUAL_MAIN in r.enrolment.tags]
    subs = {
        r.enrolment.child.upn: r for r in registers.year if Tag.DUAL_SUBSIDIARY in r.enrolment.tags
    }
    assert mains
    for main in mains:
        sub = subs[main.enrolment.child.upn]
        for day, codes in sub.marks.items():
            if codes != ("#", "#") and main.marks.get(day, ("#", "#")) != ("#", "#"):
                # Exactly one of the two schools has the child on each shared day.
                assert (codes == ("D", "D")) != (main.marks[day] == ("D", "D")), day


def test_the_older_summer_term_uses_the_2006_codes(
    generated: tuple[Population, Registers],
) -> None:
    _population, registers = generated
    older = Counter(code for r in registers.older for _d, _s, code in r.sessions())
    assert registers.older
    assert "H" in older
    assert not {"C2", "Y4", "J1"} & set(older)
    assert all(d < date(2024, 8, 19) for r in registers.older for d in r.marks)


def test_overall_absence_lands_near_the_national_seven_percent(
    figures: dict[str, Figures],
) -> None:
    assert 6.0 <= figures["all"].overall <= 8.5
    assert 1.8 <= figures["all"].unauthorised <= 3.2


def test_persistent_and_severe_absence_land_near_the_national_shares(
    figures: dict[str, Figures],
) -> None:
    assert 16.0 <= figures["all"].persistent <= 24.0
    assert 1.0 <= figures["all"].severe <= 3.5


def test_fsm_and_sen_pupils_are_absent_about_twice_as_often(
    figures: dict[str, Figures],
) -> None:
    assert figures["fsm"].overall >= 1.6 * figures["not fsm"].overall
    assert figures["ehc plan"].overall >= 1.5 * figures["no sen"].overall
    assert figures["sen support"].persistent >= 1.4 * figures["no sen"].persistent


def test_children_in_need_and_on_plans_are_far_more_often_persistently_absent(
    figures: dict[str, Figures],
) -> None:
    assert figures["child in need"].persistent >= 1.8 * figures["all"].persistent
    assert figures["child on plan"].persistent >= 1.8 * figures["all"].persistent


def test_persistent_absence_rises_from_primary_to_secondary_to_special(
    figures: dict[str, Figures],
) -> None:
    assert figures["primary"].persistent < figures["secondary"].persistent
    assert figures["secondary"].persistent < figures["special"].persistent
