"""Submitting returns over HTTP: formats, rules, receipts, idempotency, amendments."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from services.ingest.domain.formats import (
    CtfSchool,
    ctf_return,
    marks_csv,
    multipart_return,
)
from services.ingest.domain.model import DateRange, Mark
from tests.ingest.conftest import School
from tests.ingest.factories import AUTUMN_2024, SUMMER_2024, json_body, pupil, week_of_marks
from tests.support.system import System


def error_codes(response) -> set[str]:
    return {e["code"] for e in response.json()["errors"]}


def test_a_valid_json_return_is_accepted_with_a_receipt(system: System, school: School) -> None:
    p = pupil()
    response = school.submit(system, json_body([p], week_of_marks(p)))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["marks"] == {"inserted": 10, "changed": 0, "unchanged": 0, "withdrawn": 0}
    assert receipt["pupils"] == {"inserted": 1, "changed": 0, "unchanged": 0, "removed": 0}
    assert system.ingest.get(response.headers["Location"], headers=school.headers).json() == (
        receipt
    )


def test_a_csv_multipart_return_is_accepted(system: System, school: School) -> None:
    p = pupil()
    content_type, body = multipart_return([p], week_of_marks(p))
    response = system.ingest.post(
        school.returns_url(), content=body, headers={**school.headers, "Content-Type": content_type}
    )
    assert response.status_code == 201, response.text
    assert response.json()["marks"]["inserted"] == 10


def test_a_marks_only_csv_uses_the_stored_roll(system: System, school: School) -> None:
    p = pupil()
    assert school.submit(system, json_body([p], [])).status_code == 201
    response = system.ingest.post(
        school.returns_url(),
        content=marks_csv(week_of_marks(p)).encode(),
        headers={**school.headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "csv"


def test_a_ctf_return_is_accepted(system: System, school: School) -> None:
    p = pupil()
    dfe = school.org["dfe_number"]
    marks = [*week_of_marks(p), Mark(p.upn, AUTUMN_2024 + timedelta(days=7), "AM", "C2")]
    body = ctf_return(CtfSchool(dfe[:3], dfe[3:], "Test"), [p], marks)
    response = system.ingest.post(
        school.returns_url(),
        content=body,
        headers={**school.headers, "Content-Type": "application/xml"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["marks"]["inserted"] == 11


def test_a_ctf_from_another_school_is_rejected(system: System, school: School) -> None:
    p = pupil()
    body = ctf_return(CtfSchool("999", "9999", "Elsewhere"), [p], week_of_marks(p))
    response = system.ingest.post(
        school.returns_url(),
        content=body,
        headers={**school.headers, "Content-Type": "application/xml"},
    )
    assert response.status_code == 422
    assert "ctf_wrong_school" in error_codes(response)


def test_a_bad_upn_check_letter_is_rejected(system: System, school: School) -> None:
    p = pupil()
    wrong = ("B" if p.upn[0] != "B" else "C") + p.upn[1:]
    response = school.submit(system, json_body([pupil(upn=wrong)], []))
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "/pupils/0/upn"
    assert error_codes(response) == {"upn_invalid"}


def test_a_temporary_upn_is_accepted_and_flagged(system: System, school: School) -> None:
    from stdnum.gb.upn import calc_check_digit

    body = "202" + "4001" + "24" + "12A"
    temporary = calc_check_digit(body) + body
    response = school.submit(system, json_body([pupil(upn=temporary)], []))
    assert response.status_code == 201, response.text
    feed = system.ingest.get("/v1/changes", headers=system.service_headers(["changes:read"]))
    assert feed.json()["changes"][0]["enrolment"]["upn_temporary"] is True


def test_code_h_after_the_2024_regulations_is_rejected(system: System, school: School) -> None:
    p = pupil()
    response = school.submit(system, json_body([p], [Mark(p.upn, AUTUMN_2024, "AM", "H")]))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "location": "/marks/0/code",
            "code": "code_not_in_force",
            "detail": "'H' is not an attendance code in force on 2024-09-02",
        }
    ]


def test_code_c2_before_the_2024_regulations_is_rejected(system: System, school: School) -> None:
    p = pupil()
    response = school.submit(system, json_body([p], [Mark(p.upn, SUMMER_2024, "AM", "C2")]))
    assert response.status_code == 422
    assert error_codes(response) == {"code_not_in_force"}


def test_every_problem_is_listed_and_nothing_is_stored(system: System, school: School) -> None:
    p = pupil()
    future = date.today() + timedelta(days=3)
    marks = [
        Mark(p.upn, AUTUMN_2024, "AM", "H"),
        Mark(p.upn, future, "AM", "/"),
        Mark(p.upn, AUTUMN_2024, "PM", "\\"),
        Mark(pupil(2).upn, AUTUMN_2024, "AM", "/"),
    ]
    response = school.submit(system, json_body([p], marks))
    assert response.status_code == 422
    assert error_codes(response) == {"code_not_in_force", "date_in_future", "pupil_not_on_roll"}
    feed = system.ingest.get("/v1/changes", headers=system.service_headers(["changes:read"]))
    assert feed.json()["changes"] == []


def test_dates_before_1900_are_rejected_each_by_name(system: System, school: School) -> None:
    # No register holds one, and no academic year or week around it could be reckoned.
    p = pupil(date_of_birth=date(1, 1, 1), entry_date=date(1899, 12, 31))
    response = school.submit(system, json_body([p], [Mark(p.upn, date(1, 1, 3), "AM", "/")]))
    assert response.status_code == 422
    assert {(e["code"], e["location"].rsplit("/", 1)[-1]) for e in response.json()["errors"]} == {
        ("date_too_early", "date_of_birth"),
        ("date_too_early", "entry_date"),
        ("date_too_early", "date"),
    }


def test_errors_are_capped_with_a_total(system: System, school: School) -> None:
    p = pupil()
    marks = [
        Mark(p.upn, AUTUMN_2024 + timedelta(days=d), s, "H")
        for d in range(0, 140)
        if (AUTUMN_2024 + timedelta(days=d)).weekday() < 5
        for s in ("AM", "PM")
    ]
    response = school.submit(system, json_body([p], marks))
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 100
    assert response.json()["errors_total"] == len(marks)


def test_two_different_marks_for_one_session_are_rejected(system: System, school: School) -> None:
    p = pupil()
    marks = [Mark(p.upn, AUTUMN_2024, "AM", "/"), Mark(p.upn, AUTUMN_2024, "AM", "I")]
    response = school.submit(system, json_body([p], marks))
    assert response.status_code == 422
    assert error_codes(response) == {"mark_conflict"}


def test_a_mark_outside_the_pupils_roll_dates_is_rejected(system: System, school: School) -> None:
    p = pupil(entry_date=AUTUMN_2024 + timedelta(days=1))
    response = school.submit(system, json_body([p], [Mark(p.upn, AUTUMN_2024, "AM", "/")]))
    assert response.status_code == 422
    assert error_codes(response) == {"pupil_not_on_roll_on_date"}


def test_a_bad_session_is_rejected(system: System, school: School) -> None:
    p = pupil()
    response = school.submit(system, json_body([p], [Mark(p.upn, AUTUMN_2024, "EV", "/")]))
    assert response.status_code == 422
    assert error_codes(response) == {"session_invalid"}


def test_no_mark_dash_is_a_warning_not_a_mark(system: System, school: School) -> None:
    p = pupil()
    marks = [Mark(p.upn, AUTUMN_2024, "AM", "/"), Mark(p.upn, AUTUMN_2024, "PM", "-")]
    response = school.submit(system, json_body([p], marks))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["marks"]["inserted"] == 1
    warning = next(w for w in receipt["warnings"] if w["code"] == "no_mark_entered")
    assert warning["examples"] == [{"upn": p.upn, "date": "2024-09-02", "session": "PM"}]


def test_old_n_codes_and_pupils_without_marks_are_warned(system: System, school: School) -> None:
    p, idle = pupil(1), pupil(2)
    response = school.submit(system, json_body([p, idle], [Mark(p.upn, AUTUMN_2024, "AM", "N")]))
    codes = {w["code"]: w for w in response.json()["warnings"]}
    assert codes["unresolved_n_code"]["count"] == 1
    assert codes["pupil_without_marks"]["examples"] == [
        {"upn": idle.upn, "date": None, "session": None}
    ]


def test_non_utf8_json_is_malformed(system: System, school: School) -> None:
    body = json_body([pupil()], []).replace(b"Surname1", "Zoë".encode("latin-1"))
    response = school.submit(system, body)
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]


def test_non_utf8_csv_is_malformed(system: System, school: School) -> None:
    content_type, body = multipart_return([pupil(legal_surname="Zoë")], [])
    body = body.replace("Zoë".encode(), "Zoë".encode("latin-1"))
    response = system.ingest.post(
        school.returns_url(), content=body, headers={**school.headers, "Content-Type": content_type}
    )
    assert response.status_code == 400
    assert "roll.csv" in response.json()["detail"]


def test_an_unknown_content_type_is_415(system: System, school: School) -> None:
    response = school.submit(system, b"x", **{"Content-Type": "application/pdf"})
    assert response.status_code == 415


def test_a_body_over_the_limit_is_413_from_its_length(system: System, school: School) -> None:
    body = b" " * (100 * 1024 * 1024)
    response = school.submit(system, body)
    assert response.status_code == 413


# --- amendments, replacement, idempotency -----------------------------------------------


def test_an_amendment_keeps_the_old_code_in_history(system: System, school: School) -> None:
    p = pupil()
    first = school.submit(system, json_body([p], [Mark(p.upn, AUTUMN_2024, "AM", "N")])).json()
    second = school.submit(system, json_body([], [Mark(p.upn, AUTUMN_2024, "AM", "I")])).json()
    assert second["marks"] == {"inserted": 0, "changed": 1, "unchanged": 0, "withdrawn": 0}
    marks = system.ingest.get(
        f"/v1/schools/{school.urn}/pupils/{p.upn}/marks",
        params={"from": "2024-09-01", "to": "2024-09-30", "history": "true"},
        headers=school.headers,
    ).json()["marks"]
    assert marks[0]["code"] == "I"
    history = [(h["previous_code"], h["code"], h["return_id"]) for h in marks[0]["history"]]
    assert history == [(None, "N", first["id"]), ("N", "I", second["id"])]
    assert marks[0]["history"][1]["client_id"] == second["client_id"]


def test_resubmitting_the_same_marks_changes_nothing(system: System, school: School) -> None:
    p = pupil()
    body = json_body([p], week_of_marks(p))
    school.submit(system, body)
    again = school.submit(system, body).json()
    assert again["marks"] == {"inserted": 0, "changed": 0, "unchanged": 10, "withdrawn": 0}
    assert again["pupils"] == {"inserted": 0, "changed": 0, "unchanged": 1, "removed": 0}


def test_a_replace_range_withdraws_absent_marks(system: System, school: School) -> None:
    p = pupil()
    school.submit(system, json_body([p], week_of_marks(p)))
    week = DateRange(AUTUMN_2024, AUTUMN_2024 + timedelta(days=4))
    kept = [Mark(p.upn, AUTUMN_2024, "AM", "/")]
    receipt = school.submit(system, json_body([], kept, replace_range=week)).json()
    assert receipt["marks"] == {"inserted": 0, "changed": 0, "unchanged": 1, "withdrawn": 9}
    marks = system.ingest.get(
        f"/v1/schools/{school.urn}/pupils/{p.upn}/marks",
        params={"history": "true"},
        headers=school.headers,
    ).json()["marks"]
    withdrawn = [m for m in marks if m["code"] is None]
    assert len(withdrawn) == 9
    assert withdrawn[0]["history"][-1]["kind"] == "mark.withdrawn"


def test_the_same_idempotency_key_and_body_replays_the_receipt(
    system: System, school: School
) -> None:
    p = pupil()
    body = json_body([p], week_of_marks(p))
    first = school.submit(system, body, **{"Idempotency-Key": "k-1"})
    replay = school.submit(system, body, **{"Idempotency-Key": "k-1"})
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json() == first.json()


def test_the_same_idempotency_key_with_another_body_is_refused(
    system: System, school: School
) -> None:
    p = pupil()
    school.submit(system, json_body([p], week_of_marks(p)), **{"Idempotency-Key": "k-2"})
    other = school.submit(system, json_body([p], []), **{"Idempotency-Key": "k-2"})
    assert other.status_code == 422
    assert other.json()["type"].endswith("idempotency-key-reused")


def test_receipts_are_listed_with_a_cursor(system: System, school: School) -> None:
    p = pupil()
    ids = [
        school.submit(system, json_body([p], [Mark(p.upn, AUTUMN_2024, "AM", c)])).json()["id"]
        for c in ("/", "L", "I")
    ]
    url = school.returns_url()
    page1 = system.ingest.get(url, params={"limit": 2}, headers=school.headers).json()
    page2 = system.ingest.get(
        url, params={"limit": 2, "after": page1["next_cursor"]}, headers=school.headers
    ).json()
    assert [r["id"] for r in page1["returns"] + page2["returns"]] == ids
    assert page2["next_cursor"] is None


def test_a_replace_range_withdraws_marks_of_a_stored_pupil_the_return_omits(
    system: System, school: School
) -> None:
    p, q = pupil(1), pupil(2)
    school.submit(system, json_body([p, q], week_of_marks(p)))
    week = DateRange(AUTUMN_2024, AUTUMN_2024 + timedelta(days=4))
    receipt = school.submit(system, json_body([], week_of_marks(q), replace_range=week)).json()
    assert receipt["marks"] == {"inserted": 10, "changed": 0, "unchanged": 0, "withdrawn": 10}


def test_a_return_touching_one_stored_session_is_merged_not_inserted(
    system: System, school: School
) -> None:
    p = pupil()
    school.submit(system, json_body([p], [Mark(p.upn, AUTUMN_2024, "AM", "/")]))
    tuesday = AUTUMN_2024 + timedelta(days=1)
    body = json_body([], [Mark(p.upn, AUTUMN_2024, "AM", "L"), Mark(p.upn, tuesday, "AM", "/")])
    receipt = school.submit(system, body).json()
    assert receipt["marks"] == {"inserted": 1, "changed": 1, "unchanged": 0, "withdrawn": 0}


def test_marks_of_a_new_day_are_published_in_order_after_the_stored_days(
    system: System, school: School
) -> None:
    p, q = pupil(1), pupil(2)
    first = school.submit(system, json_body([p, q], week_of_marks(p, AUTUMN_2024))).json()
    next_week = AUTUMN_2024 + timedelta(days=7)
    second = school.submit(system, json_body([], week_of_marks(q, next_week))).json()
    assert second["marks"] == {"inserted": 10, "changed": 0, "unchanged": 0, "withdrawn": 0}
    changes = system.ingest.get(
        "/v1/changes", params={"limit": 100}, headers=system.service_headers(["changes:read"])
    ).json()["changes"]
    marks = [c for c in changes if c["kind"] == "mark.upserted"]
    assert [c["return_id"] for c in marks] == [first["id"]] * 10 + [second["id"]] * 10
    assert [c["sequence"] for c in changes] == sorted(c["sequence"] for c in changes)
    assert [(c["upn"], c["date"], c["session"]) for c in marks[10:]] == [
        (q.upn, m.date.isoformat(), m.session) for m in week_of_marks(q, next_week)
    ]


def test_a_name_holding_a_control_character_is_refused(system: System, school: School) -> None:
    # A NUL cannot be stored in PostgreSQL text: before this rule it was a 500 there.
    p = replace(pupil(), legal_surname="Smi\x00th")
    content_type, body = multipart_return([p], [])
    response = system.ingest.post(
        school.returns_url(), content=body, headers={**school.headers, "Content-Type": content_type}
    )
    assert response.status_code == 422
    assert [(e["code"], e["location"]) for e in response.json()["errors"]] == [
        ("name_invalid", "roll.csv:2#legal_surname")
    ]


def test_amending_one_session_keeps_the_other_sessions_mark_and_return(
    system: System, school: School
) -> None:
    p = pupil()
    day = [Mark(p.upn, AUTUMN_2024, "AM", "/"), Mark(p.upn, AUTUMN_2024, "PM", "\\")]
    first = school.submit(system, json_body([p], day)).json()
    second = school.submit(system, json_body([], [Mark(p.upn, AUTUMN_2024, "PM", "I")])).json()
    marks = system.ingest.get(
        f"/v1/schools/{school.urn}/pupils/{p.upn}/marks", headers=school.headers
    ).json()["marks"]
    assert [(m["session"], m["code"], m["return_id"]) for m in marks] == [
        ("AM", "/", first["id"]),
        ("PM", "I", second["id"]),
    ]


def test_unresolved_n_codes_are_counted_per_session(system: System, school: School) -> None:
    p = pupil()
    tuesday = AUTUMN_2024 + timedelta(days=1)
    marks = [
        Mark(p.upn, AUTUMN_2024, "AM", "N"),
        Mark(p.upn, AUTUMN_2024, "PM", "N"),
        Mark(p.upn, tuesday, "AM", "/"),
        Mark(p.upn, tuesday, "PM", "N"),
    ]
    warning = next(
        w
        for w in school.submit(system, json_body([p], marks)).json()["warnings"]
        if w["code"] == "unresolved_n_code"
    )
    assert warning["count"] == 3
    assert [(e["date"], e["session"]) for e in warning["examples"]] == [
        ("2024-09-02", "AM"),
        ("2024-09-02", "PM"),
        ("2024-09-03", "PM"),
    ]
