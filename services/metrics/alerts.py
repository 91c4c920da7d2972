"""Evaluating the alert rules as change pages are applied, and handing what they find on.

`AlertHook.evaluate` runs inside the transaction that applies a page (the consumer calls
it right after `apply_page`), so it reads the read model with the page's marks in it. It
evaluates the rules (`domain.alert_rules`) only for the (school, pupil) pairs the page
touched, and writes each condition found to `alert_outbox` under its condition key, in
the same transaction as the page and its cursor. So:

- a crash before commit loses the page *and* its alerts; the page is re-read and both
  come back together;
- a page applied again (a replay, a rebuild) finds the same keys and adds nothing;
- `AlertHook.send_pending`, after commit, posts the unsent rows to the sharing service
  and marks them posted; rows sharing could not take are retried at the next page or poll.

Cost is kept to what a page touched: rates come from the week and year buckets summed
in SQL (for a pupil outside DfE's headline ages, whom the buckets leave out, from every
possible session of this year's register), and marks are read only for pupils whose page
has a code that can start a run (N, O, G, E) or a withdrawn mark. Conditions older than
`max_age_days` are not alerted: alerts are about now, so a back-filled term or a rebuild
does not page anybody.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, String, Table, and_, func, select, update

from services.metrics.clients.sharing_alerts import SharingAlertsClient
from services.metrics.domain import alert_rules as rules
from services.metrics.domain.calendar import academic_year_of, academic_year_period, week_start
from services.metrics.domain.errors import PeerUnavailable
from services.metrics.domain.measures import (
    RATE_COLUMNS,
    SessionCounts,
    count_marks,
    counts_toward_headline,
)
from services.metrics.store.alert_models import AlertOutbox
from services.metrics.store.projection import HEADLINE, enrolment_t, mark_t, week_t, year_t
from shared.contracts.alerts import (
    MAX_SESSIONS_PER_ALERT,
    AlertCandidate,
)
from shared.contracts.changes import (
    ChangePage,
    EnrolmentRemoved,
    EnrolmentUpserted,
    MarkUpserted,
    MarkWithdrawn,
)
from shared.sql import chunks, one_of, upsert, values_table

logger = logging.getLogger(__name__)

outbox_t: Table = AlertOutbox.__table__  # type: ignore[attr-defined]

PupilKey = tuple[str, str]
RUN_CODES = rules.UNEXPLAINED_CODES | rules.UNSEEN_CODES | rules.EXCLUSION_CODES


@dataclass(frozen=True)
class AlertOptions:
    """How far back the hook reads, and which conditions are still news."""

    thresholds: rules.AlertThresholds = field(default_factory=rules.AlertThresholds)
    lookback_days: int = 14
    """Calendar days of marks read for the run rules."""
    spell_weeks: int = 12
    """School weeks of buckets read to find where a low-attendance spell began."""
    max_age_days: int = 14
    """A condition whose evidence ends longer ago than this is not alerted."""
    post_batch: int = 1000


@dataclass
class _Touched:
    """What one page touched: each pupil's latest marked day, and which may start runs."""

    latest: dict[PupilKey, dt.date] = field(default_factory=dict)
    runs: set[PupilKey] = field(default_factory=set)
    leavers: dict[PupilKey, EnrolmentUpserted] = field(default_factory=dict)
    withdrawn: list[EnrolmentRemoved] = field(default_factory=list)


def _touched(page: ChangePage) -> _Touched:
    found = _Touched()
    for change in page.changes:
        if isinstance(change, MarkUpserted | MarkWithdrawn):
            key = (change.school_urn, change.upn)
            if key not in found.latest or change.date > found.latest[key]:
                found.latest[key] = change.date
            if isinstance(change, MarkWithdrawn) or change.code in RUN_CODES:
                found.runs.add(key)
        elif isinstance(change, EnrolmentUpserted) and change.enrolment.leaving_date:
            found.leavers[(change.enrolment.school_urn, change.enrolment.upn)] = change
        elif isinstance(change, EnrolmentRemoved):
            found.withdrawn.append(change)
    return found


class _Enrolment(NamedTuple):
    id: int
    entry_date: dt.date
    legal_forename: str
    legal_surname: str
    date_of_birth: dt.date

    def pupil(self) -> dict[str, Any]:
        return {
            "legal_forename": self.legal_forename,
            "legal_surname": self.legal_surname,
            "date_of_birth": self.date_of_birth,
        }


def _enrolments(connection: Connection, keys: Iterable[PupilKey]) -> dict[PupilKey, _Enrolment]:
    # One query across every school (UPNs are indexed); the same UPN at another school
    # is dropped here.
    e = enrolment_t.c
    wanted = set(keys)
    statement = select(
        e.school_urn,
        e.upn,
        e.id,
        e.entry_date,
        e.legal_forename,
        e.legal_surname,
        e.date_of_birth,
    ).where(one_of(connection, e.upn, sorted({upn for _, upn in wanted})))
    return {
        (row[0], row[1]): _Enrolment(*row[2:])
        for row in connection.execute(statement).all()
        if (row[0], row[1]) in wanted
    }


def _sums(
    connection: Connection, table: Table, ids: Sequence[int], *where: Any
) -> dict[int, SessionCounts]:
    statement = (
        select(table.c.enrolment_id, *(func.sum(table.c[c]).label(c) for c in RATE_COLUMNS))
        .where(
            one_of(connection, table.c.enrolment_id, ids),
            table.c.population == HEADLINE,
            *where,
        )
        .group_by(table.c.enrolment_id)
    )
    return {
        row[0]: SessionCounts(dict(zip(RATE_COLUMNS, (int(v or 0) for v in row[1:]), strict=True)))
        for row in connection.execute(statement).all()
    }


def _weeks(
    connection: Connection, ids: Sequence[int], first: dt.date, last: dt.date
) -> dict[int, list[tuple[dt.date, SessionCounts]]]:
    found: dict[int, list[tuple[dt.date, SessionCounts]]] = defaultdict(list)
    if not ids:
        return found
    # A week of a pupil who left and came back in it holds a row for each stay: one sum.
    key = (week_t.c.enrolment_id, week_t.c.week_start)
    statement = (
        select(*key, *(func.sum(week_t.c[c]) for c in RATE_COLUMNS))
        .where(
            one_of(connection, week_t.c.enrolment_id, ids),
            week_t.c.week_start.between(first, last),
            week_t.c.population == HEADLINE,
        )
        .group_by(*key)
        .order_by(*key)
    )
    for row in connection.execute(statement).all():
        counts = dict(zip(RATE_COLUMNS, map(int, row[2:]), strict=True))
        found[row[0]].append((row[1], SessionCounts(counts)))
    return found


class _Rates(NamedTuple):
    """What the rate rules read of one pupil for the week evaluated."""

    year: SessionCounts | None
    """The academic year's counts (None: nothing counted this year)."""
    spell: list[tuple[dt.date, SessionCounts]] | None
    """The weeks that may hold a low-attendance spell, oldest first; None when the
    recent weeks' attendance is not low (the common case: not read)."""


def _recent_weeks(monday: dt.date, options: AlertOptions) -> tuple[dt.date, dt.date]:
    return monday - dt.timedelta(weeks=options.thresholds.recent_weeks - 1), monday


def _spell_weeks(monday: dt.date, options: AlertOptions) -> tuple[dt.date, dt.date]:
    return monday - dt.timedelta(weeks=options.spell_weeks - 1), monday


def _bucket_rates(
    connection: Connection, ids: dict[PupilKey, int], monday: dt.date, options: AlertOptions
) -> dict[PupilKey, _Rates]:
    """Rates of pupils in the headline measures, from the week and year buckets."""
    if not ids:
        return {}
    t = options.thresholds
    recent = _sums(
        connection,
        week_t,
        list(ids.values()),
        week_t.c.week_start.between(*_recent_weeks(monday, options)),
    )
    year = academic_year_of(monday + dt.timedelta(days=4))
    years = _sums(connection, year_t, list(ids.values()), year_t.c.academic_year == year)
    low = {k for k, i in ids.items() if rules.is_low_attendance(recent.get(i, SessionCounts()), t)}
    spells = _weeks(connection, [ids[k] for k in low], *_spell_weeks(monday, options))
    return {k: _Rates(years.get(i), spells[i] if k in low else None) for k, i in ids.items()}


def _register_rates(
    connection: Connection, keys: Sequence[PupilKey], monday: dt.date, options: AlertOptions
) -> dict[PupilKey, _Rates]:
    """Rates of pupils outside the headline measures, from every possible session of their
    register this academic year (a few pupils per page)."""
    if not keys:
        return {}
    year = academic_year_period(academic_year_of(monday + dt.timedelta(days=4)))
    recent_first, _ = _recent_weeks(monday, options)
    spell_first, _ = _spell_weeks(monday, options)
    since = min(year.start, spell_first)
    found: dict[PupilKey, _Rates] = {}
    for key, marks in _marks(connection, keys, since).items():
        by_week: dict[dt.date, list[tuple[dt.date, str]]] = defaultdict(list)
        for m in marks:
            if m.date <= year.end:
                by_week[week_start(m.date)].append((m.date, m.code))
        weeks = [(w, count_marks(day_codes)) for w, day_codes in sorted(by_week.items())]
        recent = sum((c for w, c in weeks if recent_first <= w <= monday), SessionCounts())
        low = rules.is_low_attendance(recent, options.thresholds)
        this_year = [(m.date, m.code) for m in marks if m.date in year]
        found[key] = _Rates(
            count_marks(this_year) if this_year else None,
            [(w, c) for w, c in weeks if spell_first <= w <= monday] if low else None,
        )
    return found


def _marks(
    connection: Connection, keys: Iterable[PupilKey], since: dt.date
) -> dict[PupilKey, list[rules.MarkAt]]:
    # The pairs as a table joined on the mark key's leading columns: one index range per
    # pupil (IN lists of schools and of UPNs would probe every school x UPN combination).
    m = mark_t.c
    found: dict[PupilKey, list[rules.MarkAt]] = defaultdict(list)
    wanted = sorted(set(keys))
    if not wanted:
        return found
    pupils = values_table(connection, "pupils", {"urn": String(), "upn": String()}, wanted)
    statement = (
        select(m.school_urn, m.upn, m.date, m.session, m.code)
        .select_from(pupils.join(mark_t, and_(m.school_urn == pupils.c.urn, m.upn == pupils.c.upn)))
        .where(m.date >= since)
    )
    for urn, upn, date, session, code in connection.execute(statement).all():
        found[(urn, upn)].append(rules.MarkAt(date, session, code))
    return found


def evaluate_page(
    connection: Connection, page: ChangePage, options: AlertOptions, *, now: dt.datetime
) -> list[AlertCandidate]:
    """Every condition the rules find for the pupils this (applied) page touched."""
    today = now.date()
    oldest = today - dt.timedelta(days=options.max_age_days)
    touched = _touched(page)
    latest = {k: d for k, d in touched.latest.items() if d >= oldest}
    enrolments = _enrolments(connection, [*latest, *touched.leavers])
    findings: list[tuple[PupilKey, rules.Finding]] = []

    # Rates: the latest four weeks and the year, per group of pupils sharing a latest week.
    by_week: dict[dt.date, list[PupilKey]] = defaultdict(list)
    for key, day in latest.items():
        if key in enrolments:
            by_week[week_start(day)].append(key)
    t = options.thresholds
    for monday, keys in by_week.items():
        # Pupils whose sessions leave DfE's headline measures (a reception child, a
        # pupil over 15) are not in the buckets: their rates come from the register.
        headline = [
            k
            for k in keys
            if counts_toward_headline(
                enrolments[k].date_of_birth, enrolments[k].entry_date, latest[k]
            )
        ]
        in_buckets = set(headline)
        register = [k for k in keys if k not in in_buckets]
        rates = _bucket_rates(connection, {k: enrolments[k].id for k in headline}, monday, options)
        rates |= _register_rates(connection, register, monday, options)
        first, _ = _spell_weeks(monday, options)
        for key, (year_counts, spell) in rates.items():
            if spell is not None:
                found = rules.low_recent_attendance(
                    spell, t, truncated=enrolments[key].entry_date < first
                )
                if found is not None:
                    findings.append((key, found))
            if year_counts is not None:
                findings += [(key, f) for f in rules.crossing(year_counts, latest[key], t)]

    # Runs: only pupils whose page could start or join one.
    run_keys = [k for k in touched.runs if k in latest and k in enrolments]
    window = today - dt.timedelta(days=options.lookback_days)
    for key, marks in _marks(connection, run_keys, window).items():
        truncated = enrolments[key].entry_date < window
        findings += [(key, f) for f in rules.unexplained_runs(marks, t, truncated=truncated)]
        findings += [(key, f) for f in rules.missing_education_runs(marks, t, truncated=truncated)]
        findings += [(key, f) for f in rules.exclusion_runs(marks, truncated=truncated)]

    # Removals from the roll.
    for key, change in touched.leavers.items():
        leaving = change.enrolment.leaving_date
        if leaving is not None and leaving >= oldest:
            findings.append((key, rules.removal(leaving, None, on=today)))
    for removed in touched.withdrawn:
        if removed.recorded_at.date() >= oldest:
            findings.append(
                (
                    (removed.school_urn, removed.upn),
                    rules.removal(None, removed.sequence, on=removed.recorded_at.date()),
                )
            )

    fresh = [
        (rules.condition_key(f.rule, key[0], key[1], f.start), key, f)
        for key, f in findings
        if f.until >= oldest
    ]
    # A condition found on an earlier page (a persistent absentee is one every day) is
    # already queued: skip it before building its payload.
    known = _queued(connection, [k for k, _, _ in fresh])
    return [
        _candidate(condition, key, finding, enrolments.get(key), now)
        for condition, key, finding in fresh
        if condition not in known
    ]


def _queued(connection: Connection, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    statement = select(outbox_t.c.condition_key).where(
        one_of(connection, outbox_t.c.condition_key, sorted(set(keys)))
    )
    return set(connection.execute(statement).scalars().all())


def _candidate(
    condition: str,
    key: PupilKey,
    finding: rules.Finding,
    enrolment: _Enrolment | None,
    now: dt.datetime,
) -> AlertCandidate:
    urn, upn = key
    # Validated from plain values in one pass of pydantic's core: in this hot loop of a
    # day's evaluation that is faster than model_construct, and it checks the contract.
    return AlertCandidate(
        condition_key=condition,
        rule=finding.rule,
        school_urn=urn,
        upn=upn,
        since=finding.since,
        until=finding.until,
        summary=finding.summary,
        sessions=[m._asdict() for m in finding.sessions[:MAX_SESSIONS_PER_ALERT]],
        attendance_percent=finding.percent,
        pupil=enrolment.pupil() if enrolment is not None else None,
        detected_at=now,
    )


def queue(connection: Connection, candidates: Sequence[AlertCandidate]) -> None:
    """Write candidates to the outbox; a key already there (found before) is left alone."""
    if not candidates:
        return
    rows = {
        c.condition_key: {
            "condition_key": c.condition_key,
            "rule": c.rule.value,
            "school_urn": c.school_urn,
            "upn": c.upn,
            "payload": c.model_dump_json(),
            "created_at": c.detected_at,
            "posted_at": None,
        }
        for c in candidates
    }
    statement = upsert(connection, outbox_t).on_conflict_do_nothing(
        index_elements=[outbox_t.c.condition_key]
    )
    connection.execute(statement, list(rows.values()))


class AlertHook:
    """Evaluates each applied page in its transaction; posts what it found after commit."""

    def __init__(
        self,
        sender: SharingAlertsClient | None,
        options: AlertOptions,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sender = sender
        self._options = options
        self._clock = clock

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()

    def evaluate(self, connection: Connection, page: ChangePage) -> int:
        """Find and queue the page's conditions in the page's transaction; how many found.

        Conditions queued by an earlier page are not found again.
        """
        candidates = evaluate_page(connection, page, self._options, now=self._clock())
        queue(connection, candidates)
        return len(candidates)

    def send_pending(self, engine: Engine) -> int:
        """Post every unsent condition to sharing, a batch at a time; how many were taken.

        Sharing dedupes by condition key, so a batch posted twice (a crash between its
        answer and our commit) alerts nobody twice.
        """
        if self._sender is None:
            return 0
        sent = 0
        while True:
            with engine.connect() as connection:
                rows = connection.execute(
                    select(outbox_t.c.condition_key, outbox_t.c.payload)
                    .where(outbox_t.c.posted_at.is_(None))
                    .order_by(outbox_t.c.created_at, outbox_t.c.condition_key)
                    .limit(self._options.post_batch)
                ).all()
            if not rows:
                return sent
            candidates = [AlertCandidate.model_validate_json(r.payload) for r in rows]
            try:
                self._sender.post(candidates)
            except PeerUnavailable as exc:
                logger.warning("alerts not handed to sharing yet (%d waiting): %s", len(rows), exc)
                return sent
            keys = [r.condition_key for r in rows]
            with engine.begin() as connection:
                for part in chunks(keys):
                    connection.execute(
                        update(outbox_t)
                        .where(outbox_t.c.condition_key.in_(part))
                        .values(posted_at=self._clock())
                    )
            sent += len(rows)
