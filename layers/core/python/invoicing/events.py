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

The same change also holds the facts a tenant's webhook endpoints hear
(SPEC §13, domain.webhooks.EVENT_TYPES): `webhook_events_of` reads them,
each one `Webhook Event` whose detail names its type, the object it is
about and an id derived from the fact itself, never drawn, so a record read
twice gives the same events and an endpoint is sent each fact once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from invoicing.logic.common import keyed_id

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
# For the tenant's webhook endpoints (SPEC §13): the detail's "type" says which fact (webhook_events_of).
WEBHOOK_EVENT = "Webhook Event"

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
    WEBHOOK_EVENT,
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
    if not found and (_amounts(old) != _amounts(new) or _received(old) != _received(new)):
        # a late fee, a refund (of the tip alone too: the payments' ledger follows it, logic.ledger)
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


def _received(doc: Doc) -> list[tuple[Any, ...]]:
    """What each payment received and gave back, tips included."""
    fields = ("amount", "tip", "amount_refunded", "tip_refunded", "paid_at")
    return [tuple(payment.get(field) for field in fields) for payment in doc.get("payments") or []]


# -- the facts a tenant's webhook endpoints hear (SPEC §13) ------------------------------


class _Fact(NamedTuple):
    """One fact of the catalogue, before it is an event: its type, what it
    is about, when it happened, and what makes it this fact and no other
    (its event id is derived from these)."""

    type: str
    about: dict[str, Any]
    at: str | None
    unique: tuple[str, ...]


def webhook_events_of(change: Change) -> list[Event]:
    """The facts of SPEC §13's catalogue one change holds, as `Webhook
    Event`s: {tenant_id, event_id, type, created_at, object}. The object
    names the document (kind, id, version; for a payment, a credit note or a
    delivery, the invoice or estimate it belongs to); created_at is the
    fact's own time when the document keeps it, else the write's. Pure: the
    same change always gives the same events, ids included."""
    if change.kind == "invoice":
        facts = _invoice_facts(change.old, change.new)
    elif change.kind == "delivery":
        facts = _delivery_facts(change.old, change.new)
    elif change.kind == "estimate":
        facts = _estimate_facts(change.old, change.new)
    else:
        facts = []
    return [
        (
            WEBHOOK_EVENT,
            {
                "tenant_id": change.tenant,
                "event_id": keyed_id("evt", change.tenant, fact.type, *fact.unique),
                "type": fact.type,
                "created_at": fact.at,
                "object": fact.about,
            },
        )
        for fact in facts
    ]


def _invoice_facts(old: Doc | None, new: Doc | None) -> list[_Fact]:
    """Created, edited while a draft, deleted, issued; once issued, what
    its payments, credit notes, late fees, status and client did."""
    if new is None:
        if old is None:
            return []
        return [_Fact("invoice.deleted", _invoice(old, deleted=True), old.get("updated_at"), (old["id"],))]
    if old is None:
        created = _Fact("invoice.created", _invoice(new), new.get("updated_at"), (new["id"],))
        return [created, *(_issued_facts(new) if new["status"] != "draft" else [])]
    if new["status"] == "draft":
        if old["status"] != "draft" or old["version"] == new["version"]:
            return []
        return [_Fact("invoice.updated", _invoice(new), new.get("updated_at"), (new["id"], str(new["version"])))]
    if old["status"] == "draft":
        return _issued_facts(new)
    return [
        *_payment_facts(old, new),
        *_failure_facts(old, new),
        *_credit_and_fee_facts(old, new),
        *_status_facts(old, new),
        *_client_facts(old, new),
    ]


def _issued_facts(new: Doc) -> list[_Fact]:
    """Numbered, once; and, made by a recurring invoice, said as its too."""
    at = _at(new, "finalized_at")
    issued = [_Fact("invoice.issued", _invoice(new), at, (new["id"],))]
    if new.get("recurring_id"):
        issued.append(_Fact("recurring.invoice_issued", _invoice(new), at, (new["id"],)))
    return issued


def _payment_facts(old: Doc, new: Doc) -> list[_Fact]:
    """A payment recorded, cancelled, or refunded further (what Stripe
    refunded only grows: each new total is a fact of its own)."""
    before = {payment["id"]: payment for payment in old.get("payments") or []}
    found: list[_Fact] = []
    for payment in new.get("payments") or []:
        was = before.get(payment["id"])
        about = {"kind": "payment", "id": payment["id"], "invoice_id": new["id"], "version": new["version"]}
        if was is None:
            found.append(_Fact("payment.recorded", about, _at(new, at=payment.get("recorded_at")), (payment["id"],)))
        if payment.get("status") == "cancelled" and (was or {}).get("status") != "cancelled":
            found.append(_Fact("payment.cancelled", about, _at(new, at=payment.get("cancelled_at")), (payment["id"],)))
        refunded = _refunded(payment)
        if refunded > _refunded(was):
            found.append(_Fact("payment.refunded", about, new.get("updated_at"), (payment["id"], f"{refunded:f}")))
    return found


def _failure_facts(old: Doc, new: Doc) -> list[_Fact]:
    """A failed Stripe payment newly listed on the invoice (the list keeps
    the latest few: one dropped from it is no fact)."""
    known = {_failure_key(failure) for failure in old.get("payment_failures") or []}
    return [
        _Fact("payment.failed", _invoice(new), failure.get("failed_at"), _failure_key(failure))
        for failure in new.get("payment_failures") or []
        if _failure_key(failure) not in known
    ]


def _credit_and_fee_facts(old: Doc, new: Doc) -> list[_Fact]:
    noted = {note["id"] for note in old.get("credit_notes") or []}
    found = [
        _Fact(
            "credit_note.issued",
            {"kind": "credit_note", "id": note["id"], "invoice_id": new["id"], "version": new["version"]},
            new.get("updated_at"),
            (note["id"],),
        )
        for note in new.get("credit_notes") or []
        if note["id"] not in noted
    ]
    periods = {entry["period"] for entry in old.get("late_fee_entries") or []}
    found += [
        _Fact("late_fee.applied", _invoice(new), _at(new, at=entry.get("applied_at")), (new["id"], entry["period"]))
        for entry in new.get("late_fee_entries") or []
        if entry["period"] not in periods
    ]
    return found


def _status_facts(old: Doc, new: Doc) -> list[_Fact]:
    """Paid in part (again, or more), paid, voided. Paid and partly paid
    can come back after a refund or a cancelled payment: each write's own."""
    status, was, once = new["status"], old["status"], (new["id"], str(new["version"]))
    found = []
    if status == "partially_paid" and (was != status or _paid(new) > _paid(old)):
        found.append(_Fact("invoice.partially_paid", _invoice(new), new.get("updated_at"), once))
    if status == "paid" and was != "paid":
        found.append(_Fact("invoice.paid", _invoice(new), _at(new, "paid_at"), once))
    if status == "void" and was != "void":
        found.append(_Fact("invoice.voided", _invoice(new), _at(new, "voided_at"), (new["id"],)))
    return found


def _client_facts(old: Doc, new: Doc) -> list[_Fact]:
    """Its page opened on a version not seen before (`viewed_version`); its
    due date passed unpaid (`overdue_at`, set once by the daily sweep)."""
    found = []
    seen = new.get("viewed_version")
    if seen is not None and seen != old.get("viewed_version"):
        at = _at(new, "version_viewed_at", "viewed_at")
        found.append(_Fact("invoice.viewed", _invoice(new), at, (new["id"], str(seen))))
    if new.get("overdue_at") and not old.get("overdue_at"):
        found.append(_Fact("invoice.overdue", _invoice(new), new["overdue_at"], (new["id"],)))
    return found


def _delivery_facts(old: Doc | None, new: Doc | None) -> list[_Fact]:
    """The invoice itself or a reminder sent; any delivery failed (each
    failed attempt its own fact: a delivery asked again can fail again)."""
    if new is None or (old is not None and old["status"] == new["status"]):
        return []
    kind = new.get("kind") or "invoice"
    if new["status"] == "sent" and kind == "invoice":
        about = {"kind": "invoice", "id": new["invoice_id"], "version": new["invoice_version"]}
        return [_Fact("invoice.sent", about, _at(new, "sent_at"), (new["id"],))]
    if new["status"] == "sent" and kind == "reminder":
        return [_Fact("reminder.sent", _delivery(new), _at(new, "sent_at"), (new["id"],))]
    if new["status"] == "failed":
        return [_Fact("delivery.failed", _delivery(new), new.get("updated_at"), (new["id"], str(new.get("attempts"))))]
    return []


_ESTIMATE_TIMES = {"sent": "sent_at", "expired": "expired_at"}
_ESTIMATE_ANSWERS = {"accepted": ("acceptance", "accepted_at"), "declined": ("decline", "declined_at")}


def _estimate_facts(old: Doc | None, new: Doc | None) -> list[_Fact]:
    """An estimate that moved to sent, accepted, declined or expired."""
    if new is None or (old is not None and old["status"] == new["status"]):
        return []
    status = new["status"]
    if status not in ("sent", "accepted", "declined", "expired"):
        return []
    answer, field = _ESTIMATE_ANSWERS.get(status, (None, None))
    at = (new.get(answer) or {}).get(field) if answer else new.get(_ESTIMATE_TIMES[status])
    about = {"kind": "estimate", "id": new["id"], "version": new["version"]}
    return [_Fact(f"estimate.{status}", about, _at(new, at=at), (new["id"], str(new["version"])))]


def _invoice(doc: Doc, **extra: object) -> dict[str, Any]:
    return {"kind": "invoice", "id": doc["id"], "version": doc["version"], **extra}


def _delivery(doc: Doc) -> dict[str, Any]:
    """A delivery, with the estimate or the invoice it carries."""
    of = {"estimate_id": doc["estimate_id"]} if doc.get("estimate_id") else {"invoice_id": doc.get("invoice_id")}
    return {"kind": "delivery", "id": doc["id"], **of, "version": doc["version"]}


def _at(doc: Doc, *fields: str, at: str | None = None) -> str | None:
    """`at`, else the first of the document's `fields` it has, else the time of its write."""
    found = [at, *(doc.get(field) for field in fields), doc.get("updated_at")]
    return next((value for value in found if value), None)


def _refunded(payment: Doc | None) -> Decimal:
    """All a payment gave back: its invoice's part, then its tip's."""
    if payment is None:
        return Decimal(0)
    return Decimal(payment.get("amount_refunded") or 0) + Decimal(payment.get("tip_refunded") or 0)


def _paid(doc: Doc) -> Decimal:
    return Decimal(doc.get("amount_paid") or 0)


def _failure_key(failure: Doc) -> tuple[str, str]:
    return (str(failure.get("stripe_payment_intent")), str(failure.get("failed_at")))
