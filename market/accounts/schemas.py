from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from market.accounts.domain import Language, OrgKind, Role
from market.catalogue import District, Industry
from market.schemas import NO_NUL, Email, Id, Input, LongText, Name, Password, Tags, Title


class OrganisationInput(Input, kw_only=True):
    name_zh: Annotated[str, Meta(min_length=1, max_length=200, pattern=NO_NUL)]
    name_en: Title = ""
    kind: OrgKind = OrgKind.ENTERPRISE
    district: District | None = None


class RegisterInput(Input, kw_only=True):
    email: Email
    password: Password
    display_name: Name
    role: Role
    language: Language = Language.ZH
    organisation: OrganisationInput | None = None


class AdminCreateUserInput(Input, kw_only=True):
    email: Email
    password: Password
    display_name: Name
    role: Role
    language: Language = Language.ZH
    org_id: Id | None = None


class LoginInput(Input, kw_only=True):
    email: Email
    password: Annotated[str, Meta(min_length=1, max_length=128)]


class ProfileInput(Input, kw_only=True):
    headline_zh: Title = ""
    headline_en: Title = ""
    skills: Tags = msgspec.field(default_factory=list)
    fields: Annotated[list[Industry], Meta(max_length=12)] = msgspec.field(default_factory=list)
    bio_zh: LongText = ""
    bio_en: LongText = ""
    languages: Annotated[list[Language], Meta(max_length=2)] = msgspec.field(default_factory=list)
    district: District | None = None


class OrganisationOut(msgspec.Struct):
    id: int
    kind: str
    name_zh: str
    name_en: str
    district: str | None


class ProfileOut(msgspec.Struct):
    headline_zh: str
    headline_en: str
    skills: list[str]
    fields: list[str]
    bio_zh: str
    bio_en: str
    languages: list[str]
    district: str | None


class UserOut(msgspec.Struct):
    id: int
    email: str
    display_name: str
    role: str
    language: str
    organisation: OrganisationOut | None
    profile: ProfileOut | None


class SolverOut(msgspec.Struct):
    """A solver as other users see them: no e-mail address."""

    id: int
    display_name: str
    organisation: OrganisationOut | None
    profile: ProfileOut | None


class TokenOut(msgspec.Struct):
    token: str
    token_type: str
    expires_at: datetime
    user: UserOut
