from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from market.accounts.domain import CurrentUser, OrgKind, Role
from market.accounts.schemas import (
    AdminCreateUserInput,
    LoginInput,
    OrganisationInput,
    OrganisationOut,
    ProfileInput,
    RegisterInput,
    SolverOut,
    TokenOut,
    UserOut,
)
from market.accounts.service import AccountService, organisation_out
from market.http import PathId, bearer_token, require_role


class AuthController(Controller):
    path = "/auth"
    tags = ["accounts"]

    @post("/register", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def register(self, data: RegisterInput, accounts: AccountService) -> UserOut:
        """Register as a poster (with a new enterprise) or a solver (optionally with a lab)."""
        return accounts.register(data)

    @post("/login", status_code=200, sync_to_thread=True)
    def login(
        self, data: LoginInput, accounts: AccountService, request: Request[Any, Any, Any]
    ) -> TokenOut:
        """Exchange e-mail and password for a bearer token. Repeated failures get 429."""
        ip = request.client.host if request.client else ""
        return accounts.login(data, ip)

    @post(
        "/logout", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True, security=[{"bearer": []}]
    )
    def logout(
        self, user: CurrentUser, accounts: AccountService, request: Request[Any, Any, Any]
    ) -> None:
        token = bearer_token(request)
        if token:
            accounts.logout(token)


class MeController(Controller):
    path = "/me"
    tags = ["accounts"]
    security = [{"bearer": []}]

    @get("/", sync_to_thread=True)
    def me(self, user: CurrentUser, accounts: AccountService) -> UserOut:
        return accounts.me(user)

    @put("/profile", sync_to_thread=True)
    def update_profile(
        self, data: ProfileInput, user: CurrentUser, accounts: AccountService
    ) -> UserOut:
        """Replace the caller's solver profile (solvers only)."""
        return accounts.update_profile(user, data)


class SolverController(Controller):
    path = "/solvers"
    tags = ["accounts"]

    @get("/{solver_id:int}", sync_to_thread=True)
    def get_solver(self, solver_id: PathId, accounts: AccountService) -> SolverOut:
        return accounts.get_solver(solver_id)


class AdminAccountsController(Controller):
    path = "/admin"
    tags = ["admin"]
    security = [{"bearer": []}]

    @post("/users", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create_user(
        self, data: AdminCreateUserInput, user: CurrentUser, accounts: AccountService
    ) -> UserOut:
        """Create any user, officials and admins included (admins only)."""
        require_role(user, Role.ADMIN)
        return accounts.create_user(data, user)

    @post("/organisations", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create_organisation(
        self, data: OrganisationInput, user: CurrentUser, accounts: AccountService
    ) -> OrganisationOut:
        """Create an organisation of any kind, e.g. a district office (admins only)."""
        require_role(user, Role.ADMIN)
        org = accounts.create_organisation(
            OrgKind(data.kind), data.name_zh, data.name_en, data.district, user.id
        )
        out = organisation_out(org)
        assert out is not None
        return out
