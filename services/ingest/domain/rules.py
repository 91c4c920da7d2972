"""The rules a whole return must satisfy, and the data-quality warnings of its receipt."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from operator import itemgetter

from services.ingest.domain.model import DateRange, Pupil
from services.ingest.domain.parsing import MarkRow, ParsedReturn
from services.ingest.domain.problems import Problems
from shared.codes import ALL_CODES, lookup
from shared.contracts.changes import on_roll

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
    stored_roll: Mapping[str, Pupil],
    stored_stays: Mapping[str, tuple[tuple[date, date | None], ...]],
    today: date,
    problems: Problems,
    school_dfe_number: str | None = None,
) -> None:
    """Check the cross-record rules; sorts and de-duplicates `parsed.marks` in place.

    `stored_roll` holds the stored roll entries of the return's pupils, `stored_stays`
    the stays of every pupil on the school's stored roll, by UPN. A pupil listed more
    than once in the return (stays that do not overlap: a pupil who left and came back)
    becomes one roll entry with its earlier stays; each is then joined with the stored
    stays it does not overlap (`with_stored_stays`), and `parsed.pupils` holds the result.
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
    listed: dict[str, list[tuple[Pupil, int]]] = {}
    for pupil, ref in zip(parsed.pupils, parsed.pupil_refs, strict=True):
        listed.setdefault(pupil.upn, []).append((pupil, ref))
        if pupil.date_of_birth > today:
            problems.add(
                parsed.locate_pupil(ref, "date_of_birth"),
                "date_in_future",
                "date_of_birth is in the future",
            )
    pupils, refs = [], []
    for upn, entries in listed.items():
        pupil, ref = _one_entry(upn, entries, parsed, problems)
        pupils.append(with_stored_stays(pupil, stored_roll.get(upn)))
        refs.append(ref)
    parsed.pupils[:], parsed.pupil_refs[:] = pupils, refs
    roll = {**stored_stays, **{p.upn: p.stays for p in pupils}}
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
            stays = roll.get(upn)
            if stays is None:
                problem = (
                    "pupil_not_on_roll",
                    "is not on this school's roll (send the pupil in the roll)",
                )
            elif on_roll(stays, day):
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


def _same_stay(a: Pupil, b: Pupil) -> bool:
    """Whether the latest stays of two roll entries share a day."""
    return a.entry_date <= (b.leaving_date or date.max) and b.entry_date <= (
        a.leaving_date or date.max
    )


def _one_entry(
    upn: str, entries: list[tuple[Pupil, int]], parsed: ParsedReturn, problems: Problems
) -> tuple[Pupil, int]:
    """The return's roll entries of one pupil as one entry: the latest stay's, with the
    stays before it. Entries whose stays overlap are refused (listed twice)."""
    if len(entries) == 1:
        return entries[0]
    entries = sorted(entries, key=lambda e: e[0].entry_date)
    overlapping = False
    for (a, _), (b, ref) in itertools.pairwise(entries):
        if _same_stay(a, b):
            overlapping = True
            problems.add(
                parsed.locate_pupil(ref, "upn"),
                "pupil_duplicate",
                f"{upn} appears twice in the roll with overlapping stays (from "
                f"{a.entry_date.isoformat()} and from {b.entry_date.isoformat()}); list a "
                "pupil once per stay, each ending before the next begins",
            )
    latest, ref = entries[-1]
    if overlapping:
        return latest, ref
    earlier = tuple((p.entry_date, p.leaving_date) for p, _ in entries[:-1] if p.leaving_date)
    return replace(latest, earlier_stays=earlier), ref


def with_stored_stays(pupil: Pupil, stored: Pupil | None) -> Pupil:
    """The return's roll entry of a pupil, keeping every stored stay that none of its
    stays overlaps: a pupil who left and came back keeps the earlier stay, and a return
    about an earlier stay keeps the later one. A stored stay the return overlaps is
    replaced by it (a corrected entry or leaving date). The characteristics are those of
    the entry whose stay is the latest: the return's, unless it is only about an earlier
    stay."""
    if stored is None:
        return pupil
    if not stored.earlier_stays and _same_stay(stored, pupil):
        return pupil  # the common case: the same stay again, or its dates corrected

    def overlaps(lo: date, hi: date | None) -> bool:
        return any(lo <= (h or date.max) and (hi or date.max) >= low for low, h in pupil.stays)

    stays = sorted(
        [*pupil.stays, *((lo, hi) for lo, hi in stored.stays if not overlaps(lo, hi))],
        key=lambda stay: stay[0],
    )
    if len(stays) == len(pupil.stays):
        return pupil
    *earlier, (entry, leaving) = stays
    # Only the latest stay can be open: an open stay before another would overlap it.
    before = tuple((lo, hi) for lo, hi in earlier if hi is not None)
    if (entry, leaving) not in pupil.stays:
        # The return is about an earlier stay: the stored entry, of the latest stay,
        # keeps its characteristics (a resent autumn return must not undo today's SEN).
        return replace(stored, entry_date=entry, leaving_date=leaving, earlier_stays=before)
    return replace(pupil, entry_date=entry, leaving_date=leaving, earlier_stays=before)


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


def pupils_without_marks_warning(
    parsed: ParsedReturn, covered: DateRange | None
) -> QualityWarning | None:
    """Pupils of this return's roll, on roll during `covered` (the return's dates), with no
    mark in it."""
    if covered is None:
        return None
    marked = set(map(itemgetter(0), parsed.marks)) | {n[0] for n in parsed.no_marks}
    missing = sorted(
        p.upn
        for p in parsed.pupils
        if p.upn not in marked and p.on_roll_between(covered.start, covered.end)
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
