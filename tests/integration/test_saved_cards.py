"""Charging a card the client saved (issue 5 §5): a PaymentIntent confirmed
off-session on the business's connected account, recorded when it
succeeds, nothing recorded when it is refused."""

from __future__ import annotations

import concurrent.futures
import json
import time
import uuid

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from invoicing.logic.stripe_events import sign
from tests.conftest import CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE
from tests.connect import deliver
from tests.integration.conftest import STRIPE_CUSTOMER

pytestmark = pytest.mark.integration


@pytest.fixture
def invoice(card_invoice):
    return card_invoice


def charge(api, invoice: dict, amount: str = "398.00", method: str = "pm_card_visa", key: str | None = None, **fields):
    """A charge, with a new Idempotency-Key unless one is given."""
    body = {"method": "card", "amount": amount, "payment_method_id": method, **fields}
    headers = {"Idempotency-Key": key or f"charge-{uuid.uuid4()}"}
    return api.post(f"/invoices/{invoice['id']}/payments", body, headers=headers)


def stored(api, invoice: dict) -> dict:
    return api.get(f"/invoices/{invoice['id']}").body


def test_a_saved_card_is_charged_off_session_on_the_connected_account_and_recorded(
    api, invoice, stripe_standin, account
):
    reply = charge(api, invoice, instalment_id=None)

    assert reply.status == 201, reply.body
    assert (reply.body["method"], reply.body["amount"], reply.body["source"]) == ("card", "398.00", "stripe")
    assert reply.body["invoice"]["amount_due"] == "1000.00"
    (request,) = stripe_standin.requests_to("/v1/payment_intents")
    assert request.account == account
    assert request.idempotency_key.startswith("card-")
    params = request.params
    assert (params["amount"], params["currency"], params["customer"]) == ("39800", "eur", STRIPE_CUSTOMER)
    assert (params["payment_method"], params["off_session"], params["confirm"]) == ("pm_card_visa", "true", "true")
    assert params["metadata"] == {"tenant_id": "acme", "invoice_id": invoice["id"], "invoice_number": "INV-1"}
    assert reply.body["stripe_payment_intent"].startswith("pi_")


def test_stripes_event_about_the_same_charge_records_nothing_more(api, invoice, stripe_standin, account):
    reply = charge(api, invoice)
    intent = reply.body["stripe_payment_intent"]
    metadata = {"tenant_id": "acme", "invoice_id": invoice["id"]}
    intent_object = {"id": intent, "object": "payment_intent", "amount_received": 39800, "currency": "eur",
                     "metadata": metadata, "payment_method_types": ["card"]}  # fmt: skip
    event = {"id": "evt_pi", "object": "event", "type": "payment_intent.succeeded", "account": account,
             "created": int(time.time()), "data": {"object": intent_object}}  # fmt: skip
    payload = json.dumps(event)
    header = sign(payload.encode(), "whsec_local_dev", int(time.time()))

    delivered = api.call("POST", "/webhooks/stripe", raw=payload, headers={"Stripe-Signature": header}, tenant=None)

    assert delivered.body["outcome"] == "already recorded"
    assert len(stored(api, invoice)["payments"]) == 1


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined"),
        ("pm_card_authenticationRequired", "authentication_required"),
    ],
)
def test_a_refused_card_is_a_402_that_says_why_and_records_nothing(api, invoice, stripe_standin, method, code):
    reply = charge(api, invoice, method=method)

    assert reply.status == 402
    assert reply.body["error"]["code"] == code
    assert reply.body["error"]["fields"][0]["field"] == "payment_method_id"
    after = stored(api, invoice)
    assert (after["version"], after["payments"], after["amount_due"]) == (invoice["version"], [], "1398.00")


def test_an_unknown_payment_method_is_a_422_naming_it(api, invoice, stripe_standin):
    reply = charge(api, invoice, method="pm_missing")

    assert reply.status == 422
    assert reply.body["error"]["fields"][0]["field"] == "payment_method_id"
    assert "No such PaymentMethod" in reply.body["error"]["message"]


def test_what_cannot_be_paid_is_refused_before_stripe_is_asked(api, invoice, stripe_standin):
    assert charge(api, invoice, amount="1398.01").status == 409  # more than is due
    assert charge(api, invoice, amount="1.001").status == 422
    assert charge(api, invoice, instalment_id="ins_9").status == 422
    assert charge(api, invoice, paid_at="2026-01-02").status == 422  # a card charged now is paid today
    assert stripe_standin.received == []


def test_a_customer_without_a_stripe_customer_or_a_business_without_an_account_cannot_be_charged(
    api, invoice, stripe_standin, account
):
    plain = api.post("/customers", {"name": "Sans carte", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "name": "Autre", "customer_id": plain["id"]}).body
    other = api.post(f"/invoices/{draft['id']}/mark-sent").body
    reply = charge(api, other)
    assert reply.status == 422
    assert "stripe_customer_id" in reply.body["error"]["message"]

    a_minute_later = int(time.time()) + 60
    for event in stripe_standin.update_account(account, at=a_minute_later, charges_enabled=False):  # Stripe holds it
        assert deliver(api, event).body["outcome"] == "account updated"
    assert api.get("/business").body["stripe_status"] == "restricted"
    assert charge(api, invoice).status == 409
    assert stripe_standin.received == []


def test_a_charge_without_an_idempotency_key_is_refused_before_stripe_is_asked(api, invoice, stripe_standin):
    body = {"method": "card", "amount": "10.00", "payment_method_id": "pm_card_visa"}

    reply = api.post(f"/invoices/{invoice['id']}/payments", body)

    assert reply.status == 400
    assert reply.error_fields == ["Idempotency-Key"]
    assert stripe_standin.received == []


def test_the_same_request_twice_with_its_idempotency_key_charges_once(api, invoice, stripe_standin):
    first, second = charge(api, invoice, key="charge-1"), charge(api, invoice, key="charge-1")

    assert first.status == second.status == 201
    assert first.body["id"] == second.body["id"]
    assert len(stripe_standin.requests_to("/v1/payment_intents")) == 1
    assert len(stored(api, invoice)["payments"]) == 1


def test_a_retry_the_api_has_forgotten_is_still_the_same_payment_intent(api, invoice, stripe_standin):
    from invoicing.adapters import live as adapters
    from invoicing.logic import card_charges
    from invoicing.models.payments import CardPayment

    data = CardPayment(method="card", amount="398.00", payment_method_id="pm_card_visa")
    first = card_charges.charge(adapters.deps(), adapters.payment_gateway(), "acme", invoice["id"], data, "charge-7")
    again = card_charges.charge(adapters.deps(), adapters.payment_gateway(), "acme", invoice["id"], data, "charge-7")

    assert again["id"] == first["id"]
    assert len({request.idempotency_key for request in stripe_standin.requests_to("/v1/payment_intents")}) == 1
    after = stored(api, invoice)
    assert (len(after["payments"]), after["amount_paid"]) == (1, "398.00")


def test_a_double_click_at_once_charges_and_records_once(api, invoice, stripe_standin):
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        replies = list(pool.map(lambda _: charge(api, invoice, key="double-click"), range(5)))

    assert {reply.status for reply in replies} <= {201, 409}  # 409: the first is still running, retry
    assert 201 in {reply.status for reply in replies}
    intents = {request.idempotency_key for request in stripe_standin.requests_to("/v1/payment_intents")}
    assert len(intents) == 1
    after = stored(api, invoice)
    assert (len(after["payments"]), after["amount_paid"]) == (1, "398.00")


def test_two_different_charges_at_once_never_take_more_than_is_due(api, invoice, stripe_standin):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda key: charge(api, invoice, amount="1000.00", key=key), ["a-1", "b-2"]))

    assert sorted(reply.status for reply in replies) == [201, 409]
    assert len(stripe_standin.requests_to("/v1/payment_intents")) == 1
    after = stored(api, invoice)
    assert (after["amount_paid"], after["amount_due"]) == ("1000.00", "398.00")


def test_a_lapsed_lease_of_a_crashed_charge_is_taken_over(api, invoice, stripe_standin):
    from invoicing.adapters import live as adapters
    from invoicing.logic import stripe_events

    lapsed = {"id": f"charging:acme:{invoice['id']}", "version": 1, "created_at": "2026-11-28T00:00:00Z",
              "updated_at": "2026-11-28T00:00:00Z", "expires_epoch": int(time.time()) - 1}  # fmt: skip
    adapters.deps().store.create(stripe_events.PLATFORM, stripe_events.KIND, lapsed, name=None)

    assert charge(api, invoice).status == 201


@pytest.mark.on_aws
def test_stripe_refusing_for_the_set_up_is_a_502_and_too_small_an_amount_a_422(api, invoice, stripe_standin):
    too_small = charge(api, invoice, amount="0.30")
    assert too_small.status == 422
    assert too_small.error_fields == ["amount"]

    # the platform's key refused (rolled in Stripe's dashboard, not here yet)
    boto3.client("secretsmanager").put_secret_value(
        SecretId="invoicing/stripe", SecretString=json.dumps({"secret_key": "sk_rolled", "webhook_secret": "x"})
    )
    stripe_standin.valid_keys = {"sk_test_local"}
    parameters.clear_caches()
    refused = charge(api, invoice)
    assert refused.status == 502
    assert refused.body["error"]["code"] == "provider_refused"
    assert stored(api, invoice)["payments"] == []


def test_another_tenant_cannot_charge_a_card_on_acmes_invoice(api, invoice, stripe_standin):
    body = {"method": "card", "amount": "10.00", "payment_method_id": "pm_card_visa"}

    reply = api.post(f"/invoices/{invoice['id']}/payments", body, tenant="globex")

    assert reply.status == 404
    assert stripe_standin.received == []
