"""Which roles an organisation's clients may take, and which scopes a role may be given."""

from __future__ import annotations

from enum import StrEnum

from services.sharing.domain.organisations import OrganisationType
from shared.auth import Scope
from shared.problems import ProblemItem


class Role(StrEnum):
    """What a client does for its organisation; goes into the token's `role` claim."""

    ADMIN = "admin"
    SERVICE = "service"
    SCHOOL_SYSTEM = "school_system"
    TRUST_SYSTEM = "trust_system"
    LA_ATTENDANCE = "la_attendance"
    VIRTUAL_SCHOOL = "virtual_school"
    SOCIAL_CARE = "social_care"
    DFE_ANALYST = "dfe_analyst"
    PARTNER = "partner"


ROLES_BY_TYPE: dict[OrganisationType, frozenset[Role]] = {
    OrganisationType.OPERATOR: frozenset({Role.ADMIN, Role.SERVICE}),
    OrganisationType.SCHOOL: frozenset({Role.SCHOOL_SYSTEM}),
    OrganisationType.TRUST: frozenset({Role.TRUST_SYSTEM}),
    OrganisationType.LOCAL_AUTHORITY: frozenset({Role.LA_ATTENDANCE}),
    OrganisationType.VIRTUAL_SCHOOL: frozenset({Role.VIRTUAL_SCHOOL}),
    OrganisationType.SOCIAL_CARE: frozenset({Role.SOCIAL_CARE}),
    OrganisationType.DFE: frozenset({Role.DFE_ANALYST}),
    OrganisationType.PARTNER: frozenset({Role.PARTNER}),
}
"""The platform's own clients belong to the operator; everyone else acts for itself."""

ALERT_RECIPIENT_ROLES = frozenset(
    {
        Role.SCHOOL_SYSTEM,
        Role.TRUST_SYSTEM,
        Role.LA_ATTENDANCE,
        Role.VIRTUAL_SCHOOL,
        Role.SOCIAL_CARE,
    }
)
"""Who acts on a child's attendance, and so may receive alerts (not the DfE, not partners)."""

RESTRICTED_SCOPES: dict[Scope, frozenset[Role]] = {
    Scope.CHANGES_READ: frozenset({Role.SERVICE}),
    Scope.POLICY_READ: frozenset({Role.SERVICE}),
    Scope.FEED_NOTIFY: frozenset({Role.SERVICE}),
    Scope.AUDIT_WRITE: frozenset({Role.SERVICE}),
    Scope.DIRECTORY_WRITE: frozenset({Role.ADMIN}),
    Scope.RETURNS_WRITE: frozenset({Role.SCHOOL_SYSTEM, Role.TRUST_SYSTEM}),
    Scope.SOCIAL_CARE_WRITE: frozenset({Role.SOCIAL_CARE}),
    Scope.SOCIAL_CARE_READ: frozenset({Role.SOCIAL_CARE, Role.VIRTUAL_SCHOOL}),
    Scope.AGREEMENTS_WRITE: frozenset({Role.SCHOOL_SYSTEM, Role.TRUST_SYSTEM}),
    Scope.ALERTS_WRITE: frozenset({Role.SERVICE}),
    Scope.ALERTS_READ: ALERT_RECIPIENT_ROLES,
    Scope.ALERTS_SUBSCRIBE: ALERT_RECIPIENT_ROLES,
}
"""Scopes only some roles may hold; any other scope may be given to any role."""


def client_problems(
    organisation_type: OrganisationType, role: str, scopes: list[str]
) -> list[ProblemItem]:
    """Every reason a client of this organisation type, role and scopes cannot exist."""
    problems: list[ProblemItem] = []
    allowed_roles = ROLES_BY_TYPE[organisation_type]
    known_role = role in set(Role)
    if not known_role:
        problems.append(
            ProblemItem(
                location="/role",
                code="unknown_role",
                detail=f"the role is one of {', '.join(Role)}",
            )
        )
    elif Role(role) not in allowed_roles:
        problems.append(
            ProblemItem(
                location="/role",
                code="role_not_for_organisation_type",
                detail=f"a client of a {organisation_type} takes the role "
                f"{' or '.join(sorted(allowed_roles))}, not {role}",
            )
        )
    if not scopes:
        problems.append(
            ProblemItem(
                location="/scopes", code="required", detail="a client needs at least one scope"
            )
        )
    for index, scope in enumerate(scopes):
        location = f"/scopes/{index}"
        if scope not in set(Scope):
            problems.append(
                ProblemItem(
                    location=location, code="unknown_scope", detail=f"{scope} is not a scope"
                )
            )
            continue
        holders = RESTRICTED_SCOPES.get(Scope(scope))
        if known_role and holders is not None and Role(role) not in holders:
            problems.append(
                ProblemItem(
                    location=location,
                    code="scope_not_for_role",
                    detail=f"{scope} is only for the role(s) {', '.join(sorted(holders))}",
                )
            )
    return problems
