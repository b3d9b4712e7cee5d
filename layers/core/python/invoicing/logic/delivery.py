"""Use cases of delivery (SPEC §5 `send`, §7): the request, answered at
once (202), and the work, done by the delivery function from the bus.

A delivery is one message to one recipient on one channel for one version
of the invoice: its id is derived from the three, and it is created only if
absent, so a second click, a retried request or a repeated event sends
nothing twice. The worker claims a delivery (pending → sending, under its
version) before sending, so two concurrent events cannot both send; a claim
left by a worker that died is taken over after CLAIM_S.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from invoicing import events
from invoicing.domain.errors import FieldError, Forbidden, IllegalTransition, InvalidInput, StaleVersion, TooSoon
from invoicing.domain.invoice import Invoice
from invoicing.domain.money import format_amount
from invoicing.logic import catalog, invoices, limits, sender
from invoicing.logic.common import Deps, new_delivery
from invoicing.models.delivery import SendRequest
from invoicing.ports import ConditionFailed, Doc, Messenger, SendRejected, SendThrottled
from invoicing.settings import settings

logger = logging.getLogger(__name__)

CLAIM_S = 120  # longer than the delivery function's timeout
# SES takes a message of at most 10 MB as sent, where base64 grows every file by a third:
# the invoice's attachments go with it while the whole fits, else the message links them.
MAX_MESSAGE_BYTES = 10_000_000
MESSAGE_MARGIN_BYTES = 200_000  # the headers, the text and HTML bodies
ANSWER = "estimate_answer"  # the business told of its client's answer to an estimate (send_answer_notice)
PAYMENT_FAILED = "payment_failed"  # an automatic charge failed: the client is asked to pay on the page
# Sent on their own (a payment's events, a sweep, a failed charge), not at the tenant's asking: counted as they go.
COUNTED_AS_SENT = ("reminder", "receipt", PAYMENT_FAILED)


def delivery_id(invoice_id: str, version: int, channel: str, recipient: str, about: str = "") -> str:
    """One per (version, channel, recipient) of the invoice, or per (credit
    note, channel, recipient) when it is `about` one of its credit notes."""
    digest = hashlib.sha256(f"{about}{version}|{channel}|{recipient.lower()}".encode()).hexdigest()[:24]
    return f"{invoice_id}.{digest}"


def deliveries_of(deps: Deps, tenant: str, invoice_id: str) -> list[Doc]:
    found = deps.store.children(tenant, "delivery", invoice_id)
    return sorted(found, key=lambda item: (item["requested_at"], item["id"]))


def request_send(
    deps: Deps, tenant: str, invoice_id: str, request: SendRequest, public_url: str
) -> tuple[Doc, list[Doc], bool]:
    """Finalize a draft if need be, record one pending delivery per
    recipient and channel (each, written pending, is an "Invoice Sent" on
    the table's stream). The invoice, its deliveries, and whether this call
    issued it."""
    current = invoices.get_invoice(deps, tenant, invoice_id)
    if current["status"] == "void":
        raise IllegalTransition("send", "void")
    invoice, issued, recipients = _counted_then_issued(
        deps, tenant, current, request,
        lambda: invoices.finalize_invoice(deps, tenant, invoice_id, request.version, public_url),
    )  # fmt: skip
    now = deps.timestamp()
    wanted = [
        new_delivery(
            delivery_id(invoice_id, invoice["version"], channel, recipient),
            invoice_id,
            invoice["version"],
            channel,
            recipient,
            now,
        )  # fmt: skip
        for channel, recipient in recipients
    ]
    return invoice, _requested(deps, tenant, invoice, wanted, now), issued


def _counted_then_issued(
    deps: Deps, tenant: str, current: Doc, request: SendRequest, issue: Callable[[], tuple[Doc, bool]]
) -> tuple[Doc, bool, list[tuple[str, str]]]:
    """A send's messages counted against the limits, then the document (an
    invoice, an estimate) numbered if it is a draft: the document, whether
    this call numbered it, and the (channel, recipient) pairs to queue. A
    draft's messages are counted before it is numbered, so a refusal (429)
    leaves it a draft; a sent one's only those not queued or sent already.
    When numbering fails (a stale version, a mention missing), what was
    counted is given back: nothing will be sent."""
    recipients, own = _recipients(deps, tenant, current, request)
    if current["status"] == "draft":
        spent = limits.spend(deps, tenant, recipients, own)
    else:
        ids = [delivery_id(current["id"], current["version"], *pair) for pair in recipients]
        spent = limits.spend(deps, tenant, _unsent(deps, tenant, ids, recipients), own)
    try:
        document, issued = issue()
    except Exception:
        limits.give_back(deps, spent)
        raise
    return document, issued, recipients


def request_credit_note_send(deps: Deps, tenant: str, credit_note_id: str, request: SendRequest) -> list[Doc]:
    """Record one pending delivery of the credit note per recipient and
    channel (the invoice's client unless the request names others), listed
    with the invoice's deliveries (each sent from the stream's "Invoice
    Sent"). Sent again, a sent one stays sent, a failed one is tried again."""
    from invoicing.logic import credit_notes

    note = credit_notes.get(deps, tenant, credit_note_id)
    invoice = invoices.get_invoice(deps, tenant, note["invoice_id"])
    recipients, own = _recipients(deps, tenant, invoice, request)
    ids = [delivery_id(invoice["id"], 0, *pair, about=credit_note_id) for pair in recipients]
    limits.spend(deps, tenant, _unsent(deps, tenant, ids, recipients), own)
    now = deps.timestamp()
    wanted = [
        new_delivery(
            delivery_id(invoice["id"], 0, channel, recipient, about=credit_note_id),
            invoice["id"],
            invoice["version"],
            channel,
            recipient,
            now,
            kind="credit_note",
            credit_note_id=credit_note_id,
        )  # fmt: skip
        for channel, recipient in recipients
    ]
    return _requested(deps, tenant, invoice, wanted, now)


def request_estimate_send(
    deps: Deps, tenant: str, estimate_id: str, request: SendRequest, public_url: str
) -> tuple[Doc, list[Doc], bool]:
    """Number a draft estimate if need be, and record one pending delivery
    per recipient and channel, as an invoice's send does (the same limits,
    the same once-only deliveries); the stream turns each into an
    "Estimate Delivery Requested". A declined or expired estimate is not
    sent again (409)."""
    from invoicing.domain.estimate import EstimateStatus, ensure_sendable
    from invoicing.logic import estimates

    current = estimates.get_estimate(deps, tenant, estimate_id)
    ensure_sendable(EstimateStatus(current["status"]))
    estimate, issued, recipients = _counted_then_issued(
        deps, tenant, current, request,
        lambda: estimates.issue_estimate(deps, tenant, estimate_id, request.version, public_url),
    )  # fmt: skip
    now = deps.timestamp()
    wanted = [
        {
            **new_delivery(
                delivery_id(estimate_id, estimate["version"], channel, recipient),
                estimate_id,
                estimate["version"],
                channel,
                recipient,
                now,
                kind="estimate",
                estimate_id=estimate_id,
            ),
            "invoice_id": None,
        }  # fmt: skip
        for channel, recipient in recipients
    ]
    return estimate, _requested(deps, tenant, estimate, wanted, now), issued


def _requested(deps: Deps, tenant: str, invoice: Doc, wanted: list[Doc], now: str) -> list[Doc]:
    """Each delivery created if absent (else tried again if it failed or was
    stranded): the stream says each that became pending; a second click
    sends nothing twice."""
    requested = []
    for doc in wanted:
        try:
            deps.store.create(tenant, "delivery", doc, name=None)
        except ConditionFailed:
            doc = _retry_if_failed(deps, tenant, doc["id"], now)
        requested.append(doc)
    return [shown(doc) for doc in requested]


def send_receipt(deps: Deps, messenger: Messenger, detail: dict[str, Any], detail_type: str) -> dict[str, int]:
    """E-mail the client a receipt (the invoice as it now stands attached),
    as the business's `receipts` setting says: after every payment ("Payment
    Recorded": what it paid and what is still due), or once the invoice is
    paid ("Invoice Paid", which also comes when a credit note settles it).
    Once per payment, or per paid version, whatever the events' repetitions;
    never for a payment cancelled since, nor to a client without an e-mail."""
    tenant, invoice_id = detail["tenant_id"], detail["invoice_id"]
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    recipient = (invoice.get("customer") or {}).get("email")
    setting = catalog.get_business(deps, tenant).get("receipts") or "every_payment"
    payment_id = detail.get("payment_id")
    skipped = {"sent": 0, "failed": 0, "skipped": 1}
    if not recipient or setting == "never":
        return skipped
    now = deps.timestamp()
    if detail_type == events.PAYMENT_RECORDED:
        payment = next((p for p in invoice.get("payments") or [] if p["id"] == payment_id), None)
        if setting != "every_payment" or payment is None or payment.get("status") == "cancelled":
            return skipped
        id = delivery_id(invoice_id, 0, "receipt", recipient, about=f"payment:{payment_id}")
        facts = {key: payment[key] for key in ("id", "amount", "paid_at", "method")}
        left = format_amount(Invoice.of(invoice).due_after(payment["id"]), invoice["currency"])
        doc = new_delivery(id, invoice_id, detail["version"], "email", recipient, now, kind="receipt",
                           payment={**facts, "currency": invoice["currency"], "amount_due_after": left})  # fmt: skip
    else:  # paid: unless a refund made it due again since, or the payment's own receipt says it
        if invoice["status"] != "paid" or (payment_id and setting == "every_payment"):
            return skipped
        id = delivery_id(invoice_id, detail["version"], "receipt", recipient)
        doc = new_delivery(id, invoice_id, detail["version"], "email", recipient, now, kind="receipt")
    with contextlib.suppress(ConditionFailed):  # the event came again: the receipt exists, claimed or sent
        deps.store.create(tenant, "delivery", doc, name=None)
    return deliver(deps, messenger, {**detail, "deliveries": [doc["id"]]})


def send_answer_notice(deps: Deps, messenger: Messenger, detail: dict[str, Any]) -> dict[str, int]:
    """E-mail the business that its client accepted an estimate on its page
    ("Devis D-1 accepté par Jean Dupont", the accepted PDF attached) or
    declined it (with the reason given), at its profile's e-mail: nothing
    without one. Once per answer whatever the event's repetitions: its
    delivery, of the estimate and the answered version, is created if
    absent, then sent as any is (claimed first: two events at once send one)."""
    tenant, estimate_id = detail["tenant_id"], detail["estimate_id"]
    recipient = catalog.get_business(deps, tenant).get("email")
    if not recipient:
        return {"sent": 0, "failed": 0, "skipped": 1}
    id = delivery_id(estimate_id, detail["version"], "email", "business", about="answer:")
    doc = {
        **new_delivery(id, estimate_id, detail["version"], "email", recipient, deps.timestamp(),
                       kind=ANSWER, estimate_id=estimate_id),
        "invoice_id": None,
    }  # fmt: skip
    with contextlib.suppress(ConditionFailed):  # the event came again: the notice exists, claimed or sent
        deps.store.create(tenant, "delivery", doc, name=None)
    return deliver(deps, messenger, {**detail, "deliveries": [id]})


def request_payment_failed_notice(deps: Deps, tenant: str, invoice_id: str, intent: str) -> Doc | None:
    """E-mail the client that the invoice's automatic payment failed (a card
    declined, a debit returned) and that it can be paid on its page, the
    invoice attached: once per failed PaymentIntent, whoever asks and
    however often (its id derives from the intent). It goes as any delivery
    does (the stream's "Invoice Sent"), counted against the limits when it
    goes; not to a client without an e-mail, nor once nothing is due. The
    delivery when this call asked for it, else None."""
    invoice = deps.store.get(tenant, "invoice", invoice_id)
    if invoice is None or invoice["status"] not in ("open", "partially_paid"):
        return None
    live = deps.store.get(tenant, "customer", invoice["customer_id"]) if invoice.get("customer_id") else None
    recipient = (invoice.get("customer") or {}).get("email") or (live or {}).get("email")
    if not recipient:
        logger.warning("an automatic payment failed, its client has no e-mail", extra={"invoice_id": invoice_id})
        return None
    id = delivery_id(invoice_id, 0, "email", "client", about=f"{PAYMENT_FAILED}:{intent}")
    doc = new_delivery(id, invoice_id, invoice["version"], "email", recipient, deps.timestamp(), kind=PAYMENT_FAILED)
    with contextlib.suppress(ConditionFailed):  # asked before: it exists, pending, sent or failed
        deps.store.create(tenant, "delivery", doc, name=None)
        return shown(doc)
    return None


def shown(delivery: Doc) -> Doc:
    """A delivery as the API shows it (an invoice's own has no kind stored)."""
    kept = {key: value for key, value in delivery.items()
            if key not in ("version", "attempts", "claimed_until", "counted")}  # fmt: skip
    return {"kind": "invoice", **kept}


class DeliveryBusy(Exception):
    """Another worker holds the delivery: fail this invocation so it is
    retried after the claim, which finishes it if that worker died."""


def deliver(deps: Deps, messenger: Messenger, detail: dict[str, Any]) -> dict[str, int]:
    """Send the deliveries an "Invoice Sent" event names. Throttling raises
    (the invocation is retried, the delivery back to pending); a rejection,
    or a message that cannot be built, is recorded as failed and never
    retried. Counts by outcome. Long because claiming, building, sending
    and recording each delivery is one sequence whose every outcome is
    written before the next delivery starts."""
    tenant, invoice_id = detail["tenant_id"], detail.get("invoice_id") or detail["estimate_id"]
    outcome = {"sent": 0, "failed": 0, "skipped": 0}
    cache: dict[str, dict[str, Any]] = {}  # the documents, built once an event: the invoice's, each credit note's
    busy = False
    for id in detail.get("deliveries", []):
        try:
            delivery = _claim(deps, tenant, id)
        except DeliveryBusy:
            busy = True
            continue
        if delivery is None:
            outcome["skipped"] += 1
            continue
        about = delivery.get("credit_note_id") or delivery.get("estimate_id") or ""
        try:
            if about not in cache:
                cache[about] = _document_of(deps, tenant, delivery, invoice_id)
            pdf_cache = cache[about]
            if pdf_cache["status"] == "void":  # a credit note is sent whatever became of its invoice
                raise SendRejected("the invoice was voided before it could be sent")
            if delivery.get("kind") == "estimate" and pdf_cache["status"] in ("declined", "expired"):
                raise SendRejected(f"the estimate was {pdf_cache['status']} before it could be sent")
            if delivery.get("kind") == "reminder" and _deadline_paid(pdf_cache, delivery["reminder"]["key"]):
                raise SendRejected("not sent: paid before the reminder went out")
            if delivery.get("kind") == PAYMENT_FAILED and pdf_cache["status"] == "paid":
                raise SendRejected("not sent: paid before the message went out")
            message = _message(delivery, pdf_cache)
        except SendRejected as rejected:
            _finish(deps, tenant, delivery, status="failed", error=str(rejected)[:500])
            outcome["failed"] += 1
            continue
        except (ValueError, LookupError) as broken:  # a message that can never be built
            _finish(deps, tenant, delivery, status="failed", error=f"the message could not be built: {broken}"[:500])
            outcome["failed"] += 1
            continue
        except Exception:
            _finish(deps, tenant, delivery, status="pending", error="interrupted: will retry")
            raise
        try:
            _within_limits(deps, tenant, delivery)
        except (TooSoon, Forbidden, SendRejected) as refused:
            _finish(deps, tenant, delivery, status="failed", error=f"not sent: {refused}"[:500])
            outcome["failed"] += 1
            continue
        try:
            message_id = _send(messenger, tenant, delivery, pdf_cache, message)
        except SendThrottled:
            _finish(deps, tenant, delivery, status="pending", error="throttled: will retry")
            raise
        except SendRejected as rejected:
            _finish(deps, tenant, delivery, status="failed", error=str(rejected)[:500])
            outcome["failed"] += 1
            if rejected.misconfigured:  # reported only when some were: an operator must act
                outcome["misconfigured"] = outcome.get("misconfigured", 0) + 1
            continue
        except Exception:
            _finish(deps, tenant, delivery, status="pending", error="interrupted: will retry")
            raise
        _finish(deps, tenant, delivery, status="sent", message_id=message_id)
        outcome["sent"] += 1
    if busy:
        raise DeliveryBusy(f"{invoice_id}: a delivery is held by another worker; retry after its claim")
    return outcome


# -- helpers ------------------------------------------------------------------


def _recipients(deps: Deps, tenant: str, invoice: Doc, request: SendRequest) -> tuple[list[tuple[str, str]], set[str]]:
    """(channel, recipient) pairs: those the request names, else the
    customer's; and the customer's own addresses. A channel with nobody to
    reach, or a request beyond the document's limits, is a 422 naming it."""
    live = deps.store.get(tenant, "customer", invoice["customer_id"]) if invoice.get("customer_id") else None
    customer = invoice.get("customer") or live or {}  # as issued, else as it stands
    to = request.to
    pairs, problems = [], []
    for channel, field, default in (
        ("email", "emails", customer.get("email")),
        ("sms", "phones", customer.get("phone")),
    ):
        if channel not in request.channels:
            continue
        given = getattr(to, field) if to is not None else []
        # once each, e-mail addresses whatever their case (the delivery id ignores it)
        chosen: list[str] = []
        for recipient in given or ([default] if default else []):
            if recipient.lower() not in {seen.lower() for seen in chosen}:
                chosen.append(recipient)
        if not chosen:
            problems.append(
                FieldError(
                    f"to.{field}",
                    f"the customer has no {'e-mail' if channel == 'email' else 'phone'}: name a recipient",
                )
            )
        pairs += [(channel, recipient) for recipient in chosen]
    if problems:
        raise InvalidInput(problems)
    own = {  # the customer's addresses, as issued and as they stand
        address.lower()
        for party in (customer, live or {})
        for address in (party.get("email"), party.get("phone"))
        if address
    }

    def earlier() -> set[str]:
        return {delivery["recipient"] for delivery in deliveries_of(deps, tenant, invoice["id"])}

    limits.check_recipients(pairs, own, earlier)
    return pairs, own


def _within_limits(deps: Deps, tenant: str, delivery: Doc) -> None:
    """Reminders, receipts and failed-payment notices, which the tenant's
    settings and payments set off, are counted as they go, once each (a
    throttled one tried again is not counted again); SMS only to the
    numbers an asked-for send may reach.
    A send the tenant asked for was counted then; none goes while the
    tenant is suspended. A notice to the business itself, at its own
    address, is neither counted nor held: it reaches no stranger."""
    if delivery.get("kind") == ANSWER:
        return
    if delivery.get("kind") not in COUNTED_AS_SENT or delivery.get("counted"):
        limits.check_standing(deps, tenant)
        return
    channel, recipient = delivery["channel"], delivery["recipient"]
    if channel == "sms" and (problem := limits.sms_problem(recipient)):
        raise SendRejected(problem)
    limits.spend(deps, tenant, [(channel, recipient)], own=[recipient])  # to the document's customer
    delivery["counted"] = True  # kept with the delivery's outcome (_finish)


def _unsent(deps: Deps, tenant: str, ids: list[str], pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The messages a send would queue: those not queued or sent already
    (a second click sends, and counts, nothing twice)."""
    unsent = []
    for id, pair in zip(ids, pairs, strict=True):
        existing = deps.store.get(tenant, "delivery", id)
        if existing is None or existing["status"] == "failed":
            unsent.append(pair)
    return unsent


def _retry_if_failed(deps: Deps, tenant: str, id: str, now: str) -> Doc:
    """Sent again to the same recipient: a failed delivery gets another try;
    a pending or sent one stays as it is."""
    existing = deps.store.get(tenant, "delivery", id)
    assert existing is not None
    stranded = existing["status"] == "sending" and (existing.get("claimed_until") or "") < deps.now().isoformat()
    if existing["status"] != "failed" and not stranded:
        return existing
    retried = {**existing, "status": "pending", "error": None, "updated_at": now, "version": existing["version"] + 1}
    try:
        deps.store.replace(
            tenant, "delivery", retried, expected_version=existing["version"], old_name=None, new_name=None
        )
    except StaleVersion:
        return deps.store.get(tenant, "delivery", id) or existing
    return retried


def _claim(deps: Deps, tenant: str, id: str) -> Doc | None:
    delivery = deps.store.get(tenant, "delivery", id)
    if delivery is None or delivery["status"] in ("sent", "failed"):
        return None
    now = deps.now()
    if delivery["status"] == "sending" and (delivery.get("claimed_until") or "") > now.isoformat():
        raise DeliveryBusy(id)  # another worker is on it, or died on it: see again after the claim
    claimed = {
        **delivery,
        "status": "sending",
        "attempts": delivery["attempts"] + 1,
        "claimed_until": (now + timedelta(seconds=CLAIM_S)).isoformat(),
        "updated_at": deps.timestamp(),
        "version": delivery["version"] + 1,
    }
    try:
        deps.store.replace(
            tenant, "delivery", claimed, expected_version=delivery["version"], old_name=None, new_name=None
        )
    except StaleVersion:
        return None  # a concurrent worker claimed it first
    return claimed


def _finish(
    deps: Deps, tenant: str, delivery: Doc, *, status: str, message_id: str | None = None, error: str | None = None
) -> None:
    now = deps.timestamp()
    done = {
        **delivery,
        "status": status,
        "provider_message_id": message_id or delivery.get("provider_message_id"),
        "error": error,
        "sent_at": now if status == "sent" else delivery.get("sent_at"),
        "claimed_until": None,
        "updated_at": now,
        "version": delivery["version"] + 1,
    }
    deps.store.replace(tenant, "delivery", done, expected_version=delivery["version"], old_name=None, new_name=None)


def _document_of(deps: Deps, tenant: str, delivery: Doc, invoice_id: str) -> dict[str, Any]:
    """What the delivery carries: a credit note, an estimate, its client's
    answer, or the invoice."""
    if delivery.get("credit_note_id"):
        return _credit_note_document(deps, tenant, delivery["credit_note_id"])
    if delivery.get("kind") == ANSWER:
        return _answer_document(deps, tenant, delivery["estimate_id"])
    if delivery.get("kind") == "estimate":
        return _estimate_document(deps, tenant, delivery["estimate_id"])
    return _document(deps, tenant, invoice_id)


def _estimate_document(deps: Deps, tenant: str, estimate_id: str) -> dict[str, Any]:
    """The estimate's view-model and the PDF of its current version; the link
    is its public page, where its client accepts it."""
    from invoicing.documents.view import estimate_view
    from invoicing.logic import documents, estimates  # the renderer: loaded by the functions that send
    from invoicing.logic.logo import logo_bytes

    estimate, key = documents.store_estimate_pdf(deps, tenant, estimate_id)
    assert deps.blobs is not None
    shown = estimates.present(deps, tenant, estimate)
    return {
        "view": estimate_view(shown, logo_bytes(deps, tenant, estimate["business"].get("logo"))),
        "pdf": deps.blobs.read(key),
        "filename": documents.pdf_filename(estimate),
        "link": shown["quote_link"],
        **_addresses(deps, tenant, catalog.get_business(deps, tenant)),
        "status": shown["status"],
    }


def _answer_document(deps: Deps, tenant: str, estimate_id: str) -> dict[str, Any]:
    """The answered estimate's view-model, for the business; its PDF when it
    was accepted (the "Bon pour accord" block filled). From the platform's
    address: the business writes to itself through no identity of its own."""
    from invoicing.documents.view import estimate_view
    from invoicing.logic import documents, estimates  # the renderer: loaded by the functions that send
    from invoicing.logic.logo import logo_bytes

    estimate = estimates.load(deps, tenant, estimate_id)
    pdf = None
    if estimate.get("acceptance"):
        estimate, key = documents.store_estimate_pdf(deps, tenant, estimate_id)
        assert deps.blobs is not None
        pdf = deps.blobs.read(key)
    return {
        "view": estimate_view(estimate, logo_bytes(deps, tenant, estimate["business"].get("logo"))),
        "pdf": pdf,
        "filename": documents.pdf_filename(estimate),
        "link": None,
        "sender": sender.platform_sender(),
        "reply_to": None,
        "status": estimate["status"],
    }


def _document(deps: Deps, tenant: str, invoice_id: str) -> dict[str, Any]:
    """The invoice's view-model and the PDF of its current version (rendered
    now if its own event has not stored it yet)."""
    from invoicing.logic import documents  # the renderer: loaded by the functions that send, on first use

    invoice, key, _ = documents.store_pdf(deps, tenant, invoice_id)
    assert deps.blobs is not None
    business, customer = documents.parties(deps, tenant, invoice)
    view = documents.view_model(deps, tenant, invoice, business, customer)
    pdf = deps.blobs.read(key)
    return {
        "view": view,
        "pdf": pdf,
        "filename": documents.pdf_filename(invoice),
        "link": invoice.get("payment_link"),
        **_addresses(deps, tenant, business),
        "status": invoice["status"],
        "files": lambda: _files(deps, tenant, invoice, len(pdf)),  # read when an invoice's message needs them
    }


def _files(deps: Deps, tenant: str, invoice: Doc, pdf_bytes: int) -> dict[str, Any]:
    """The invoice's confirmed attachments for its e-mail: the files
    themselves while the message stays under SES's 10 MB, else links to
    each through the hosted page (which checks the token, then redirects)."""
    from invoicing.logic.attachments import stored_key

    listed = invoice.get("attachments") or []
    sent_bytes = (pdf_bytes + sum(item["size"] for item in listed)) * 4 // 3 + MESSAGE_MARGIN_BYTES
    if not listed or sent_bytes <= MAX_MESSAGE_BYTES:
        assert deps.blobs is not None
        attached = [
            (item["filename"], item["content_type"], deps.blobs.read(stored_key(tenant, invoice["id"], item["id"])))
            for item in listed
        ]
        return {"attached": attached, "links": []}
    link = invoice.get("payment_link") or ""
    return {"attached": [], "links": [(item["filename"], f"{link}/attachments/{item['id']}") for item in listed]}


def _addresses(deps: Deps, tenant: str, business: Doc) -> dict[str, Any]:
    """From the business's address when it proved it reads it (logic.sender),
    else from the platform's in the business's name; replies to the business."""
    own = sender.sending_address(deps, tenant)
    return {
        "sender": own or sender.platform_sender(),
        "reply_to": business.get("sender_email") or own or business.get("email"),
    }


def _credit_note_document(deps: Deps, tenant: str, credit_note_id: str) -> dict[str, Any]:
    """The credit note's view-model and its PDF; no link (there is nothing to pay)."""
    from invoicing.documents.view import credit_note_view
    from invoicing.logic import documents  # the renderer: loaded by the functions that send, on first use
    from invoicing.logic.logo import logo_bytes

    note, key = documents.store_credit_note_pdf(deps, tenant, credit_note_id)
    assert deps.blobs is not None
    return {
        "view": credit_note_view(note, logo_bytes(deps, tenant, note["business"].get("logo"))),
        "pdf": deps.blobs.read(key),
        "filename": documents.pdf_filename(note),
        "link": None,
        **_addresses(deps, tenant, catalog.get_business(deps, tenant)),
        "status": "issued",
    }


def _deadline_paid(document: dict[str, Any], key: str) -> bool:
    deadline = key.split(":")[0]
    if document["status"] == "paid":
        return True
    row = next((row for row in document["view"].get("schedule") or [] if row.get("id") == deadline), None)
    return bool(row and row.get("paid"))


def _message(delivery: Doc, document: dict[str, Any]) -> bytes | str:
    from invoicing.documents import messages

    view = document["view"]
    kind = delivery.get("kind", "invoice")
    if kind == ANSWER:
        return messages.estimate_answered(view, document["sender"], delivery["recipient"], document["pdf"],
                                          document["filename"])  # fmt: skip
    if kind == "reminder":  # about one deadline: its date and what it still asks
        view = messages.about_deadline(view, delivery["reminder"])
    if kind == "receipt" and delivery.get("payment"):  # about one payment: what it paid, and when
        view = messages.about_payment(view, delivery["payment"])
    if delivery["channel"] == "email":
        files = {"attached": [], "links": []}
        if kind == "invoice" and "files" in document:  # the invoice itself goes with its attachments
            files = document.setdefault("files_read", document["files"]())
        via = settings().platform_name if document["sender"] == sender.platform_sender() else None
        return messages.email(view, document["link"], document["sender"], delivery["recipient"],
                              document["pdf"], document["filename"], reply_to=document["reply_to"],
                              kind=kind, files=files["attached"], file_links=files["links"], via=via)  # fmt: skip
    return messages.sms(view, document["link"], kind=kind)


def _send(messenger: Messenger, tenant: str, delivery: Doc, document: dict[str, Any], message: bytes | str) -> str:
    if delivery["channel"] == "sms":
        assert isinstance(message, str)
        return messenger.send_sms(delivery["recipient"], message)
    assert isinstance(message, bytes)
    try:
        return messenger.send_email(document["sender"], delivery["recipient"], message, tenant=tenant)
    except SendRejected:
        if document["sender"] == sender.platform_sender():
            raise
    # SES refused the business's address (not verified in SES yet, or no
    # longer): the platform's, as for a business without one, from now on.
    logger.warning("own sender refused", extra={"invoice_id": delivery["invoice_id"]})
    document["sender"] = sender.platform_sender()
    return messenger.send_email(document["sender"], delivery["recipient"], _message(delivery, document), tenant=tenant)
