"""Collecting a recurring invoice by itself (SPEC §12 `auto_charge`): once
issued, the invoice is charged off-session to its customer's default saved
payment method, on the business's connected account, for what it asks.

What Stripe answers is recorded as its event about it would be, by the
same code (logic.stripe_events), so the event that follows changes
nothing: a card that succeeded is a payment; a card declined, or one whose
bank wants its holder to authenticate, leaves the invoice open with the
failure shown to the business and its client e-mailed the invoice's page to
pay it there; a SEPA Direct Debit is `processing` for days — the invoice
shows the payment on its way, and nobody chases the client meanwhile —
until Stripe says it succeeded or failed.

Once per invoice, whatever calls it, however often and however many at
once: Stripe gets an idempotency key derived from the invoice, one charge
of an invoice runs at a time (the card-charge lease, logic.card_charges),
and what Stripe answered is kept under the platform (`autocharge:…`), so a
call after it — a sweep's retry, even after Stripe forgot its key a day
later — applies that answer again (each step of it idempotent) instead of
charging again. A decline never raises; Stripe unreachable does
(StripeUnavailable: nothing was kept, the caller tries again later, under
the same key)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from decimal import Decimal
from typing import Any

from invoicing.domain import stripe_money
from invoicing.domain.errors import Busy, Conflict, ProviderRefused
from invoicing.domain.lifecycle import UNPAID, Status
from invoicing.logic import card_charges, payment_methods, stripe_accounts, stripe_events
from invoicing.logic.common import PLATFORM, Deps
from invoicing.logic.stripe_accounts import KIND, CannotApply
from invoicing.ports import CardFailed, ConditionFailed, Doc, PaymentGateway, StripeRefused

logger = logging.getLogger(__name__)


def collect(deps: Deps, stripe: PaymentGateway, tenant: str, invoice: Doc) -> Doc:
    """Charge the issued `invoice` (re-read here) to its customer's default
    saved method: {"status": "succeeded" | "processing" | "failed" |
    "skipped", "reason" (why skipped, or the failure's code),
    "stripe_payment_intent", "invoice" (as stored after, None when
    skipped)}. Skipped, nothing asked of Stripe, when nothing is due, a
    payment is already on its way, the customer has no default method or
    no Stripe customer, or the business's account takes no payments.

    Raises StripeUnavailable (Stripe did not answer) and Busy (another call
    is charging this invoice now): try again later, it charges nothing
    twice; ProviderRefused when Stripe refuses the platform itself (its key)."""
    invoice_id = invoice["id"]
    kept = deps.store.get(PLATFORM, KIND, _kept_id(tenant, invoice_id))
    if kept is not None:
        return _apply(deps, kept)
    charge = _charge_of(deps, tenant, invoice_id)
    if isinstance(charge, str):  # nothing to ask Stripe: no lease taken
        return _skipped(charge)
    try:
        lease = card_charges.take_lease(deps, tenant, invoice_id)
    except Conflict:
        raise Busy(f"invoice {invoice_id} is being charged by another call; try again in a moment") from None
    try:
        kept = deps.store.get(PLATFORM, KIND, _kept_id(tenant, invoice_id))  # the lease's last holder finished
        if kept is not None:
            return _apply(deps, kept)
        charge = _charge_of(deps, tenant, invoice_id)  # as it stands under the lease: paid meanwhile?
        if isinstance(charge, str):
            return _skipped(charge)
        account, params = charge
        event = _ask(deps, stripe, account, params, _stripe_key(tenant, invoice_id))
        return _apply(deps, _keep(deps, tenant, invoice_id, event))
    finally:
        card_charges.release_lease(deps, lease)


def _charge_of(deps: Deps, tenant: str, invoice_id: str) -> tuple[str, dict[str, Any]] | str:
    """The account and the PaymentIntent's parameters that charge the
    invoice as it stands, or why it is not charged."""
    current = deps.store.get(tenant, "invoice", invoice_id)
    if current is None or Status(current["status"]) not in UNPAID or Decimal(current["amount_due"]) <= 0:
        return "nothing due"
    if current.get("payment_processing"):
        return "a payment is on its way"
    customer = deps.store.get(tenant, "customer", current["customer_id"]) if current.get("customer_id") else None
    method = payment_methods.default_method(deps, tenant, customer["id"]) if customer else None
    if customer is None or method is None:
        return "no saved payment method"
    account = stripe_accounts.chargeable(deps, tenant)
    if account is None:
        return "the business's Stripe account takes no payments"
    if not customer.get("stripe_customer_id"):
        return "no Stripe customer"
    if any(saved not in (None, account) for saved in (customer.get("stripe_customer_account"), method.get("account"))):
        return "saved on another Stripe account than the business's"
    kind = method.get("type") or "card"
    metadata = {"tenant_id": tenant, "invoice_id": invoice_id, "invoice_number": current["number"],
                "auto_charge": "true"}  # fmt: skip
    if current.get("recurring_id"):
        metadata["recurring_id"] = current["recurring_id"]
    params: dict[str, Any] = {
        "amount": stripe_money.to_stripe(Decimal(current["amount_due"]), current["currency"]),
        "currency": current["currency"].lower(),
        "customer": method.get("stripe_customer") or customer["stripe_customer_id"],  # the one it is attached to
        "payment_method": method["id"],  # Stripe's
        "payment_method_types": [kind],
        "off_session": True,
        "confirm": True,
        "metadata": metadata,
        "description": current["number"],
    }
    if kind == "sepa_debit" and method.get("mandate"):
        params["mandate"] = method["mandate"]
    return account, params


def _ask(deps: Deps, stripe: PaymentGateway, account: str, params: dict[str, Any], key: str) -> dict[str, Any]:
    """Stripe's answer to the charge, as the event it is worth: succeeded,
    processing, or failed (a decline, a refusal of the method or amount).
    Long because each of Stripe's answers is read here, once."""
    try:
        intent = stripe.confirm_off_session(account, params, key)
    except CardFailed as failed:
        error = {"code": failed.code, "decline_code": failed.decline_code, "message": str(failed)}
        return _event(deps, "payment_intent.payment_failed", account,
                      {**(failed.payment_intent or {"id": key}), "last_payment_error": error}, params)  # fmt: skip
    except StripeRefused as refused:
        if refused.code in ("idempotency_key_in_use", "lock_timeout") or refused.status == 409:
            raise Busy("the same charge is being made at Stripe; try again in a moment") from None
        if refused.status in (401, 403):
            raise ProviderRefused("Stripe refused the platform's key: an operator must act") from None
        # the method detached since, an amount Stripe does not take: the client pays on the page
        error = {"code": refused.code or "refused", "message": str(refused)}
        return _event(deps, "payment_intent.payment_failed", account, {"id": key, "last_payment_error": error},
                      params)  # fmt: skip
    status = intent.get("status")
    if status == "succeeded":
        return _event(deps, "payment_intent.succeeded", account, intent, params)
    if status == "processing":
        return _event(deps, "payment_intent.processing", account, intent, params)
    error = intent.get("last_payment_error") or {
        "code": "authentication_required" if status == "requires_action" else f"payment_{status}",
        "message": f"the payment is {status}, not paid",
    }
    return _event(deps, "payment_intent.payment_failed", account, {**intent, "last_payment_error": error}, params)


def _event(deps: Deps, kind: str, account: str, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Stripe's answer to our own authenticated call, as good as its event
    (none has an id: the intent is what tells its event apart). What the
    answer leaves out is what was asked."""
    asked = {"object": "payment_intent", "amount": params["amount"], "currency": params["currency"],
             "payment_method_types": params["payment_method_types"]}  # fmt: skip
    obj = {**asked, **intent, "metadata": params["metadata"]}
    created = int(deps.now().timestamp())
    return {"id": None, "type": kind, "account": account, "created": created, "data": {"object": obj}}


def _keep(deps: Deps, tenant: str, invoice_id: str, event: dict[str, Any]) -> Doc:
    """What Stripe answered, kept for every later call (never charged twice)."""
    now = deps.timestamp()
    doc: Doc = {"id": _kept_id(tenant, invoice_id), "event": json.dumps(event, separators=(",", ":")), "version": 1,
           "created_at": now, "updated_at": now}  # fmt: skip
    with contextlib.suppress(ConditionFailed):
        deps.store.create(PLATFORM, KIND, doc, name=None)
        return doc
    return deps.store.get(PLATFORM, KIND, doc["id"]) or doc


def _apply(deps: Deps, kept: Doc) -> Doc:
    """Record Stripe's answer (again: each step finds what is done done)."""
    event = json.loads(kept["event"])
    intent = event["data"]["object"]
    metadata = intent["metadata"]
    try:
        stripe_events.handle(deps, event)
    except CannotApply as cannot:  # the business's account changed meanwhile: Stripe's own event will be parked
        logger.warning("an automatic charge could not be recorded now", extra={"reason": cannot.reason})
    status = {"payment_intent.succeeded": "succeeded", "payment_intent.processing": "processing"}.get(
        event["type"], "failed"
    )
    error = intent.get("last_payment_error") or {}
    return {
        "status": status,
        "reason": (error.get("decline_code") or error.get("code")) if status == "failed" else None,
        "stripe_payment_intent": intent["id"],
        "invoice": deps.store.get(metadata["tenant_id"], "invoice", metadata["invoice_id"]),
    }


def _skipped(reason: str) -> Doc:
    return {"status": "skipped", "reason": reason, "stripe_payment_intent": None, "invoice": None}


def _kept_id(tenant: str, invoice_id: str) -> str:
    return f"autocharge:{tenant}:{invoice_id}"


def _stripe_key(tenant: str, invoice_id: str) -> str:
    return "auto-" + hashlib.sha256(json.dumps([tenant, invoice_id, "auto"]).encode()).hexdigest()[:48]
