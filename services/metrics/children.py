"""The children-with-a-social-worker attendance view: every child a caller's Reach names
through a social-care episode, with attendance at whatever school it is on roll.

Set-based whatever the number of children: one statement for their enrolments, one for
the school weeks, one window table for every span of every enrolment (this week, the
last 4 school weeks, the year to date, the same weeks last year), one for the pattern
facts (a row per child) and one for the latest marks. No query runs per child. A child
outside DfE's headline ages, whom the buckets leave out, is counted from its raw marks
(one more statement for all such children). Where the process holds the read model in
memory (`store.week_columns`: the enrolments, the weeks and their days, the weeks of
marks asked about), these reads are answered from it instead, after one probe of what
changed since it was read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from services.metrics.domain.calendar import (
    Period,
    academic_year_of,
    academic_year_period,
)
from services.metrics.domain.calendar import week_start as monday_of
from services.metrics.domain.early_warning import (
    EarlyWarningRules,
    Flag,
    PatternFacts,
    PupilHistory,
    flags,
    pattern_facts,
)
from services.metrics.domain.measures import (
    RATE_COLUMNS,
    RateCounts,
    SessionCounts,
    count_marks,
    in_headline_ages,
    is_persistent_absentee,
    is_severe_absentee,
)
from services.metrics.domain.pupil_reach import EnrolmentAccess, PupilReach
from services.metrics.store.pupil_rows import EnrolmentRow, Mark
from services.metrics.store.ranges import IntArray, Ranges
from services.metrics.store.repository import MetricsRepository
from shared.contracts.social_care import SocialCareCategory

_INTENSITY = {
    SocialCareCategory.LOOKED_AFTER: 3,
    SocialCareCategory.CHILD_PROTECTION_PLAN: 2,
    SocialCareCategory.CHILD_IN_NEED: 1,
}
LATEST_DAYS = 7
T = TypeVar("T")


class ChildEpisode(NamedTuple):
    """The episode a child is listed under: open on the day asked, else its last (a
    tuple: a view lists thousands)."""

    upn: str
    category: SocialCareCategory
    start_date: dt.date
    end_date: dt.date | None
    practitioner_ref: str | None


def episodes_in_reach(reach: PupilReach, as_of: dt.date) -> dict[str, ChildEpisode]:
    """Each child with an episode window in the Reach, under its current episode (the
    Reach gives each window's category and practitioner)."""
    found: dict[str, list[ChildEpisode]] = {}
    for upn, g in reach.child_grants():
        if g.episode_id is None or g.category is None:
            continue  # an agreement, not a social worker
        start, end = g.span
        found.setdefault(upn, []).append(
            ChildEpisode(
                upn, g.category, start, None if end == dt.date.max else end, g.practitioner_ref
            )
        )
    return {upn: _current(options, as_of) for upn, options in found.items()}


def _current(options: list[ChildEpisode], as_of: dt.date) -> ChildEpisode:
    if len(options) == 1:  # most children: one episode, open or not
        return options[0]
    open_now = [
        e for e in options if e.start_date <= as_of and (e.end_date is None or as_of <= e.end_date)
    ]
    if open_now:
        return max(open_now, key=lambda e: (_INTENSITY[e.category], e.start_date))
    return max(options, key=lambda e: (e.end_date or dt.date.max, e.start_date))


SPANS = ("this_week", "last_4_weeks", "year_to_date", "last_year")
"""The spans a child's attendance is counted over, in the order `ChildrenFigures` keeps."""


@dataclass(frozen=True)
class Distinct(Generic[T]):
    """One value per child, kept as the few distinct values children share and the place
    of each child's among them: `values[index[n]]` is child n's. A school's children
    share their weeks, so a page of 2,000 has a few hundred distinct counts of a span,
    and whatever is made of them (published figures, judgements) is made once each."""

    values: list[T]
    index: list[int]

    def __getitem__(self, n: int) -> T:
        return self.values[self.index[n]]


@dataclass(frozen=True)
class ChildrenFigures:
    """What the view shows of a page of children, column by column: entry n of each
    list is child `upns[n]`'s (a view lists thousands of children: a few lists, not an
    object per child)."""

    upns: Sequence[str]
    spans: dict[str, Period]
    """The spans counted (`SPANS`), the same for every child."""
    counts: dict[str, Distinct[RateCounts]]
    """Each span's counts, by span name."""
    persistent: list[bool]
    """A persistent absentee over the year to date."""
    severe: list[bool]
    """A severe absentee over the year to date."""
    warnings: list[list[Flag]]
    """The early-warning flags raised, in the order the rules are listed."""
    current: list[tuple[EnrolmentRow, EnrolmentAccess] | None]
    """The enrolment the child is listed at, and what the caller may see of it."""
    marks: list[tuple[Mark, ...]]
    """The latest marks that may be shown, in date and session order."""
    counted: list[str]
    """`headline`: DfE's headline sessions; `register`: every possible session of the
    register, for a child outside the headline ages (`measures.in_headline_ages`), whom
    the read model's buckets leave out."""


def _distinct_counts(totals: IntArray) -> Distinct[RateCounts]:
    """Children's counts of one span ((child, `RATE_COLUMNS`) array) as `Distinct`."""
    places: dict[tuple[int, ...], int] = {}
    index = [places.setdefault(c, len(places)) for c in map(tuple, totals.tolist())]
    return Distinct([RateCounts._make(c) for c in places], index)


def _register_days(marks: Sequence[Mark], access: EnrolmentAccess) -> dict[dt.date, SessionCounts]:
    """The register's counts of each day that may be shown (every possible session)."""
    by_day: dict[dt.date, list[tuple[dt.date, str]]] = {}
    for _urn, day, _session, code in marks:
        if access.shows(day):
            by_day.setdefault(day, []).append((day, code))
    return {day: count_marks(day_marks) for day, day_marks in by_day.items()}


def _register_figures(
    repo: MetricsRepository,
    pairs: Sequence[tuple[EnrolmentRow, EnrolmentAccess]],
    spans: dict[str, Period],
    pattern: Period,
    child: dict[str, int],
) -> tuple[dict[int, SessionCounts], dict[int, PatternFacts]]:
    """Window counts and pattern facts from the raw register, for enrolments outside the
    headline ages (a few per view), keyed as the bucket reads give them: the counts by
    slot (the child's place x len(spans) + the span's), the facts by child."""
    first = min(span.start for span in spans.values())
    last = max(span.end for span in spans.values())
    marks = repo.recent_marks([r.upn for r, _ in pairs], Period(first, last))
    counts: dict[int, SessionCounts] = {}
    pattern_days: dict[int, list[tuple[dt.date, SessionCounts]]] = {}
    empty = SessionCounts()
    for r, a in pairs:
        days = _register_days(marks.get((r.school_urn, r.upn), []), a)
        for n, span in enumerate(spans.values()):
            slot = child[r.upn] * len(spans) + n
            counts[slot] = sum((c for d, c in days.items() if d in span), counts.get(slot, empty))
        pattern_days.setdefault(child[r.upn], []).extend(
            (d, c) for d, c in days.items() if d in pattern
        )
    return counts, {g: pattern_facts(days) for g, days in pattern_days.items()}


@dataclass(frozen=True)
class ChildEnrolments:
    """The enrolments of a page of children that the caller may see
    (`children_enrolments`)."""

    by_child: dict[str, list[tuple[EnrolmentRow, EnrolmentAccess]]]
    """Each child's enrolments, with what the caller may see of each."""


def children_enrolments(
    repo: MetricsRepository, reach: PupilReach, upns: Sequence[str]
) -> ChildEnrolments:
    """The enrolments of these children, at any school, that the Reach shows: all that
    the audit record of their read needs, so it can go on record while the rest is read
    (their latest marks are read with the figures, `children_figures`)."""
    by_child: dict[str, list[tuple[EnrolmentRow, EnrolmentAccess]]] = {}
    for r in repo.enrolments_of_pupils(upns):
        access = reach.access(r.upn, r.school_urn, r.stays)
        if access is not None:
            by_child.setdefault(r.upn, []).append((r, access))
    return ChildEnrolments(by_child)


def _current_enrolment(
    rows: Sequence[tuple[EnrolmentRow, EnrolmentAccess]], as_of: dt.date
) -> tuple[EnrolmentRow, EnrolmentAccess] | None:
    if len(rows) == 1:  # most children: their one enrolment, on roll or not
        return rows[0]
    on_roll = [(r, a) for r, a in rows if r.on_roll(as_of)]
    pool = on_roll or list(rows)
    return max(pool, key=lambda p: p[0].entry_date) if pool else None


def current_reads(
    enrolled: ChildEnrolments, as_of: dt.date
) -> list[tuple[str, str, EnrolmentAccess]]:
    """What the view reads of each child, for the audit trail: (UPN, school, access) of
    the enrolment it is listed at (`ChildFigures.current`)."""
    found = []
    for upn, rows in enrolled.by_child.items():
        current = _current_enrolment(rows, as_of)
        if current is not None:
            found.append((upn, current[0].school_urn, current[1]))
    return found


def _latest_marks(
    rows: Sequence[tuple[EnrolmentRow, EnrolmentAccess]],
    marks: dict[tuple[str, str], tuple[Mark, ...]],
    latest: Period,
) -> tuple[Mark, ...]:
    """The child's marks of the latest days that may be shown, in date and session order."""
    if len(rows) == 1:  # most children: one enrolment's marks, already in order
        return _shown_marks(rows[0], marks, latest)
    found = [m for row in rows for m in _shown_marks(row, marks, latest)]
    found.sort(key=lambda m: (m[1], m[2], m[0]))
    return tuple(found)


def _shown_marks(
    row: tuple[EnrolmentRow, EnrolmentAccess],
    marks: dict[tuple[str, str], tuple[Mark, ...]],
    latest: Period,
) -> tuple[Mark, ...]:
    """The marks of one enrolment's latest days that its access shows."""
    r, access = row
    listed = marks.get((r.school_urn, r.upn), ())
    for lo, hi in access.spans:
        if lo <= latest.start and latest.end <= hi:
            return listed  # most windows cover the latest days whole: nothing to test
    return tuple(m for m in listed if access.shows(m[1]))


def latest_days(as_of: dt.date) -> Period:
    """The last `LATEST_DAYS` days to `as_of`, whose marks a child's item lists."""
    return Period(as_of - dt.timedelta(days=LATEST_DAYS - 1), as_of)


def prepare_children_view(
    repo: MetricsRepository, as_of: dt.date, rules: EarlyWarningRules
) -> None:
    """Bring what the view reads of the read model held in memory up to date for `as_of`
    (the days of its academic year and of the same weeks a year earlier, the latest
    marks): none of it needs the Reach, so the view does it while sharing decides one."""
    year_start = academic_year_period(academic_year_of(as_of)).start
    a_year_before = as_of - dt.timedelta(weeks=52 + rules.recent_weeks)
    repo.prepare(Period(min(a_year_before, year_start), as_of), latest_days(as_of))


def children_figures(
    repo: MetricsRepository,
    enrolled: ChildEnrolments,
    upns: Sequence[str],
    as_of: dt.date,
    rules: EarlyWarningRules,
    *,
    today: dt.date | None = None,
) -> ChildrenFigures:
    """Attendance of these children (in this order) over their enrolments'
    (`children_enrolments`) windows, and their marks of the `LATEST_DAYS` days to
    `as_of`, as of that day, read on `today` (default: the real one)."""
    latest = latest_days(as_of)
    # The marks need nothing of what follows: read alongside it (concurrently, when
    # PostgreSQL answers rather than memory), they are there when the loop below needs them.
    latest_marks = repo.alongside(lambda side: side.recent_marks(upns, latest))
    year = academic_year_of(as_of)
    year_start = academic_year_period(year).start
    child = {upn: n for n, upn in enumerate(upns)}
    # What each enrolment's access shows, counted for its child (slot: its place in upns);
    # enrolments outside the headline ages are counted from the register instead.
    ids: list[int] = []
    shown_spans: list[tuple[int, int, dt.date, dt.date]] = []
    register: list[tuple[EnrolmentRow, EnrolmentAccess]] = []
    for upn, rows in enrolled.by_child.items():
        slot = child[upn]
        for r, a in rows:
            ids.append(r.id)
            if in_headline_ages(r.date_of_birth, year):
                shown_spans += [(slot, r.id, lo, hi) for lo, hi in a.spans]
            else:
                register.append((r, a))
    outside = {r.id for r, _ in register}
    pattern = Period(as_of - dt.timedelta(weeks=rules.pattern_weeks) + dt.timedelta(1), as_of)
    shown = Ranges.of(shown_spans)
    pattern_ranges = shown.clipped([pattern])
    # The pattern facts need none of what follows: they are read alongside the school
    # weeks and window counts (concurrently, when PostgreSQL answers rather than memory).
    read_facts = repo.alongside(lambda side: side.pattern_facts(pattern_ranges))
    weeks = repo.school_weeks(ids, Period(year_start, as_of)) if ids else []
    recent_start = weeks[-rules.recent_weeks] if len(weeks) >= rules.recent_weeks else year_start
    year_ago = dt.timedelta(weeks=52)
    spans = dict(
        zip(
            SPANS,
            (
                Period(max(monday_of(as_of), year_start), as_of),
                Period(recent_start, as_of),
                Period(year_start, as_of),
                Period(recent_start - year_ago, as_of - year_ago),
            ),
            strict=True,
        )
    )
    # Every child's every span added up in one array: row child x len(spans) + span.
    width = len(spans)
    totals = repo.window_totals(
        shown.clipped(list(spans.values())), len(upns) * width, RATE_COLUMNS, today=today
    )
    facts, marks = read_facts.result(), latest_marks.result()
    if register:
        register_counts, register_facts = _register_figures(repo, register, spans, pattern, child)
        for slot, c in register_counts.items():
            totals[slot] += [c[column] for column in RATE_COLUMNS]
        facts |= register_facts
    by_span = totals.reshape(len(upns), width, len(RATE_COLUMNS))
    counts = {name: _distinct_counts(by_span[:, k]) for k, name in enumerate(spans)}
    recent, year_to_date, last_year = (
        counts["last_4_weeks"],
        counts["year_to_date"],
        counts["last_year"],
    )
    # Judged once per distinct year to date, not per child.
    persistent = [is_persistent_absentee(c) for c in year_to_date.values]
    severe = [is_severe_absentee(c) for c in year_to_date.values]
    no_pattern = PatternFacts()
    current, warnings, marks_shown, counted = [], [], [], []
    for n, upn in enumerate(upns):
        rows = enrolled.by_child.get(upn, [])
        current.append(_current_enrolment(rows, as_of))
        warnings.append(
            flags(
                PupilHistory(year_to_date[n], recent[n], last_year[n], facts.get(n, no_pattern)),
                rules,
            )
        )
        marks_shown.append(_latest_marks(rows, marks, latest))
        counted.append(
            "register" if outside and rows and all(r.id in outside for r, _ in rows) else "headline"
        )
    return ChildrenFigures(
        upns,
        spans,
        counts,
        [persistent[k] for k in year_to_date.index],
        [severe[k] for k in year_to_date.index],
        warnings,
        current,
        marks_shown,
        counted,
    )
