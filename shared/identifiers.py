"""Identifiers of pupils and schools: UPN, URN, LA code, DfE number.

The UPN check letter comes from `python-stdnum` (`stdnum.gb.upn.calc_check_digit`), but
not its `validate`: that refuses LA codes missing from its 2011 list (838 Dorset, 839
Bournemouth Christchurch and Poole, 940-943 ...), and a UPN must never be rejected only
for that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from stdnum.gb.upn import calc_check_digit

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
UNKNOWN_UPN_PLACEHOLDERS = frozenset({"UN1", "UN2", "UN3", "UN4", "UN5"})
"""What CIN census and SSDA903 returns write when a child's UPN is unknown."""

_UPN_SHAPE = re.compile(rf"^[{UPN_LETTERS}]\d{{11}}[0-9{UPN_LETTERS}]$")
URN_PATTERN = r"^\d{6}$"
LA_CODE_PATTERN = r"^\d{3}$"
DFE_NUMBER_PATTERN = r"^\d{7}$"


@dataclass(frozen=True)
class UpnCheck:
    """The outcome of checking one UPN."""

    upn: str
    valid: bool
    temporary: bool = False
    problem: str | None = None


def normalise_upn(raw: str) -> str:
    return raw.strip().upper().replace(" ", "")


# The same few thousand UPNs of a school arrive every school day, and computing a check
# letter was a tenth of a daily return's time; 65,536 results are a few megabytes.
@lru_cache(maxsize=65_536)
def check_upn(raw: str) -> UpnCheck:
    """Check a UPN's shape and check letter; a temporary UPN ends in a letter."""
    upn = normalise_upn(raw)
    if len(upn) != 13:
        return UpnCheck(upn, False, problem=f"a UPN has 13 characters, not {len(upn)}")
    if not _UPN_SHAPE.match(upn):
        return UpnCheck(
            upn,
            False,
            problem="a UPN is a check letter, 11 digits, then a digit or (temporary) a letter",
        )
    expected = calc_check_digit(upn[1:])
    if expected != upn[0]:
        return UpnCheck(upn, False, problem=f"the check letter should be {expected}, not {upn[0]}")
    return UpnCheck(upn, True, temporary=upn[-1].isalpha())


def is_unknown_upn(raw: str | None) -> bool:
    """True for a missing UPN or a social-care placeholder (UN1-UN5)."""
    return raw is None or normalise_upn(raw) in UNKNOWN_UPN_PLACEHOLDERS or not raw.strip()


def is_urn(value: str) -> bool:
    return re.fullmatch(URN_PATTERN, value) is not None


def is_la_code(value: str) -> bool:
    return re.fullmatch(LA_CODE_PATTERN, value) is not None
