"""Charging a card the client saved with Stripe (SPEC §5 `payments`: card
via a saved payment method): a PaymentIntent confirmed off-session on the
business's connected account, recorded as soon as Stripe says it
succeeded — by the same code as Stripe's event about it, so the event that
follows finds it recorded and changes nothing.

A refusal (declined, the bank wants the client to authenticate) is a 402
and records nothing. The idempotency key sent to Stripe comes from the
request's Idempotency-Key, else from the invoice's version and the charge,
so a retried or doubled request never charges twice."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from invoicing.domain import payments as ledger
from invoicing.domain.errors import Busy, Conflict, InvalidInput, PaymentDeclined
from invoicing.domain.money import minor_unit
from invoicing.logic import catalog, invoices, payments, stripe_events
from invoicing.logic.common import Deps
from invoicing.store.ports import Doc
from invoicing.store.stripe_api import CardFailed, StripeRefused, StripeUnavailable


def charge(deps: Deps, stripe: Any, tenant: str, invoice_id: str, data: Any, request_key: str | None) -> Doc:
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    amount = Decimal(data.amount)
    payments.check(invoice, amount, data.instalment_id)
    if data.paid_at is not None and data.paid_at != deps.today():
        raise InvalidInput.of("paid_at", "a saved card is charged now: leave paid_at out")
    account = catalog.get_business(deps, tenant).get("stripe_account_id")
    if not account:
        raise Conflict("the business has no Stripe account (stripe_account_id) to charge the card on")
    customer = deps.store.get(tenant, "customer", invoice["customer_id"]) if invoice.get("customer_id") else None
    stripe_customer = (customer or {}).get("stripe_customer_id")
    if not stripe_customer:
        raise InvalidInput.of(
            "payment_method_id", "the invoice's customer has no stripe_customer_id: a saved card belongs to one"
        )
    currency = invoice["currency"]
    metadata = {"tenant_id": tenant, "invoice_id": invoice_id, "invoice_number": invoice["number"]}
    if data.instalment_id:
        metadata["instalment_id"] = data.instalment_id
    params = {
        "amount": ledger.to_minor_units(amount, minor_unit(currency)),
        "currency": currency.lower(),
        "customer": stripe_customer,
        "payment_method": data.payment_method_id,
        "payment_method_types": ["card"],
        "off_session": True,
        "confirm": True,
        "metadata": metadata,
        "description": f"{invoice['number']}",
    }
    seed = [tenant, invoice_id, request_key or f"v{invoice['version']}", data.payment_method_id, params["amount"]]
    key = "card-" + hashlib.sha256(json.dumps(seed).encode()).hexdigest()[:48]
    try:
        intent = stripe.confirm_off_session(account, params, key)
    except CardFailed as failed:
        raise PaymentDeclined(failed.code, str(failed), failed.decline_code) from None
    except StripeRefused as refused:
        raise InvalidInput.of("payment_method_id", f"Stripe refused the charge: {refused}") from None
    except StripeUnavailable:
        raise Busy(
            "Stripe did not answer; retry with the same Idempotency-Key (a charge is never made twice)"
        ) from None
    if intent.get("status") != "succeeded":
        raise PaymentDeclined(f"payment_{intent.get('status')}", f"the charge is {intent.get('status')}, not paid")
    event = {"type": "payment_intent.succeeded", "account": account, "created": intent.get("created"),
             "data": {"object": intent}}  # fmt: skip
    stripe_events.handle(deps, event)  # Stripe's answer to our own authenticated call: as good as its event
    recorded = invoices.get_invoice(deps, tenant, invoice_id)
    payment = next(p for p in recorded["payments"] if p.get("stripe_payment_intent") == intent["id"])
    return {**payment, "invoice": payments.position(recorded)}
