"""The national attendance codes and the statistical category of each, by date.

Two code sets: the School Attendance (Pupil Registration) (England) Regulations 2024
apply from 19 August 2024; the 2006 regulations before. A code is valid only on dates
its set was in force. Sources: DfE *Working together to improve school attendance*
(August 2024) national codes table; DfE 2009 *Absence and attendance codes*; DfE
*Pupil absence statistics: methodology* for the counting rules.

Two rules beyond the tables are encoded here so every service applies them alike:
- `F` (extended family holiday) was withdrawn from 1 September 2013.
- From 1 September 2020, `X` also recorded "not attending in circumstances related to
  coronavirus": those sessions count as possible sessions but not as absence. DfE's
  2021/22 absence release says schools stopped recording that use of `X` from April
  2022 (such absence became `I`), so from 1 April 2022 `X` has only its ordinary meaning.
  Before April 2022 `X` also kept its ordinary meaning (non-compulsory school age); the
  two cannot be told apart in a register, and the headline cohort (aged 5 to 15) is of
  compulsory school age, so for it `X` in that window is the coronavirus category.

`-` ("no mark entered" in MIS exports) is not a code: see `NO_MARK`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Category(StrEnum):
    """The statistical category a register mark falls in."""

    PRESENT = "present"
    APPROVED_ACTIVITY = "approved_educational_activity"
    AUTHORISED = "authorised_absence"
    UNAUTHORISED = "unauthorised_absence"
    NOT_POSSIBLE = "not_possible"
    COVID_NOT_ATTENDING = "covid_not_attending"
    """Possible session, neither attendance nor absence (2020/21 and 2021/22 `X`)."""

    @property
    def is_possible(self) -> bool:
        return self is not Category.NOT_POSSIBLE

    @property
    def is_absence(self) -> bool:
        return self in (Category.AUTHORISED, Category.UNAUTHORISED)

    @property
    def is_attendance(self) -> bool:
        return self in (Category.PRESENT, Category.APPROVED_ACTIVITY)


REGULATIONS_2024_START = date(2024, 8, 19)
FAMILY_HOLIDAY_WITHDRAWN = date(2013, 9, 1)
COVID_X_FROM = date(2020, 9, 1)
COVID_X_UNTIL = date(2022, 3, 31)
NO_MARK = "-"


class CodeSet(StrEnum):
    REGULATIONS_2006 = "2006"
    REGULATIONS_2024 = "2024"


@dataclass(frozen=True)
class AttendanceCode:
    """One national attendance code as defined in one code set."""

    code: str
    category: Category
    meaning: str
    code_set: CodeSet
    dfe_reason: str | None = None
    """The DfE absence-by-reason variable the code is counted under, if an absence."""
    valid_until: date | None = None


def _codes(
    code_set: CodeSet, rows: list[tuple[str, Category, str, str | None]]
) -> dict[str, AttendanceCode]:
    return {
        c: AttendanceCode(c, cat, meaning, code_set, reason) for c, cat, meaning, reason in rows
    }


P, A, AU, UN, NP = (
    Category.PRESENT,
    Category.APPROVED_ACTIVITY,
    Category.AUTHORISED,
    Category.UNAUTHORISED,
    Category.NOT_POSSIBLE,
)

_COMMON_PRESENT_AND_UNAUTHORISED: list[tuple[str, Category, str, str | None]] = [
    ("/", P, "Present (AM)", None),
    ("\\", P, "Present (PM)", None),
    ("L", P, "Late, before the register closed", None),
    ("G", UN, "Holiday not agreed by the school", "sess_unauth_holiday"),
    ("N", UN, "Reason not yet established", "sess_unauth_noyet"),
    ("O", UN, "Absent in other or unknown circumstances", "sess_unauth_other"),
    ("U", UN, "Arrived after the register closed", "sess_unauth_late"),
]

CODES_2024: dict[str, AttendanceCode] = _codes(
    CodeSet.REGULATIONS_2024,
    [
        *_COMMON_PRESENT_AND_UNAUTHORISED,
        ("K", A, "Attending education provision arranged by the local authority", None),
        ("V", A, "Attending an educational visit or trip", None),
        ("P", A, "Participating in a sporting activity", None),
        ("W", A, "Attending work experience", None),
        ("B", A, "Attending any other approved educational activity", None),
        ("C1", AU, "Regulated performance or employment abroad", "sess_auth_other"),
        ("M", AU, "Medical or dental appointment", "sess_auth_appointments"),
        ("J1", AU, "Interview", "sess_auth_other"),
        ("S", AU, "Study leave", "sess_auth_study"),
        ("C2", AU, "Part-time timetable", "sess_auth_part_time"),
        ("C", AU, "Exceptional circumstances", "sess_auth_other"),
        ("T", AU, "Parent travelling for occupational purposes", "sess_auth_traveller"),
        ("R", AU, "Religious observance", "sess_auth_religious"),
        ("I", AU, "Illness (not medical or dental appointment)", "sess_auth_illness"),
        (
            "E",
            AU,
            "Suspended or permanently excluded, no alternative provision",
            "sess_auth_excluded",
        ),
        ("D", NP, "Dual registered: at another school", None),
        ("X", NP, "Non-compulsory school age, not required to attend", None),
        ("Q", NP, "Unable to attend: lack of access arrangements", None),
        ("Y1", NP, "Unable to attend: transport not available", None),
        ("Y2", NP, "Unable to attend: widespread disruption to travel", None),
        ("Y3", NP, "Unable to attend: part of the premises closed", None),
        ("Y4", NP, "Unable to attend: whole school site unexpectedly closed", None),
        ("Y5", NP, "Unable to attend: criminal justice detention", None),
        ("Y6", NP, "Unable to attend: public health guidance or law", None),
        ("Y7", NP, "Unable to attend: any other unavoidable cause", None),
        ("Z", NP, "Prospective pupil not yet on roll", None),
        ("#", NP, "Planned whole or partial school closure", None),
    ],
)

CODES_2006: dict[str, AttendanceCode] = _codes(
    CodeSet.REGULATIONS_2006,
    [
        *_COMMON_PRESENT_AND_UNAUTHORISED,
        ("B", A, "Educated off site (not dual registration)", None),
        ("J", A, "At an interview with prospective employers or another school", None),
        ("P", A, "Participating in a supervised sporting activity", None),
        ("V", A, "Educational visit or trip", None),
        ("W", A, "Work experience", None),
        ("C", AU, "Other authorised circumstances", "sess_auth_other"),
        ("E", AU, "Excluded, no alternative provision", "sess_auth_excluded"),
        ("H", AU, "Holiday agreed by the school", "sess_auth_holiday"),
        ("I", AU, "Illness", "sess_auth_illness"),
        ("M", AU, "Medical or dental appointment", "sess_auth_appointments"),
        ("R", AU, "Religious observance", "sess_auth_religious"),
        ("S", AU, "Study leave", "sess_auth_study"),
        ("T", AU, "Traveller absence", "sess_auth_traveller"),
        ("D", NP, "Dual registered: at another school", None),
        ("X", NP, "Non-compulsory school age, not required to attend", None),
        ("Y", NP, "Enforced closure or exceptional circumstances", None),
        ("Z", NP, "Pupil not yet on roll", None),
        ("#", NP, "School closed to pupils", None),
    ],
)
CODES_2006["F"] = AttendanceCode(
    "F",
    AU,
    "Extended family holiday (agreed)",
    CodeSet.REGULATIONS_2006,
    "sess_auth_holiday",
    valid_until=FAMILY_HOLIDAY_WITHDRAWN,
)

DFE_REASONS: tuple[str, ...] = (
    "sess_auth_illness",
    "sess_auth_appointments",
    "sess_auth_religious",
    "sess_auth_study",
    "sess_auth_traveller",
    "sess_auth_holiday",
    "sess_auth_excluded",
    "sess_auth_other",
    "sess_auth_part_time",
    "sess_unauth_holiday",
    "sess_unauth_late",
    "sess_unauth_other",
    "sess_unauth_noyet",
)
"""DfE absence-by-reason variables, in the order DfE's files list them."""

ALL_CODES: frozenset[str] = frozenset(CODES_2024) | frozenset(CODES_2006)


def code_set_on(day: date) -> dict[str, AttendanceCode]:
    """The code table in force on a day."""
    return CODES_2024 if day >= REGULATIONS_2024_START else CODES_2006


def lookup(code: str, day: date) -> AttendanceCode | None:
    """The definition of `code` on `day`, or None if the code was not in force then."""
    found = code_set_on(day).get(code)
    if found is None or (found.valid_until is not None and day >= found.valid_until):
        return None
    return found


def category_on(code: str, day: date) -> Category:
    """The statistical category of a valid mark; raises KeyError for a code not in force."""
    found = lookup(code, day)
    if found is None:
        raise KeyError(f"{code!r} is not an attendance code in force on {day.isoformat()}")
    if code == "X" and COVID_X_FROM <= day <= COVID_X_UNTIL:
        return Category.COVID_NOT_ATTENDING
    return found.category
