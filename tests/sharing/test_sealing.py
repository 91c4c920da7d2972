"""Signing keys and webhook secrets are stored sealed, opened with the configured keys,
resealed when the keys rotate, and sealed at start-up if they were stored before sealing."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlmodel import Session, select

from services.sharing.domain.keys import generate_private_jwk
from services.sharing.domain.sealing import DEV_SEALING_KEY, SealBroken, Sealer
from services.sharing.main import prepare_secrets
from services.sharing.settings import SharingSettings
from services.sharing.store.alert_models import WebhookSubscription
from services.sharing.store.models import SigningKey
from services.sharing.store.repository import SigningKeyRepository
from shared.db import create_db_engine
from tests.sharing.alert_support import ALERT_SETTINGS, area, receiver, subscribe
from tests.support.system import System

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_a_sealed_secret_opens_to_itself_and_does_not_contain_it() -> None:
    sealer = Sealer([NEW])
    sealed = sealer.seal("whsec_c2VjcmV0")
    assert "c2VjcmV0" not in sealed
    assert sealer.open(sealed) == "whsec_c2VjcmV0"


def test_a_secret_sealed_under_another_key_does_not_open() -> None:
    with pytest.raises(SealBroken):
        Sealer([NEW]).open(Sealer([OLD]).seal("whsec_x"))


def test_after_a_rotation_the_old_key_still_opens_and_reseal_moves_to_the_new() -> None:
    sealed_before = Sealer([OLD]).seal("whsec_x")
    rotating = Sealer([NEW, OLD])
    assert rotating.open(sealed_before) == "whsec_x"
    resealed = rotating.reseal(sealed_before)
    assert resealed is not None
    assert Sealer([NEW]).open(resealed) == "whsec_x"
    assert rotating.reseal(resealed) is None


def test_a_value_from_before_sealing_reads_as_is_and_reseals() -> None:
    sealer = Sealer([NEW])
    assert sealer.open("whsec_x") == "whsec_x"
    resealed = sealer.reseal("whsec_x")
    assert resealed is not None
    assert sealer.open(resealed) == "whsec_x"


def test_production_refuses_the_development_sealing_key() -> None:
    with pytest.raises(ValidationError, match="development key"):
        SharingSettings(
            environment="production",
            service_client={"client_secret": "a-real-secret"},
            sealing_keys=[DEV_SEALING_KEY, NEW],
        )


def test_a_sealing_key_that_is_not_a_fernet_key_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"sealing_keys\[0\] is not a Fernet key"):
        SharingSettings(sealing_keys=["not-a-key"])


def stored_keys(system: System) -> list[SigningKey]:
    engine = create_db_engine(system.settings["sharing"].database.url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(SigningKey)).all())
    finally:
        engine.dispose()


def test_the_signing_key_is_stored_sealed(system: System) -> None:
    [row] = stored_keys(system)
    assert not row.private_jwk.startswith("{")
    opened = json.loads(system.settings["sharing"].sealer().open(row.private_jwk))
    assert (opened["kid"], "d" in opened) == (row.kid, True)


@pytest.mark.parametrize("system_settings", [ALERT_SETTINGS])
def test_a_webhook_secret_is_stored_sealed(system: System) -> None:
    a = area(system, "202", 1)
    with receiver() as hook:
        shown = subscribe(system, a.headers["school"], hook.url)
    engine = create_db_engine(system.settings["sharing"].database.url)
    with Session(engine) as session:
        row = session.get(WebhookSubscription, shown["id"])
    engine.dispose()
    assert row is not None
    assert shown["secret"] not in row.secret
    assert system.settings["sharing"].sealer().open(row.secret) == shown["secret"]


def test_start_up_seals_a_key_stored_before_sealing(database_url: Callable[[str], str]) -> None:
    engine = create_db_engine(database_url("sharing"))
    plain = generate_private_jwk("kid-1")
    with Session(engine) as session:
        keys = SigningKeyRepository(session, Sealer([NEW]))
        session.add(keys.ensure_active())
        row = keys.active()
        assert row is not None
        row.private_jwk = plain  # as a database from before sealing holds it
        session.add(row)
        session.commit()
    prepare_secrets(engine, Sealer([NEW]))
    with Session(engine) as session:
        [stored] = session.exec(select(SigningKey)).all()
    engine.dispose()
    assert stored.private_jwk != plain
    assert Sealer([NEW]).open(stored.private_jwk) == plain


def test_start_up_with_a_new_key_first_reseals_under_it(
    database_url: Callable[[str], str],
) -> None:
    engine = create_db_engine(database_url("sharing"))
    prepare_secrets(engine, Sealer([OLD]))
    prepare_secrets(engine, Sealer([NEW, OLD]))
    with Session(engine) as session:
        [stored] = session.exec(select(SigningKey)).all()
    engine.dispose()
    assert json.loads(Sealer([NEW]).open(stored.private_jwk))["kid"] == stored.kid


def test_start_up_with_keys_that_open_nothing_stops(database_url: Callable[[str], str]) -> None:
    engine = create_db_engine(database_url("sharing"))
    prepare_secrets(engine, Sealer([OLD]))
    with pytest.raises(SealBroken):
        prepare_secrets(engine, Sealer([NEW]))
    engine.dispose()
