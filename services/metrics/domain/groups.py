"""The characteristics a breakdown can group by, and how raw values map to groups.

Ethnicity is grouped into the major groups of DfE's school-census statistics, which
keep Chinese as its own major group (unlike the 2021 ONS census, which puts it under
Asian): the first letter of the 4-letter census code names the group, `CHNE` (and its
extended codes, which all start with `C`) is Chinese, and `REFU` (refused) and `NOBT`
(not obtained) are Unclassified, as is anything unrecognised.
"""

from __future__ import annotations

from enum import StrEnum


class Dimension(StrEnum):
    """What `group_by` accepts."""

    SCHOOL = "school"
    PHASE = "phase"
    NC_YEAR = "nc_year"
    GENDER = "gender"
    SEN_PROVISION = "sen_provision"
    FSM_ELIGIBLE = "fsm_eligible"
    ETHNICITY_GROUP = "ethnicity_group"
    SOCIAL_CARE_STATUS = "social_care_status"


TOTAL = "Total"
"""The value a margin row shows for a dimension summed over (DfE's own label)."""

WHITE = "White"
MIXED = "Mixed"
ASIAN = "Asian"
BLACK = "Black"
CHINESE = "Chinese"
OTHER = "Any other ethnic group"
UNCLASSIFIED = "Unclassified"

_BY_FIRST_LETTER = {"W": WHITE, "M": MIXED, "A": ASIAN, "B": BLACK, "C": CHINESE, "O": OTHER}
_UNCLASSIFIED_CODES = frozenset({"REFU", "NOBT"})


def ethnicity_group(code: str) -> str:
    """The DfE major ethnic group of a 4-letter census ethnicity code."""
    normalised = code.strip().upper()
    if len(normalised) != 4 or normalised in _UNCLASSIFIED_CODES:
        return UNCLASSIFIED
    return _BY_FIRST_LETTER.get(normalised[0], UNCLASSIFIED)


NO_SOCIAL_CARE = "None"
"""Social-care status of a child with no episode overlapping the period."""
