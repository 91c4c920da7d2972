"""services.sharing.bootstrap: the operator and its two clients, idempotently."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select

from services.sharing.bootstrap import bootstrap
from services.sharing.domain.secrets import verify_secret
from services.sharing.store.models import OAuthClient, Organisation
from shared.db import create_db_engine


def run(url: str, secret: str) -> None:
    engine = create_db_engine(url)
    try:
        bootstrap(
            engine,
            admin_client_id="admin",
            admin_client_secret=secret,
            service_client_id="svc",
            service_client_secret=secret + "-svc",
        )
    finally:
        engine.dispose()


def test_bootstrap_creates_the_operator_and_both_clients(
    database_url: Callable[[str], str],
) -> None:
    url = database_url("sharing")
    run(url, "first")
    engine = create_db_engine(url)
    with Session(engine) as session:
        organisations = session.exec(select(Organisation)).all()
        clients = {c.client_id: c for c in session.exec(select(OAuthClient)).all()}
    engine.dispose()
    assert [o.type for o in organisations] == ["operator"]
    assert (clients["admin"].role, clients["svc"].role) == ("admin", "service")
    assert clients["admin"].scopes.split() == ["directory:read", "directory:write", "audit:read"]


def test_rerunning_bootstrap_replaces_the_secrets_and_adds_nothing(
    database_url: Callable[[str], str],
) -> None:
    url = database_url("sharing")
    run(url, "first")
    run(url, "second")
    engine = create_db_engine(url)
    with Session(engine) as session:
        organisations = session.exec(select(Organisation)).all()
        admin = session.get(OAuthClient, "admin")
    engine.dispose()
    assert len(organisations) == 1
    assert admin is not None
    assert verify_secret("second", admin.secret_hash)
    assert not verify_secret("first", admin.secret_hash)
