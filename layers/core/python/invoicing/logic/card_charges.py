"""Charging a card the client saved with Stripe (SPEC §5 `payments`: card
via a saved payment method): a PaymentIntent confirmed off-session on the
business's connected account, recorded as soon as Stripe says it
succeeded — by the same code as Stripe's event about it, so the event that
follows finds it recorded and changes nothing.

Never twice: the request must carry an Idempotency-Key, and Stripe gets a
key derived from it, so a retry — even after this API has forgotten the
first answer — is the same PaymentIntent. One charge at a time per invoice
(a short lease), so two different charges cannot both pass the amount-due
check. A refusal (declined, the bank wants the client to authenticate) is
a 402 and records nothing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from decimal import Decimal
from typing import Any

from invoicing.domain import stripe_money
from invoicing.domain.errors import (
    Busy,
    Conflict,
    InvalidInput,
    NotFound,
    PaymentDeclined,
    ProviderRefused,
    StaleVersion,
)
from invoicing.logic import invoices, payments, stripe_accounts, stripe_events
from invoicing.logic.common import Deps
from invoicing.ports import CardFailed, ConditionFailed, Doc, PaymentGateway, StripeRefused, StripeUnavailable

logger = logging.getLogger(__name__)

LEASE_S = 60  # longer than a Stripe call with its retries; a crashed holder's lease lapses
_FIELDS_OF_CODES = {"resource_missing": "payment_method_id", "payment_method_unexpected_state": "payment_method_id",
                    "amount_too_small": "amount", "amount_too_large": "amount"}  # fmt: skip


def charge(deps: Deps, stripe: PaymentGateway, tenant: str, invoice_id: str, data: Any, request_key: str | None) -> Doc:
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    if not request_key:
        raise InvalidInput.of("Idempotency-Key", "a card charge needs an Idempotency-Key: a retry never charges twice")
    amount = Decimal(data.amount)
    payments.check(invoice, amount, data.instalment_id)
    if data.paid_at is not None and data.paid_at != deps.today():
        raise InvalidInput.of("paid_at", "a saved card is charged now: leave paid_at out")
    currency = invoice["currency"]
    stripe_amount = stripe_money.to_stripe(amount, currency)
    account = stripe_accounts.chargeable(deps, tenant)
    if not account:
        raise Conflict("the business has no Stripe account taking payments to charge the card on: link one with "
                       "POST /business/stripe/onboarding (its stripe_status becomes active)")  # fmt: skip
    customer = deps.store.get(tenant, "customer", invoice["customer_id"]) if invoice.get("customer_id") else None
    stripe_customer = (customer or {}).get("stripe_customer_id")
    if not stripe_customer:
        raise InvalidInput.of(
            "payment_method_id", "the invoice's customer has no stripe_customer_id: a saved card belongs to one"
        )
    metadata = {"tenant_id": tenant, "invoice_id": invoice_id, "invoice_number": invoice["number"]}
    if data.instalment_id:
        metadata["instalment_id"] = data.instalment_id
    params = {
        "amount": stripe_amount,
        "currency": currency.lower(),
        "customer": stripe_customer,
        "payment_method": data.payment_method_id,
        "payment_method_types": ["card"],
        "off_session": True,
        "confirm": True,
        "metadata": metadata,
        "description": invoice["number"],
    }
    key = "card-" + hashlib.sha256(json.dumps([tenant, invoice_id, request_key]).encode()).hexdigest()[:48]
    lease = take_lease(deps, tenant, invoice_id)
    try:
        # what is due may have changed while the lease was taken
        payments.check(invoices.get_invoice(deps, tenant, invoice_id), amount, data.instalment_id)
        intent = _confirm(stripe, account, params, key)
        event = {"type": "payment_intent.succeeded", "account": account, "created": intent.get("created"),
                 "data": {"object": intent}}  # fmt: skip
        try:  # Stripe's answer to our own authenticated call: as good as its event
            stripe_events.handle(deps, event)
        except stripe_accounts.CannotApply as cannot:  # Stripe's own event will be parked, and say why
            logger.warning("a card charged could not be recorded now", extra={"reason": cannot.reason})
    finally:
        release_lease(deps, lease)
    recorded = invoices.get_invoice(deps, tenant, invoice_id)
    payment = next((p for p in recorded["payments"] if p.get("stripe_payment_intent") == intent["id"]), None)
    if payment is None:  # the business's Stripe account changed meanwhile, say: Stripe's event will say more
        raise Busy(f"the card was charged ({intent['id']}) but the payment could not be recorded now; "
                   "retry with the same Idempotency-Key: it is recorded, never charged again")  # fmt: skip
    return {**payment, "invoice": payments.position(recorded)}


def _confirm(stripe: PaymentGateway, account: str, params: dict[str, Any], key: str) -> dict[str, Any]:
    try:
        intent: dict[str, Any] = stripe.confirm_off_session(account, params, key)
    except CardFailed as failed:
        raise PaymentDeclined(failed.code, str(failed), failed.decline_code) from None
    except StripeRefused as refused:
        if refused.code in _FIELDS_OF_CODES:
            raise InvalidInput.of(_FIELDS_OF_CODES[refused.code], f"Stripe: {refused}") from None
        if refused.code in ("idempotency_key_in_use", "lock_timeout") or refused.status == 409:
            raise Conflict("the same charge is already being made; retry in a moment") from None
        raise ProviderRefused("Stripe refused the charge for a reason of the business's Stripe set-up") from None
    except StripeUnavailable:
        raise Busy(
            "Stripe did not answer; retry with the same Idempotency-Key (a charge is never made twice)"
        ) from None
    if intent.get("status") != "succeeded":
        raise PaymentDeclined(f"payment_{intent.get('status')}", f"the charge is {intent.get('status')}, not paid")
    return intent


def take_lease(deps: Deps, tenant: str, invoice_id: str) -> Doc:
    """The invoice's card-charge lease, or a 409 while another holds it."""
    now = int(deps.now().timestamp())
    stamp = deps.timestamp()
    lease_id = f"charging:{tenant}:{invoice_id}"
    for _ in range(2):
        held = deps.store.get(stripe_events.PLATFORM, stripe_events.KIND, lease_id)
        if held is not None and int(held["expires_epoch"]) > now:
            raise Conflict("another card is being charged on this invoice; retry in a moment")
        lease = {"id": lease_id, "version": (held or {}).get("version", 0) + 1, "created_at": stamp,
                 "updated_at": stamp, "expires_epoch": now + LEASE_S}  # fmt: skip
        try:
            if held is None:
                deps.store.create(stripe_events.PLATFORM, stripe_events.KIND, lease, name=None)
            else:  # a lapsed lease (its holder died): taken over
                deps.store.replace(stripe_events.PLATFORM, stripe_events.KIND, lease,
                                   expected_version=held["version"], old_name=None, new_name=None)  # fmt: skip
        except (ConditionFailed, StaleVersion, NotFound):
            continue
        return lease
    raise Conflict("another card is being charged on this invoice; retry in a moment")


def release_lease(deps: Deps, lease: Doc) -> None:
    with contextlib.suppress(StaleVersion, NotFound, ConditionFailed):  # lapsed and taken over: not ours
        deps.store.delete(stripe_events.PLATFORM, stripe_events.KIND, lease["id"],
                          expected_version=lease["version"], name=None)  # fmt: skip
