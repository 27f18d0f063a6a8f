"""The server-rendered web pages: thin like the API's controllers. Each page calls the same
service as its API twin with the viewer from the session cookie, so the services' own
checks decide who sees and does what; the templates only show what the services return.

POST forms answer 303 (post/redirect/get). A refusal from a service keeps the API's
status (403, 404, 409, 422) and shows it as an error page; a page that needs a log-in
sends the anonymous visitor to the log-in form instead of a 401.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from market.accounts.domain import CurrentUser
from market.accounts.schemas import LoginInput
from market.accounts.service import AccountService
from market.contracts.service import ContractService
from market.discovery.schemas import MAX_QUERY_LENGTH, NO_CONTROL
from market.discovery.service import DiscoveryService, TaskSearch
from market.errors import DomainError, InvalidInput, TooManyRequests, Unauthenticated
from market.http import PageNumber, PathId
from market.notifications.service import NotificationService
from market.pages.i18n import LANGUAGES, Labels, money, pick_language
from market.pages.session import (
    LANG_COOKIE,
    PAGES_PATH,
    cleared_session_cookie,
    safe_next,
    session_cookie,
    session_token,
)
from market.settings import Settings
from market.tasks.service import TaskService

log = logging.getLogger(__name__)

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
SearchBox = Annotated[str, Parameter(max_length=MAX_QUERY_LENGTH, pattern=NO_CONTROL)]
PAGE_SIZE = 20
MATCH_LIMIT = 20
YEAR_S = 365 * 24 * 3600


# -- rendering ---------------------------------------------------------------------------


def page_language(request: Request[Any, Any, Any], viewer: CurrentUser | None) -> str:
    return pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        str(viewer.language) if viewer else None,
    )


def render(
    request: Request[Any, Any, Any],
    viewer: CurrentUser | None,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    lang = page_language(request, viewer)
    other = "en" if lang == "zh" else "zh"
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    cookies = []
    if request.query_params.get("lang") in LANGUAGES:  # the switch is remembered
        cookies.append(
            Cookie(key=LANG_COOKIE, value=lang, path=PAGES_PATH, max_age=YEAR_S, samesite="lax")
        )
    return Template(
        template_name=template,
        status_code=status_code,
        headers=headers,
        cookies=cookies,
        context={
            "t": Labels(lang),
            "lang": lang,
            "switch_url": f"{request.url.path}?{urlencode({**query, 'lang': other})}",
            "viewer": viewer,
            "money": money,
            **context,
        },
    )


def see_other(path: str) -> Redirect:
    return Redirect(path, status_code=HTTP_303_SEE_OTHER)


def need_login(viewer: CurrentUser | None) -> CurrentUser:
    if viewer is None:
        raise Unauthenticated("log in to see this page")
    return viewer


def page_link(api_link: str) -> str | None:
    """A notification's API link as the page showing the same thing, where there is one."""
    parts = api_link.strip("/").split("/")
    if len(parts) >= 2 and parts[0] in ("contracts", "tasks") and parts[1].isdigit():
        return f"{PAGES_PATH}/{parts[0]}/{parts[1]}"
    return None


def page_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors on the pages are pages too (the API keeps its problem documents)."""
    if isinstance(exc, Unauthenticated):
        target = request.url.path
        if request.url.query:
            target += f"?{request.url.query}"
        query = urlencode({"next": target}) if request.method == "GET" else ""
        return see_other(f"{PAGES_PATH}/login" + (f"?{query}" if query else ""))
    headers = None
    if isinstance(exc, DomainError):
        status, message = exc.status_code, exc.detail
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, str(exc.detail)
    else:
        log.exception("unhandled error on page %s", request.url.path, exc_info=exc)
        status, message = 500, "an unexpected error occurred; it has been logged"
    # The viewer is not looked up again here: the error page shows no personal data.
    referer = urlsplit(request.headers.get("referer", ""))
    back = safe_next(referer.path) if referer.netloc == request.url.netloc else None
    return render(
        request,
        None,
        "error.html",
        status_code=status,
        headers=headers,
        status=status,
        message=message,
        back=back,
        error_page=True,
    )


# -- log-in and log-out ------------------------------------------------------------------------


class SessionPages(Controller):
    path = "/"

    @get("/login", sync_to_thread=False)
    def login_form(
        self, request: Request[Any, Any, Any], viewer: CurrentUser | None, next: str | None = None
    ) -> Template:
        return render(request, viewer, "login.html", next=safe_next(next) or "", error=None)

    @post("/login", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def login(
        self,
        request: Request[Any, Any, Any],
        data: Form,
        accounts: AccountService,
        settings: Settings,
    ) -> Response[Any]:
        target = safe_next(data.get("next")) or f"{PAGES_PATH}/tasks"
        try:
            credentials = msgspec.convert(
                {"email": data.get("email", ""), "password": data.get("password", "")},
                LoginInput,
            )
            ip = request.client.host if request.client else ""
            token = accounts.login(credentials, ip)
        except (DomainError, msgspec.ValidationError) as exc:
            status = exc.status_code if isinstance(exc, DomainError) else 400
            if isinstance(exc, InvalidInput | msgspec.ValidationError):
                status = 400
            headers = (
                {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
            )
            return render(
                request,
                None,
                "login.html",
                status_code=status,
                headers=headers,
                next=safe_next(data.get("next")) or "",
                error=str(exc.detail if isinstance(exc, DomainError) else exc),
                email=data.get("email", ""),
            )
        response = see_other(target)
        response.set_cookie(session_cookie(request, token.token, settings.token_ttl_hours * 3600))
        return response

    @post("/logout", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def logout(self, request: Request[Any, Any, Any], accounts: AccountService) -> Response[Any]:
        """Revokes the session's token on the server, then forgets the cookie."""
        token = session_token(request)
        if token:
            accounts.logout(token)
        response = see_other(f"{PAGES_PATH}/login")
        response.set_cookie(cleared_session_cookie(request))
        return response


# -- tasks -----------------------------------------------------------------------------------


class TaskPages(Controller):
    path = "/tasks"

    @get("/", sync_to_thread=True)
    def task_list(
        self,
        request: Request[Any, Any, Any],
        viewer: CurrentUser | None,
        discovery: DiscoveryService,
        q: SearchBox = "",
        page: PageNumber = 1,
    ) -> Template:
        """Published tasks, searched through the search index like GET /search/tasks."""
        found = discovery.search_tasks(TaskSearch(q=q.strip(), page=page, page_size=PAGE_SIZE))
        return render(
            request,
            viewer,
            "tasks.html",
            q=q,
            found=found,
            has_next=page * PAGE_SIZE < found.total,
            prev_url=f"?{urlencode({'q': q, 'page': page - 1})}" if page > 1 else None,
            next_url=f"?{urlencode({'q': q, 'page': page + 1})}",
        )

    @get("/{task_id:int}", sync_to_thread=True)
    def task_page(
        self,
        request: Request[Any, Any, Any],
        task_id: PathId,
        viewer: CurrentUser | None,
        tasks: TaskService,
    ) -> Template:
        return render(request, viewer, "task.html", task=tasks.get(viewer, task_id))


class MatchPages(Controller):
    path = "/for-me"

    @get("/", sync_to_thread=True)
    def tasks_for_me(
        self,
        request: Request[Any, Any, Any],
        viewer: CurrentUser | None,
        discovery: DiscoveryService,
    ) -> Template:
        """为我推荐: GET /match/tasks-for-me with each hit's reasons."""
        matches = discovery.tasks_for_solver(need_login(viewer), MATCH_LIMIT)
        return render(request, viewer, "for_me.html", matches=matches.items)


# -- notifications -----------------------------------------------------------------------------


class InboxPages(Controller):
    path = "/notifications"

    @get("/", sync_to_thread=True)
    def inbox(
        self,
        request: Request[Any, Any, Any],
        viewer: CurrentUser | None,
        notifications: NotificationService,
        page: PageNumber = 1,
    ) -> Template:
        box = notifications.inbox(need_login(viewer), None, page, PAGE_SIZE)
        return render(
            request,
            viewer,
            "inbox.html",
            box=box,
            links={n.id: page_link(n.link) for n in box.items},
            prev_url=f"?{urlencode({'page': page - 1})}" if page > 1 else None,
            next_url=f"?{urlencode({'page': page + 1})}" if page * PAGE_SIZE < box.total else None,
        )

    @post("/{notification_id:int}/read", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def mark_read(
        self,
        notification_id: PathId,
        viewer: CurrentUser | None,
        notifications: NotificationService,
    ) -> Redirect:
        notifications.mark_read(need_login(viewer), notification_id)
        return see_other(f"{PAGES_PATH}/notifications")

    @post("/read-all", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def mark_all_read(
        self, viewer: CurrentUser | None, notifications: NotificationService
    ) -> Redirect:
        notifications.mark_all_read(need_login(viewer))
        return see_other(f"{PAGES_PATH}/notifications")


# -- contracts ---------------------------------------------------------------------------------

MILESTONE = "/{contract_id:int}/milestones/{milestone_id:int}"


class ContractPages(Controller):
    path = "/contracts"

    @get("/", sync_to_thread=True)
    def my_contracts(
        self,
        request: Request[Any, Any, Any],
        viewer: CurrentUser | None,
        contracts: ContractService,
        tasks: TaskService,
    ) -> Template:
        mine = contracts.list_mine(need_login(viewer))
        return render(
            request,
            viewer,
            "contracts.html",
            contracts=mine,
            titles={c.task_id: _task_title(tasks, viewer, c.task_id) for c in mine},
        )

    @get("/{contract_id:int}", sync_to_thread=True)
    def contract_page(
        self,
        request: Request[Any, Any, Any],
        contract_id: PathId,
        viewer: CurrentUser | None,
        contracts: ContractService,
        tasks: TaskService,
    ) -> Template:
        """Milestones with their escrow (funded, released, refunded) and the viewer's
        actions, as GET /contracts/{id}, /escrow and /milestones/{id}/submissions say."""
        user = need_login(viewer)
        contract = contracts.get(user, contract_id)
        escrow = {e.milestone_id: e for e in contracts.escrow(user, contract_id)}
        submissions = {
            m.id: contracts.submissions(user, contract_id, m.id) for m in contract.milestones
        }
        return render(
            request,
            viewer,
            "contract.html",
            contract=contract,
            task_title=_task_title(tasks, viewer, contract.task_id),
            escrow=escrow,
            submissions=submissions,
            actions=contracts.actions(user, contract_id),
        )

    @post("/{contract_id:int}/accept", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def accept_contract(
        self,
        contract_id: PathId,
        data: Form,
        viewer: CurrentUser | None,
        contracts: ContractService,
    ) -> Redirect:
        """The awarded solver accepts the IP and NDA terms (POST /contracts/{id}/accept)."""
        contracts.accept(need_login(viewer), contract_id, data.get("accept_terms") == "yes")
        return see_other(f"{PAGES_PATH}/contracts/{contract_id}")

    @post(f"{MILESTONE}/submissions", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def submit_deliverable(
        self,
        contract_id: PathId,
        milestone_id: PathId,
        data: Form,
        viewer: CurrentUser | None,
        contracts: ContractService,
    ) -> Redirect:
        """A deliverable note (files go through the API's multipart endpoint)."""
        contracts.submit(need_login(viewer), contract_id, milestone_id, data.get("note", ""), [])
        return see_other(f"{PAGES_PATH}/contracts/{contract_id}")

    @post(f"{MILESTONE}/accept", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def accept_milestone(
        self,
        contract_id: PathId,
        milestone_id: PathId,
        viewer: CurrentUser | None,
        contracts: ContractService,
    ) -> Redirect:
        contracts.accept_milestone(need_login(viewer), contract_id, milestone_id)
        return see_other(f"{PAGES_PATH}/contracts/{contract_id}")


def _task_title(tasks: TaskService, viewer: CurrentUser | None, task_id: int) -> tuple[str, str]:
    task = tasks.get(viewer, task_id)
    return task.title_zh, task.title_en
