"""Every error is RFC 9457 problem+json, listing every problem; 405 names every method."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.problems import PROBLEM_MEDIA_TYPE, DomainError, install_problem_handlers


class Thing(BaseModel):
    name: str
    size: int


class ThingRefused(DomainError):
    pass


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    install_problem_handlers(app, {ThingRefused: 409})
    router = APIRouter(prefix="/v1")

    @router.get("/things/{thing_id}")
    def read_thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @router.delete("/things/{thing_id}")
    def delete_thing(thing_id: str) -> None:
        raise ThingRefused(detail=f"{thing_id} is in use", kind="thing-in-use")

    @router.post("/things/batch")
    def batch_things() -> None:
        return None

    @router.post("/things")
    def create_thing(thing: Thing) -> Thing:
        return thing

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_validation_error_lists_every_problem_with_a_json_pointer(client: TestClient) -> None:
    response = client.post("/v1/things", json={"size": "big"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    locations = {e["location"] for e in response.json()["errors"]}
    assert locations == {"/name", "/size"}


def test_a_body_that_is_not_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/things", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["title"] == "Bad Request"


def test_a_domain_error_gets_the_status_its_service_maps_it_to(client: TestClient) -> None:
    response = client.delete("/v1/things/t1")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/thing-in-use")
    assert response.json()["detail"] == "t1 is in use"


def test_method_not_allowed_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.put("/v1/things/t1")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET"


def test_an_unexpected_error_is_a_500_problem_with_a_trace_id(client: TestClient) -> None:
    response = client.get("/v1/boom")
    assert response.status_code == 500
    assert "trace id" in response.json()["detail"]
    assert "a bug" not in response.text


def test_a_literal_path_is_not_taken_for_an_instance_of_a_template(client: TestClient) -> None:
    response = client.put("/v1/things/batch")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_a_nul_byte_in_the_query_is_a_400_problem(client: TestClient) -> None:
    response = client.get("/v1/things/t1?name=a%00b")
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE


def test_a_nul_character_in_a_json_body_is_a_400_problem(client: TestClient) -> None:
    response = client.post(
        "/v1/things",
        content=b'{"name": "a\\u0000b", "size": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "body" in response.json()["detail"]


def test_an_escaped_backslash_before_u0000_is_ordinary_text(client: TestClient) -> None:
    response = client.post(
        "/v1/things",
        content=b'{"name": "C:\\\\u0000", "size": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["name"]) == (200, "C:\\u0000")
