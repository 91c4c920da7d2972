"""Storing alerts for their recipients, with their webhook deliveries, in one transaction.

`AlertRepository.intake` is the transactional outbox's write side: for each candidate it
finds the organisations whose reach covers the child (`domain.alerts`), stores one alert
per recipient (a condition key already stored for a recipient is skipped: once per
recipient, however often metrics sends it), and queues one delivery per matching
webhook subscription. All of it commits with the request, or none of it does.

Candidate recipients are looked up, not scanned: the schools named, their trusts and
local authorities, and the virtual schools and social care of the authorities holding
an episode of one of the children. Each one's reach is decided once per batch, on
today's date, by the policy's own functions (`store.care_repository.base_reach`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from services.sharing.domain.alerts import (
    ReachIndex,
    coverage_for,
    purpose_for,
    recipient_view,
    subscription_matches,
)
from services.sharing.domain.organisations import OrganisationType
from services.sharing.store.alert_models import Alert, WebhookDelivery, WebhookSubscription
from services.sharing.store.care_models import CareEpisode
from services.sharing.store.care_repository import base_reach
from services.sharing.store.models import Organisation, TrustMembership
from shared.contracts.alerts import AlertCandidate, AlertIntake, AlertPublic
from shared.contracts.social_care import SocialCareCategory

alert_t: Table = Alert.__table__  # type: ignore[attr-defined]
delivery_t: Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
_CHUNK = 500

CATEGORY_PRIORITY = (
    SocialCareCategory.CHILD_PROTECTION_PLAN,
    SocialCareCategory.LOOKED_AFTER,
    SocialCareCategory.CHILD_IN_NEED,
)
"""A child in two categories at once is filtered and shown by the first of these."""


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


@dataclass(frozen=True)
class _Recipient:
    organisation: Organisation
    reach: ReachIndex


class AlertRepository:
    """Alerts per recipient, and the outbox of their deliveries."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _organisations(self, candidates: Sequence[AlertCandidate]) -> list[Organisation]:
        urns = sorted({c.school_urn for c in candidates})
        upns = sorted({c.upn for c in candidates})
        found: dict[str, Organisation] = {}
        schools = [
            o
            for part in _chunks(urns)
            for o in self.session.exec(
                select(Organisation).where(
                    Organisation.type == OrganisationType.SCHOOL, col(Organisation.urn).in_(part)
                )
            ).all()
        ]
        found |= {o.id: o for o in schools}
        school_ids = [o.id for o in schools]
        trust_ids = {
            m.trust_id
            for part in _chunks(school_ids)
            for m in self.session.exec(
                select(TrustMembership).where(col(TrustMembership.school_id).in_(part))
            ).all()
        }
        area_codes = {o.la_code for o in schools if o.la_code}
        care_codes = {
            code
            for part in _chunks(upns)
            for code in self.session.exec(
                select(CareEpisode.la_code).where(col(CareEpisode.upn).in_(part)).distinct()
            ).all()
        }
        for kinds, codes in (
            ((OrganisationType.LOCAL_AUTHORITY,), area_codes),
            ((OrganisationType.VIRTUAL_SCHOOL, OrganisationType.SOCIAL_CARE), care_codes),
        ):
            if codes:
                rows = self.session.exec(
                    select(Organisation).where(
                        col(Organisation.type).in_(kinds), col(Organisation.la_code).in_(codes)
                    )
                ).all()
                found |= {o.id: o for o in rows}
        if trust_ids:
            rows = self.session.exec(
                select(Organisation).where(col(Organisation.id).in_(sorted(trust_ids)))
            ).all()
            found |= {o.id: o for o in rows}
        return sorted(found.values(), key=lambda o: o.id)

    def _categories(self, upns: Sequence[str]) -> dict[str, list[tuple[str, date, date | None]]]:
        episodes: dict[str, list[tuple[str, date, date | None]]] = {}
        for part in _chunks(sorted(set(upns))):
            for e in self.session.exec(
                select(CareEpisode).where(col(CareEpisode.upn).in_(part))
            ).all():
                episodes.setdefault(e.upn, []).append((e.category, e.start_date, e.end_date))
        return episodes

    @staticmethod
    def _category_on(episodes: list[tuple[str, date, date | None]], day: date) -> str | None:
        open_on = {c for c, start, end in episodes if start <= day and (end is None or day <= end)}
        return next((c.value for c in CATEGORY_PRIORITY if c.value in open_on), None)

    def intake(self, candidates: Sequence[AlertCandidate], *, now: datetime) -> AlertIntake:
        """Store each candidate for every organisation allowed to see it; queue deliveries."""
        today = now.date()
        recipients = [
            _Recipient(o, ReachIndex(base_reach(self.session, o, actor=None, as_of=today)))
            for o in self._organisations(candidates)
        ]
        episodes = self._categories([c.upn for c in candidates])
        rows: list[dict[str, Any]] = []
        categories: dict[str, str | None] = {}
        for candidate in candidates:
            category = self._category_on(episodes.get(candidate.upn, []), candidate.until)
            for recipient in recipients:
                coverage = coverage_for(recipient.reach, candidate)
                if coverage is None:
                    continue
                alert_id = str(uuid.uuid4())
                categories[alert_id] = category
                rows.append(
                    {
                        "id": alert_id,
                        "recipient_id": recipient.organisation.id,
                        "condition_key": candidate.condition_key,
                        "rule": candidate.rule.value,
                        "school_urn": candidate.school_urn,
                        "upn": candidate.upn,
                        "since": candidate.since,
                        "until": candidate.until,
                        "purpose": purpose_for(recipient.organisation.type, candidate.rule),
                        "legal_basis": coverage.legal_basis[:300],
                        "body": json.dumps(recipient_view(candidate, coverage, category)),
                        "created_at": now,
                    }
                )
        dialect = self.session.get_bind().dialect.name
        statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(
            alert_t
        ).on_conflict_do_nothing(index_elements=["recipient_id", "condition_key"])
        for part in _chunks(rows):
            self.session.execute(statement, list(part))
        created = [
            r
            for part in _chunks([r["id"] for r in rows])
            for r in self.session.exec(select(Alert).where(col(Alert.id).in_(part))).all()
        ]
        deliveries = self._queue(created, categories, now)
        return AlertIntake(
            received=len(candidates), alerts_created=len(created), deliveries_created=deliveries
        )

    def _queue(
        self, alerts: Sequence[Alert], categories: dict[str, str | None], now: datetime
    ) -> int:
        recipient_ids = sorted({a.recipient_id for a in alerts})
        subscriptions: dict[str, list[WebhookSubscription]] = {}
        for part in _chunks(recipient_ids):
            for s in self.session.exec(
                select(WebhookSubscription).where(
                    col(WebhookSubscription.organisation_id).in_(part),
                    col(WebhookSubscription.disabled_at).is_(None),
                )
            ).all():
                subscriptions.setdefault(s.organisation_id, []).append(s)
        rows = [
            {
                "id": str(uuid.uuid4()),
                "subscription_id": s.id,
                "alert_position": a.position,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for a in alerts
            for s in subscriptions.get(a.recipient_id, [])
            if subscription_matches(s.rules.split(), s.categories.split(), a.rule, categories[a.id])
        ]
        for part in _chunks(rows):
            self.session.execute(insert(delivery_t), list(part))
        return len(rows)

    def page(
        self,
        recipient_id: str,
        *,
        after: int | None,
        limit: int,
        rule: str | None = None,
        upn: str | None = None,
        upns: Sequence[str] | None = None,
    ) -> Sequence[Alert]:
        """Up to `limit + 1` of the recipient's alerts after position `after`, oldest first;
        `upns` limits them to those children (a practitioner's caseload)."""
        statement = (
            select(Alert)
            .where(Alert.recipient_id == recipient_id)
            .order_by(col(Alert.position))
            .limit(limit + 1)
        )
        if after is not None:
            statement = statement.where(col(Alert.position) > after)
        if rule is not None:
            statement = statement.where(Alert.rule == rule)
        if upn is not None:
            statement = statement.where(Alert.upn == upn)
        if upns is not None:
            statement = statement.where(col(Alert.upn).in_(sorted(set(upns))))
        return self.session.exec(statement).all()

    def require(self, recipient_id: str, alert_id: str) -> Alert | None:
        """The recipient's alert with this id, or None (another's is not found either)."""
        return self.session.exec(
            select(Alert).where(Alert.id == alert_id, Alert.recipient_id == recipient_id)
        ).first()


def to_public(row: Alert) -> AlertPublic:
    """The stored recipient view of an alert, with its id and when it was made."""
    return AlertPublic.model_validate(
        {**json.loads(row.body), "id": row.id, "created_at": row.created_at}
    )
