"""Accounts: registration, log-in with rate limiting, bearer tokens, solver profiles."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TypeVar

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from market.accounts.domain import (
    ROLE_ORG_KINDS,
    CurrentUser,
    Language,
    OrgKind,
    Role,
    role_fits_org,
)
from market.accounts.events import SolverProfileChanged
from market.accounts.models import ApiToken, LoginAttempt, Organisation, SolverProfile, User
from market.accounts.schemas import (
    AdminCreateUserInput,
    LoginInput,
    OrganisationOut,
    ProfileInput,
    ProfileOut,
    RegisterInput,
    SolverOut,
    TokenOut,
    UserOut,
)
from market.db.base import utcnow
from market.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
from market.settings import Settings
from market.uow import UnitOfWork

SELF_REGISTERING_ROLES = frozenset({Role.POSTER, Role.SOLVER})

AUTHENTICATE = (
    select(User.id, User.email, User.role, User.org_id, User.language, User.display_name)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
        User.is_active.is_(True),
    )
)


def token_params(token: str) -> dict[str, object]:
    """The parameters of AUTHENTICATE (also run as part of other statements)."""
    return {"token_hash": hash_token(token), "now": utcnow()}


def current_user_of(row: Mapping[str, Any], prefix: str = "") -> CurrentUser:
    """The caller, from a row carrying AUTHENTICATE's columns (named with `prefix`)."""
    return CurrentUser(
        id=row[f"{prefix}id"],
        email=row[f"{prefix}email"],
        role=Role(row[f"{prefix}role"]),
        org_id=row[f"{prefix}org_id"],
        language=Language(row[f"{prefix}language"]),
        display_name=row[f"{prefix}display_name"],
    )


def invalid_token() -> Unauthenticated:
    return Unauthenticated(
        "the bearer token is invalid, expired or revoked", field="Authorization", rule="token"
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


MAX_EMAIL_LENGTH = 254


def normalise_email(email: str) -> str:
    normal = email.strip().lower()
    # Lower-casing can lengthen some letters (İ -> i̇): re-check against the column's limit.
    if len(normal) > MAX_EMAIL_LENGTH:
        raise InvalidInput(
            f"the e-mail address is at most {MAX_EMAIL_LENGTH} characters",
            field="email",
            rule="length",
        )
    return normal


def organisation_out(org: Organisation | None) -> OrganisationOut | None:
    if org is None:
        return None
    return OrganisationOut(
        id=org.id, kind=org.kind, name_zh=org.name_zh, name_en=org.name_en, district=org.district
    )


def profile_out(p: SolverProfile | None) -> ProfileOut | None:
    if p is None:
        return None
    return ProfileOut(
        headline_zh=p.headline_zh,
        headline_en=p.headline_en,
        skills=list(p.skills),
        fields=list(p.fields),
        bio_zh=p.bio_zh,
        bio_en=p.bio_en,
        languages=list(p.languages),
        district=p.district,
    )


def user_out(u: User) -> UserOut:
    return UserOut(
        id=u.id,
        email=u.email,
        display_name=u.display_name,
        role=u.role,
        language=u.language,
        organisation=organisation_out(u.organisation),
        profile=profile_out(u.profile),
    )


class AccountService:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        engine: Engine = sessions.kw["bind"]
        # The token look-up is one SELECT: on PostgreSQL it needs no transaction around it
        # (no BEGIN and ROLLBACK round trips on every authenticated request).
        self._token_reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )
        self._settings = settings
        self._hasher = PasswordHasher.from_parameters(getattr(profiles, settings.argon2_profile))
        # Verifying against this hash when the e-mail is unknown keeps timing uniform.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(8))

    # -- registration ---------------------------------------------------------------
    def register(self, data: RegisterInput) -> UserOut:
        if data.role not in SELF_REGISTERING_ROLES:
            raise Forbidden(
                "officials and admins are created by an admin", field="role", rule="role_not_open"
            )
        with UnitOfWork(self._sessions) as uow:
            org = None
            if data.organisation is not None:
                o = data.organisation
                if o.kind not in (OrgKind.ENTERPRISE, OrgKind.LAB):
                    raise InvalidInput(
                        "only enterprises and labs register themselves",
                        field="organisation.kind",
                        rule="org_kind_not_open",
                    )
                org = Organisation(
                    kind=o.kind, name_zh=o.name_zh, name_en=o.name_en, district=o.district
                )
                uow.session.add(org)
            if not role_fits_org(data.role, OrgKind(org.kind) if org else None):
                raise InvalidInput(
                    f"a {data.role} needs an organisation of kind "
                    f"{' or '.join(sorted(str(k) for k in _kinds(data.role)))}",
                    field="organisation",
                    rule="role_org_mismatch",
                )
            user = self._add_user(
                uow, data.email, data.password, data.display_name, data.role, data.language, org
            )
            uow.commit()
            return user_out(user)

    def create_user(self, data: AdminCreateUserInput, actor: CurrentUser) -> UserOut:
        with UnitOfWork(self._sessions) as uow:
            org = uow.session.get(Organisation, data.org_id) if data.org_id else None
            if data.org_id and org is None:
                raise InvalidInput("no such organisation", field="org_id", rule="exists")
            if not role_fits_org(data.role, OrgKind(org.kind) if org else None):
                raise InvalidInput(
                    f"a {data.role} cannot belong to this organisation",
                    field="org_id",
                    rule="role_org_mismatch",
                )
            user = self._add_user(
                uow,
                data.email,
                data.password,
                data.display_name,
                data.role,
                data.language,
                org,
                actor.id,
            )
            uow.commit()
            return user_out(user)

    def bootstrap_admin(self, email: str, password: str, display_name: str) -> UserOut:
        """The first admin, from the command line, with the platform organisation."""
        with UnitOfWork(self._sessions) as uow:
            org = uow.session.scalar(
                select(Organisation).where(Organisation.kind == OrgKind.PLATFORM).limit(1)
            )
            if org is None:
                org = Organisation(
                    kind=OrgKind.PLATFORM, name_zh="平台运营", name_en="Platform operations"
                )
                uow.session.add(org)
            user = self._add_user(uow, email, password, display_name, Role.ADMIN, Language.ZH, org)
            uow.commit()
            return user_out(user)

    def create_organisation(
        self, kind: OrgKind, name_zh: str, name_en: str, district: str | None, actor_id: int | None
    ) -> Organisation:
        with UnitOfWork(self._sessions) as uow:
            org = Organisation(kind=kind, name_zh=name_zh, name_en=name_en, district=district)
            uow.session.add(org)
            uow.session.flush()
            uow.record(actor_id=actor_id, entity="organisation", entity_id=org.id, action="create")
            uow.commit()
            return org

    def _add_user(
        self,
        uow: UnitOfWork,
        email: str,
        password: str,
        display_name: str,
        role: Role,
        language: Language,
        org: Organisation | None,
        actor_id: int | None = None,
    ) -> User:
        email = normalise_email(email)
        exists = uow.session.scalar(select(User.id).where(User.email == email))
        if exists:
            raise Conflict(
                "this e-mail address is already registered", field="email", rule="unique"
            )
        user = User(
            email=email,
            password_hash=self._hasher.hash(password),
            display_name=display_name,
            role=role,
            language=language,
            organisation=org,
        )
        uow.session.add(user)
        try:
            uow.session.flush()
        except IntegrityError as exc:  # a concurrent registration won the race
            raise Conflict(
                "this e-mail address is already registered", field="email", rule="unique"
            ) from exc
        if role is Role.SOLVER:
            user.profile = SolverProfile(user_id=user.id)
        uow.record(
            actor_id=actor_id or user.id,
            entity="user",
            entity_id=user.id,
            action="register",
            to_state="active",
            # A new solver (empty profile) is findable by name at once (search index).
            event=SolverProfileChanged(user_id=user.id) if role is Role.SOLVER else None,
        )
        return user

    # -- log-in -----------------------------------------------------------------------
    def login(self, data: LoginInput, ip: str) -> TokenOut:
        email = normalise_email(data.email)
        now = utcnow()
        window_start = now - timedelta(seconds=self._settings.login_window_seconds)
        with UnitOfWork(self._sessions) as uow:
            s = uow.session
            failures = (
                s.scalar(
                    select(func.count())
                    .select_from(LoginAttempt)
                    .where(
                        LoginAttempt.email == email,
                        LoginAttempt.at >= window_start,
                        LoginAttempt.succeeded.is_(False),
                    )
                )
                or 0
            )
            if failures >= self._settings.login_max_failures:
                oldest = s.scalar(
                    select(func.min(LoginAttempt.at)).where(
                        LoginAttempt.email == email,
                        LoginAttempt.at >= window_start,
                        LoginAttempt.succeeded.is_(False),
                    )
                )
                retry = self._settings.login_window_seconds
                if oldest is not None:
                    retry = max(1, int((oldest - window_start).total_seconds()))
                raise TooManyRequests(
                    "too many failed log-ins for this account; try again later",
                    retry_after=retry,
                    field="email",
                )
            user = s.scalar(select(User).where(User.email == email))
            ok = self._verify(user.password_hash if user else self._dummy_hash, data.password)
            ok = ok and user is not None and user.is_active
            s.add(LoginAttempt(email=email, ip=ip[:64], succeeded=ok, at=now))
            if not ok or user is None:
                uow.commit()  # the failed attempt must count even though we refuse
                raise Unauthenticated(
                    "wrong e-mail address or password", field="password", rule="credentials"
                )
            token = secrets.token_urlsafe(32)
            expires = now + timedelta(hours=self._settings.token_ttl_hours)
            s.add(ApiToken(user_id=user.id, token_hash=hash_token(token), expires_at=expires))
            if self._hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self._hasher.hash(data.password)
            uow.commit()
            return TokenOut(
                token=token,
                token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
                expires_at=expires,
                user=user_out(user),
            )

    def hash_password(self, password: str) -> str:
        return self._hasher.hash(password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def logout(self, token: str) -> None:
        with UnitOfWork(self._sessions) as uow:
            uow.session.execute(
                update(ApiToken)
                .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            uow.commit()

    def authenticate(self, token: str) -> CurrentUser | None:
        # Every authenticated request pays for this: one prebuilt columns-only statement on
        # a plain connection (no Session, no ORM objects).
        with self._token_reader.connect() as conn:
            return self.authenticate_on(conn, token)

    @staticmethod
    def authenticate_on(conn: Connection, token: str) -> CurrentUser | None:
        """`authenticate` on a connection the caller holds (inside its transaction)."""
        row = conn.execute(AUTHENTICATE, token_params(token)).one_or_none()
        return None if row is None else current_user_of(row._mapping)

    # -- profiles ---------------------------------------------------------------------
    def me(self, user: CurrentUser) -> UserOut:
        with self._sessions() as s:
            u = s.get(User, user.id)
            if u is None:
                raise NotFound("no such user")
            return user_out(u)

    def update_profile(self, user: CurrentUser, data: ProfileInput) -> UserOut:
        if user.role is not Role.SOLVER:
            raise Forbidden("only solvers have a solver profile", rule="role")
        with UnitOfWork(self._sessions) as uow:
            u = uow.session.get(User, user.id)
            assert u is not None
            p = u.profile or SolverProfile(user_id=u.id)
            p.headline_zh, p.headline_en = data.headline_zh, data.headline_en
            p.skills = _dedupe(data.skills)
            p.fields = [str(f) for f in _dedupe(data.fields)]
            p.bio_zh, p.bio_en = data.bio_zh, data.bio_en
            p.languages = [str(x) for x in _dedupe(data.languages)]
            p.district = data.district
            u.profile = p
            uow.session.flush()
            uow.record(
                actor_id=user.id,
                entity="solver_profile",
                entity_id=u.id,
                action="update",
                event=SolverProfileChanged(user_id=u.id),
            )
            uow.commit()
            return user_out(u)

    def get_solver(self, solver_id: int) -> SolverOut:
        with self._sessions() as s:
            u = s.get(User, solver_id)
            if u is None or u.role != Role.SOLVER:
                raise NotFound("no such solver", field="solver_id")
            return SolverOut(
                id=u.id,
                display_name=u.display_name,
                organisation=organisation_out(u.organisation),
                profile=profile_out(u.profile),
            )


def _kinds(role: Role) -> list[str]:
    return [str(k) if k else "none" for k in ROLE_ORG_KINDS[role]]


T = TypeVar("T")


def _dedupe(items: list[T]) -> list[T]:
    seen: set[object] = set()
    out = []
    for x in items:
        key = x.strip().lower() if isinstance(x, str) else x
        if key not in seen:
            seen.add(key)
            out.append(x.strip() if isinstance(x, str) else x)
    return out
