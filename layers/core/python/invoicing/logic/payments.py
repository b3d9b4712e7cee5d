"""Use cases of payments (SPEC §5 `payments`, §6): recorded on the invoice
itself, in one conditional write with the amounts and the status they give
it, so concurrent payments never lose one another (the loser re-reads and
tries again) and never pay more than is due."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from invoicing.domain.errors import Conflict, IllegalTransition, InvalidInput, KeyReused, NotFound, StaleVersion
from invoicing.domain.invoice import instalments_shown, settled
from invoicing.domain.lifecycle import Status
from invoicing.domain.money import format_amount, has_at_most_decimals, minor_unit
from invoicing.domain.payments import ensure_payable
from invoicing.logic import invoices
from invoicing.logic.common import Deps, keyed_id
from invoicing.logic.retry import LostRace, until_written
from invoicing.ports import Doc

MAX_PAYMENTS = 500  # per invoice: the invoice and its payments are one item
METHOD_FIELDS = {
    "cash": ("notes",),
    "bank_transfer": ("reference",),
    "cheque": ("cheque_number",),
    "card": ("brand", "last4"),
}


def record(deps: Deps, tenant: str, invoice_id: str, data: Any, key: str | None = None) -> tuple[Doc, bool]:
    """A payment received outside the system. The payment, with where the
    invoice stands after it; and False when it was recorded before.

    With an Idempotency-Key, the payment's id comes from the key: a retry
    whose first attempt was written but never answered (a lost response, a
    timeout, a completion the table refused) finds its payment on the
    invoice and answers it again, instead of recording it twice."""
    payment_id = keyed_id("pay", tenant, invoice_id, key) if key is not None else deps.new_id("pay")

    def attempt() -> tuple[Doc, bool]:
        current = invoices.load(deps, tenant, invoice_id)  # as stored: what it keeps for itself is written back
        done = next((p for p in current.get("payments") or [] if p["id"] == payment_id), None)
        if done is not None:
            return _recorded_before(done, data, current), False
        currency = current["currency"]
        amount = Decimal(data.amount)
        check(current, amount, data.instalment_id)
        paid_at = data.paid_at or deps.today()
        if paid_at > deps.today():
            raise InvalidInput.of("paid_at", "a payment cannot be received in the future")
        if len(current.get("payments") or []) >= MAX_PAYMENTS:
            raise InvalidInput.of("amount", f"an invoice takes at most {MAX_PAYMENTS} payments")
        payment = {
            "id": payment_id,
            "method": data.method,
            "amount": format_amount(amount, currency),
            "paid_at": paid_at.isoformat(),
            "instalment_id": data.instalment_id,
            **{field: getattr(data, field) for field in METHOD_FIELDS[data.method]},
            "source": "manual",
            "tip": format_amount(Decimal(0), currency),
            "amount_refunded": format_amount(Decimal(0), currency),
            "status": "succeeded",
            "recorded_at": deps.timestamp(),
        }
        doc = save(deps, tenant, current, [*(current.get("payments") or []), payment])
        return {**payment, "invoice": position(doc)}, True

    return until_written(attempt, "the invoice is being paid too often at once to record this payment now")


def cancel(deps: Deps, tenant: str, invoice_id: str, payment_id: str, reason: str) -> Doc:
    """A payment recorded by mistake (a cheque that bounced, a transfer
    typed twice): kept, marked cancelled with why and when, and what it paid
    is owed again (SPEC §6.2). A payment made through Stripe is refunded
    there instead. Cancelling it again answers it as it is."""

    def attempt() -> Doc:
        current = invoices.load(deps, tenant, invoice_id)
        payment = next((p for p in current.get("payments") or [] if p["id"] == payment_id), None)
        if payment is None:
            raise NotFound("payment")
        if payment.get("status") == "cancelled":
            return {**payment, "invoice": position(current)}
        if payment.get("source") == "stripe":
            raise Conflict("a payment made through Stripe is refunded through Stripe (its dashboard), not cancelled")
        if current["status"] == Status.VOID.value:
            raise IllegalTransition("cancel a payment of", "void")
        cancelled = {**payment, "status": "cancelled", "cancelled_at": deps.timestamp(), "cancel_reason": reason}
        doc = save(deps, tenant, current, [cancelled if p is payment else p for p in current["payments"]])
        return {**cancelled, "invoice": position(doc)}

    return until_written(attempt, "the invoice is changing too often to cancel this payment now")


def _recorded_before(payment: Doc, data: Any, invoice: Doc) -> Doc:
    """The payment a first attempt with this key recorded; the key sent with
    another payment (any field it was given differs) is refused, as the
    idempotency record would have."""
    fields = ("instalment_id", *METHOD_FIELDS[data.method])
    same = (
        payment["method"] == data.method
        and Decimal(payment["amount"]) == Decimal(data.amount)
        and all(payment.get(field) == getattr(data, field) for field in fields)
        and (data.paid_at is None or payment["paid_at"] == data.paid_at.isoformat())
    )
    if not same:
        raise KeyReused
    return {**payment, "invoice": position(invoice)}


def check(invoice: Doc, amount: Decimal, instalment_id: str | None) -> None:
    """That `amount` can be paid on the invoice now (toward `instalment_id`)."""
    currency = invoice["currency"]
    if not has_at_most_decimals(amount, minor_unit(currency)):
        raise InvalidInput.of("amount", f"{currency} amounts have at most {minor_unit(currency)} decimals")
    ensure_payable(Status(invoice["status"]), amount, Decimal(invoice["amount_due"]), currency)
    _check_instalment(invoice, instalment_id)


def listed(deps: Deps, tenant: str, invoice_id: str, limit: int, cursor: str | None) -> Doc:
    """The invoice's payments, oldest first, a page at a time."""
    found = invoices.get_invoice(deps, tenant, invoice_id).get("payments") or []
    start = _offset(cursor)
    page = found[start : start + limit]
    more = start + limit < len(found)
    return {"items": page, "next_cursor": _cursor(start + limit) if more else None}


def save(deps: Deps, tenant: str, invoice: Doc, listed: list[Doc]) -> Doc:
    """The invoice with these payments, settled and written under the
    version read (LostRace when another write got there first)."""
    doc = settled({**invoice, "payments": listed}, deps.timestamp())
    try:
        deps.store.replace(tenant, "invoice", doc, expected_version=invoice["version"], old_name=None, new_name=None)
    except StaleVersion:
        raise LostRace from None
    return doc


def position(doc: Doc) -> Doc:
    return {key: doc[key] for key in ("status", "amount_paid", "amount_due", "version")}


def _check_instalment(invoice: Doc, instalment_id: str | None) -> None:
    if instalment_id is None:
        return
    known = [item["id"] for item in instalments_shown(invoice) or []]
    if instalment_id not in known:
        raise InvalidInput.of(
            "instalment_id",
            f"the invoice has no instalment {instalment_id}" + (f" (it has {', '.join(known)})" if known else ""),
        )


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("payments:"))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.of("cursor", "not a cursor of this list") from None
    if offset < 0:
        raise InvalidInput.of("cursor", "not a cursor of this list")
    return offset


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"payments:{offset}".encode()).decode()
