"""The change feed: one change per mark, in commit order, in pages, however it was stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.ingest.domain.model import Mark
from services.ingest.store import repository
from tests.ingest.conftest import School
from tests.ingest.factories import AUTUMN_2024, json_body, pupil, week_of_marks
from tests.support.system import System


def submit(system: System, school: School, body: bytes) -> dict[str, Any]:
    """The receipt of a return that must be accepted."""
    response = school.submit(system, body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def read_feed(system: System, limit: int) -> list[dict[str, Any]]:
    headers = system.service_headers(["changes:read"])
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": limit, **({"after": cursor} if cursor else {})}
        page = system.ingest.get("/v1/changes", params=params, headers=headers).json()
        seen += page["changes"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return seen


def test_the_feed_replays_from_the_start_in_pages(system: System, school: School) -> None:
    p = pupil()
    submit(system, school, json_body([p], week_of_marks(p)))
    submit(system, school, json_body([], [Mark(p.upn, AUTUMN_2024, "AM", "I")]))
    seen = read_feed(system, 4)
    sequences = [c["sequence"] for c in seen]
    assert sequences == sorted(sequences)
    assert len(seen) == 12
    assert seen[-1] | {"recorded_at": None} == seen[-1] | {
        "kind": "mark.upserted",
        "previous_code": "/",
        "code": "I",
        "recorded_at": None,
    }


def test_a_backfill_is_one_change_per_mark_read_in_pages_of_any_size(
    system: System, school: School
) -> None:
    p, q = pupil(1), pupil(2)
    sent = week_of_marks(p) + week_of_marks(q, code="N")
    submit(system, school, json_body([p, q], sent))
    for limit in (1, 3, 7, 100):
        marks = [c for c in read_feed(system, limit) if c["kind"] == "mark.upserted"]
        assert sorted((c["upn"], c["date"], c["session"], c["code"]) for c in marks) == sorted(
            (m.upn, m.date.isoformat(), m.session, m.code) for m in sent
        )
        numbers = [c["sequence"] for c in marks]
        assert numbers == list(range(numbers[0], numbers[0] + len(sent)))


def test_a_backfill_publishes_each_pupils_marks_in_date_and_session_order(
    system: System, school: School
) -> None:
    p = pupil()
    week = week_of_marks(p)
    submit(system, school, json_body([p], list(reversed(week))))
    marks = [c for c in read_feed(system, 100) if c["kind"] == "mark.upserted"]
    assert [(c["date"], c["session"]) for c in marks] == [
        (m.date.isoformat(), m.session) for m in week
    ]


def test_a_change_after_a_backfill_is_numbered_after_all_its_marks(
    system: System, school: School
) -> None:
    p = pupil()
    submit(system, school, json_body([p], week_of_marks(p)))
    submit(system, school, json_body([], [Mark(p.upn, AUTUMN_2024, "AM", "L")]))
    changes = read_feed(system, 100)
    numbers = [c["sequence"] for c in changes]
    assert numbers == sorted(set(numbers))
    assert (changes[-1]["previous_code"], changes[-1]["code"]) == ("/", "L")


def test_the_history_of_a_backfilled_pupil_holds_only_the_days_asked(
    system: System, school: School
) -> None:
    p = pupil()
    receipt = submit(system, school, json_body([p], week_of_marks(p)))
    tuesday, wednesday = AUTUMN_2024 + timedelta(days=1), AUTUMN_2024 + timedelta(days=2)
    marks = system.ingest.get(
        f"/v1/schools/{school.urn}/pupils/{p.upn}/marks",
        params={"from": tuesday.isoformat(), "to": wednesday.isoformat(), "history": "true"},
        headers=school.headers,
    ).json()["marks"]
    assert [(m["date"], m["session"]) for m in marks] == [
        (day.isoformat(), session) for day in (tuesday, wednesday) for session in ("AM", "PM")
    ]
    assert all(
        [(h["previous_code"], h["code"], h["return_id"]) for h in m["history"]]
        == [(None, m["code"], receipt["id"])]
        for m in marks
    )


def test_a_page_gathers_changes_across_many_stored_rows(
    system: System, school: School, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "FIRST_FEED_ROWS", 1)
    p, q = pupil(1), pupil(2)
    submit(system, school, json_body([p, q], week_of_marks(p) + week_of_marks(q)))
    submit(system, school, json_body([], [Mark(p.upn, AUTUMN_2024, "AM", "L")]))
    for limit in (1, 5, 100):
        changes = read_feed(system, limit)
        assert [c["kind"] for c in changes] == ["enrolment.upserted"] * 2 + ["mark.upserted"] * 21
        numbers = [c["sequence"] for c in changes]
        assert numbers == sorted(set(numbers))
