"""Submitting returns over HTTP: formats, rules, receipts, idempotency, amendments."""

from __future__ import annotations

from tests.ingest.conftest import School
from tests.ingest.factories import json_body, pupil, week_of_marks
from tests.support.system import System

JSON = {"Content-Type": "application/json"}


def test_a_valid_json_return_is_accepted_with_a_receipt(system: System, school: School) -> None:
    p = pupil()
    response = system.ingest.post(
        school.returns_url(), content=json_body([p], week_of_marks(p)),
        headers={**school.headers, **JSON},
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["marks"] == {"inserted": 10, "changed": 0, "unchanged": 0, "withdrawn": 0}
    assert receipt["pupils"] == {"inserted": 1, "changed": 0, "unchanged": 0}
    again = system.ingest.get(response.headers["Location"], headers=school.headers)
    assert again.json() == receipt
