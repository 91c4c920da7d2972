"""A signed checkpoint of the audit chain: whoever may read the trail gets its head, signed
with a key the service publishes, to keep elsewhere (checked later: tests/cli)."""

from __future__ import annotations

import pytest
from joserfc.jwk import KeySet

from services.sharing.domain.audit import GENESIS_HASH
from services.sharing.domain.checkpoints import read_checkpoint
from tests.sharing.audit_support import audit_headers, event, read_audit, record, upn
from tests.support.system import System


@pytest.fixture
def school(system: System) -> dict[str, object]:
    system.create_organisation("local_authority", la_code="202")
    return system.create_organisation("school", la_code="202")


def published_keys(system: System) -> KeySet:
    return KeySet.import_key_set(system.sharing.get("/.well-known/jwks.json").json())


def test_a_checkpoint_is_the_chain_head_signed_with_a_published_key(
    system: System, school: dict[str, object]
) -> None:
    urn = str(school["urn"])
    record(system, event([(upn(1), urn)]), event([(upn(2), urn)]))
    headers = audit_headers(system, school)
    body = system.sharing.get("/v1/audit/checkpoint", headers=headers).json()
    newest = read_audit(system, headers)[0]
    signed = read_checkpoint(body["checkpoint"], published_keys(system))
    assert (body["position"], body["entry_hash"]) == (2, newest["entry_hash"])
    assert (signed.head.position, signed.head.entry_hash) == (2, newest["entry_hash"])


def test_the_checkpoint_of_an_empty_trail_is_the_genesis(
    system: System, school: dict[str, object]
) -> None:
    body = system.sharing.get("/v1/audit/checkpoint", headers=audit_headers(system, school))
    assert (body.json()["position"], body.json()["entry_hash"]) == (0, GENESIS_HASH)


def test_a_checkpoint_without_a_token_is_401(system: System) -> None:
    assert system.sharing.get("/v1/audit/checkpoint").status_code == 401


def test_a_checkpoint_without_audit_read_is_403(system: System, school: dict[str, object]) -> None:
    headers = system.headers_for(str(school["id"]), "school_system", ["directory:read"])
    assert system.sharing.get("/v1/audit/checkpoint", headers=headers).status_code == 403


def test_a_checkpoint_is_not_accepted_as_an_access_token(
    system: System, school: dict[str, object]
) -> None:
    # Signed with the same key as tokens, but of another type and without their claims.
    body = system.sharing.get("/v1/audit/checkpoint", headers=audit_headers(system, school))
    stolen = {"Authorization": f"Bearer {body.json()['checkpoint']}"}
    assert system.sharing.get("/v1/audit/checkpoint", headers=stolen).status_code == 401
