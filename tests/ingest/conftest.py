"""Fixtures of the ingest API tests: a school with a submitting client, and a trust."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from httpx2 import Response

from tests.support.system import System


@dataclass
class School:
    """A school in the directory and the Authorization headers of its MIS client."""

    org: dict[str, Any]
    headers: dict[str, str]

    @property
    def urn(self) -> str:
        return str(self.org["urn"])

    def returns_url(self) -> str:
        return f"/v1/schools/{self.urn}/returns"

    def submit(self, system: System, body: bytes, **headers: str) -> Response:
        """POST a JSON return as this school's MIS."""
        return system.ingest.post(
            self.returns_url(),
            content=body,
            headers={**self.headers, "Content-Type": "application/json", **headers},
        )


@pytest.fixture
def school(system: System) -> School:
    """A school whose client may submit and read returns."""
    org = system.create_organisation("school")
    headers = system.headers_for(org["id"], "school_system", ["returns:write", "returns:read"])
    return School(org, headers)
