"""Queries over sharing's tables, by domain name; never commits (the request does)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.sharing.domain import keys as keys_domain
from services.sharing.domain.errors import Conflict, Duplicate, InvalidRequest, NotFound
from services.sharing.domain.keys import KeyStatus
from services.sharing.domain.organisations import (
    BELONGS_TO_AUTHORITY,
    OrganisationDraft,
    OrganisationType,
    Window,
    area_code,
    organisation_problems,
    window_problems,
)
from services.sharing.domain.roles import client_problems
from services.sharing.domain.sealing import Sealer
from services.sharing.domain.secrets import hash_secret
from services.sharing.store.models import OAuthClient, Organisation, SigningKey, TrustMembership
from shared.problems import ProblemItem


def utcnow() -> datetime:
    return datetime.now(UTC)


class OrganisationRepository:
    """The directory's organisations."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, organisation_id: str) -> Organisation | None:
        return self.session.get(Organisation, organisation_id)

    def require(self, organisation_id: str) -> Organisation:
        """The organisation, or NotFound."""
        found = self.get(organisation_id)
        if found is None:
            raise NotFound(f"No organisation {organisation_id}.")
        return found

    def school_by_urn(self, urn: str) -> Organisation | None:
        statement = select(Organisation).where(
            Organisation.type == OrganisationType.SCHOOL, Organisation.urn == urn
        )
        return self.session.exec(statement).first()

    def authority_by_code(self, la_code: str) -> Organisation | None:
        statement = select(Organisation).where(
            Organisation.type == OrganisationType.LOCAL_AUTHORITY, Organisation.la_code == la_code
        )
        return self.session.exec(statement).first()

    def first_of_type(self, organisation_type: OrganisationType) -> Organisation | None:
        statement = (
            select(Organisation)
            .where(Organisation.type == organisation_type)
            .order_by(col(Organisation.created_at))
        )
        return self.session.exec(statement).first()

    def page(
        self, *, organisation_type: OrganisationType | None, after: str | None, limit: int
    ) -> Sequence[Organisation]:
        """Up to `limit + 1` organisations ordered by id, after the id `after`."""
        statement = select(Organisation).order_by(col(Organisation.id)).limit(limit + 1)
        if organisation_type is not None:
            statement = statement.where(Organisation.type == organisation_type)
        if after is not None:
            statement = statement.where(col(Organisation.id) > after)
        return self.session.exec(statement).all()

    def urns_in_area(self, la_code: str) -> list[str]:
        statement = select(Organisation.urn).where(
            Organisation.type == OrganisationType.SCHOOL, Organisation.la_code == la_code
        )
        return [u for u in self.session.exec(statement).all() if u is not None]

    def add(self, draft: OrganisationDraft) -> Organisation:
        """Store a new organisation after checking it and its clashes with stored ones."""
        problems = organisation_problems(draft)
        if problems:
            raise InvalidRequest(f"The organisation has {len(problems)} problem(s).", problems)
        if (
            draft.type in BELONGS_TO_AUTHORITY
            and draft.la_code is not None
            and self.authority_by_code(draft.la_code) is None
        ):
            raise InvalidRequest(
                "The local authority is not in the directory.",
                [
                    ProblemItem(
                        location="/la_code",
                        code="local_authority_not_found",
                        detail=f"add the local authority {draft.la_code} first",
                    )
                ],
            )
        duplicates = self._duplicates(draft)
        if duplicates:
            raise Duplicate("An organisation with these identifiers already exists.", duplicates)
        row = Organisation(
            id=str(uuid.uuid4()),
            type=draft.type,
            name=draft.name.strip(),
            urn=draft.urn,
            dfe_number=draft.dfe_number,
            phase=draft.phase,
            group_uid=draft.group_uid,
            la_code=area_code(draft),
            created_at=utcnow(),
        )
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError as exc:
            # A concurrent request stored the same identifier between our check and insert.
            raise Duplicate(
                "An organisation with these identifiers already exists.",
                [ProblemItem(code="duplicate", detail="stored concurrently by another request")],
            ) from exc
        return row

    def _duplicates(self, draft: OrganisationDraft) -> list[ProblemItem]:
        found: list[ProblemItem] = []
        checks = [
            ("urn", draft.urn, Organisation.urn == draft.urn),
            ("dfe_number", draft.dfe_number, Organisation.dfe_number == draft.dfe_number),
            ("group_uid", draft.group_uid, Organisation.group_uid == draft.group_uid),
        ]
        if draft.type is OrganisationType.LOCAL_AUTHORITY:
            checks.append(
                (
                    "la_code",
                    draft.la_code,
                    (Organisation.type == OrganisationType.LOCAL_AUTHORITY)
                    & (Organisation.la_code == draft.la_code),
                )
            )
        for field, value, condition in checks:
            if value is None:
                continue
            existing = self.session.exec(select(Organisation.id).where(condition)).first()
            if existing is not None:
                found.append(
                    ProblemItem(
                        location=f"/{field}",
                        code="duplicate",
                        detail=f"organisation {existing} already has {field} {value}",
                    )
                )
        return found


class MembershipRepository:
    """Schools' memberships of trusts."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def for_school(self, school_id: str) -> Sequence[TrustMembership]:
        statement = (
            select(TrustMembership)
            .where(TrustMembership.school_id == school_id)
            .order_by(col(TrustMembership.start_date))
        )
        return self.session.exec(statement).all()

    def for_trust_with_urns(self, trust_id: str) -> list[tuple[TrustMembership, str]]:
        """The trust's memberships, each with its school's URN."""
        statement = (
            select(TrustMembership, Organisation.urn)
            .join(Organisation, col(Organisation.id) == TrustMembership.school_id)
            .where(TrustMembership.trust_id == trust_id)
        )
        return [(m, urn) for m, urn in self.session.exec(statement).all() if urn is not None]

    def page(
        self, *, school_id: str | None, trust_id: str | None, after: str | None, limit: int
    ) -> Sequence[TrustMembership]:
        statement = select(TrustMembership).order_by(col(TrustMembership.id)).limit(limit + 1)
        if school_id is not None:
            statement = statement.where(TrustMembership.school_id == school_id)
        if trust_id is not None:
            statement = statement.where(TrustMembership.trust_id == trust_id)
        if after is not None:
            statement = statement.where(col(TrustMembership.id) > after)
        return self.session.exec(statement).all()

    def add(self, school_id: str, trust_id: str, window: Window) -> TrustMembership:
        """A new membership; the school may be in only one trust on any day."""
        organisations = OrganisationRepository(self.session)
        problems = list(window_problems(window))
        school = organisations.get(school_id)
        if school is None or school.type != OrganisationType.SCHOOL:
            problems.append(
                ProblemItem(
                    location="/school_id",
                    code="not_a_school",
                    detail=f"no school {school_id} in the directory",
                )
            )
        trust = organisations.get(trust_id)
        if trust is None or trust.type != OrganisationType.TRUST:
            problems.append(
                ProblemItem(
                    location="/trust_id",
                    code="not_a_trust",
                    detail=f"no trust {trust_id} in the directory",
                )
            )
        if problems:
            raise InvalidRequest(f"The membership has {len(problems)} problem(s).", problems)
        self._refuse_overlap(school_id, window, ignore=None)
        row = TrustMembership(
            id=str(uuid.uuid4()),
            school_id=school_id,
            trust_id=trust_id,
            start_date=window.start,
            end_date=window.end,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def end(self, membership_id: str, end_date: date) -> TrustMembership:
        """Close a membership on `end_date` (the school's last day in the trust)."""
        row = self.session.get(TrustMembership, membership_id)
        if row is None:
            raise NotFound(f"No trust membership {membership_id}.")
        window = Window(row.start_date, end_date)
        problems = window_problems(window)
        if problems:
            raise InvalidRequest("The end date is invalid.", problems)
        self._refuse_overlap(row.school_id, window, ignore=row.id)
        row.end_date = end_date
        self.session.add(row)
        self.session.flush()
        return row

    def _refuse_overlap(self, school_id: str, window: Window, *, ignore: str | None) -> None:
        clashes = [
            m
            for m in self.for_school(school_id)
            if m.id != ignore and Window(m.start_date, m.end_date).overlaps(window)
        ]
        if clashes:
            raise Conflict(
                "A school is in one trust at a time; this overlaps another membership.",
                [
                    ProblemItem(
                        location="/start_date",
                        code="overlapping_membership",
                        detail=f"overlaps membership {m.id} of trust {m.trust_id} "
                        f"({m.start_date} to {m.end_date or 'open'})",
                    )
                    for m in clashes
                ],
            )


class ClientRepository:
    """OAuth clients and their hashed secrets."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, client_id: str) -> OAuthClient | None:
        return self.session.get(OAuthClient, client_id)

    def require(self, client_id: str) -> OAuthClient:
        found = self.get(client_id)
        if found is None:
            raise NotFound(f"No client {client_id}.")
        return found

    def with_organisation(self, client_id: str) -> tuple[OAuthClient, Organisation] | None:
        statement = (
            select(OAuthClient, Organisation)
            .join(Organisation, col(Organisation.id) == OAuthClient.organisation_id)
            .where(OAuthClient.client_id == client_id)
        )
        row = self.session.exec(statement).first()
        return (row[0], row[1]) if row is not None else None

    def page(
        self, *, organisation_id: str | None, after: str | None, limit: int
    ) -> Sequence[OAuthClient]:
        statement = select(OAuthClient).order_by(col(OAuthClient.client_id)).limit(limit + 1)
        if organisation_id is not None:
            statement = statement.where(OAuthClient.organisation_id == organisation_id)
        if after is not None:
            statement = statement.where(col(OAuthClient.client_id) > after)
        return self.session.exec(statement).all()

    def add(
        self,
        *,
        client_id: str,
        organisation_id: str,
        role: str,
        scopes: list[str],
        name: str,
        secret: str,
    ) -> OAuthClient:
        """A new client, after checking the role suits the organisation and the scopes the role."""
        organisation = OrganisationRepository(self.session).get(organisation_id)
        if organisation is None:
            raise InvalidRequest(
                "The organisation is not in the directory.",
                [
                    ProblemItem(
                        location="/organisation_id",
                        code="organisation_not_found",
                        detail=f"no organisation {organisation_id}",
                    )
                ],
            )
        problems = client_problems(OrganisationType(organisation.type), role, scopes)
        if problems:
            raise InvalidRequest(f"The client has {len(problems)} problem(s).", problems)
        if self.get(client_id) is not None:
            raise Duplicate(f"Client {client_id} already exists.")
        now = utcnow()
        row = OAuthClient(
            client_id=client_id,
            organisation_id=organisation_id,
            name=name,
            role=role,
            scopes=" ".join(dict.fromkeys(scopes)),
            secret_hash=hash_secret(secret),
            created_at=now,
            secret_rotated_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def set_secret(self, row: OAuthClient, secret: str) -> OAuthClient:
        """Replace the client's secret; the old one stops working at once."""
        row.secret_hash = hash_secret(secret)
        row.secret_rotated_at = utcnow()
        self.session.add(row)
        self.session.flush()
        return row

    def revoke(self, row: OAuthClient) -> OAuthClient:
        """Refuse the client from now on; revoking twice keeps the first time."""
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            self.session.add(row)
            self.session.flush()
        return row


class SigningKeyRepository:
    """The token-signing keys (sealed at rest) and their rotation."""

    def __init__(self, session: Session, sealer: Sealer) -> None:
        self.session = session
        self.sealer = sealer

    def private_jwk(self, row: SigningKey) -> str:
        """The key's private JWK, unsealed."""
        return self.sealer.open(row.private_jwk)

    def private_jwks(self, rows: Iterable[SigningKey]) -> list[str]:
        """The private JWKs of these keys, unsealed."""
        return [self.private_jwk(row) for row in rows]

    def all(self) -> Sequence[SigningKey]:
        statement = select(SigningKey).order_by(col(SigningKey.created_at).desc())
        return self.session.exec(statement).all()

    def active(self) -> SigningKey | None:
        """The newest active key (there is one, unless the store was never started)."""
        statement = (
            select(SigningKey)
            .where(SigningKey.status == KeyStatus.ACTIVE)
            .order_by(col(SigningKey.created_at).desc())
        )
        return self.session.exec(statement).first()

    def published(self) -> Sequence[SigningKey]:
        """Every key whose tokens must still verify: the active one and the previous ones."""
        statement = (
            select(SigningKey)
            .where(col(SigningKey.status).in_([KeyStatus.ACTIVE, KeyStatus.PUBLISHED]))
            .order_by(col(SigningKey.created_at).desc())
        )
        return self.session.exec(statement).all()

    def ensure_active(self) -> SigningKey:
        """The active key, creating the first one on a fresh store."""
        return self.active() or self._create()

    def rotate(self) -> SigningKey:
        """A new active key; the previous active key stays published until retired."""
        for row in self.published():
            if row.status == KeyStatus.ACTIVE:
                row.status = KeyStatus.PUBLISHED
                self.session.add(row)
        return self._create()

    def retire_previous(self) -> list[SigningKey]:
        """Withdraw every published, no-longer-active key from the JWKS."""
        retired = [row for row in self.published() if row.status == KeyStatus.PUBLISHED]
        now = utcnow()
        for row in retired:
            row.status = KeyStatus.RETIRED
            row.retired_at = now
            self.session.add(row)
        self.session.flush()
        return retired

    def _create(self) -> SigningKey:
        kid = keys_domain.new_kid()
        row = SigningKey(
            kid=kid,
            alg=keys_domain.SIGNING_ALG,
            status=KeyStatus.ACTIVE,
            private_jwk=self.sealer.seal(keys_domain.generate_private_jwk(kid)),
            created_at=utcnow(),
        )
        self.session.add(row)
        self.session.flush()
        return row
