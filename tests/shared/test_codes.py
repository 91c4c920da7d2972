"""The national code table: which codes are in force when, and their categories."""

from __future__ import annotations

from datetime import date

import pytest

from shared.codes import Category, category_on, lookup


@pytest.mark.parametrize(
    ("code", "day", "category"),
    [
        ("/", date(2024, 9, 2), Category.PRESENT),
        ("K", date(2024, 9, 2), Category.APPROVED_ACTIVITY),
        ("J1", date(2024, 9, 2), Category.AUTHORISED),
        ("J", date(2023, 9, 4), Category.APPROVED_ACTIVITY),
        ("C2", date(2024, 9, 2), Category.AUTHORISED),
        ("N", date(2024, 9, 2), Category.UNAUTHORISED),
        ("D", date(2024, 9, 2), Category.NOT_POSSIBLE),
        ("Y7", date(2024, 9, 2), Category.NOT_POSSIBLE),
        ("H", date(2024, 8, 16), Category.AUTHORISED),
    ],
)
def test_a_code_has_its_category_on_a_day_its_set_is_in_force(
    code: str, day: date, category: Category
) -> None:
    assert category_on(code, day) is category


@pytest.mark.parametrize(
    ("code", "day"),
    [
        ("H", date(2024, 8, 19)),  # withdrawn by the 2024 regulations
        ("J", date(2024, 9, 2)),  # became J1
        ("Y", date(2024, 9, 2)),  # split into Y1-Y7
        ("C2", date(2024, 8, 16)),  # new in 2024
        ("K", date(2023, 9, 4)),
        ("F", date(2013, 9, 1)),  # extended family holiday, withdrawn 2013
        ("-", date(2024, 9, 2)),  # "no mark entered" is not a code
    ],
)
def test_a_code_is_not_valid_outside_its_code_set(code: str, day: date) -> None:
    assert lookup(code, day) is None


def test_x_in_2020_to_march_2022_is_possible_but_not_absence() -> None:
    category = category_on("X", date(2021, 1, 11))
    assert category is Category.COVID_NOT_ATTENDING
    assert category.is_possible
    assert not category.is_absence


def test_x_from_april_2022_is_not_a_possible_session() -> None:
    assert category_on("X", date(2022, 4, 25)) is Category.NOT_POSSIBLE
