"""Concurrent returns for one school serialise: no lost update, no duplicate marks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from services.ingest.domain.model import Mark
from tests.ingest.conftest import School
from tests.ingest.factories import AUTUMN_2024, json_body, pupil
from tests.support.system import System

JSON = {"Content-Type": "application/json"}


def test_a_double_submission_stores_one_mark_and_one_return(system: System, school: School) -> None:
    p = pupil()
    system.ingest.post(
        school.returns_url(), content=json_body([p], []), headers={**school.headers, **JSON}
    )
    body = json_body([], [Mark(p.upn, AUTUMN_2024, "AM", "/")])
    headers = {**school.headers, **JSON, "Idempotency-Key": "double"}
    with ThreadPoolExecutor(4) as pool:
        responses = list(
            pool.map(
                lambda _: system.ingest.post(school.returns_url(), content=body, headers=headers),
                range(4),
            )
        )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1


def test_concurrent_amendments_all_land_in_history(system: System, school: School) -> None:
    p = pupil()
    system.ingest.post(
        school.returns_url(), content=json_body([p], []), headers={**school.headers, **JSON}
    )
    codes = ["/", "L", "I", "M"]
    with ThreadPoolExecutor(4) as pool:
        responses = list(
            pool.map(
                lambda code: system.ingest.post(
                    school.returns_url(),
                    content=json_body([], [Mark(p.upn, AUTUMN_2024, "AM", code)]),
                    headers={**school.headers, **JSON},
                ),
                codes,
            )
        )
    assert all(r.status_code == 201 for r in responses)
    marks = system.ingest.get(
        f"/v1/schools/{school.urn}/pupils/{p.upn}/marks",
        params={"history": "true"},
        headers=school.headers,
    ).json()["marks"]
    assert len(marks) == 1
    history = marks[0]["history"]
    assert sorted(h["code"] for h in history) == sorted(codes)
    assert [h["previous_code"] for h in history[1:]] == [h["code"] for h in history[:-1]]
    assert marks[0]["code"] == history[-1]["code"]
