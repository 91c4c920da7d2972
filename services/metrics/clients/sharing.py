"""The one place metrics asks the sharing service anything: who sees what, the directory,
children's social-care episodes.

Policy answers (a caller's Reach, per organisation and acting practitioner; visible
schools; the directory) are cached, and reused only while sharing's policy version and
day are those they were given under (`GET /v1/policy/version`, one small request): a
closed episode or a revoked agreement applies from the next request, while an unchanged
policy costs one round trip instead of a Reach of thousands of children. A Reach carries
the version it was decided under (`POLICY_VERSION_HEADER`), so one asked afresh is filed
under it without that round trip first. Settings bound
how long an answer is kept even so (`METRICS_POLICY_CACHE_SECONDS`,
`METRICS_DIRECTORY_CACHE_SECONDS`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import httpx2 as httpx
from pydantic import BaseModel, ValidationError

from services.metrics.domain.errors import PeerUnavailable
from shared.contracts.directory import VisibleSchools
from shared.contracts.policy import (
    POLICY_VERSION_HEADER,
    REACH_DATA,
    PolicyVersion,
    Reach,
    ReachData,
)
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


Stamp = tuple[int, date] | None
"""The policy's version and day an answer was given under (None: sharing gave none)."""


class _Cache:
    """Answers kept while the policy's stamp stays the same, for at most `seconds`."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._values: dict[str, tuple[float, Stamp, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, stamp: Callable[[], Stamp], load: Callable[[], T]) -> T:
        """The answer under `key`: the one kept, if young enough and given under the
        current stamp; else loaded again and filed under that stamp."""
        found = self._young(key)
        # The stamp is asked before loading: a change in between then leaves an answer
        # filed under the older stamp, reloaded next time, never the other way round.
        now = stamp()
        if found is not None and now == found[1]:
            value: T = found[2]
            return value
        value = load()
        self._file(key, now, value)
        return value

    def get_stamped(
        self, key: str, stamp: Callable[[], Stamp], load: Callable[[], tuple[T, Stamp]]
    ) -> T:
        """As `get`, for an answer that carries the stamp it was given under (`load`
        gives both): nothing young enough kept, it is one request, not two."""
        found = self._young(key)
        if found is not None and stamp() == found[1]:
            value: T = found[2]
            return value
        value, now = load()
        self._file(key, now, value)
        return value

    def _young(self, key: str) -> tuple[float, Stamp, Any] | None:
        with self._lock:
            found = self._values.get(key)
        return found if found is not None and self._clock() - found[0] < self._seconds else None

    def _file(self, key: str, stamp: Stamp, value: Any) -> None:
        with self._lock:
            self._values[key] = (self._clock(), stamp, value)


def _stamp_of(response: httpx.Response, as_of: date) -> Stamp:
    """The stamp a Reach was decided under (`POLICY_VERSION_HEADER` and its `as_of`); None
    if sharing does not say, so the answer is asked again."""
    try:
        return (int(response.headers[POLICY_VERSION_HEADER]), as_of)
    except (KeyError, ValueError):
        return None


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

    def _stamp(self) -> Stamp:
        """The policy's current version and day (None if sharing does not say)."""
        response = self._get("/v1/policy/version")
        if response.status_code == 404:
            return None  # an older sharing service: answers are kept for `seconds` only
        response.raise_for_status()
        answer = PolicyVersion.model_validate_json(response.content)
        return (answer.version, answer.as_of)

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
            return VisibleSchools.model_validate_json(response.content)

        return self._policy.get(f"visible:{organisation_id}", self._stamp, load)

    def reach(self, organisation_id: str, actor: str | None, index: Callable[[ReachData], T]) -> T:
        """Everything the organisation (acting for `actor`, if any) may see at pupil level,
        as `index` makes it; kept so, since indexing a Reach of thousands of children
        costs milliseconds a request would otherwise pay again.

        An organisation sharing does not know sees nothing (an empty Reach); an answer
        that is not a Reach is the peer failing (`PeerUnavailable`), never a guess.
        """

        def load() -> tuple[T, Stamp]:
            params = {"organisation_id": organisation_id}
            if actor is not None:
                params["actor"] = actor
            response = self._get("/v1/policy/reach", params)
            if response.status_code in (404, 422):
                # 422: an actor on a non-social-care organisation; it is given nothing,
                # under no stamp (asked again next time).
                empty = Reach(
                    organisation_id=organisation_id, organisation_type="", as_of=date.today()
                )
                return index(REACH_DATA.validate_python(empty.model_dump())), None
            response.raise_for_status()
            try:
                reach = REACH_DATA.validate_json(response.content)
            except ValidationError as exc:
                raise PeerUnavailable(
                    f"The sharing service's Reach is not one: {exc.error_count()} problems."
                ) from exc
            return index(reach), _stamp_of(response, reach["as_of"])

        key = f"reach:{organisation_id}:{actor or ''}:{index.__qualname__}"
        return self._policy.get_stamped(key, self._stamp, load)

    def _all(self, path: str, params: dict[str, Any]) -> Iterable[dict[str, Any]]:
        cursor: str | None = None
        while True:
            query = {**params, "limit": _PAGE, **({"cursor": cursor} if cursor else {})}
            response = self._get(path, query)
            response.raise_for_status()
            page = _Page.model_validate_json(response.content)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def directory(self) -> Directory:
        """Every school with its local authority, phase and trust spells."""

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

        return self._directory.get("directory", self._stamp, load)

    def social_care_episodes(self, upns: Iterable[str]) -> list[SocialCareEpisode]:
        """Episodes of children with a social worker among `upns`, as the policy lets us know."""
        wanted = sorted(set(upns))
        found: list[SocialCareEpisode] = []
        for i in range(0, len(wanted), 200):
            response = self._get("/v1/policy/social-care-episodes", {"upn": wanted[i : i + 200]})
            if response.status_code == 404:
                raise PeerUnavailable("The sharing service does not offer social-care episodes.")
            response.raise_for_status()
            found += SocialCareEpisodes.model_validate_json(response.content).episodes
        return found
