"""Money rules in plain Python: accounts, balanced journal entries, fees, escrow states.

Amounts are integers in minor units (CNY fen). A journal entry is a list of postings
whose amounts sum to zero; an account's balance is the sum of its postings. Signs follow
the money: an account's balance goes up when money arrives in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from market.errors import Conflict, IllegalTransition, InvalidInput


class EntryKind(StrEnum):
    FUND = "fund"  # poster's money into the contract's escrow (a captured payment)
    RELEASE = "release"  # escrow to the solver (a transfer), less the platform fee
    REFUND = "refund"  # escrow back to the poster (a refund)
    SUBSIDY = "subsidy"  # a district's co-funding into escrow


class EscrowStatus(StrEnum):
    UNFUNDED = "unfunded"
    FUNDING = "funding"  # a charge is on its way to the provider
    FUNDED = "funded"
    SETTLING = "settling"  # part paid out (a split's first half), the rest still held
    RELEASING = "releasing"  # a transfer to the solver is on its way
    REFUNDING = "refunding"  # a refund to the poster is on its way
    RELEASED = "released"
    REFUNDED = "refunded"
    SPLIT = "split"  # part released, part refunded


def poster_account(org_id: int) -> str:
    return f"poster:org:{org_id}"


def escrow_account(contract_id: int) -> str:
    return f"escrow:contract:{contract_id}"


def solver_account(user_id: int) -> str:
    return f"solver:user:{user_id}"


def district_account(org_id: int) -> str:
    return f"district:org:{org_id}"


PLATFORM_FEES = "platform:fees"


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount_minor: int


def check_balanced(postings: Iterable[Posting]) -> list[Posting]:
    lines = list(postings)
    if len(lines) < 2:
        raise InvalidInput("a journal entry has at least two lines", rule="entry_lines")
    if any(p.amount_minor == 0 for p in lines):
        raise InvalidInput("a journal line moves a non-zero amount", rule="entry_zero_line")
    if sum(p.amount_minor for p in lines) != 0:
        raise InvalidInput("a journal entry's lines sum to zero", rule="entry_unbalanced")
    return lines


def platform_fee(amount_minor: int, fee_bps: int) -> int:
    """The platform's fee in basis points, rounded down: the solver never pays a fen too much."""
    if not 0 <= fee_bps <= 10_000:
        raise InvalidInput("the fee rate is between 0 and 10000 basis points", field="fee_bps")
    return amount_minor * fee_bps // 10_000


def fund_postings(org_id: int, contract_id: int, amount: int) -> list[Posting]:
    return check_balanced(
        [Posting(poster_account(org_id), -amount), Posting(escrow_account(contract_id), amount)]
    )


def release_postings(
    contract_id: int, solver_id: int, amount: int, fee_bps: int
) -> tuple[list[Posting], int]:
    """(postings, amount sent to the solver). The fee stays on the platform's balance."""
    fee = platform_fee(amount, fee_bps)
    lines = [
        Posting(escrow_account(contract_id), -amount),
        Posting(solver_account(solver_id), amount - fee),
    ]
    if fee:
        lines.append(Posting(PLATFORM_FEES, fee))
    return check_balanced(lines), amount - fee


def refund_postings(org_id: int, contract_id: int, amount: int) -> list[Posting]:
    return check_balanced(
        [Posting(escrow_account(contract_id), -amount), Posting(poster_account(org_id), amount)]
    )


def check_can_settle(funded: int, released: int, refunded: int, amount: int) -> None:
    """Escrow never goes negative: what leaves is at most what is held."""
    if amount <= 0:
        raise InvalidInput("a settlement moves a positive amount", rule="positive")
    if released + refunded + amount > funded:
        raise Conflict(
            f"escrow holds {funded - released - refunded}; cannot pay out {amount}",
            rule="escrow_insufficient",
        )


ESCROW_TRANSITIONS: dict[str, tuple[frozenset[EscrowStatus], EscrowStatus]] = {
    "start_funding": (frozenset({EscrowStatus.UNFUNDED}), EscrowStatus.FUNDING),
    "funded": (frozenset({EscrowStatus.UNFUNDED, EscrowStatus.FUNDING}), EscrowStatus.FUNDED),
    "start_settling": (frozenset({EscrowStatus.FUNDED}), EscrowStatus.SETTLING),
}


_IN_FLIGHT = {"release": EscrowStatus.RELEASING, "refund": EscrowStatus.REFUNDING}


def start_settlement(current: EscrowStatus, operation: str) -> EscrowStatus:
    """The in-flight status of a release or a refund ("release" or "refund").

    The two never overlap on one milestone: each pays out what is held, and a movement of
    the other kind that the provider made but the ledger has not booked yet is still
    counted as held, so both would pay it out. A retry of the same operation is fine (it
    replays under its idempotency key).
    """
    for other, status in _IN_FLIGHT.items():
        if other != operation and current == status:
            raise Conflict(
                f"a {other} of this milestone is on its way; try again once it is booked",
                rule="settlement_in_flight",
            )
    return _IN_FLIGHT[operation]


def next_escrow_status(current: EscrowStatus, action: str) -> EscrowStatus:
    allowed, target = ESCROW_TRANSITIONS[action]
    if current not in allowed:
        raise IllegalTransition("escrow", current, action.replace("_", " "))
    return target


def settled_status(funded: int, released: int, refunded: int) -> EscrowStatus | None:
    """The final status once everything held has left, else None (still settling)."""
    if released + refunded < funded:
        return None
    if refunded == 0:
        return EscrowStatus.RELEASED
    if released == 0:
        return EscrowStatus.REFUNDED
    return EscrowStatus.SPLIT
