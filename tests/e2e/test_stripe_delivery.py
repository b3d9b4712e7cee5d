"""Stripe's webhook through the local runtime: the same signed event
delivered 20 times, 10 of them at once, records one payment; the signing
secret is the emulated Secrets Manager's (STRIPE_WEBHOOK_SECRET locally)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from invoicing.logic.stripe_events import sign
from tests.e2e.test_concurrency import all_at_once
from tests.e2e.test_connect_onboarding import onboarded

pytestmark = pytest.mark.e2e


def test_one_event_delivered_20_times_10_at_once_records_one_payment(client, ready):
    account = onboarded(client)  # the event comes from the tenant's Stripe account
    draft = client.post(
        "/invoices",
        {"name": "Carte", "customer_id": ready["customer"]["id"], "lines": [{"name": "X", "unit_price": "80"}]},
    ).body
    invoice = client.post(f"/invoices/{draft['id']}/mark-sent").body
    event = {
        "id": f"evt_{client.tenant}", "type": "payment_intent.succeeded", "created": int(time.time()),
        "account": account,
        "data": {"object": {
            "id": f"pi_{client.tenant}", "object": "payment_intent", "amount_received": 8000, "currency": "eur",
            "metadata": {"tenant_id": client.tenant, "invoice_id": invoice["id"]}, "payment_method_types": ["card"],
        }},
    }  # fmt: skip
    payload = json.dumps(event)

    def deliver() -> Any:
        headers = {"Stripe-Signature": sign(payload.encode(), "whsec_local_dev", int(time.time()))}
        return client.call("POST", "/webhooks/stripe", raw=payload, headers=headers, tenant=None)

    statuses = [reply.status for reply in all_at_once([deliver] * 10)]
    statuses += [deliver().status for _ in range(10)]

    assert statuses == [200] * 20
    stored = client.get(f"/invoices/{invoice['id']}").body
    assert len(stored["payments"]) == 1
    assert (stored["status"], stored["amount_paid"], stored["amount_due"]) == ("paid", "80.00", "0.00")


def test_a_saved_card_is_charged_through_the_api_functions_own_grants(client, ready, runtime):
    """Through the local runtime, where each function gets only the
    environment the stack grants it: the api function reaches Stripe (the
    stand-in) with the platform's key from Secrets Manager."""
    assert runtime.stripe is not None
    account = onboarded(client)  # through Stripe's onboarding, on the stand-in
    customer = ready["customer"]
    client.patch(f"/customers/{customer['id']}", {"stripe_customer_id": "cus_E2e", "version": customer["version"]})
    draft = client.post("/invoices", {"name": "Carte enregistrée", "customer_id": customer["id"],
                                      "lines": [{"name": "X", "unit_price": "80"}]}).body  # fmt: skip
    invoice = client.post(f"/invoices/{draft['id']}/mark-sent").body

    reply = client.post(f"/invoices/{invoice['id']}/payments",
                        {"method": "card", "amount": "80.00", "payment_method_id": "pm_card_visa"},
                        headers={"Idempotency-Key": f"e2e-{client.tenant}"})  # fmt: skip

    assert reply.status == 201, reply.body
    assert reply.body["invoice"]["status"] == "paid"
    (request,) = [r for r in runtime.stripe.requests_to("/v1/payment_intents") if r.account == account]
    assert request.params["customer"] == "cus_E2e"
