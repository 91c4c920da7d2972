"""`shared.audit.AuditRecorder` against the real sharing app: a read goes on record, and when
it cannot, the recorder raises so the read is refused (fail closed)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from shared.audit import (
    DEFAULT_PURPOSE,
    PURPOSES_BY_ROLE,
    STATUTORY_BASIS,
    AuditRecorder,
    AuditUnavailable,
    PurposeNotAllowed,
    legal_basis_for,
    purpose_for,
)
from shared.auth import Principal
from shared.contracts.audit import Purpose
from shared.service_client import ServiceClient
from tests.sharing.audit_support import read_audit, upn
from tests.support.system import SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, SHARING_URL, System

READER = Principal(
    client_id="la-client",
    subject="la-client",
    scopes=frozenset({"attendance:read"}),
    organisation_id="la-org",
    organisation_type="local_authority",
    role="la_attendance",
    actor="officer-42",
)


def recorder_for(
    system: System, *, base_url: str = SHARING_URL, scopes: list[str] | None = None
) -> AuditRecorder:
    return AuditRecorder(
        ServiceClient(
            base_url=base_url,
            token_url=f"{SHARING_URL}/oauth/token",
            client_id=SERVICE_CLIENT_ID,
            client_secret=SERVICE_CLIENT_SECRET,
            scopes=scopes or ["audit:write"],
            transport=system.transport,
        ),
        service="metrics",
    )


@pytest.fixture
def recorder(system: System) -> Iterator[AuditRecorder]:
    recorder = recorder_for(system)
    yield recorder
    recorder.close()


def test_a_read_is_on_record_with_who_and_which_children(
    system: System, recorder: AuditRecorder
) -> None:
    recorder.record_read(
        principal=READER,
        children=[(upn(1), "100001")],
        endpoint="GET /v1/pupils",
        purpose=Purpose.MISSING_EDUCATION,
    )
    (entry,) = read_audit(system, system.admin_headers())
    assert (entry["accessor"]["actor"], entry["purpose"], entry["children"]) == (
        "officer-42",
        "missing_education",
        [{"upn": upn(1), "school_urn": "100001"}],
    )


def test_without_a_purpose_the_roles_default_and_statutory_basis_are_recorded(
    system: System, recorder: AuditRecorder
) -> None:
    recorder.record_read(
        principal=READER, children=[(upn(1), "100001")], endpoint="GET /v1/pupils", purpose=None
    )
    (entry,) = read_audit(system, system.admin_headers())
    assert (entry["purpose"], entry["legal_basis"]) == (
        "attendance_support",
        STATUTORY_BASIS["la_attendance"],
    )


def test_a_read_of_no_child_records_nothing(system: System, recorder: AuditRecorder) -> None:
    recorder.record_read(principal=READER, children=[], endpoint="GET /v1/pupils", purpose=None)
    assert read_audit(system, system.admin_headers()) == []


def test_an_unreachable_audit_service_refuses_the_read(system: System) -> None:
    recorder = recorder_for(system, base_url="http://localhost:8999")
    with pytest.raises(AuditUnavailable):
        recorder.record_read(
            principal=READER, children=[(upn(1), "100001")], endpoint="GET /v1/pupils", purpose=None
        )
    recorder.close()


def test_a_refused_record_refuses_the_read(system: System) -> None:
    # A token without audit:write: the sharing service answers 403.
    recorder = recorder_for(system, scopes=["directory:read"])
    with pytest.raises(AuditUnavailable):
        recorder.record_read(
            principal=READER, children=[(upn(1), "100001")], endpoint="GET /v1/pupils", purpose=None
        )
    recorder.close()


def record_of(recorder: AuditRecorder, *children: tuple[str, str]) -> bytes:
    record = recorder.read_record(
        principal=READER, children=children, endpoint="GET /v1/pupils", purpose=None
    )
    assert record is not None
    return record


def test_records_sent_in_the_background_are_on_record_in_order(
    system: System, recorder: AuditRecorder
) -> None:
    first, second = record_of(recorder, (upn(1), "100001")), record_of(recorder, (upn(2), "100002"))
    recorder.send_in_background([first, second]).result()
    # Newest first.
    assert [e["children"][0]["upn"] for e in read_audit(system, system.admin_headers())] == [
        upn(2),
        upn(1),
    ]


def test_a_record_that_cannot_be_sent_in_the_background_refuses_the_read_when_awaited(
    system: System,
) -> None:
    recorder = recorder_for(system, base_url="http://localhost:8999")
    sending = recorder.send_in_background([record_of(recorder, (upn(1), "100001"))])
    with pytest.raises(AuditUnavailable):
        sending.result()
    recorder.close()


def test_a_record_waits_for_a_free_sending_thread_without_holding_up_the_handler(
    system: System, recorder: AuditRecorder
) -> None:
    release = threading.Event()
    # Every sending thread busy (the recorder's pool, as other requests' records keep it).
    busy = [recorder._background.submit(release.wait) for _ in range(4)]
    sending = recorder.send_in_background([record_of(recorder, (upn(1), "100001"))])
    assert not sending.done()  # the handler went on; nothing sent yet
    release.set()
    sending.result()
    assert [f.result() for f in busy] == [True] * 4
    assert len(read_audit(system, system.admin_headers())) == 1


def test_the_callers_purpose_wins_over_the_roles_default() -> None:
    assert purpose_for(Purpose.SAFEGUARDING, "school_system") is Purpose.SAFEGUARDING


def test_every_roles_default_purpose_is_one_it_may_state() -> None:
    assert {r: p for r, p in DEFAULT_PURPOSE.items() if p not in PURPOSES_BY_ROLE[r]} == {}


@pytest.mark.parametrize(
    ("role", "purpose"),
    [
        ("la_attendance", Purpose.STATISTICS),
        ("social_care", Purpose.REGISTER_KEEPING),
        ("school_system", Purpose.OPERATIONS),
        ("partner", Purpose.LOOKED_AFTER_EDUCATION),
        (None, Purpose.SAFEGUARDING),
    ],
)
def test_a_purpose_the_role_may_not_state_is_refused(role: str | None, purpose: Purpose) -> None:
    with pytest.raises(PurposeNotAllowed):
        purpose_for(purpose, role)


def test_a_refused_purpose_is_refused_even_for_a_read_of_no_child(
    system: System, recorder: AuditRecorder
) -> None:
    with pytest.raises(PurposeNotAllowed):
        recorder.record_read(
            principal=READER, children=[], endpoint="GET /v1/pupils", purpose=Purpose.OPERATIONS
        )


def test_a_policy_decisions_basis_wins_over_the_statutory_table() -> None:
    assert legal_basis_for("la_attendance", "agreement 7: data-sharing agreement") == (
        "agreement 7: data-sharing agreement"
    )
