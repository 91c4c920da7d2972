"""The rules a whole return must satisfy, and the data-quality warnings of its receipt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.ingest.domain.parsing import MarkRow, ParsedReturn
from services.ingest.domain.problems import Problems
from shared.codes import ALL_CODES, lookup

WARNING_EXAMPLES = 20
N_CODE_SCHOOL_DAYS = 5


@dataclass(frozen=True)
class QualityWarning:
    """One kind of data-quality finding: how many, and the first few (upn, date, session)."""

    code: str
    detail: str
    count: int
    examples: list[tuple[str, date | None, str | None]] = field(default_factory=list)


def validate_return(
    parsed: ParsedReturn,
    *,
    stored_roll: Mapping[str, tuple[date, date | None]],
    today: date,
    problems: Problems,
    school_dfe_number: str | None = None,
) -> None:
    """Check the cross-record rules; sorts and de-duplicates `parsed.marks` in place.

    `stored_roll` maps each UPN already on this school's stored roll to its entry and
    leaving dates; a pupil in this return's roll replaces the stored entry.
    """
    if (
        parsed.source_dfe_number
        and school_dfe_number
        and parsed.source_dfe_number != school_dfe_number
    ):
        problems.add(
            "/CTfile/Header/SourceSchool",
            "ctf_wrong_school",
            f"the CTF comes from {parsed.source_dfe_number}, but this school's DfE "
            f"number is {school_dfe_number}",
        )
    seen_pupils: dict[str, int] = {}
    roll = dict(stored_roll)
    for pupil, ref in zip(parsed.pupils, parsed.pupil_refs, strict=True):
        if pupil.upn in seen_pupils:
            problems.add(
                parsed.locate_pupil(ref, "upn"),
                "pupil_duplicate",
                f"{pupil.upn} appears twice in the roll",
            )
        seen_pupils[pupil.upn] = ref
        if pupil.date_of_birth > today:
            problems.add(
                parsed.locate_pupil(ref, "date_of_birth"),
                "date_in_future",
                "date_of_birth is in the future",
            )
        roll[pupil.upn] = (pupil.entry_date, pupil.leaving_date)
    if parsed.replace_range and parsed.replace_range.end > today:
        problems.add("replace_range", "date_in_future", "replace_range ends in the future")
    # Sorting puts the sessions of one pupil together, so conflicting duplicates are
    # neighbours: no second index of 760k keys is needed. It also orders the bulk write.
    parsed.marks.sort()
    kept: list[MarkRow] = []
    keep = kept.append
    previous: MarkRow | None = None
    in_force = _CodesInForce()
    problem: tuple[str, str] | None = None
    for mark in parsed.marks:
        upn, day, session, code, ref = mark
        if previous is not None and previous[0] == upn and previous[1] == day:
            if previous[2] == session:
                if previous[3] != code:
                    problems.add(
                        parsed.locate(ref, "code"),
                        "mark_conflict",
                        f"{upn} {day.isoformat()} {session} is both {previous[3]!r} "
                        f"and {code!r} in this return",
                    )
                continue
        else:
            # A new (pupil, day): check the day once for both of its sessions.
            dates = roll.get(upn)
            if dates is None:
                problem = (
                    "pupil_not_on_roll",
                    "is not on this school's roll (send the pupil in the roll)",
                )
            elif dates[0] <= day and (dates[1] is None or day <= dates[1]):
                problem = None
            else:
                problem = ("pupil_not_on_roll_on_date", f"is not on roll on {day.isoformat()}")
        previous = mark
        if day > today:
            problems.add(
                parsed.locate(ref, "date"), "date_in_future", f"{day.isoformat()} is in the future"
            )
        elif code not in in_force(day):
            problems.add(
                parsed.locate(ref, "code"),
                "code_not_in_force",
                f"{code!r} is not an attendance code in force on {day.isoformat()}",
            )
        if problem is not None:
            problems.add(parsed.locate(ref, "upn"), problem[0], f"{upn} {problem[1]}")
        keep(mark)
    parsed.marks[:] = kept


class _CodesInForce:
    """The codes in force on a day, worked out once per distinct day of a return."""

    def __init__(self) -> None:
        self._by_day: dict[date, frozenset[str]] = {}

    def __call__(self, day: date) -> frozenset[str]:
        found = self._by_day.get(day)
        if found is None:
            found = frozenset(code for code in ALL_CODES if lookup(code, day) is not None)
            self._by_day[day] = found
        return found


def no_mark_warning(no_marks: Iterable[tuple[str, date, str]]) -> QualityWarning | None:
    """Weekday sessions sent as `-` (no mark entered): the register is incomplete."""
    found = sorted(n for n in no_marks if n[1].weekday() < 5)
    if not found:
        return None
    return QualityWarning(
        "no_mark_entered",
        "School-day sessions with no mark entered ('-'); they were not stored.",
        len(found),
        [(u, d, s) for u, d, s in found[:WARNING_EXAMPLES]],
    )


def pupils_without_marks_warning(parsed: ParsedReturn) -> QualityWarning | None:
    """Pupils of this return's roll, on roll during its dates, with no mark in it."""
    covered = parsed.covered_range()
    if covered is None:
        return None
    marked = {m[0] for m in parsed.marks} | {n[0] for n in parsed.no_marks}
    missing = sorted(
        p.upn
        for p in parsed.pupils
        if p.upn not in marked
        and p.entry_date <= covered.end
        and (p.leaving_date is None or p.leaving_date >= covered.start)
    )
    if not missing:
        return None
    return QualityWarning(
        "pupil_without_marks",
        "Pupils on roll during this return's dates with no mark in it.",
        len(missing),
        [(u, None, None) for u in missing[:WARNING_EXAMPLES]],
    )


def school_days_before(today: date, count: int) -> date:
    """The day `count` school days (Monday to Friday) before `today`."""
    day = today
    remaining = count
    while remaining:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day


def unresolved_n_warning(n_marks: list[tuple[str, date, str]], total: int) -> QualityWarning | None:
    """Stored `N` (reason not yet established) marks older than five school days."""
    if not total:
        return None
    return QualityWarning(
        "unresolved_n_code",
        f"Sessions still coded N more than {N_CODE_SCHOOL_DAYS} school days after the date.",
        total,
        [(u, d, s) for u, d, s in n_marks[:WARNING_EXAMPLES]],
    )
