"""A business's Stripe account through the local runtime (issue 19 §2, §3):
linked through Stripe's onboarding only — the stand-in answers accounts
and account links, its onboarding page sends the signed `account.updated`
to the gateway — and the events of an account find their tenant from it."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from invoicing.logic.stripe_events import sign
from tests.conftest import BUSINESS, CUSTOMER
from tests.e2e.test_concurrency import all_at_once

pytestmark = pytest.mark.e2e


def issue(client: Any, customer_id: str) -> dict[str, Any]:
    draft = client.post("/invoices", {"name": f"Carte {uuid.uuid4().hex[:6]}", "customer_id": customer_id,
                                      "lines": [{"name": "X", "unit_price": "80"}]}).body  # fmt: skip
    invoice = client.post(f"/invoices/{draft['id']}/mark-sent").body
    assert invoice["status"] == "open", invoice
    return dict(invoice)


def signed(client: Any, event: dict[str, Any]) -> Any:
    payload = json.dumps(event)
    headers = {"Stripe-Signature": sign(payload.encode(), "whsec_local_dev", int(time.time()))}
    return client.call("POST", "/webhooks/stripe", raw=payload, headers=headers, tenant=None)


def onboarded(client: Any) -> str:
    """The tenant's account, onboarded as a business would: Stripe's page, Finish."""
    link = client.post("/business/stripe/onboarding")
    assert link.status == 200, link.body
    finished = requests.post(f"{link.body['url']}/complete", allow_redirects=False, timeout=30)
    assert finished.status_code == 303
    return str(link.body["stripe_account_id"])


def test_onboarding_links_the_account_and_its_clients_pay_on_it(client, ready, runtime):
    typed_in = client.patch("/business", {"stripe_account_id": "acct_1TypedIn"})
    link = client.post("/business/stripe/onboarding")
    page = requests.get(link.body["url"], timeout=30)
    finished = requests.post(f"{link.body['url']}/complete", allow_redirects=False, timeout=30)
    used_again = requests.get(link.body["url"], allow_redirects=False, timeout=30)

    assert (typed_in.status, typed_in.error_fields) == (422, ["stripe_account_id"])
    assert (link.status, link.body["stripe_status"]) == (200, "pending")
    assert page.status_code == 200
    assert "Finish onboarding" in page.text
    assert finished.headers["Location"] == f"{runtime.url}/?stripe_onboarding=return"
    assert used_again.headers["Location"] == f"{runtime.url}/?stripe_onboarding=refresh"  # single-use, as Stripe's
    account = link.body["stripe_account_id"]
    profile = client.get("/business").body  # Stripe's signed account.updated reached the webhook
    assert (profile["stripe_account_id"], profile["stripe_status"]) == (account, "active")

    invoice = issue(client, ready["customer"]["id"])
    checkout = requests.post(f"{invoice['payment_link']}/checkout", data={"target": "balance"},
                             allow_redirects=False, timeout=30)  # fmt: skip
    assert checkout.status_code == 303, checkout.text
    paid = requests.post(f"{checkout.headers['Location']}/pay", data={"method": "card"}, allow_redirects=False,
                         timeout=30)  # fmt: skip
    assert paid.status_code == 303
    assert client.get(f"/invoices/{invoice['id']}").body["status"] == "paid"
    (session,) = [r for r in runtime.stripe.requests_to("/v1/checkout/sessions") if r.account == account]
    assert session.params["metadata"]["tenant_id"] == client.tenant


def test_onboarding_asked_eight_times_at_once_makes_one_account(client, ready, runtime):
    replies = all_at_once([lambda: client.post("/business/stripe/onboarding")] * 8)

    assert [reply.status for reply in replies] == [200] * 8, [reply.body for reply in replies]
    accounts = [a for a in runtime.stripe.accounts.values() if a["metadata"] == {"tenant_id": client.tenant}]
    assert len(accounts) == 1
    assert {reply.body["stripe_account_id"] for reply in replies} == {accounts[0]["id"]}
    assert client.get("/business").body["stripe_account_id"] == accounts[0]["id"]


def test_a_tenant_cannot_take_another_tenants_account_nor_be_paid_by_its_events(client, ready, new_client, runtime):
    account = onboarded(client)
    other = new_client()
    assert other.put("/business", {**BUSINESS, "legal_name": "Globex SAS"}).status == 200
    customer = other.post("/customers", {**CUSTOMER, "stripe_customer_id": "cus_E2e"}).body
    invoice = issue(other, customer["id"])

    taken = other.patch("/business", {"stripe_account_id": account})
    charged = other.post(f"/invoices/{invoice['id']}/payments",
                         {"method": "card", "amount": "80.00", "payment_method_id": "pm_card_visa"},
                         headers={"Idempotency-Key": f"e2e-{other.tenant}"})  # fmt: skip
    credited = signed(client, {
        "id": f"evt_{other.tenant}", "object": "event", "type": "payment_intent.succeeded", "account": account,
        "created": int(time.time()), "data": {"object": {
            "id": f"pi_{other.tenant}", "object": "payment_intent", "amount_received": 8000, "currency": "eur",
            "metadata": {"tenant_id": other.tenant, "invoice_id": invoice["id"]}, "payment_method_types": ["card"],
        }},
    })  # fmt: skip

    assert (taken.status, taken.error_fields) == (422, ["stripe_account_id"])
    assert charged.status == 409
    assert [r for r in runtime.stripe.requests_to("/v1/payment_intents") if r.account == account] == []
    assert (credited.status, credited.body["outcome"]) == (200, "parked: account_of_another_tenant")
    assert other.get(f"/invoices/{invoice['id']}").body["payments"] == []
    own = other.post("/business/stripe/onboarding").body["stripe_account_id"]
    assert own != account
    assert client.get("/business").body["stripe_account_id"] == account


def test_account_updated_delivered_many_times_at_once_ends_as_stripe_last_said(client, ready, runtime):
    link = client.post("/business/stripe/onboarding").body
    account = runtime.stripe.accounts[link["stripe_account_id"]]
    now = int(time.time())

    def updated(at: int, **changes: Any) -> dict[str, Any]:
        return {"id": f"evt_{uuid.uuid4().hex[:20]}", "object": "event", "type": "account.updated",
                "account": account["id"], "created": at, "data": {"object": {**account, **changes}}}  # fmt: skip

    submitted = updated(now + 1, details_submitted=True)
    enabled = updated(now + 2, details_submitted=True, charges_enabled=True,
                      requirements={"currently_due": [], "past_due": [], "disabled_reason": None})  # fmt: skip
    replies = all_at_once([lambda event=event: signed(client, event) for event in [submitted, enabled] * 5])

    assert {reply.status for reply in replies} == {200}
    assert client.get("/business").body["stripe_status"] == "active"
