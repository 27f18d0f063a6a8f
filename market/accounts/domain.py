"""Account rules: roles, organisation kinds and which role belongs to which kind."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class OrgKind(StrEnum):
    ENTERPRISE = "enterprise"
    DISTRICT = "district"
    LAB = "lab"
    PLATFORM = "platform"


class Role(StrEnum):
    POSTER = "poster"
    SOLVER = "solver"
    OFFICIAL = "official"
    ADMIN = "admin"


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


# The organisation kinds a user of each role may belong to (None: no organisation).
ROLE_ORG_KINDS: dict[Role, frozenset[OrgKind | None]] = {
    Role.POSTER: frozenset({OrgKind.ENTERPRISE}),
    Role.SOLVER: frozenset({OrgKind.LAB, OrgKind.ENTERPRISE, None}),
    Role.OFFICIAL: frozenset({OrgKind.DISTRICT}),
    Role.ADMIN: frozenset({OrgKind.PLATFORM}),
}

# Roles that post tasks: enterprises through posters, districts through officials.
POSTING_ROLES = frozenset({Role.POSTER, Role.OFFICIAL})


def role_fits_org(role: Role, org_kind: OrgKind | None) -> bool:
    return org_kind in ROLE_ORG_KINDS[role]


class CurrentUser(msgspec.Struct, frozen=True):
    """The authenticated caller, as the API layer sees it."""

    id: int
    email: str
    role: Role
    org_id: int | None
    language: Language
    display_name: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def can_post(self) -> bool:
        return self.role in POSTING_ROLES
