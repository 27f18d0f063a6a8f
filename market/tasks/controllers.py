from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from litestar import Controller, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery, Parameter
from litestar.status_codes import HTTP_201_CREATED

from market.accounts.domain import CurrentUser
from market.catalogue import District, Industry, Zone
from market.errors import InvalidInput
from market.http import PageNumber, PageSize, PathId
from market.schemas import MAX_AMOUNT_MINOR, MAX_ID, NO_NUL, Page
from market.tasks.domain import BiddingMode, TaskStatus
from market.tasks.schemas import (
    AttachmentOut,
    CancelInput,
    TaskInput,
    TaskOut,
    TaskPatch,
    TaskSummaryOut,
)
from market.tasks.service import SORTS, TaskFilters, TaskService

# The bounds sit on the optional type: on an `Annotated[int, ...] | None` Litestar documents
# them but does not enforce them (and an out-of-range integer overflows the database driver).
BudgetFilter = Annotated[int | None, Parameter(ge=0, le=MAX_AMOUNT_MINOR)]


class TaskController(Controller):
    path = "/tasks"
    tags = ["tasks"]

    @get("/", sync_to_thread=True)
    def list_tasks(
        self,
        tasks: TaskService,
        optional_user: CurrentUser | None,
        status: FromQuery[TaskStatus | None] = None,
        industry: FromQuery[Industry | None] = None,
        district: FromQuery[District | None] = None,
        zone: FromQuery[Zone | None] = None,
        skill: Annotated[str | None, Parameter(max_length=60, pattern=NO_NUL)] = None,
        min_budget: BudgetFilter = None,
        max_budget: BudgetFilter = None,
        trl: Annotated[int | None, Parameter(ge=1, le=9)] = None,
        bidding_mode: FromQuery[BiddingMode | None] = None,
        q: Annotated[str | None, Parameter(max_length=100, pattern=NO_NUL)] = None,
        mine: FromQuery[bool] = False,
        org_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        sort: Annotated[
            str, Parameter(description=f"one of {', '.join(SORTS)}", max_length=20)
        ] = "-published_at",
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> Page[TaskSummaryOut]:
        """Published tasks by default; `mine=true` lists the caller's organisation's, drafts included."""
        f = TaskFilters(
            status=status,
            industry=industry,
            district=district,
            zone=zone,
            skill=skill,
            min_budget=min_budget,
            max_budget=max_budget,
            trl=trl,
            bidding_mode=bidding_mode,
            q=q,
            mine=mine,
            org_id=org_id,
            sort=sort,
        )
        return tasks.list(optional_user, f, page, page_size)

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True, security=[{"bearer": []}])
    def create_task(self, data: TaskInput, user: CurrentUser, tasks: TaskService) -> TaskOut:
        """Create a draft task (posters for their enterprise, officials for their district)."""
        return tasks.create(user, data)

    @get("/{task_id:int}", sync_to_thread=True)
    def get_task(
        self, task_id: PathId, tasks: TaskService, optional_user: CurrentUser | None
    ) -> TaskOut:
        return tasks.get(optional_user, task_id)

    @patch("/{task_id:int}", sync_to_thread=True, security=[{"bearer": []}])
    def edit_task(
        self, task_id: PathId, data: TaskPatch, user: CurrentUser, tasks: TaskService
    ) -> TaskOut:
        """Edit a task; once bids exist, no budget cut, no earlier deadline, no change of terms."""
        return tasks.edit(user, task_id, data)

    @post("/{task_id:int}/publish", status_code=200, sync_to_thread=True, security=[{"bearer": []}])
    def publish_task(self, task_id: PathId, user: CurrentUser, tasks: TaskService) -> TaskOut:
        return tasks.publish(user, task_id)

    @post(
        "/{task_id:int}/close-bidding",
        status_code=200,
        sync_to_thread=True,
        security=[{"bearer": []}],
    )
    def close_bidding(self, task_id: PathId, user: CurrentUser, tasks: TaskService) -> TaskOut:
        return tasks.close_bidding(user, task_id)

    @post("/{task_id:int}/cancel", status_code=200, sync_to_thread=True, security=[{"bearer": []}])
    def cancel_task(
        self, task_id: PathId, data: CancelInput, user: CurrentUser, tasks: TaskService
    ) -> TaskOut:
        return tasks.cancel(user, task_id, data.reason)

    @post("/{task_id:int}/nda", status_code=200, sync_to_thread=True, security=[{"bearer": []}])
    def accept_nda(self, task_id: PathId, user: CurrentUser, tasks: TaskService) -> TaskOut:
        """Accept the task's NDA: its details and files become visible to the caller."""
        return tasks.accept_nda(user, task_id)

    @post(
        "/{task_id:int}/attachments",
        status_code=HTTP_201_CREATED,
        sync_to_thread=True,
        security=[{"bearer": []}],
    )
    def add_attachment(
        self,
        task_id: PathId,
        data: Annotated[dict[str, UploadFile], Body(media_type=RequestEncodingType.MULTI_PART)],
        user: CurrentUser,
        tasks: TaskService,
    ) -> AttachmentOut:
        """Attach one file part (PDF, image, text, CSV, ZIP or Office; size limit in settings)."""
        # A dict, not a bare UploadFile: Litestar fails with a 500 on a form without a file part.
        if len(data) != 1:
            raise InvalidInput(
                "send exactly one file part",
                field="file",
                rule="required" if not data else "one_file",
            )
        upload = next(iter(data.values()))
        content = upload.file.read()
        return tasks.add_attachment(user, task_id, upload.filename, upload.content_type, content)

    @get("/{task_id:int}/attachments/{attachment_id:int}", sync_to_thread=True)
    def download_attachment(
        self,
        task_id: PathId,
        attachment_id: PathId,
        tasks: TaskService,
        optional_user: CurrentUser | None,
    ) -> Response[bytes]:
        att, content = tasks.get_attachment(optional_user, task_id, attachment_id)
        return Response(
            content,
            media_type=att.content_type,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(att.filename, safe='')}",
                "X-Content-SHA256": att.sha256,
            },
        )
