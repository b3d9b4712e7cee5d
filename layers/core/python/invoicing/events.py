"""The events others react to: their names, and how each follows from a
committed write (SPEC §16).

No use case publishes. The table's change stream carries every write, with
the document as it was and as it is; `events_of` reads in one such change
the facts it holds — a draft numbered, a payment recorded or cancelled, a
credit note issued, an invoice paid or voided, a delivery requested — and
the pipe (EventBridge Pipes on AWS, infra/local/pipe.py here) puts them on
the bus. A write that lands therefore always has its events, even when its
function dies right after it.

`infra/wiring.py` routes them to functions by these names (a unit test holds
the two together). Every detail names the tenant, the invoice and the
invoice's version the change made: a consumer re-reads the invoice and acts
on what it finds, so a late or repeated event is harmless (a stream record
can come twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

SOURCE = "invoicing"

INVOICE_FINALIZED = "Invoice Finalized"  # a draft got its number
INVOICE_AMOUNTS_CHANGED = "Invoice Amounts Changed"  # a late fee or a refund changed what is due
INVOICE_VOIDED = "Invoice Voided"  # its document now says so
INVOICE_DELETED = "Invoice Deleted"  # a draft with attachments: they are to be removed
INVOICE_SENT = "Invoice Sent"  # deliveries requested; the detail lists their ids
PAYMENT_RECORDED = "Payment Recorded"  # the detail names the payment; the amounts changed with it
INVOICE_PAID = "Invoice Paid"  # nothing is due any more
REMINDER_DUE = "Invoice Reminder Due"  # reminders queued by the sweep; the detail lists their deliveries
CREDIT_NOTE_ISSUED = "Credit Note Issued"  # the detail names the credit note; the invoice's amounts changed with it
PAYMENT_CANCELLED = "Payment Cancelled"  # a manual payment recorded in error; the detail names it; it is owed again
# Estimates (SPEC §11): the detail names the estimate (estimate_id) and its version.
ESTIMATE_SENT = "Estimate Sent"  # numbered: sent to its client, or marked sent
ESTIMATE_ACCEPTED = "Estimate Accepted"  # its client accepted it on its page
ESTIMATE_DECLINED = "Estimate Declined"  # its client declined it on its page
ESTIMATE_EXPIRED = "Estimate Expired"  # the sweep found it past its last valid day
ESTIMATE_DELIVERY = "Estimate Delivery Requested"  # deliveries of an estimate; the detail lists their ids

DETAIL_TYPES = (
    INVOICE_FINALIZED,
    INVOICE_AMOUNTS_CHANGED,
    INVOICE_VOIDED,
    INVOICE_DELETED,
    INVOICE_SENT,
    PAYMENT_RECORDED,
    INVOICE_PAID,
    REMINDER_DUE,
    CREDIT_NOTE_ISSUED,
    PAYMENT_CANCELLED,
    ESTIMATE_SENT,
    ESTIMATE_ACCEPTED,
    ESTIMATE_DECLINED,
    ESTIMATE_EXPIRED,
    ESTIMATE_DELIVERY,
)

# The kinds of document whose changes carry events: the pipe's filter lets
# no other through (infra/wiring.py STREAM_KINDS names their keys).
EVENTFUL_KINDS = ("invoice", "delivery", "estimate")

_AMOUNTS = ("total", "amount_paid", "amount_due", "late_fees_total", "credited")

Doc = dict[str, Any]
Event = tuple[str, dict[str, Any]]  # (detail type, detail)


@dataclass(frozen=True)
class Change:
    """One document's committed write, as the table's stream tells it: the
    document before (None: created) and after (None: deleted)."""

    tenant: str
    kind: str
    old: Doc | None
    new: Doc | None


def invoice_detail(tenant: str, invoice: Doc, **extra: object) -> dict[str, Any]:
    return {"tenant_id": tenant, "invoice_id": invoice["id"], "version": invoice["version"], **extra}


def events_of(change: Change) -> list[Event]:
    """The facts one change holds, in the order consumers expect them (a
    payment before the invoice it paid)."""
    if change.kind == "invoice":
        return _invoice_events(change.tenant, change.old, change.new)
    if change.kind == "delivery":
        return _delivery_events(change.tenant, change.old, change.new)
    if change.kind == "estimate":
        return _estimate_events(change.tenant, change.old, change.new)
    return []


_ESTIMATE_STATUSES = {
    "sent": ESTIMATE_SENT,
    "accepted": ESTIMATE_ACCEPTED,
    "declined": ESTIMATE_DECLINED,
    "expired": ESTIMATE_EXPIRED,
}


def _estimate_events(tenant: str, old: Doc | None, new: Doc | None) -> list[Event]:
    """An estimate that moved to sent, accepted, declined or expired (not
    invoiced: its invoices have their own events)."""
    if new is None or (old is not None and old["status"] == new["status"]):
        return []
    detail_type = _ESTIMATE_STATUSES.get(new["status"])
    if detail_type is None:
        return []
    return [(detail_type, {"tenant_id": tenant, "estimate_id": new["id"], "version": new["version"]})]


def _invoice_events(tenant: str, old: Doc | None, new: Doc | None) -> list[Event]:
    if new is None:  # deleted: only a draft can be; its files go with it
        if old is not None and (old.get("attachments") or old.get("uploads")):
            return [(INVOICE_DELETED, invoice_detail(tenant, old))]
        return []
    if new["status"] == "draft":
        return []
    if old is None or old["status"] == "draft":
        return [(INVOICE_FINALIZED, invoice_detail(tenant, new))]
    found: list[Event] = []
    before = {payment["id"]: payment for payment in old.get("payments") or []}
    recorded = [payment["id"] for payment in new.get("payments") or [] if payment["id"] not in before]
    found += [(PAYMENT_RECORDED, invoice_detail(tenant, new, payment_id=id)) for id in recorded]
    found += [
        (PAYMENT_CANCELLED, invoice_detail(tenant, new, payment_id=payment["id"]))
        for payment in new.get("payments") or []
        if payment.get("status") == "cancelled"
        and payment["id"] in before
        and before[payment["id"]].get("status") != "cancelled"
    ]
    noted = {note["id"] for note in old.get("credit_notes") or []}
    found += [
        (CREDIT_NOTE_ISSUED, invoice_detail(tenant, new, credit_note_id=note["id"]))
        for note in new.get("credit_notes") or []
        if note["id"] not in noted
    ]
    if not found and _amounts(old) != _amounts(new):  # a late fee, a refund
        found.append((INVOICE_AMOUNTS_CHANGED, invoice_detail(tenant, new)))
    if new["status"] == "void" and old["status"] != "void":
        found.append((INVOICE_VOIDED, invoice_detail(tenant, new)))
    if new["status"] == "paid" and old["status"] != "paid":
        paid_by = {"payment_id": recorded[-1]} if recorded else {}  # else a credit note settled the rest
        found.append((INVOICE_PAID, invoice_detail(tenant, new, **paid_by)))
    return found


def _delivery_events(tenant: str, old: Doc | None, new: Doc | None) -> list[Event]:
    """A delivery to send: created pending, or asked again after it failed
    or was stranded. Not when its own worker puts it back to pending with
    an error (throttled, interrupted): that invocation fails and is
    retried. Not a receipt, nor the business's notice of an answer to an
    estimate: the function that records it sends it, and the event that
    called for it (the payment's, the answer's), retried, records it again
    if it died meanwhile."""
    if new is None or new["status"] != "pending" or new.get("kind") in ("receipt", "estimate_answer"):
        return []
    if old is not None and (old["status"] == "pending" or (old["status"] == "sending" and new.get("error"))):
        return []
    if new.get("kind") == "estimate":
        detail = {"tenant_id": tenant, "estimate_id": new["estimate_id"], "version": new["invoice_version"]}
        return [(ESTIMATE_DELIVERY, {**detail, "deliveries": [new["id"]]})]
    detail_type = REMINDER_DUE if new.get("kind") == "reminder" else INVOICE_SENT
    detail = {"tenant_id": tenant, "invoice_id": new["invoice_id"], "version": new["invoice_version"]}
    return [(detail_type, {**detail, "deliveries": [new["id"]]})]


def _amounts(doc: Doc) -> tuple[Decimal | None, ...]:
    return tuple(Decimal(doc[key]) if doc.get(key) is not None else None for key in _AMOUNTS)
