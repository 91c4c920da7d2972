"""`database.owner_url` names the same PostgreSQL database as `url`, as another role."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import DatabaseSettings

SERVICE = "postgresql+psycopg://sharing_service:pw@db:5432/sharing"
OWNER = "postgresql+psycopg://attx:pw@db:5432/sharing"


def test_an_owner_beside_the_service_role_is_accepted() -> None:
    assert DatabaseSettings(url=SERVICE, owner_url=OWNER).owner_url == OWNER


def test_the_default_port_is_the_same_server() -> None:
    owner = "postgresql+psycopg://attx:pw@db/sharing"
    assert DatabaseSettings(url=SERVICE, owner_url=owner).owner_url == owner


def test_no_owner_is_the_default() -> None:
    assert DatabaseSettings(url="sqlite:///x.db").owner_url is None


@pytest.mark.parametrize(
    ("url", "owner_url", "problem"),
    [
        ("sqlite:///sharing.db", OWNER, "SQLite has no roles"),
        (SERVICE, "postgresql+psycopg://attx:pw@db:5432/metrics", "same server and database"),
        (SERVICE, "postgresql+psycopg://attx:pw@elsewhere:5432/sharing", "same server"),
        (OWNER, OWNER, "a role of its own"),
        ("postgresql+psycopg://db:5432/sharing", OWNER, "a role of its own"),
        (SERVICE, "not a url", "database"),
    ],
)
def test_an_owner_url_that_cannot_confine_the_service_is_refused(
    url: str, owner_url: str, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        DatabaseSettings(url=url, owner_url=owner_url)
