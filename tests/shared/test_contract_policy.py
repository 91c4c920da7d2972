"""The Reach's data form (`ReachData`, what the data services read sharing's answer into)
says what the models say: the same fields, the same values, read as strictly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, ValidationError

from shared.contracts.policy import (
    REACH_DATA,
    Basis,
    BasisData,
    BasisKind,
    ChildWindow,
    ChildWindowData,
    PupilField,
    Reach,
    ReachData,
    SchoolReach,
    SchoolReachData,
    SchoolWindow,
    SchoolWindowData,
    Terms,
    TermsData,
)
from shared.contracts.social_care import SocialCareCategory

D = dt.date
OWN_PUPILS = Terms(
    fields=[PupilField.ATTENDANCE, PupilField.IDENTITY],
    basis=Basis(kind=BasisKind.OWN_PUPILS, id="own_pupils", legal_basis="Education Act"),
)
EPISODE = Terms(
    fields=[PupilField.ATTENDANCE, PupilField.SOCIAL_CARE],
    basis=Basis(
        kind=BasisKind.STATUTORY, id="statutory:social_care", legal_basis="Children Act 1989"
    ),
)


def every_field_set() -> Reach:
    return Reach(
        organisation_id="org",
        organisation_type="virtual_school",
        actor="sw-1",
        as_of=D(2024, 12, 13),
        all_schools=False,
        all_schools_fields=[PupilField.ATTENDANCE],
        pupil_level=True,
        terms=[OWN_PUPILS, EPISODE],
        schools=[
            SchoolReach(urn="100001", from_date=D(2024, 9, 1), to_date=D(2025, 8, 31), terms=0)
        ],
        children=[
            ChildWindow(
                upn="A123456789012",
                from_date=D(2024, 1, 1),
                to_date=None,
                terms=1,
                episode_id="episode-1",
                category=SocialCareCategory.LOOKED_AFTER,
                practitioner_ref="sw-1",
                schools=[SchoolWindow(urn="100002", from_date=D(2024, 9, 1), to_date=None)],
            )
        ],
    )


@pytest.mark.parametrize(
    ("data", "model"),
    [
        (BasisData, Basis),
        (TermsData, Terms),
        (SchoolWindowData, SchoolWindow),
        (SchoolReachData, SchoolReach),
        (ChildWindowData, ChildWindow),
        (ReachData, Reach),
    ],
)
def test_each_data_form_has_exactly_its_models_fields(
    data: type[Any], model: type[BaseModel]
) -> None:
    assert sorted(data.__annotations__) == sorted(model.model_fields)


def test_a_reach_as_sharing_writes_it_reads_into_the_data_form_with_the_models_values() -> None:
    decision = every_field_set()
    assert REACH_DATA.validate_json(decision.model_dump_json()) == decision.model_dump()


def test_a_reach_missing_a_key_is_refused_not_filled_with_a_default() -> None:
    written = orjson.loads(every_field_set().model_dump_json())
    del written["pupil_level"]
    with pytest.raises(ValidationError):
        REACH_DATA.validate_json(orjson.dumps(written))


def test_terms_with_an_unknown_field_are_refused() -> None:
    written = orjson.loads(every_field_set().model_dump_json())
    written["terms"][1]["fields"] = ["attendance", "shoe_size"]
    with pytest.raises(ValidationError):
        REACH_DATA.validate_json(orjson.dumps(written))


@pytest.mark.parametrize("windows", ["schools", "children"])
def test_a_window_naming_terms_the_reach_does_not_list_is_refused_by_both_forms(
    windows: str,
) -> None:
    written = orjson.loads(every_field_set().model_dump_json())
    written[windows][0]["terms"] = 2
    with pytest.raises(ValidationError, match="terms the Reach does not list"):
        REACH_DATA.validate_json(orjson.dumps(written))
    with pytest.raises(ValidationError, match="terms the Reach does not list"):
        Reach.model_validate(written)


def test_a_window_naming_terms_by_a_negative_place_is_refused() -> None:
    written = orjson.loads(every_field_set().model_dump_json())
    written["children"][0]["terms"] = -1  # would be the last terms, were it read as listed
    with pytest.raises(ValidationError):
        REACH_DATA.validate_json(orjson.dumps(written))
