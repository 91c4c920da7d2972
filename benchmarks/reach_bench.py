"""Access-policy benchmark: how long one Reach decision takes on PostgreSQL.

    .venv/bin/python benchmarks/reach_bench.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--episodes 20000] [--agreements 200] [--runs 9]

What it does (prints figures, asserts nothing about speed):
1. A fresh PostgreSQL database migrated with sharing's Alembic history.
2. Ten local authorities, each with its social care and virtual school, 300 schools and
   30 trusts; `--episodes` care episodes spread over the authorities (a third closed,
   500 practitioners); `--agreements` agreements of 25 pupils each to one partner, from
   schools and trusts. All inserted with SQLAlchemy Core executemany, then ANALYZE.
3. Timed, median of `--runs`, through the same code the endpoint runs (`full_reach`): a
   virtual school, a social care, one practitioner's caseload, an LA attendance team, a
   trust, and the partner with every agreement.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from services.sharing.main import MIGRATIONS_DIR
from services.sharing.store.care_models import (
    CareEpisode,
    SharingAgreement,
    SharingAgreementPupil,
)
from services.sharing.store.care_repository import full_reach
from services.sharing.store.models import VERSION_TABLE, Organisation, TrustMembership
from shared.db import create_db_engine, upgrade_to_head

LA_CODES = [f"{800 + i}" for i in range(10)]
TODAY = date.today()
NOW = datetime.now(UTC)


def _org(kind: str, **fields: Any) -> dict[str, Any]:
    row = {"id": str(uuid.uuid4()), "type": kind, "name": kind, "created_at": NOW}
    row |= {"urn": None, "dfe_number": None, "phase": None, "group_uid": None, "la_code": None}
    return row | fields


def _fresh_database(admin_url: str) -> str:
    admin = make_url(admin_url)
    engine = create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "attx_bench_reach" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "attx_bench_reach"'))
    engine.dispose()
    url = admin.set(database="attx_bench_reach").render_as_string(hide_password=False)
    upgrade_to_head(url, MIGRATIONS_DIR, VERSION_TABLE)
    return url


def _seed(session: Session, episodes: int, agreements: int) -> dict[str, str]:
    rng = random.Random(7)
    orgs: list[dict[str, Any]] = []
    named: dict[str, str] = {}
    schools: list[dict[str, Any]] = []
    for i, la in enumerate(LA_CODES):
        orgs += [_org("local_authority", la_code=la)]
        orgs += [_org("social_care", la_code=la), _org("virtual_school", la_code=la)]
        for n in range(30):
            serial = i * 30 + n
            schools.append(
                _org(
                    "school",
                    urn=f"{500000 + serial}",
                    dfe_number=f"{la}{serial:04d}",
                    phase="primary",
                    la_code=la,
                )
            )
    trusts = [_org("trust", group_uid=str(9000 + t)) for t in range(30)]
    partner = _org("partner")
    orgs += schools + trusts + [partner]
    session.execute(insert(Organisation), orgs)
    memberships = [
        {
            "id": str(uuid.uuid4()),
            "school_id": s["id"],
            "trust_id": trusts[k % 30]["id"],
            "start_date": date(2018, 9, 1),
            "end_date": None,
        }
        for k, s in enumerate(schools[::2])
    ]
    session.execute(insert(TrustMembership), memberships)
    by_type = {(o["type"], o["la_code"]): o["id"] for o in orgs}
    rows = []
    for k in range(episodes):
        la = LA_CODES[k % len(LA_CODES)]
        start = TODAY - timedelta(days=rng.randint(30, 900))
        closed = k % 3 == 0
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "social_care_id": by_type[("social_care", la)],
                "la_code": la,
                "upn": f"U{k:012d}",
                "category": rng.choice(["CIN", "CPP", "CLA"]),
                "start_date": start,
                "end_date": start + timedelta(days=20) if closed else None,
                "practitioner_ref": f"sw-{k % 500}",
                "identified_by": "upn",
                "recorded_at": NOW,
                "updated_at": NOW,
            }
        )
    session.execute(insert(CareEpisode), rows)
    grants, pupils = [], []
    for a in range(agreements):
        grantor = trusts[a % 30] if a % 2 else schools[a % len(schools)]
        aid = str(uuid.uuid4())
        grants.append(
            {
                "id": aid,
                "grantor_id": grantor["id"],
                "grantee_id": partner["id"],
                "purpose": "bench",
                "lawful_basis": "6(1)(e)",
                "special_category_condition": None,
                "fields": "attendance",
                "starts_on": TODAY - timedelta(days=10),
                "ends_on": TODAY + timedelta(days=100),
                "created_at": NOW,
                "created_by": "bench",
                "revoked_at": None,
                "revoked_by": None,
                "revocation_reason": None,
            }
        )
        pupils += [{"agreement_id": aid, "upn": f"P{a:06d}{p:06d}"} for p in range(25)]
    session.execute(insert(SharingAgreement), grants)
    session.execute(insert(SharingAgreementPupil), pupils)
    session.commit()
    named["virtual school"] = by_type[("virtual_school", "800")]
    named["social care"] = by_type[("social_care", "800")]
    named["LA attendance"] = by_type[("local_authority", "800")]
    named["trust"] = trusts[0]["id"]
    named["partner (all agreements)"] = partner["id"]
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--episodes", type=int, default=20000)
    parser.add_argument("--agreements", type=int, default=200)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    engine = create_db_engine(_fresh_database(args.pg))
    with Session(engine) as session:
        named = _seed(session, args.episodes, args.agreements)
        session.execute(text("ANALYZE"))
        session.commit()
    cases = [(label, org, None) for label, org in named.items()]
    cases.insert(2, ("practitioner caseload", named["social care"], "sw-10"))
    print(f"{args.episodes} episodes in {len(LA_CODES)} LAs, {args.agreements} agreements")
    for label, org_id, actor in cases:
        timings, size = [], 0
        for _ in range(args.runs):
            with Session(engine) as session:
                organisation = session.get(Organisation, org_id)
                assert organisation is not None
                started = time.perf_counter()
                decision = full_reach(session, organisation, actor=actor, as_of=TODAY)
                timings.append(time.perf_counter() - started)
                size = len(decision.schools) + len(decision.children)
        median_ms = statistics.median(timings) * 1000
        print(f"{label:28s} {size:6d} windows  median {median_ms:8.1f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
