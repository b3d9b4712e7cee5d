"""What an invoice's payments add up to (SPEC §6): the amount paid, the
status it gives the invoice, and how the payments fall on the instalments
of a schedule.

Pure and recomputed from the whole list every time: the same payments, in
the same order, always give the same position, whatever order they were
recorded in (a webhook may bring a refund before the payment it refunds).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from invoicing.domain.errors import Conflict, IllegalTransition, InvalidInput
from invoicing.domain.lifecycle import UNPAID, Status
from invoicing.domain.money import format_amount

ZERO = Decimal(0)


class Overpayment(Conflict):
    code = "overpayment"


class Paid(NamedTuple):
    """One payment as the ledger counts it."""

    amount: Decimal  # toward the invoice, refunds deducted (tips are never part of it)
    instalment_id: str | None = None  # the instalment it was meant for, if the payer said


class InstalmentPosition(NamedTuple):
    id: str
    amount: Decimal
    amount_paid: Decimal

    @property
    def amount_due(self) -> Decimal:
        return self.amount - self.amount_paid

    @property
    def status(self) -> str:
        return "paid" if self.amount_due <= 0 else "pending"


def instalment_id(index: int) -> str:
    """Instalments are fixed once the invoice is issued: their place names them."""
    return f"ins_{index + 1}"


def amount_paid(payments: Sequence[Paid]) -> Decimal:
    return sum((payment.amount for payment in payments), ZERO)


def status_of(current: Status, paid: Decimal, due: Decimal) -> Status:
    """An issued invoice's status from its amounts: paid once nothing is
    due, partially paid once something is paid (again after a refund)."""
    if current not in (*UNPAID, Status.PAID):
        return current
    if due <= 0:
        return Status.PAID
    return Status.PARTIALLY_PAID if paid > 0 else Status.OPEN


def ensure_payable(status: Status, amount: Decimal, due: Decimal, currency: str) -> None:
    """A payment is recorded on an issued, unpaid invoice, for at most what
    is due."""
    if status not in UNPAID:
        raise IllegalTransition("record a payment on", "already paid" if status is Status.PAID else status)
    if amount > due:
        raise Overpayment(
            f"the payment ({format_amount(amount, currency)} {currency}) is more than the amount due "
            f"({format_amount(due, currency)} {currency})"
        )


def allocate(amounts: Sequence[Decimal], payments: Sequence[Paid]) -> list[InstalmentPosition]:
    """Each payment, in order, fills the instalment it names first, then the
    earliest instalments not yet paid. What exceeds the schedule (late fees)
    falls on no instalment."""
    ids = [instalment_id(index) for index in range(len(amounts))]
    paid = [ZERO] * len(amounts)
    for payment in payments:
        left = payment.amount
        order = list(range(len(amounts)))
        if payment.instalment_id in ids:
            order.insert(0, ids.index(payment.instalment_id))
        for index in order:
            if left <= 0:
                break
            taken = min(left, amounts[index] - paid[index])
            if taken > 0:
                paid[index] += taken
                left -= taken
    return [InstalmentPosition(id, amount, share) for id, amount, share in zip(ids, amounts, paid, strict=True)]


# -- paying online ------------------------------------------------------------------


class OnlineCharge(NamedTuple):
    """What a client pays on the hosted page: toward the invoice (its whole
    balance, or one instalment) and a tip on top, never part of the invoice."""

    toward: Decimal
    tip: Decimal
    instalment_id: str | None

    @property
    def total(self) -> Decimal:
        return self.toward + self.tip


def tip_on(amount: Decimal, percentage: Decimal, step: Decimal) -> Decimal:
    """The tip of `percentage` % on `amount`, rounded half-up to `step` (the
    smallest amount the payment can carry)."""
    return (amount * percentage / 100).quantize(step, rounding=ROUND_HALF_UP)


def online_charge(
    amount_due: Decimal,
    instalments: Sequence[InstalmentPosition],
    target: str,
    tip_percentage: Decimal,
    step: Decimal,
) -> OnlineCharge:
    """The charge for `target` ("balance", or the id of an unpaid
    instalment), with a tip of `tip_percentage` % of it, to `step`. An
    instalment asks for what it still needs, never more than the balance (a
    payment made against another instalment may have covered part of it)."""
    if amount_due <= 0:
        raise IllegalTransition("pay", "already paid")
    if target == "balance":
        toward, instalment = amount_due, None
    else:
        position = next((item for item in instalments if item.id == target), None)
        if position is None:
            raise InvalidInput.of("target", "the balance, or the id of an unpaid instalment")
        if position.amount_due <= 0:
            raise Conflict("that instalment is paid already")
        toward, instalment = min(position.amount_due, amount_due), position.id
    return OnlineCharge(toward, tip_on(toward, tip_percentage, step), instalment)
