"""Per-child reach in metrics: virtual schools and children's social care see the children
sharing's policy names, at any school, within their windows, with only their fields; and
the children-with-a-social-worker attendance view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from stdnum.gb.upn import calc_check_digit

from services.metrics.schemas import ChildrenPage
from tests.metrics.factories import enrolment, marks_for, school_days
from tests.metrics.support import feed
from tests.sharing.audit_support import audit_headers, read_audit, withdraw_audit_write
from tests.support.system import System


# Dates are taken when a test asks, not when the module is imported: a run may cross
# midnight, and the services read the day of each request.
def marked_days() -> list[dt.date]:
    """The school days of the last 20 days, up to yesterday: the marks each child has."""
    today = dt.date.today()
    return school_days(today - dt.timedelta(days=20), today - dt.timedelta(days=1))


def period() -> dict[str, str]:
    """The last 20 days, as `from`/`to` query parameters."""
    today = dt.date.today()
    return {"from": (today - dt.timedelta(days=20)).isoformat(), "to": today.isoformat()}


VIEW = "/v1/children-with-social-worker/attendance"
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"


def upn(serial: int) -> str:
    body = f"2025003{25:02d}{serial:03d}"
    return calc_check_digit(body) + body


PLACED_AWAY = upn(1)  # looked after by 202, at a school of 203
AT_HOME = upn(2)  # child in need of 202, at a school of 202
PLAN_SW2 = upn(3)  # on a plan in 202, practitioner sw-2
CLOSED = upn(4)  # 202's episode closed a week ago
NO_EPISODE = upn(5)  # at the 202 school, no social worker
HOST_CHILD = upn(6)  # looked after by 203, at the 202 school


@dataclass
class World:
    home_school: dict[str, Any]
    away_school: dict[str, Any]
    care_client: tuple[str, str]
    care: dict[str, Any]
    virtual_school: dict[str, Any]
    host_care: dict[str, Any]
    episodes: dict[str, str]
    """Episode id by child, of the episodes social care of 202 recorded."""


def _episode(
    system: System, headers: dict[str, str], child: str, category: str, **extra: Any
) -> str:
    body = {
        "child": {"upn": child},
        "category": category,
        "start_date": (dt.date.today() - dt.timedelta(days=60)).isoformat(),
        **extra,
    }
    response = system.sharing.post("/v1/episodes", json=body, headers=headers)
    assert response.status_code == 201, response.text
    episode_id: str = response.json()["id"]
    return episode_id


@pytest.fixture
def world(system: System) -> World:
    system.create_organisation("local_authority", la_code="202")
    system.create_organisation("local_authority", la_code="203")
    care = system.create_organisation("social_care", la_code="202")
    virtual_school = system.create_organisation("virtual_school", la_code="202")
    host_care = system.create_organisation("social_care", la_code="203")
    home = system.create_organisation("school", la_code="202")
    away = system.create_organisation("school", la_code="203")
    changes: list[Any] = []
    for child, school in (
        (PLACED_AWAY, away),
        (AT_HOME, home),
        (PLAN_SW2, home),
        (CLOSED, home),
        (NO_EPISODE, home),
        (HOST_CHILD, home),
    ):
        changes += [
            enrolment(child, school_urn=school["urn"], sen_provision="K", ethnicity="WIRI"),
            *marks_for(child, marked_days(), ["/", "N"], school_urn=school["urn"]),
        ]
    feed(system, changes)
    client = system.create_client(
        care["id"], "social_care", ["social_care:write", "attendance:read"]
    )
    writer = {"Authorization": f"Bearer {system.token(*client)}"}
    episodes = {
        PLACED_AWAY: _episode(system, writer, PLACED_AWAY, "CLA", practitioner_ref="sw-1"),
        AT_HOME: _episode(system, writer, AT_HOME, "CIN", practitioner_ref="sw-1"),
        PLAN_SW2: _episode(system, writer, PLAN_SW2, "CPP", practitioner_ref="sw-2"),
        CLOSED: _episode(
            system,
            writer,
            CLOSED,
            "CIN",
            end_date=(dt.date.today() - dt.timedelta(days=7)).isoformat(),
        ),
    }
    host_writer = system.headers_for(host_care["id"], "social_care", ["social_care:write"])
    _episode(system, host_writer, HOST_CHILD, "CLA")
    return World(home, away, client, care, virtual_school, host_care, episodes)


def care_headers(system: System, world: World) -> dict[str, str]:
    return system.headers_for(world.care["id"], "social_care", ["attendance:read"])


def virtual_school_headers(system: System, world: World) -> dict[str, str]:
    return system.headers_for(world.virtual_school["id"], "virtual_school", ["attendance:read"])


def get(system: System, path: str, headers: dict[str, str], **params: Any) -> Any:
    assert system.metrics is not None
    return system.metrics.get(path, params=params, headers=headers)


def view_upns(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["upn"] for c in response.json()["items"]]


def test_a_virtual_school_sees_its_looked_after_child_at_a_school_of_another_authority(
    system: System, world: World
) -> None:
    response = get(
        system,
        f"/v1/pupils/{PLACED_AWAY}/attendance",
        virtual_school_headers(system, world),
        **period(),
    )
    assert response.status_code == 200, response.text
    (held,) = response.json()["enrolments"]
    assert (held["school_urn"], len(held["marks"])) == (
        world.away_school["urn"],
        2 * len(marked_days()),
    )


def test_the_host_authoritys_social_care_does_not_see_a_child_placed_from_elsewhere(
    system: System, world: World
) -> None:
    hdrs = system.headers_for(world.host_care["id"], "social_care", ["attendance:read"])
    response = get(system, f"/v1/pupils/{PLACED_AWAY}/attendance", hdrs, **period())
    assert response.status_code == 404


def test_social_care_lists_only_children_with_an_open_episode_of_its_authority(
    system: System, world: World
) -> None:
    assert view_upns(get(system, VIEW, care_headers(system, world))) == sorted(
        [PLACED_AWAY, AT_HOME, PLAN_SW2]
    )


def test_social_care_gets_no_sen_ethnicity_or_fsm(system: System, world: World) -> None:
    body = get(system, "/v1/pupils", care_headers(system, world), **period()).json()
    assert body["items"], body
    assert all(
        not {"sen_provision", "ethnicity", "ethnicity_group", "fsm_eligible", "gender"} & set(p)
        for p in body["items"]
    )
    assert all("measures" in p and "legal_surname" in p for p in body["items"])


def test_a_filter_on_a_withheld_field_matches_nobody(system: System, world: World) -> None:
    body = get(system, "/v1/pupils", care_headers(system, world), sen_provision="K").json()
    assert body["items"] == []


def test_a_practitioner_token_sees_only_its_caseload(system: System, world: World) -> None:
    client_id, secret = world.care_client
    exchanged = system.sharing.post(
        "/oauth/token",
        data={
            "grant_type": GRANT,
            "subject_token": system.token(client_id, secret),
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "actor_token": "sw-2",
            "actor_token_type": "urn:attendance-exchange:params:oauth:token-type:practitioner-ref",
        },
        auth=(client_id, secret),
    )
    assert exchanged.status_code == 200, exchanged.text
    hdrs = {"Authorization": f"Bearer {exchanged.json()['access_token']}"}
    assert view_upns(get(system, VIEW, hdrs)) == [PLAN_SW2]
    assert get(system, f"/v1/pupils/{AT_HOME}/attendance", hdrs).status_code == 404


def test_a_closed_episode_ends_access_to_marks_after_its_end_date(
    system: System, world: World
) -> None:
    response = get(
        system, f"/v1/pupils/{CLOSED}/attendance", virtual_school_headers(system, world), **period()
    )
    assert response.status_code == 200, response.text
    end = dt.date.today() - dt.timedelta(days=7)
    days = {m["date"] for e in response.json()["enrolments"] for m in e["marks"]}
    assert days == {d.isoformat() for d in marked_days() if d <= end}


def test_a_closed_episode_ends_social_cares_access_altogether(system: System, world: World) -> None:
    hdrs = care_headers(system, world)
    assert get(system, f"/v1/pupils/{CLOSED}/attendance", hdrs, **period()).status_code == 404


def test_a_closed_episode_applies_from_the_next_request(system: System, world: World) -> None:
    # Metrics keeps the Reach it was given, but asks sharing's policy version first.
    headers = care_headers(system, world)
    assert AT_HOME in view_upns(get(system, VIEW, headers))
    writer = {"Authorization": f"Bearer {system.token(*world.care_client)}"}
    closed = system.sharing.patch(
        f"/v1/episodes/{world.episodes[AT_HOME]}",
        json={"end_date": (dt.date.today() - dt.timedelta(days=1)).isoformat()},
        headers=writer,
    )
    assert closed.status_code == 200, closed.text
    assert AT_HOME not in view_upns(get(system, VIEW, headers))


def test_an_unchanged_policy_is_not_asked_for_again(system: System, world: World) -> None:
    headers = care_headers(system, world)
    get(system, VIEW, headers)
    system.transport.paths.clear()
    get(system, VIEW, headers)
    asked = system.transport.paths
    assert ("/v1/policy/version" in asked, "/v1/policy/reach" in asked) == (True, False)


def test_a_reach_asked_afresh_is_not_preceded_by_the_policy_version(
    system: System, world: World
) -> None:
    # The Reach carries the version it was decided under: one request, not two.
    get(system, VIEW, care_headers(system, world))
    asked = system.transport.paths
    assert ("/v1/policy/version" in asked, "/v1/policy/reach" in asked) == (False, True)


def test_the_view_gives_category_practitioner_school_and_attendance(
    system: System, world: World
) -> None:
    body = get(system, VIEW, care_headers(system, world), category="CLA").json()
    (child,) = body["items"]
    assert (child["upn"], child["category"], child["practitioner_ref"], child["school_urn"]) == (
        PLACED_AWAY,
        "CLA",
        "sw-1",
        world.away_school["urn"],
    )
    ytd = child["year_to_date"]
    assert (ytd["sess_attended"] * 2, child["persistent_absentee"]) == (ytd["sess_possible"], True)
    assert {m["code"] for m in child["latest_marks"]} == {"/", "N"}


def view_item(system: System, world: World, child: str) -> dict[str, Any]:
    (item,) = [
        i
        for i in get(system, VIEW, care_headers(system, world)).json()["items"]
        if i["upn"] == child
    ]
    return item


def test_the_latest_marks_of_an_episode_begun_this_week_start_on_its_first_day(
    system: System, world: World
) -> None:
    child, school, days = upn(7), world.home_school["urn"], marked_days()
    feed(
        system,
        [enrolment(child, school_urn=school), *marks_for(child, days, "/N", school_urn=school)],
    )
    writer = {"Authorization": f"Bearer {system.token(*world.care_client)}"}
    _episode(system, writer, child, "CIN", start_date=days[-3].isoformat())
    latest = view_item(system, world, child)["latest_marks"]
    # days[-4] is within the last 7 days too, but before the episode.
    assert [(m["date"], m["session"]) for m in latest] == [
        (d.isoformat(), s) for d in days[-3:] for s in ("AM", "PM")
    ]


def test_the_latest_marks_of_a_child_who_moved_school_come_from_both_in_order(
    system: System, world: World
) -> None:
    child, home, away = upn(8), world.home_school["urn"], world.away_school["urn"]
    days = marked_days()
    moved = days[-2]
    before, after = [d for d in days if d < moved], [d for d in days if d >= moved]
    feed(
        system,
        [  # the new school's roll first: the two must still be merged in order
            enrolment(child, school_urn=away, entry_date=moved),
            *marks_for(child, after, "N/", school_urn=away),
            enrolment(child, school_urn=home, leaving_date=before[-1]),
            *marks_for(child, before, "/N", school_urn=home),
        ],
    )
    writer = {"Authorization": f"Bearer {system.token(*world.care_client)}"}
    _episode(system, writer, child, "CLA")
    item = view_item(system, world, child)
    week_ago = dt.date.today() - dt.timedelta(days=6)
    assert item["school_urn"] == away
    assert [
        (m["date"], m["session"], m["school_urn"], m["code"]) for m in item["latest_marks"]
    ] == [
        (d.isoformat(), s, home if d < moved else away, code)
        for d in days
        if d >= week_ago
        for s, code in zip(("AM", "PM"), "/N" if d < moved else "N/", strict=True)
    ]


def test_children_at_one_school_each_get_their_own_latest_marks(
    system: System, world: World
) -> None:
    # AT_HOME's week ("/N" each day) is shared by the school's other children; this
    # child's is its own, though it starts alike.
    child, school, days = upn(9), world.home_school["urn"], marked_days()
    own = ["/", "N", "/", "/"]
    feed(
        system,
        [enrolment(child, school_urn=school), *marks_for(child, days, own, school_urn=school)],
    )
    writer = {"Authorization": f"Bearer {system.token(*world.care_client)}"}
    _episode(system, writer, child, "CIN")
    items = {i["upn"]: i for i in get(system, VIEW, care_headers(system, world)).json()["items"]}
    codes = {c: [m["code"] for m in items[c]["latest_marks"]] for c in (child, AT_HOME)}
    week = [d for d in days if d >= dt.date.today() - dt.timedelta(days=6)]
    sessions = 2 * days.index(week[0])  # `own` cycles over every session fed
    assert codes == {
        child: [own[(sessions + i) % len(own)] for i in range(2 * len(week))],
        AT_HOME: ["/", "N"] * len(week),
    }


def test_a_mark_corrected_after_a_read_is_in_the_next_read(system: System, world: World) -> None:
    # The first read holds the week's marks (and their JSON) in memory; the correction
    # reaches the next read all the same.
    child, school, days = upn(11), world.home_school["urn"], marked_days()
    feed(
        system,
        [enrolment(child, school_urn=school), *marks_for(child, days, "/", school_urn=school)],
    )
    writer = {"Authorization": f"Bearer {system.token(*world.care_client)}"}
    _episode(system, writer, child, "CIN")
    first = [m["code"] for m in view_item(system, world, child)["latest_marks"]]
    feed(system, marks_for(child, days[-1:], "N", school_urn=school))
    again = [m["code"] for m in view_item(system, world, child)["latest_marks"]]
    assert (first[-2:], again[:-2], again[-2:]) == (["/", "/"], first[:-2], ["N", "N"])


def test_a_child_with_no_marks_in_the_last_days_has_no_latest_marks(
    system: System, world: World
) -> None:
    child, school = upn(10), world.home_school["urn"]
    earlier = [d for d in marked_days() if d < dt.date.today() - dt.timedelta(days=6)]
    feed(
        system,
        [enrolment(child, school_urn=school), *marks_for(child, earlier, "/", school_urn=school)],
    )
    writer = {"Authorization": f"Bearer {system.token(*world.care_client)}"}
    _episode(system, writer, child, "CIN")
    item = view_item(system, world, child)
    assert (item["latest_marks"], item["year_to_date"]["sess_attended"]) == (
        [],
        2 * len(earlier),
    )


def test_the_view_answers_exactly_what_its_documented_model_publishes(
    system: System, world: World
) -> None:
    # The view writes its JSON without models (for speed): it must be what `ChildrenPage`
    # would publish, no field missing, extra or in another form.
    body = get(system, VIEW, virtual_school_headers(system, world)).json()
    published = ChildrenPage.model_validate(body).model_dump(mode="json", exclude_unset=True)
    assert (published, any(c["latest_marks"] for c in body["items"])) == (body, True)


def test_a_child_outside_the_headline_ages_is_counted_from_its_register(
    system: System, world: World
) -> None:
    # Four on 31 August 2025: a reception child in 2025/26, whom DfE's headline measures
    # leave out; a social worker still sees its attendance. Fixed dates, so the academic
    # year never starts inside them.
    reception, days = upn(7), school_days(dt.date(2025, 11, 10), dt.date(2025, 11, 28))
    feed(
        system,
        [
            enrolment(
                reception,
                school_urn=world.home_school["urn"],
                date_of_birth=dt.date(2021, 1, 15),
                nc_year="R",
            ),
            *marks_for(reception, days, ["/", "N"], school_urn=world.home_school["urn"]),
        ],
    )
    writer = {"Authorization": f"Bearer {system.token(*world.care_client)}"}
    _episode(system, writer, reception, "CPP", start_date="2025-09-01")
    response = get(system, VIEW, care_headers(system, world), as_of="2025-11-28")
    items = {c["upn"]: c for c in response.json()["items"]}
    child = items[reception]
    ytd = child["year_to_date"]
    assert (child["sessions_counted"], ytd["sess_possible"], ytd["sess_attended"]) == (
        "register",
        2 * len(days),
        len(days),
    )
    assert child["persistent_absentee"] is True
    assert items[AT_HOME]["sessions_counted"] == "headline"


def test_the_view_filters_by_practitioner(system: System, world: World) -> None:
    response = get(system, VIEW, care_headers(system, world), practitioner="sw-1")
    assert view_upns(response) == sorted([PLACED_AWAY, AT_HOME])


def test_the_view_pages_with_a_cursor(system: System, world: World) -> None:
    hdrs = care_headers(system, world)
    first = get(system, VIEW, hdrs, limit=2).json()
    rest = get(system, VIEW, hdrs, limit=2, cursor=first["next_cursor"]).json()
    assert [c["upn"] for c in first["items"] + rest["items"]] == sorted(
        [PLACED_AWAY, AT_HOME, PLAN_SW2]
    )
    assert rest["next_cursor"] is None


def test_the_view_answers_csv(system: System, world: World) -> None:
    hdrs = {**care_headers(system, world), "Accept": "text/csv"}
    response = get(system, VIEW, hdrs)
    lines = response.text.splitlines()
    assert (lines[0].split(",")[:3], len(lines)) == (["upn", "category", "practitioner_ref"], 4)


def test_a_virtual_school_sees_its_past_children_in_the_view(system: System, world: World) -> None:
    assert view_upns(get(system, VIEW, virtual_school_headers(system, world))) == sorted(
        [PLACED_AWAY, AT_HOME, PLAN_SW2, CLOSED]
    )


def test_a_schools_view_is_unchanged(system: System, world: World) -> None:
    hdrs = system.headers_for(world.home_school["id"], "school_system", ["attendance:read"])
    body = get(system, "/v1/pupils", hdrs, **period()).json()
    assert {p["upn"] for p in body["items"]} == {AT_HOME, PLAN_SW2, CLOSED, NO_EPISODE, HOST_CHILD}
    assert all(p["sen_provision"] == "K" and p["ethnicity"] == "WIRI" for p in body["items"])


def test_social_care_may_not_read_the_view_for_register_keeping(
    system: System, world: World
) -> None:
    headers = {**care_headers(system, world), "X-Purpose": "register_keeping"}
    assert get(system, VIEW, headers).status_code == 403


@pytest.mark.parametrize("as_of", ["0001-01-05", "9999-12-31"])
def test_a_day_outside_the_dates_reported_on_is_a_problem(
    system: System, world: World, as_of: str
) -> None:
    response = get(system, VIEW, care_headers(system, world), as_of=as_of)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["location"] for e in response.json()["errors"]] == ["query:as_of"]


def test_the_dfe_is_listed_no_children(system: System, world: World) -> None:
    dfe = system.create_organisation("dfe")
    response = get(system, VIEW, system.headers_for(dfe["id"], "dfe_analyst", ["attendance:read"]))
    assert (response.status_code, "items" in response.json()) == (404, False)


def test_the_view_needs_a_token(system: System, world: World) -> None:
    assert get(system, VIEW, {}).status_code == 401


def test_the_view_needs_attendance_read(system: System, world: World) -> None:
    hdrs = system.headers_for(world.home_school["id"], "school_system", ["metrics:read"])
    assert get(system, VIEW, hdrs).status_code == 403


def test_a_child_without_a_social_worker_is_not_found_by_social_care(
    system: System, world: World
) -> None:
    response = get(system, f"/v1/pupils/{NO_EPISODE}/attendance", care_headers(system, world))
    assert response.status_code == 404


def test_an_unknown_category_is_a_problem(system: System, world: World) -> None:
    response = get(system, VIEW, care_headers(system, world), category="XYZ")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_purpose_the_role_may_not_state_is_refused_when_no_child_is_listed(
    system: System, world: World
) -> None:
    headers = {**care_headers(system, world), "X-Purpose": "register_keeping"}
    response = get(system, VIEW, headers, practitioner="nobody")
    assert response.status_code == 403


def test_the_views_read_is_on_record_with_every_child_listed(system: System, world: World) -> None:
    listed = view_upns(get(system, VIEW, care_headers(system, world)))
    recorded = [
        c["upn"]
        for entry in read_audit(system, audit_headers(system, world.care))
        if entry["endpoint"] == "GET /v1/children-with-social-worker/attendance"
        for c in entry["children"]
    ]
    assert (sorted(recorded), len(listed)) == (sorted(listed), 3)


def test_the_view_is_not_served_when_the_read_cannot_be_recorded(
    system: System, world: World
) -> None:
    withdraw_audit_write(system)
    response = get(system, VIEW, care_headers(system, world))
    assert (response.status_code, "items" in response.json()) == (503, False)
