"""Load a generated demo authority into running services, through their public APIs.

`load_demo` creates the organisations and trust memberships (sharing), one OAuth client
per organisation, then submits every return as the school's or its trust's own client,
in the manifest's order, and finally records the social-care episodes as the authority's
social-care client (after the returns, because a child named without a UPN is found on
the rolls they fill). It is safe to run again: an organisation that already exists is
looked up instead, a stored client is reused, each return carries an Idempotency-Key
derived from its bytes, so a second run gets the first receipts back, and an episode
already stored (same child, category and start date) is not recorded again.

Client secrets are written to `<data_dir>/clients.json` (mode 0600) because the sharing
service shows a secret only once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import typer

from services.cli.demo.population import DemoConfig
from services.cli.demo.writers import (
    DIRECTORY,
    MANIFEST,
    SOCIAL_CARE,
    Format,
    ReturnEntry,
    read_manifest,
    write_demo,
)
from services.cli.submit import (
    ReturnFormat,
    access_token,
    build_upload,
    format_problem,
    send_return,
)
from shared.service_client import ServiceClient

CLIENTS_FILE = "clients.json"
IDENTIFYING = ("urn", "group_uid", "la_code")
EPISODE_SCOPES = ["social_care:write", "social_care:read"]
EpisodeKey = tuple[str, str, str]
"""An episode as the loader recognises it again: UPN, category, start date (ISO)."""


@dataclass
class LoadSummary:
    """What a load did, for the printed summary and for tests."""

    organisations_created: int = 0
    organisations_existing: int = 0
    memberships_created: int = 0
    clients_created: int = 0
    clients_reused: int = 0
    clients_replaced: int = 0
    returns_accepted: int = 0
    returns_replayed: int = 0
    marks_inserted: int = 0
    episodes_recorded: int = 0
    episodes_matched: int = 0
    """Of those recorded, how many named the child by names and birth date, not UPN."""
    episodes_existing: int = 0
    failures: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"  organisations: {self.organisations_created} created, "
            f"{self.organisations_existing} already there",
            f"  trust memberships: {self.memberships_created} created",
            f"  clients: {self.clients_created} created, {self.clients_reused} reused"
            + (
                f" ({self.clients_replaced} created to replace a stored one lacking "
                "scopes it now needs)"
                if self.clients_replaced
                else ""
            ),
            f"  returns: {self.returns_accepted} accepted, {self.returns_replayed} already "
            f"accepted earlier; {self.marks_inserted} marks inserted",
            f"  social-care episodes: {self.episodes_recorded} recorded "
            f"({self.episodes_matched} found on the rolls by names and date of birth), "
            f"{self.episodes_existing} already there",
        ]
        out += [f"  FAILED {failure}" for failure in self.failures]
        return out


class LoadError(RuntimeError):
    """The directory could not be set up, so no return can be sent."""


def _existing(admin: httpx.Client, organisation_type: str) -> list[dict[str, Any]]:
    """Every stored organisation of one type."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"type": organisation_type, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = admin.get("/v1/organisations", params=params)
        page.raise_for_status()
        body = page.json()
        found += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return found


def _organisations(
    admin: httpx.Client, directory: dict[str, Any], summary: LoadSummary
) -> dict[str, str]:
    """The id of every organisation of the directory, created where missing.

    Looked up first rather than only on 409: a virtual school or social-care team has
    no identifier of its own (only its authority's code), so creating it again would
    not conflict, it would duplicate it.
    """
    ids: dict[str, str] = {}
    stored: dict[str, list[dict[str, Any]]] = {}
    for spec in directory["organisations"]:
        kind = spec["type"]
        if kind not in stored:
            stored[kind] = _existing(admin, kind)
        match = next(
            (
                o
                for o in stored[kind]
                if all(o.get(f) == spec[f] for f in IDENTIFYING if spec.get(f))
            ),
            None,
        )
        if match is not None:
            ids[spec["key"]] = match["id"]
            summary.organisations_existing += 1
            continue
        body = {k: v for k, v in spec.items() if k != "key"}
        response = admin.post("/v1/organisations", json=body)
        if response.status_code != 201:
            raise LoadError(f"organisation {spec['name']}: {format_problem(response)}")
        ids[spec["key"]] = response.json()["id"]
        summary.organisations_created += 1
    return ids


def _memberships(
    admin: httpx.Client, directory: dict[str, Any], ids: dict[str, str], summary: LoadSummary
) -> None:
    for spec in directory["trust_memberships"]:
        body = {
            "school_id": ids[spec["school"]],
            "trust_id": ids[spec["trust"]],
            "start_date": spec["start_date"],
            "end_date": spec["end_date"],
        }
        response = admin.post("/v1/trust-memberships", json=body)
        if response.status_code == 201:
            summary.memberships_created += 1
        elif response.status_code != 409 or not _membership_exists(admin, body):
            raise LoadError(f"trust membership {spec}: {format_problem(response)}")


def _membership_exists(admin: httpx.Client, body: dict[str, Any]) -> bool:
    response = admin.get("/v1/trust-memberships", params={"school_id": body["school_id"]})
    response.raise_for_status()
    return any(
        m["trust_id"] == body["trust_id"]
        and m["start_date"] == body["start_date"]
        and m["end_date"] == body["end_date"]
        for m in response.json()["items"]
    )


def _clients(
    admin: httpx.Client,
    directory: dict[str, Any],
    ids: dict[str, str],
    data_dir: Path,
    summary: LoadSummary,
) -> dict[str, tuple[str, str]]:
    path = data_dir / CLIENTS_FILE
    stored: dict[str, dict[str, str]] = (
        json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    )
    credentials: dict[str, tuple[str, str]] = {}
    for spec in directory["clients"]:
        key = spec["organisation"]
        scopes = _client_scopes(spec)
        known = stored.get(key)
        if known and known.get("organisation_id") == ids[key]:
            check = admin.get(f"/v1/clients/{known['client_id']}")
            if check.status_code == 200 and check.json().get("revoked_at") is None:
                if set(scopes) <= set(check.json()["scopes"]):
                    credentials[key] = (known["client_id"], known["client_secret"])
                    summary.clients_reused += 1
                    continue
                # A client's scopes are fixed when it is made, so one stored by an
                # earlier load without a scope it now needs is revoked and replaced.
                revoked = admin.post(f"/v1/clients/{known['client_id']}/revoke")
                if revoked.status_code != 200:
                    raise LoadError(f"revoking the client for {key}: {format_problem(revoked)}")
                summary.clients_replaced += 1
        response = admin.post(
            "/v1/clients",
            json={
                "organisation_id": ids[key],
                "role": spec["role"],
                "scopes": scopes,
                "name": spec["name"],
            },
        )
        if response.status_code != 201:
            raise LoadError(f"client for {key}: {format_problem(response)}")
        created = response.json()
        credentials[key] = (created["client_id"], created["client_secret"])
        stored[key] = {
            "organisation_id": ids[key],
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
            "role": spec["role"],
        }
        summary.clients_created += 1
    path.write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)
    return credentials


def _organisation_key(directory: dict[str, Any], organisation_type: str) -> str:
    # The demo has one social-care organisation: the home authority's.
    key: str = next(o["key"] for o in directory["organisations"] if o["type"] == organisation_type)
    return key


def _client_scopes(spec: dict[str, Any]) -> list[str]:
    """The scopes a client is made with: the directory's, and for social care the episodes'.

    Demo data generated before episodes were loaded gave the social-care client no
    episode scopes; the loader still needs them to record its episodes.
    """
    scopes = list(spec["scopes"])
    if spec["role"] == "social_care":
        scopes += [s for s in EPISODE_SCOPES if s not in scopes]
    return scopes


def idempotency_key(data_dir: Path, entry: ReturnEntry) -> str:
    """A key derived from the return's bytes: the same file always gets the same receipt."""
    digest = hashlib.sha256()
    for part in (entry.roll_path, entry.path):
        if part:
            digest.update((data_dir / part).read_bytes())
    return f"attx-demo-{digest.hexdigest()[:48]}"


def _submit(
    http: httpx.Client, ingest_url: str, token: str, data_dir: Path, entry: ReturnEntry
) -> httpx.Response:
    upload = build_upload(
        data_dir / entry.path,
        ReturnFormat(entry.format.value),
        roll=data_dir / entry.roll_path if entry.roll_path else None,
        replace_from=entry.replace_from if entry.format is Format.CSV else None,
        replace_to=entry.replace_to if entry.format is Format.CSV else None,
    )
    return send_return(
        http,
        ingest_url=ingest_url,
        urn=entry.urn,
        token=token,
        upload=upload,
        idempotency_key=idempotency_key(data_dir, entry),
    )


def _stored_episodes(care: httpx.Client) -> set[EpisodeKey]:
    """Every episode social care already holds, as (UPN, category, start date)."""
    found: set[EpisodeKey] = set()
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = care.get("/v1/episodes", params=params)
        page.raise_for_status()
        body = page.json()
        found |= {(e["upn"], e["category"], e["start_date"]) for e in body["items"]}
        cursor = body.get("next_cursor")
        if not cursor:
            return found


def _episodes(care: httpx.Client, data_dir: Path, summary: LoadSummary) -> None:
    """Record every episode of `social_care.json` not stored yet, as social care would.

    Looked up first rather than relying on the 409 a duplicate gets: that answer also
    means "overlaps a different episode", which is a fault in the data, not a rerun.
    A child listed under `without_upn` is sent by legal names and date of birth, and
    the sharing service finds them on the rolls; the file's UPN is what it should find.
    """
    document = json.loads((data_dir / SOCIAL_CARE).read_text(encoding="utf-8"))
    by_names = {c["upn"]: c for c in document.get("without_upn", [])}
    stored = _stored_episodes(care)
    for episode in document["episodes"]:
        upn = episode["upn"]
        if (upn, episode["category"], episode["start_date"]) in stored:
            summary.episodes_existing += 1
            continue
        named = by_names.get(upn)
        child = {k: v for k, v in named.items() if k != "upn"} if named else {"upn": upn}
        response = care.post(
            "/v1/episodes",
            json={
                "child": child,
                "category": episode["category"],
                "start_date": episode["start_date"],
                "end_date": episode["end_date"],
                "practitioner_ref": episode["practitioner_ref"],
            },
        )
        if response.status_code != 201:
            summary.failures.append(f"episode of {upn}: {format_problem(response)}")
        elif response.json()["upn"] != upn:
            summary.failures.append(
                f"episode of {upn}: the rolls matched {response.json()['upn']} instead"
            )
        else:
            summary.episodes_recorded += 1
            summary.episodes_matched += named is not None


def load_demo(
    sharing_url: str,
    ingest_url: str,
    admin_client_id: str,
    admin_secret: str,
    data_dir: Path,
    *,
    transport: httpx.BaseTransport | None = None,
    echo: Callable[[str], None] = typer.echo,
) -> LoadSummary:
    """Create the demo authority's directory and clients, submit its returns, record episodes.

    Generates the default demo data into `data_dir` first if it holds none.
    """
    if not (data_dir / MANIFEST).exists():
        echo(f"  generating the demo authority into {data_dir}…")
        write_demo(DemoConfig(), data_dir)
    directory = json.loads((data_dir / DIRECTORY).read_text(encoding="utf-8"))
    token_url = f"{sharing_url.rstrip('/')}/oauth/token"
    summary = LoadSummary()
    with ServiceClient(
        base_url=sharing_url,
        token_url=token_url,
        client_id=admin_client_id,
        client_secret=admin_secret,
        scopes=["directory:read", "directory:write"],
        transport=transport,
        timeout=60.0,
    ) as admin:
        ids = _organisations(admin, directory, summary)
        _memberships(admin, directory, ids, summary)
        credentials = _clients(admin, directory, ids, data_dir, summary)
    tokens: dict[str, str] = {}
    entries = read_manifest(data_dir)
    echo(f"  submitting {len(entries)} returns…")
    with httpx.Client(transport=transport, timeout=httpx.Timeout(60.0, read=900.0)) as http:
        for entry in entries:
            if entry.submitter not in tokens:
                client_id, secret = credentials[entry.submitter]
                tokens[entry.submitter] = access_token(
                    token_url, client_id, secret, transport=transport
                )
            response = _submit(http, ingest_url, tokens[entry.submitter], data_dir, entry)
            if response.status_code == 201:
                summary.returns_accepted += 1
                summary.marks_inserted += int(response.json()["marks"]["inserted"])
            elif response.status_code == 200:
                summary.returns_replayed += 1
            else:
                summary.failures.append(f"{entry.path}: {format_problem(response)}")
    echo("  recording the social-care episodes…")
    client_id, secret = credentials[_organisation_key(directory, "social_care")]
    with ServiceClient(
        base_url=sharing_url,
        token_url=token_url,
        client_id=client_id,
        client_secret=secret,
        scopes=EPISODE_SCOPES,
        transport=transport,
        timeout=60.0,
    ) as care:
        _episodes(care, data_dir, summary)
    for line in summary.lines():
        echo(line)
    return summary
