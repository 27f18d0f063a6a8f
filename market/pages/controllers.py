"""The server-rendered web pages: thin like the API's controllers. Each page calls the same
service as its API twin with the viewer from the session cookie, so the services' own
checks decide who sees and does what; the templates only show what the services return.

POST forms answer 303 (post/redirect/get). A refusal from a service keeps the API's
status (403, 404, 409, 422) and shows it as an error page; a page that needs a log-in
sends the anonymous visitor to the log-in form instead of a 401.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode, urlsplit

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, FromQuery, Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from market.accounts.domain import CurrentUser, Role
from market.accounts.schemas import LoginInput
from market.accounts.service import AccountService
from market.bids.domain import LIVE_BID_STATUSES, TRANSITIONS, BidStatus
from market.bids.schemas import BidInput, BidOut, DeclineInput
from market.bids.service import BidService
from market.contracts.domain import DisputeStatus
from market.contracts.schemas import (
    DisputeInput,
    DisputeOut,
    MilestoneOut,
    RatingInput,
    ResolveDisputeInput,
    RevisionInput,
)
from market.contracts.service import ContractService
from market.discovery.schemas import MAX_QUERY_LENGTH, NO_CONTROL
from market.discovery.service import DiscoveryService, TaskSearch
from market.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
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
from market.tasks.domain import TaskStatus
from market.tasks.schemas import TaskOut
from market.tasks.service import TaskService, can_manage, posts_for

log = logging.getLogger(__name__)

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
SearchBox = Annotated[str, Parameter(max_length=MAX_QUERY_LENGTH, pattern=NO_CONTROL)]
PAGE_SIZE = 20
MATCH_LIMIT = 20
InputT = TypeVar("InputT")
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
        self,
        request: Request[Any, Any, Any],
        viewer: CurrentUser | None,
        next: FromQuery[str | None] = None,
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
        bids: BidService,
    ) -> Template:
        """The task; for a solver, their live bid (with withdraw) or the bid form."""
        return render(
            request, viewer, "task.html", **_task_context(viewer, tasks.get(viewer, task_id), bids)
        )

    @post("/{task_id:int}/bids", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def place_bid(
        self,
        request: Request[Any, Any, Any],
        task_id: PathId,
        data: Form,
        viewer: CurrentUser | None,
        tasks: TaskService,
        bids: BidService,
    ) -> Response[Any]:
        """POST /tasks/{id}/bids from the form. A bid the service (or the form's own
        parsing) refuses as invalid or conflicting comes back next to the form with the
        values typed, nothing written; a refusal of the caller (403/404) is an error page."""
        user = need_login(viewer)
        try:
            bids.place(user, task_id, bid_input(data))
        except (Forbidden, NotFound, Unauthenticated):
            raise
        except DomainError as exc:
            context = _task_context(viewer, tasks.get(viewer, task_id), bids)
            context.update(bid_error=exc, form=data)
            return render(request, viewer, "task.html", status_code=exc.status_code, **context)
        return see_other(f"{PAGES_PATH}/tasks/{task_id}")

    @get("/{task_id:int}/bids", sync_to_thread=True)
    def task_bids(
        self,
        request: Request[Any, Any, Any],
        task_id: PathId,
        viewer: CurrentUser | None,
        tasks: TaskService,
        bids: BidService,
        contracts: ContractService,
    ) -> Template:
        """The bids as GET /tasks/{id}/bids shows them to the viewer (the poster sees all),
        with the review actions the bid's state allows to this viewer."""
        user = need_login(viewer)
        task = tasks.get(user, task_id)
        listed = bids.list_for_task(user, task_id)
        manages = can_manage(user, task)
        awards = posts_for(user, task)  # ContractService.award's rule
        actions = {
            b.id: [
                action
                for action, allowed in (
                    ("shortlist", manages),
                    ("decline", manages),
                    ("award", awards),
                )
                if allowed and BidStatus(b.status) in TRANSITIONS[action][0]
            ]
            for b in listed
        }
        awarded = {b.id for b in listed if b.status == BidStatus.AWARDED}
        # The contract of an awarded bid, where the viewer is one of its parties.
        contract_of = (
            {c.bid_id: c.id for c in contracts.list_mine(user) if c.bid_id in awarded}
            if awarded
            else {}
        )
        return render(
            request,
            viewer,
            "bids.html",
            task=task,
            bids=listed,
            actions=actions,
            contract_of=contract_of,
        )


# -- bids ----------------------------------------------------------------------------------------

# A due date typed as a day means the start of that day in Beijing time (UTC+8): a
# milestone due on the delivery deadline's (UTC) date is then never after the deadline.
BEIJING = timezone(timedelta(hours=8))
MAX_PLAN_ROWS = 3  # the form's milestone rows (the API takes up to 20)
_YUAN = re.compile(r"(\d{1,13})(?:\.(\d+))?")
_WHOLE = re.compile(r"\d{1,9}")


def yuan_to_fen(text: str, field: str) -> int:
    """Yuan as fen, "1234.5" -> 123450, exactly (no floats); more than 2 decimals is refused
    rather than rounded, since a fen is the smallest amount the escrow moves."""
    m = _YUAN.fullmatch(text.strip().replace(",", ""))
    if m is None:
        raise InvalidInput(
            f"{field}: an amount in yuan, e.g. 12345.67", field=field, rule="yuan_amount"
        )
    whole, fraction = m.group(1), m.group(2) or ""
    if len(fraction) > 2:
        raise InvalidInput(
            f"{field}: at most 2 decimals (1 fen = 0.01 yuan)", field=field, rule="fen_precision"
        )
    return int(whole) * 100 + int(fraction.ljust(2, "0"))


def _whole_number(text: str, field: str) -> int:
    if _WHOLE.fullmatch(text.strip()) is None:
        raise InvalidInput(f"{field}: a whole number", field=field, rule="whole_number")
    return int(text.strip())


def _due(text: str, field: str) -> datetime:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{field}: a date (YYYY-MM-DD)", field=field, rule="date") from None
    return datetime.combine(day, time(0), tzinfo=BEIJING)


def bid_input(form: dict[str, str]) -> BidInput:
    """The bid form as the API's BidInput; the plan's rules (the sum equals the price,
    due dates in order and within the deadline) are the service's to check."""
    milestones: list[dict[str, object]] = []
    for i in range(1, MAX_PLAN_ROWS + 1):
        title, amount, due = (form.get(f"m{i}_{k}", "").strip() for k in ("title", "amount", "due"))
        if not (title or amount or due) and i > 1:
            continue  # an empty extra row
        milestones.append(
            {
                "title": title,
                "amount_minor": yuan_to_fen(amount, f"milestones[{i - 1}].amount"),
                "due": _due(due, f"milestones[{i - 1}].due"),
            }
        )
    try:
        return msgspec.convert(
            {
                "price_minor": yuan_to_fen(form.get("price", ""), "price"),
                "duration_days": _whole_number(form.get("duration_days", ""), "duration_days"),
                "proposal": form.get("proposal", ""),
                "milestones": milestones,
            },
            BidInput,
        )
    except msgspec.ValidationError as exc:
        raise DomainError(str(exc), rule="invalid_form") from exc  # the API's 400


def _task_context(viewer: CurrentUser | None, task: TaskOut, bids: BidService) -> dict[str, Any]:
    my_bid: BidOut | None = None
    if viewer is not None and viewer.role is Role.SOLVER:
        mine = [b for b in bids.list_for_task(viewer, task.id) if b.solver_id == viewer.id]
        my_bid = next((b for b in reversed(mine) if b.status in LIVE_BID_STATUSES), None)
    open_for_bids = task.status == TaskStatus.PUBLISHED and task.bid_deadline > datetime.now(UTC)
    return {
        "task": task,
        "my_bid": my_bid,
        "can_withdraw": my_bid is not None
        and open_for_bids
        and BidStatus(my_bid.status) in TRANSITIONS["withdraw"][0],
        # The form is offered where BidService.place could accept it: a solver without a
        # live bid, bidding open, the details visible (the NDA); the service still decides.
        "bid_form": viewer is not None
        and viewer.role is Role.SOLVER
        and my_bid is None
        and open_for_bids
        and task.details_visible,
        "manages": can_manage(viewer, task),
        "plan_rows": range(1, MAX_PLAN_ROWS + 1),
        "form": {},
        "bid_error": None,
    }


class BidPages(Controller):
    path = "/bids/{bid_id:int}"

    @post("/withdraw", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def withdraw(self, bid_id: PathId, viewer: CurrentUser | None, bids: BidService) -> Redirect:
        bid = bids.withdraw(need_login(viewer), bid_id)
        return see_other(f"{PAGES_PATH}/tasks/{bid.task_id}")

    @post("/shortlist", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def shortlist(self, bid_id: PathId, viewer: CurrentUser | None, bids: BidService) -> Redirect:
        bid = bids.shortlist(need_login(viewer), bid_id)
        return see_other(f"{PAGES_PATH}/tasks/{bid.task_id}/bids")

    @post("/decline", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def decline(
        self, bid_id: PathId, data: Form, viewer: CurrentUser | None, bids: BidService
    ) -> Redirect:
        """Decline with a reason the bidder sees (POST /bids/{id}/decline)."""
        user = need_login(viewer)
        try:
            reason = msgspec.convert({"reason": data.get("reason", "").strip()}, DeclineInput)
        except msgspec.ValidationError as exc:
            raise DomainError(f"a reason is needed: {exc}", field="reason") from exc
        bid = bids.decline(user, bid_id, reason.reason)
        return see_other(f"{PAGES_PATH}/tasks/{bid.task_id}/bids")

    @post("/award", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def award(
        self,
        bid_id: PathId,
        data: Form,
        viewer: CurrentUser | None,
        contracts: ContractService,
    ) -> Redirect:
        """POST /bids/{id}/award: the poster accepts the IP and NDA terms (the checkbox)."""
        contract = contracts.award(need_login(viewer), bid_id, data.get("accept_terms") == "yes")
        return see_other(f"{PAGES_PATH}/tasks/{contract.task_id}/bids")


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
        return render(
            request,
            viewer,
            "contract.html",
            **_contract_context(user, contract_id, contracts, tasks),
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

    @post(f"{MILESTONE}/request-revision", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def request_revision(
        self,
        request: Request[Any, Any, Any],
        contract_id: PathId,
        milestone_id: PathId,
        data: Form,
        viewer: CurrentUser | None,
        contracts: ContractService,
        tasks: TaskService,
    ) -> Response[Any]:
        """The poster sends a submitted milestone back with a comment the solver sees next
        to the submission (POST .../request-revision)."""
        user = need_login(viewer)

        def act() -> None:
            comment = form_input(RevisionInput, comment=data.get("comment", "").strip()).comment
            contracts.request_revision(user, contract_id, milestone_id, comment)

        return _contract_action(request, user, contract_id, contracts, tasks, act)

    @post(f"{MILESTONE}/disputes", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def open_dispute(
        self,
        request: Request[Any, Any, Any],
        contract_id: PathId,
        milestone_id: PathId,
        data: Form,
        viewer: CurrentUser | None,
        contracts: ContractService,
        tasks: TaskService,
    ) -> Response[Any]:
        """Either party disputes a delivered milestone; an admin decides it."""
        user = need_login(viewer)

        def act() -> None:
            reason = form_input(DisputeInput, reason=data.get("reason", "").strip()).reason
            contracts.open_dispute(user, contract_id, milestone_id, reason)

        return _contract_action(request, user, contract_id, contracts, tasks, act)

    @post("/{contract_id:int}/ratings", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def rate(
        self,
        request: Request[Any, Any, Any],
        contract_id: PathId,
        data: Form,
        viewer: CurrentUser | None,
        contracts: ContractService,
        tasks: TaskService,
    ) -> Response[Any]:
        """Each party rates the other once the contract is completed (1-5, a comment)."""
        user = need_login(viewer)

        def act() -> None:
            rating = form_input(
                RatingInput,
                score=_whole_number(data.get("score", ""), "score"),
                comment=data.get("comment", "").strip(),
            )
            contracts.rate(user, contract_id, rating.score, rating.comment)

        return _contract_action(request, user, contract_id, contracts, tasks, act)


def form_input(schema: type[InputT], **fields: object) -> InputT:
    """A form's fields as the API's input struct, its limits checked the same way; a
    value the struct refuses is the API's 400."""
    try:
        return msgspec.convert(fields, schema)
    except msgspec.ValidationError as exc:
        raise DomainError(str(exc), rule="invalid_form") from exc


def _contract_context(
    user: CurrentUser, contract_id: int, contracts: ContractService, tasks: TaskService
) -> dict[str, Any]:
    contract = contracts.get(user, contract_id)
    return {
        "contract": contract,
        "task_title": _task_title(tasks, user, contract.task_id),
        "escrow": {e.milestone_id: e for e in contracts.escrow(user, contract_id)},
        "submissions": {
            m.id: contracts.submissions(user, contract_id, m.id) for m in contract.milestones
        },
        "actions": contracts.actions(user, contract_id),
        "ratings": contracts.ratings(user, contract_id),
        "action_error": None,
    }


def _contract_action(
    request: Request[Any, Any, Any],
    user: CurrentUser,
    contract_id: int,
    contracts: ContractService,
    tasks: TaskService,
    act: Callable[[], None],
) -> Response[Any]:
    """Run one form's action on a contract, then back to its page; a refusal other than
    403/404/log-in comes back on the page (see `_contract_refusal`)."""
    try:
        act()
    except (Forbidden, NotFound, Unauthenticated):
        raise
    except DomainError as exc:
        return _contract_refusal(request, user, contract_id, contracts, tasks, exc)
    return see_other(f"{PAGES_PATH}/contracts/{contract_id}")


def _contract_refusal(
    request: Request[Any, Any, Any],
    user: CurrentUser,
    contract_id: int,
    contracts: ContractService,
    tasks: TaskService,
    exc: DomainError,
) -> Template:
    """A refused action comes back on the contract page with the service's message (and
    the API's status), nothing written; 403 and 404 stay error pages, as for the bids."""
    context = _contract_context(user, contract_id, contracts, tasks)
    context["action_error"] = exc
    return render(request, user, "contract.html", status_code=exc.status_code, **context)


# -- admin: disputes ------------------------------------------------------------------------


class DisputeAdminPages(Controller):
    path = "/admin/disputes"

    @get("/", sync_to_thread=True)
    def open_disputes(
        self,
        request: Request[Any, Any, Any],
        viewer: CurrentUser | None,
        contracts: ContractService,
    ) -> Template:
        """GET /admin/disputes?status=open, each with its resolve form (admins only)."""
        return render(
            request, viewer, "disputes.html", **_disputes_context(need_login(viewer), contracts)
        )

    @post("/{dispute_id:int}/resolve", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
    def resolve(
        self,
        request: Request[Any, Any, Any],
        dispute_id: PathId,
        data: Form,
        viewer: CurrentUser | None,
        contracts: ContractService,
    ) -> Response[Any]:
        """Release, refund, or split by a percentage to the solver; the escrow moves the
        money in the background, as after the API's resolve."""
        user = need_login(viewer)
        try:
            share = data.get("solver_share_pct", "").strip()
            decision = form_input(
                ResolveDisputeInput,
                outcome=data.get("outcome", ""),
                # The percentage field is ignored unless splitting (the API refuses it then).
                solver_share_pct=_whole_number(share, "solver_share_pct")
                if data.get("outcome") == "split" and share
                else None,
                note=data.get("note", "").strip(),
            )
            contracts.resolve_dispute(user, dispute_id, decision)
        except (Forbidden, NotFound, Unauthenticated):
            raise
        except DomainError as exc:
            context = _disputes_context(user, contracts)
            context["action_error"] = exc
            return render(request, viewer, "disputes.html", status_code=exc.status_code, **context)
        return see_other(f"{PAGES_PATH}/admin/disputes")


def _disputes_context(user: CurrentUser, contracts: ContractService) -> dict[str, Any]:
    disputes: list[DisputeOut] = contracts.disputes(user, DisputeStatus.OPEN)
    # The disputed milestone's title and amount, from its contract (one look-up each).
    milestones: dict[int, MilestoneOut] = {}
    for contract_id in {d.contract_id for d in disputes}:
        for m in contracts.get(user, contract_id).milestones:
            milestones[m.id] = m
    return {"disputes": disputes, "milestones": milestones, "action_error": None}


def _task_title(tasks: TaskService, viewer: CurrentUser | None, task_id: int) -> tuple[str, str]:
    task = tasks.get(viewer, task_id)
    return task.title_zh, task.title_en
