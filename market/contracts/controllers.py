from __future__ import annotations

from typing import Any
from urllib.parse import quote

from anyio.to_thread import run_sync
from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from market.accounts.domain import CurrentUser
from market.contracts.domain import DisputeStatus
from market.contracts.schemas import (
    AcceptContractInput,
    CancelContractInput,
    ContractOut,
    DisputeInput,
    DisputeOut,
    EscrowOut,
    RatingInput,
    RatingOut,
    ResolveDisputeInput,
    RevisionInput,
    SubmissionOut,
)
from market.contracts.service import ContractService, UploadedFile
from market.errors import InvalidInput
from market.http import PathId

MILESTONE = "/{contract_id:int}/milestones/{milestone_id:int}"


class ContractController(Controller):
    path = "/contracts"
    tags = ["contracts"]
    security = [{"bearer": []}]

    @get("/", sync_to_thread=True)
    def my_contracts(self, user: CurrentUser, contracts: ContractService) -> list[ContractOut]:
        """Contracts where the caller is the solver or the posting organisation."""
        return contracts.list_mine(user)

    @get("/{contract_id:int}", sync_to_thread=True)
    def get_contract(
        self, contract_id: PathId, user: CurrentUser, contracts: ContractService
    ) -> ContractOut:
        return contracts.get(user, contract_id)

    @post("/{contract_id:int}/accept", status_code=HTTP_200_OK, sync_to_thread=True)
    def accept_contract(
        self,
        contract_id: PathId,
        data: AcceptContractInput,
        user: CurrentUser,
        contracts: ContractService,
    ) -> ContractOut:
        """The awarded solver accepts the IP and NDA terms; work starts."""
        return contracts.accept(user, contract_id, data.accept_terms)

    @post("/{contract_id:int}/cancel", status_code=HTTP_200_OK, sync_to_thread=True)
    def cancel_contract(
        self,
        contract_id: PathId,
        data: CancelContractInput,
        user: CurrentUser,
        contracts: ContractService,
    ) -> ContractOut:
        """The poster cancels before the remaining work is delivered; held money goes back."""
        return contracts.cancel(user, contract_id, data.reason)

    @get("/{contract_id:int}/escrow", sync_to_thread=True)
    def contract_escrow(
        self, contract_id: PathId, user: CurrentUser, contracts: ContractService
    ) -> list[EscrowOut]:
        """What is held, released and refunded for each milestone."""
        return contracts.escrow(user, contract_id)

    @post(f"{MILESTONE}/fund", status_code=HTTP_200_OK, sync_to_thread=True)
    def fund_milestone(
        self,
        contract_id: PathId,
        milestone_id: PathId,
        user: CurrentUser,
        contracts: ContractService,
    ) -> ContractOut:
        """Ask for a milestone's money again (after a declined payment)."""
        return contracts.request_funding(user, contract_id, milestone_id)

    @post(f"{MILESTONE}/submissions", status_code=HTTP_201_CREATED)
    async def submit_deliverable(
        self,
        contract_id: PathId,
        milestone_id: PathId,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        contracts: ContractService,
    ) -> SubmissionOut:
        """Submit a deliverable as multipart form data: a `note` and zero or more `files`.

        Every version is kept with its SHA-256 and timestamp as proof of priority.
        """
        form = await request.form()
        note = form.get("note", "")
        if not isinstance(note, str):
            raise InvalidInput("note is text", field="note", rule="type")
        uploads = []
        for item in form.getall("files") if "files" in form else []:
            if isinstance(item, str):
                raise InvalidInput("files are file parts", field="files", rule="type")
            uploads.append(
                UploadedFile(item.filename or "", item.content_type or "", await item.read())
            )
        unknown = set(form.keys()) - {"note", "files"}
        if unknown:
            raise InvalidInput(
                f"unknown form field {sorted(unknown)[0]!r}",
                field=sorted(unknown)[0],
                rule="unknown_field",
            )
        return await run_sync(
            lambda: contracts.submit(user, contract_id, milestone_id, note, uploads)
        )

    @get(f"{MILESTONE}/submissions", sync_to_thread=True)
    def list_submissions(
        self,
        contract_id: PathId,
        milestone_id: PathId,
        user: CurrentUser,
        contracts: ContractService,
    ) -> list[SubmissionOut]:
        return contracts.submissions(user, contract_id, milestone_id)

    @get("/{contract_id:int}/files/{file_id:int}", sync_to_thread=True)
    def download_file(
        self, contract_id: PathId, file_id: PathId, user: CurrentUser, contracts: ContractService
    ) -> Response[bytes]:
        f, content = contracts.submission_file(user, contract_id, file_id)
        return Response(
            content,
            media_type=f.content_type,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(f.filename, safe='')}",
                "X-Content-SHA256": f.sha256,
            },
        )

    @post(f"{MILESTONE}/accept", status_code=HTTP_200_OK, sync_to_thread=True)
    def accept_milestone(
        self,
        contract_id: PathId,
        milestone_id: PathId,
        user: CurrentUser,
        contracts: ContractService,
    ) -> ContractOut:
        return contracts.accept_milestone(user, contract_id, milestone_id)

    @post(f"{MILESTONE}/request-revision", status_code=HTTP_200_OK, sync_to_thread=True)
    def request_revision(
        self,
        contract_id: PathId,
        milestone_id: PathId,
        data: RevisionInput,
        user: CurrentUser,
        contracts: ContractService,
    ) -> ContractOut:
        return contracts.request_revision(user, contract_id, milestone_id, data.comment)

    @post(f"{MILESTONE}/disputes", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def open_dispute(
        self,
        contract_id: PathId,
        milestone_id: PathId,
        data: DisputeInput,
        user: CurrentUser,
        contracts: ContractService,
    ) -> DisputeOut:
        return contracts.open_dispute(user, contract_id, milestone_id, data.reason)

    @post("/{contract_id:int}/ratings", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def rate(
        self, contract_id: PathId, data: RatingInput, user: CurrentUser, contracts: ContractService
    ) -> RatingOut:
        """Rate the other party (1-5) once the contract is completed."""
        return contracts.rate(user, contract_id, data.score, data.comment)


class DisputeAdminController(Controller):
    path = "/admin/disputes"
    tags = ["admin"]
    security = [{"bearer": []}]

    @get("/", sync_to_thread=True)
    def list_disputes(
        self,
        user: CurrentUser,
        contracts: ContractService,
        status: FromQuery[DisputeStatus | None] = None,
    ) -> list[DisputeOut]:
        return contracts.disputes(user, status)

    @post("/{dispute_id:int}/resolve", status_code=HTTP_200_OK, sync_to_thread=True)
    def resolve(
        self,
        dispute_id: PathId,
        data: ResolveDisputeInput,
        user: CurrentUser,
        contracts: ContractService,
    ) -> DisputeOut:
        """Decide a dispute: release, refund, or split by percentage (admins only)."""
        return contracts.resolve_dispute(user, dispute_id, data)
