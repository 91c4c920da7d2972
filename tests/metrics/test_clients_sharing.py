"""How metrics reads sharing's Reach: an answer that is not a Reach is the peer failing,
never a guess at what it meant. Sharing itself never writes one (the API tests read every
Reach it gives back through the model), so a stand-in peer answers here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from services.metrics.domain.errors import PeerUnavailable
from services.metrics.domain.pupil_reach import PupilReach
from services.metrics.main import sharing_client
from services.metrics.settings import MetricsSettings
from shared.contracts.policy import Basis, BasisKind, ChildWindow, PupilField, Reach, Terms

UPN = "A123456789012"


def reach_written() -> dict[str, Any]:
    decision = Reach(
        organisation_id="care",
        organisation_type="social_care",
        as_of=dt.date.today(),
        terms=[
            Terms(
                fields=[PupilField.ATTENDANCE],
                basis=Basis(
                    kind=BasisKind.STATUTORY, id="statutory:social_care", legal_basis="CA 1989"
                ),
            )
        ],
        children=[ChildWindow(upn=UPN, from_date=dt.date(2024, 9, 1), terms=0)],
    )
    written: dict[str, Any] = orjson.loads(decision.model_dump_json())
    return written


def reach_from_peer_answering(body: dict[str, Any]) -> PupilReach:
    def peer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "token_type": "Bearer"})
        assert request.url.path == "/v1/policy/reach"
        return httpx.Response(200, json=body, headers={"X-Policy-Version": "7"})

    client = sharing_client(MetricsSettings(), httpx.MockTransport(peer))
    try:
        return client.reach("care", None, PupilReach)
    finally:
        client.close()


def test_a_reach_from_the_peer_is_indexed_for_the_view() -> None:
    assert reach_from_peer_answering(reach_written()).upns == [UPN]


def test_an_answer_missing_part_of_a_reach_is_the_peer_failing() -> None:
    body = reach_written()
    del body["children"]
    with pytest.raises(PeerUnavailable, match="not one"):
        reach_from_peer_answering(body)


def test_terms_with_a_field_the_policy_does_not_know_are_the_peer_failing() -> None:
    body = reach_written()
    body["terms"][0]["fields"] = ["attendance", "shoe_size"]
    with pytest.raises(PeerUnavailable, match="not one"):
        reach_from_peer_answering(body)


def test_a_window_naming_terms_the_reach_does_not_list_is_the_peer_failing() -> None:
    body = reach_written()
    body["children"][0]["terms"] = 1
    with pytest.raises(PeerUnavailable, match="not one"):
        reach_from_peer_answering(body)
