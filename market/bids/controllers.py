from __future__ import annotations

from litestar import Controller, get, post, put
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from market.accounts.domain import CurrentUser
from market.bids.schemas import AwardInput, BidInput, BidOut, DeclineInput
from market.bids.service import BidService
from market.contracts.schemas import ContractOut
from market.contracts.service import ContractService
from market.http import PathId


class TaskBidController(Controller):
    path = "/tasks/{task_id:int}/bids"
    tags = ["bids"]
    security = [{"bearer": []}]

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def place_bid(
        self,
        task_id: PathId,
        data: BidInput,
        bearer: str,
        bids: BidService,
    ) -> BidOut:
        """Bid on a published task before its deadline; the milestone amounts must sum to the price."""
        # The marketplace's hot path: the token is checked by the statement that locks the
        # task, in this handler's worker thread, rather than by the `user` dependency in a
        # thread and a connection of its own. Anonymous callers still get their 401 first;
        # a wrong token is reported after the body's validation.
        return bids.place_with_token(bearer, task_id, data)

    @get("/", sync_to_thread=True)
    def list_bids(self, task_id: PathId, user: CurrentUser, bids: BidService) -> list[BidOut]:
        return bids.list_for_task(user, task_id)


class BidController(Controller):
    path = "/bids"
    tags = ["bids"]
    security = [{"bearer": []}]

    @get("/", sync_to_thread=True)
    def my_bids(self, user: CurrentUser, bids: BidService) -> list[BidOut]:
        """The caller's own bids, newest first."""
        return bids.list_mine(user)

    @get("/{bid_id:int}", sync_to_thread=True)
    def get_bid(self, bid_id: PathId, user: CurrentUser, bids: BidService) -> BidOut:
        return bids.get(user, bid_id)

    @put("/{bid_id:int}", sync_to_thread=True)
    def edit_bid(
        self, bid_id: PathId, data: BidInput, user: CurrentUser, bids: BidService
    ) -> BidOut:
        """Replace the bid (price, plan, proposal, team) until the bid deadline."""
        return bids.edit(user, bid_id, data)

    @post("/{bid_id:int}/withdraw", status_code=HTTP_200_OK, sync_to_thread=True)
    def withdraw_bid(self, bid_id: PathId, user: CurrentUser, bids: BidService) -> BidOut:
        return bids.withdraw(user, bid_id)

    @post("/{bid_id:int}/shortlist", status_code=HTTP_200_OK, sync_to_thread=True)
    def shortlist_bid(self, bid_id: PathId, user: CurrentUser, bids: BidService) -> BidOut:
        return bids.shortlist(user, bid_id)

    @post("/{bid_id:int}/decline", status_code=HTTP_200_OK, sync_to_thread=True)
    def decline_bid(
        self, bid_id: PathId, data: DeclineInput, user: CurrentUser, bids: BidService
    ) -> BidOut:
        """Decline with a reason the bidder sees."""
        return bids.decline(user, bid_id, data.reason)

    @post("/{bid_id:int}/award", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def award_bid(
        self, bid_id: PathId, data: AwardInput, user: CurrentUser, contracts: ContractService
    ) -> ContractOut:
        """Award this bid: a contract with its milestones; the other bids are declined."""
        return contracts.award(user, bid_id, data.accept_terms)
