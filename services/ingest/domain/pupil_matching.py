"""Matching a child to the pupil rolls by legal names and date of birth, never by guessing.

Names are compared after a normalisation that removes only differences of writing, not of
spelling: letter case, accents, apostrophes (O'Brien = OBrien), and hyphens or runs of
white space (Smith-Jones = Smith Jones). Anything else — a nickname, a typo, a missing
middle name — is a different name: a fuzzy match would, one day, name the wrong child.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from shared.contracts.pupil_matches import MatchOutcome, PupilMatch

_APOSTROPHES = re.compile(r"['’‘`´]")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—]+")


def normalise_name(raw: str) -> str:
    """The form two spellings of one name share: no case, accents, apostrophes or hyphens."""
    decomposed = unicodedata.normalize("NFKD", raw)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    without_apostrophes = _APOSTROPHES.sub("", letters.casefold())
    return _SEPARATORS.sub(" ", without_apostrophes).strip()


@dataclass(frozen=True)
class RollEntry:
    """A pupil on some school's roll, as matching needs it."""

    upn: str
    legal_forename: str
    legal_surname: str


def match_pupil(forename: str, surname: str, candidates: Iterable[RollEntry]) -> PupilMatch:
    """The outcome over roll entries already born on the right day.

    One child on several rolls (dual registration, a move) is one match: pupils are
    counted by UPN. Two UPNs under the same names and birth date are ambiguous, even if
    they are in fact one child with a temporary and a permanent UPN: only a person can
    tell, so the caller must give the UPN.
    """
    wanted = (normalise_name(forename), normalise_name(surname))
    upns = {
        entry.upn
        for entry in candidates
        if (normalise_name(entry.legal_forename), normalise_name(entry.legal_surname)) == wanted
    }
    if len(upns) == 1:
        return PupilMatch(outcome=MatchOutcome.MATCHED, candidates=1, upn=next(iter(upns)))
    if upns:
        return PupilMatch(outcome=MatchOutcome.AMBIGUOUS, candidates=len(upns))
    return PupilMatch(outcome=MatchOutcome.NOT_FOUND, candidates=0)
