"""Queries over care episodes and data-sharing agreements; never commits (the request does)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.sharing.domain import policy, reach
from services.sharing.domain.agreements import AgreementDraft, ReceiptEvent, legal_basis_text
from services.sharing.domain.episodes import (
    EpisodeAction,
    EpisodeValues,
    IdentifiedBy,
    values_problems,
)
from services.sharing.domain.errors import Conflict, InvalidRequest, NotFound
from services.sharing.domain.organisations import OrganisationType, Window
from services.sharing.domain.policy import SchoolWindow
from services.sharing.domain.reach import AgreementFact, EpisodeFact, ReachDecision
from services.sharing.store.care_models import (
    CareEpisode,
    CareEpisodeChange,
    SharingAgreement,
    SharingAgreementPupil,
    SharingAgreementReceipt,
)
from services.sharing.store.models import Organisation
from services.sharing.store.repository import (
    MembershipRepository,
    OrganisationRepository,
    utcnow,
)
from shared.contracts.policy import PupilField
from shared.contracts.social_care import SocialCareCategory
from shared.problems import ProblemItem

_CATEGORIES = {c.value: c for c in SocialCareCategory}
"""Each stored category's member, looked up without calling the enum (an authority's
thousands of episodes are read for every Reach)."""


@dataclass(frozen=True)
class EpisodeScope:
    """Which episodes a caller may see: those of one authority, maybe one caseload."""

    la_code: str
    practitioner_ref: str | None = None


@dataclass(frozen=True)
class Editor:
    """Who makes a change: the client, and the practitioner it acts for."""

    client_id: str
    actor: str | None


def values_of(row: CareEpisode) -> EpisodeValues:
    """An episode row as domain values."""
    return EpisodeValues(
        upn=row.upn,
        category=SocialCareCategory(row.category),
        start_date=row.start_date,
        end_date=row.end_date,
        practitioner_ref=row.practitioner_ref,
        la_code=row.la_code,
    )


class EpisodeRepository:
    """Episodes of children with a social worker, and their history."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _scoped(self, scope: EpisodeScope) -> SelectOfScalar[CareEpisode]:
        statement = select(CareEpisode).where(CareEpisode.la_code == scope.la_code)
        if scope.practitioner_ref is not None:
            statement = statement.where(CareEpisode.practitioner_ref == scope.practitioner_ref)
        return statement

    def require(self, episode_id: str, scope: EpisodeScope) -> CareEpisode:
        """The episode if the caller may see it; otherwise NotFound, as if it did not exist."""
        row = self.session.exec(self._scoped(scope).where(CareEpisode.id == episode_id)).first()
        if row is None:
            raise NotFound(f"No episode {episode_id}.")
        return row

    def page(
        self, scope: EpisodeScope, *, upn: str | None, after: str | None, limit: int
    ) -> Sequence[CareEpisode]:
        """Up to `limit + 1` visible episodes ordered by id, after the id `after`."""
        statement = self._scoped(scope).order_by(col(CareEpisode.id)).limit(limit + 1)
        if upn is not None:
            statement = statement.where(CareEpisode.upn == upn)
        if after is not None:
            statement = statement.where(col(CareEpisode.id) > after)
        return self.session.exec(statement).all()

    def facts(self, scope: EpisodeScope) -> list[EpisodeFact]:
        """The visible episodes as the policy reads them (columns only: no ORM objects)."""
        # Six columns: more than sqlmodel's typed select takes, so SQLAlchemy's own.
        statement = sa_select(
            col(CareEpisode.id),
            col(CareEpisode.upn),
            col(CareEpisode.category),
            col(CareEpisode.start_date),
            col(CareEpisode.end_date),
            col(CareEpisode.practitioner_ref),
        ).where(col(CareEpisode.la_code) == scope.la_code)
        if scope.practitioner_ref is not None:
            statement = statement.where(col(CareEpisode.practitioner_ref) == scope.practitioner_ref)
        # On the connection, not the session: the ORM's row processing took half the
        # read's time for an authority's thousands of episodes, to give the same tuples.
        return [
            EpisodeFact(i, upn, _CATEGORIES[category], start, end, ref)
            for i, upn, category, start, end, ref in self.session.connection()
            .execute(statement)
            .all()
        ]

    def for_upns(self, upns: Sequence[str], la_code: str | None) -> Sequence[CareEpisode]:
        """Every episode of these children (in one authority, if given)."""
        statement = select(CareEpisode).where(col(CareEpisode.upn).in_(upns))
        if la_code is not None:
            statement = statement.where(CareEpisode.la_code == la_code)
        return self.session.exec(statement.order_by(col(CareEpisode.upn))).all()

    def history(self, episode_id: str) -> Sequence[CareEpisodeChange]:
        statement = (
            select(CareEpisodeChange)
            .where(CareEpisodeChange.episode_id == episode_id)
            .order_by(col(CareEpisodeChange.version))
        )
        return self.session.exec(statement).all()

    def record(
        self,
        values: EpisodeValues,
        *,
        social_care_id: str,
        identified_by: IdentifiedBy,
        editor: Editor,
    ) -> CareEpisode:
        """A new episode and its first history entry."""
        problems = values_problems(values, actor=editor.actor)
        if problems:
            raise InvalidRequest(f"The episode has {len(problems)} problem(s).", problems)
        self._refuse_overlap(values, ignore=None)
        now = utcnow()
        row = CareEpisode(
            id=str(uuid.uuid4()),
            social_care_id=social_care_id,
            la_code=values.la_code,
            upn=values.upn,
            category=values.category,
            start_date=values.start_date,
            end_date=values.end_date,
            practitioner_ref=values.practitioner_ref,
            identified_by=identified_by,
            recorded_at=now,
            updated_at=now,
        )
        self.session.add(row)
        self.session.flush()
        self._log(row.id, 1, EpisodeAction.RECORDED, None, values, editor, None, now)
        return row

    def change(
        self,
        row: CareEpisode,
        after: EpisodeValues,
        *,
        action: EpisodeAction,
        editor: Editor,
        reason: str | None,
    ) -> CareEpisode:
        """Correct or close an episode, keeping the before and after in its history."""
        before = values_of(row)
        problems = values_problems(after, actor=editor.actor)
        if problems:
            raise InvalidRequest(f"The change has {len(problems)} problem(s).", problems)
        self._refuse_overlap(after, ignore=row.id)
        now = utcnow()
        version = len(self.history(row.id)) + 1
        row.upn, row.category = after.upn, after.category
        row.start_date, row.end_date = after.start_date, after.end_date
        row.practitioner_ref, row.updated_at = after.practitioner_ref, now
        self.session.add(row)
        self.session.flush()
        self._log(row.id, version, action, before, after, editor, reason, now)
        return row

    def _log(
        self,
        episode_id: str,
        version: int,
        action: EpisodeAction,
        before: EpisodeValues | None,
        after: EpisodeValues,
        editor: Editor,
        reason: str | None,
        when: datetime,
    ) -> None:
        change = CareEpisodeChange(
            id=str(uuid.uuid4()),
            episode_id=episode_id,
            version=version,
            action=action,
            changed_at=when,
            client_id=editor.client_id,
            actor=editor.actor,
            reason=reason,
            before=before.as_json() if before else None,
            after=after.as_json(),
        )
        try:
            with self.session.begin_nested():
                self.session.add(change)
        except IntegrityError as exc:
            # Another request changed the episode between our read and this write: its
            # version number is taken. Refuse rather than lose either change.
            raise Conflict(
                "The episode was changed by another request at the same time; read it "
                "again and retry.",
                [ProblemItem(code="concurrent_change", detail=f"version {version} is taken")],
            ) from exc

    def _refuse_overlap(self, values: EpisodeValues, *, ignore: str | None) -> None:
        # One child is in one category once at a time in one authority: two overlapping
        # CLA episodes would be a double entry, not two facts.
        statement = select(CareEpisode).where(
            CareEpisode.upn == values.upn,
            CareEpisode.la_code == values.la_code,
            CareEpisode.category == values.category,
        )
        window = Window(values.start_date, values.end_date)
        clashes = [
            r
            for r in self.session.exec(statement).all()
            if r.id != ignore and Window(r.start_date, r.end_date).overlaps(window)
        ]
        if clashes:
            raise Conflict(
                "The child already has an episode of this category over these dates.",
                [
                    ProblemItem(
                        location="/start_date",
                        code="overlapping_episode",
                        detail=f"overlaps episode {r.id} "
                        f"({r.start_date} to {r.end_date or 'open'})",
                    )
                    for r in clashes
                ],
            )


class AgreementRepository:
    """Data-sharing agreements, their pupils and their receipts."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def require_party(self, agreement_id: str, organisation_id: str) -> SharingAgreement:
        """The agreement if the organisation is its grantor or grantee; otherwise NotFound."""
        row = self.session.get(SharingAgreement, agreement_id)
        if row is None or organisation_id not in (row.grantor_id, row.grantee_id):
            raise NotFound(f"No agreement {agreement_id}.")
        return row

    def page(
        self, organisation_id: str, *, side: str | None, after: str | None, limit: int
    ) -> Sequence[SharingAgreement]:
        """The organisation's agreements (as grantor, grantee, or either), by id."""
        statement = select(SharingAgreement).order_by(col(SharingAgreement.id)).limit(limit + 1)
        if side == "grantor":
            statement = statement.where(SharingAgreement.grantor_id == organisation_id)
        elif side == "grantee":
            statement = statement.where(SharingAgreement.grantee_id == organisation_id)
        else:
            statement = statement.where(
                (col(SharingAgreement.grantor_id) == organisation_id)
                | (col(SharingAgreement.grantee_id) == organisation_id)
            )
        if after is not None:
            statement = statement.where(col(SharingAgreement.id) > after)
        return self.session.exec(statement).all()

    def upns(self, agreement_id: str) -> list[str]:
        statement = (
            select(SharingAgreementPupil.upn)
            .where(SharingAgreementPupil.agreement_id == agreement_id)
            .order_by(col(SharingAgreementPupil.upn))
        )
        return list(self.session.exec(statement).all())

    def receipts(self, agreement_id: str) -> Sequence[SharingAgreementReceipt]:
        statement = (
            select(SharingAgreementReceipt)
            .where(SharingAgreementReceipt.agreement_id == agreement_id)
            .order_by(col(SharingAgreementReceipt.recorded_at), col(SharingAgreementReceipt.event))
        )
        return self.session.exec(statement).all()

    def grant(
        self, grantor_id: str, grantee_id: str, draft: AgreementDraft, client_id: str
    ) -> SharingAgreement:
        """Store a checked agreement, its pupils (one executemany) and its grant receipt."""
        now = utcnow()
        row = SharingAgreement(
            id=str(uuid.uuid4()),
            grantor_id=grantor_id,
            grantee_id=grantee_id,
            purpose=draft.purpose.strip(),
            lawful_basis=draft.lawful_basis,
            special_category_condition=draft.special_category_condition,
            fields=" ".join(draft.fields),
            starts_on=draft.starts_on,
            ends_on=draft.ends_on,
            created_at=now,
            created_by=client_id,
        )
        self.session.add(row)
        self.session.flush()
        upns = sorted({u.strip().upper() for u in draft.upns})
        self.session.connection().execute(
            SharingAgreementPupil.__table__.insert(),  # type: ignore[attr-defined]
            [{"agreement_id": row.id, "upn": u} for u in upns],
        )
        self._receipt(row, ReceiptEvent.GRANTED, client_id, now, {"pupils": len(upns)})
        return row

    def revoke(self, row: SharingAgreement, client_id: str, reason: str | None) -> SharingAgreement:
        """End the agreement now; revoking twice keeps the first revocation (one receipt)."""
        if row.revoked_at is None:
            now = utcnow()
            row.revoked_at, row.revoked_by, row.revocation_reason = now, client_id, reason
            self.session.add(row)
            self.session.flush()
            self._receipt(row, ReceiptEvent.REVOKED, client_id, now, {"reason": reason})
        return row

    def _receipt(
        self,
        row: SharingAgreement,
        event: ReceiptEvent,
        client_id: str,
        when: datetime,
        extra: dict[str, object],
    ) -> None:
        details = {
            "purpose": row.purpose,
            "lawful_basis": legal_basis_text(row.lawful_basis, row.special_category_condition),
            "fields": row.fields.split(),
            "starts_on": row.starts_on.isoformat(),
            "ends_on": row.ends_on.isoformat(),
            **extra,
        }
        self.session.add(
            SharingAgreementReceipt(
                id=str(uuid.uuid4()),
                agreement_id=row.id,
                event=event,
                recorded_at=when,
                client_id=client_id,
                grantor_id=row.grantor_id,
                grantee_id=row.grantee_id,
                details=json.dumps(details, sort_keys=True),
            )
        )
        self.session.flush()

    def in_force_for(
        self, grantee_id: str, as_of: date
    ) -> list[tuple[SharingAgreement, list[str]]]:
        """The grantee's agreements in force on `as_of`, each with its pupils (two queries)."""
        statement = select(SharingAgreement).where(
            SharingAgreement.grantee_id == grantee_id,
            col(SharingAgreement.revoked_at).is_(None),
            col(SharingAgreement.starts_on) <= as_of,
            col(SharingAgreement.ends_on) >= as_of,
        )
        rows = self.session.exec(statement).all()
        pupils: dict[str, list[str]] = {r.id: [] for r in rows}
        if rows:
            named = select(SharingAgreementPupil.agreement_id, SharingAgreementPupil.upn).where(
                col(SharingAgreementPupil.agreement_id).in_(list(pupils))
            )
            for agreement_id, upn in self.session.exec(named).all():
                pupils[agreement_id].append(upn)
        return [(r, sorted(pupils[r.id])) for r in rows]


def agreement_fact(
    row: SharingAgreement, upns: list[str], grantor_schools: tuple[SchoolWindow, ...]
) -> AgreementFact:
    """An agreement row as the policy reads it."""
    return AgreementFact(
        id=row.id,
        upns=tuple(upns),
        fields=tuple(PupilField(f) for f in row.fields.split()),
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        revoked=row.revoked_at is not None,
        legal_basis=legal_basis_text(row.lawful_basis, row.special_category_condition),
        grantor_schools=grantor_schools,
    )


def base_reach(
    session: Session, organisation: Organisation, *, actor: str | None, as_of: date
) -> ReachDecision:
    """What the organisation sees by its own standing (its type), before any agreement."""
    kind = OrganisationType(organisation.type)
    if kind is OrganisationType.SCHOOL and organisation.urn is not None:
        return reach.school_reach(organisation.urn)
    if kind is OrganisationType.TRUST:
        return reach.trust_reach(
            (m.id, policy.Membership(urn, m.start_date, m.end_date))
            for m, urn in MembershipRepository(session).for_trust_with_urns(organisation.id)
        )
    if kind is OrganisationType.LOCAL_AUTHORITY and organisation.la_code is not None:
        return reach.local_authority_reach(
            OrganisationRepository(session).urns_in_area(organisation.la_code)
        )
    if kind is OrganisationType.DFE:
        return reach.dfe_reach()
    if kind is OrganisationType.VIRTUAL_SCHOOL and organisation.la_code is not None:
        episodes = EpisodeRepository(session).facts(EpisodeScope(organisation.la_code))
        return reach.virtual_school_reach(episodes)
    if kind is OrganisationType.SOCIAL_CARE and organisation.la_code is not None:
        episodes = EpisodeRepository(session).facts(EpisodeScope(organisation.la_code, actor))
        return reach.social_care_reach(episodes, as_of=as_of, practitioner=actor)
    return ReachDecision()


def full_reach(
    session: Session, organisation: Organisation, *, actor: str | None, as_of: date
) -> ReachDecision:
    """Its own standing plus every agreement in force that names it as grantee.

    Each agreement is limited to what its grantor sees today by its own standing, so a
    school that leaves a trust takes its pupils out of the trust's agreements at once.
    """
    decision = base_reach(session, organisation, actor=actor, as_of=as_of)
    organisations = OrganisationRepository(session)
    grantor_windows: dict[str, tuple[SchoolWindow, ...]] = {}
    facts = []
    for row, upns in AgreementRepository(session).in_force_for(organisation.id, as_of):
        if row.grantor_id not in grantor_windows:
            grantor = organisations.require(row.grantor_id)
            grantor_windows[row.grantor_id] = tuple(
                g.window for g in base_reach(session, grantor, actor=None, as_of=as_of).schools
            )
        facts.append(agreement_fact(row, upns, grantor_windows[row.grantor_id]))
    return reach.with_agreements(decision, reach.agreement_grants(facts, as_of=as_of))
