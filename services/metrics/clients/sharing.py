"""The one place metrics asks the sharing service anything: who sees what, the directory,
children's social-care episodes.

Answers are cached briefly (settings) so a dashboard's burst of requests costs one
round trip; a change of policy reaches metrics within that interval. A caller's Reach is
cached per (organisation, acting practitioner) for `METRICS_POLICY_CACHE_SECONDS`
(default 5 s): a closed episode or a revoked agreement may still be applied for up to
that long after sharing has decided otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import httpx2 as httpx
from pydantic import BaseModel

from services.metrics.domain.errors import PeerUnavailable
from shared.contracts.directory import VisibleSchools
from shared.contracts.policy import Reach
from shared.contracts.social_care import SocialCareEpisode, SocialCareEpisodes
from shared.service_client import ServiceClient

T = TypeVar("T")
_PAGE = 500


@dataclass(frozen=True)
class TrustSpell:
    """A school's time in one trust."""

    group_uid: str
    start_date: date
    end_date: date | None


@dataclass(frozen=True)
class School:
    """What metrics needs of a school: where it is, its phase, its trusts."""

    urn: str
    la_code: str
    phase: str
    name: str
    trusts: tuple[TrustSpell, ...] = ()


@dataclass(frozen=True)
class Directory:
    """Every school the directory knows, by URN."""

    schools: dict[str, School] = field(default_factory=dict)

    def in_area(self, la_code: str) -> list[str]:
        return sorted(u for u, s in self.schools.items() if s.la_code == la_code)

    def in_trust(self, group_uid: str) -> list[tuple[str, TrustSpell]]:
        return sorted(
            ((u, t) for u, s in self.schools.items() for t in s.trusts if t.group_uid == group_uid),
            key=lambda pair: (pair[0], pair[1].start_date),
        )


class _Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class _Cache:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._values: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], T]) -> T:
        with self._lock:
            found = self._values.get(key)
            if found is not None and self._clock() - found[0] < self._seconds:
                value: T = found[1]
                return value
        value = load()
        with self._lock:
            self._values[key] = (self._clock(), value)
        return value


class SharingClient:
    """Typed calls to the sharing service with this service's own client credentials."""

    def __init__(
        self,
        http: ServiceClient,
        *,
        policy_cache_seconds: float,
        directory_cache_seconds: float,
    ) -> None:
        self._http = http
        self._policy = _Cache(policy_cache_seconds)
        self._directory = _Cache(directory_cache_seconds)

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response: httpx.Response = self._http.get(path, params=params)
        except (httpx.HTTPError, OSError) as exc:
            raise PeerUnavailable(f"The sharing service is unreachable: {exc}") from exc
        if response.status_code >= 500 or response.status_code in (401, 403):
            raise PeerUnavailable(f"The sharing service answered {response.status_code} to {path}.")
        return response

    def visible_schools(self, organisation_id: str) -> VisibleSchools:
        """Which schools the organisation may see; an unknown organisation sees none."""

        def load() -> VisibleSchools:
            response = self._get(f"/v1/policy/organisations/{organisation_id}/visible-schools")
            if response.status_code == 404:
                return VisibleSchools(organisation_id=organisation_id, organisation_type="")
            response.raise_for_status()
            return VisibleSchools.model_validate(response.json())

        return self._policy.get(f"visible:{organisation_id}", load)

    def reach(self, organisation_id: str, actor: str | None) -> Reach:
        """Everything the organisation (acting for `actor`, if any) may see at pupil level.

        An organisation sharing does not know sees nothing (an empty Reach).
        """

        def load() -> Reach:
            params = {"organisation_id": organisation_id}
            if actor is not None:
                params["actor"] = actor
            response = self._get("/v1/policy/reach", params)
            if response.status_code in (404, 422):
                # 422: an actor on a non-social-care organisation; it is given nothing.
                return Reach(
                    organisation_id=organisation_id, organisation_type="", as_of=date.today()
                )
            response.raise_for_status()
            return Reach.model_validate(response.json())

        return self._policy.get(f"reach:{organisation_id}:{actor or ''}", load)

    def _all(self, path: str, params: dict[str, Any]) -> Iterable[dict[str, Any]]:
        cursor: str | None = None
        while True:
            query = {**params, "limit": _PAGE, **({"cursor": cursor} if cursor else {})}
            response = self._get(path, query)
            response.raise_for_status()
            page = _Page.model_validate(response.json())
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def directory(self) -> Directory:
        """Every school with its local authority, phase and trust spells (cached briefly)."""

        def load() -> Directory:
            schools = list(self._all("/v1/organisations", {"type": "school"}))
            trusts = {t["id"]: t for t in self._all("/v1/organisations", {"type": "trust"})}
            spells: dict[str, list[TrustSpell]] = {}
            for m in self._all("/v1/trust-memberships", {}):
                trust = trusts.get(m["trust_id"])
                if trust is None:
                    continue
                spells.setdefault(m["school_id"], []).append(
                    TrustSpell(
                        str(trust.get("group_uid") or ""),
                        date.fromisoformat(m["start_date"]),
                        date.fromisoformat(m["end_date"]) if m.get("end_date") else None,
                    )
                )
            return Directory(
                {
                    s["urn"]: School(
                        urn=s["urn"],
                        la_code=s.get("la_code") or "",
                        phase=s.get("phase") or "",
                        name=s.get("name") or "",
                        trusts=tuple(spells.get(s["id"], [])),
                    )
                    for s in schools
                    if s.get("urn")
                }
            )

        return self._directory.get("directory", load)

    def social_care_episodes(self, upns: Iterable[str]) -> list[SocialCareEpisode]:
        """Episodes of children with a social worker among `upns`, as the policy lets us know."""
        wanted = sorted(set(upns))
        found: list[SocialCareEpisode] = []
        for i in range(0, len(wanted), 200):
            response = self._get("/v1/policy/social-care-episodes", {"upn": wanted[i : i + 200]})
            if response.status_code == 404:
                raise PeerUnavailable("The sharing service does not offer social-care episodes.")
            response.raise_for_status()
            found += SocialCareEpisodes.model_validate(response.json()).episodes
        return found
