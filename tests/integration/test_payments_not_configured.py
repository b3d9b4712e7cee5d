"""Deploy day (issue 19 §8, SPEC §15): the stack creates the Stripe secret
with its JSON shape and empty values. Until someone fills it — or while it
is missing, or not JSON — every payment route answers 503
payments_not_configured with a Retry-After, never a 500, and records
nothing; the hosted page still shows the invoice."""

from __future__ import annotations

import dataclasses
import html
import json
import time
import uuid
from urllib.parse import urlencode

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from invoicing.adapters import live
from invoicing.logic.stripe_events import sign

pytestmark = pytest.mark.integration

SECRET_NAME = "invoicing/stripe"
AS_THE_STACK_CREATES_IT = {"secret_key": "", "webhook_secret": ""}


@pytest.fixture
def invoice(card_invoice):
    return card_invoice


def stripe_secret_is(value: dict) -> None:
    """The functions' Stripe secret from now on (the in-memory world's)."""
    live.install(dataclasses.replace(live.installed(), stripe_secrets=dict(value)))


def payment_event(invoice: dict, account: str) -> dict:
    intent = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount_received": 139_800,
        "currency": "eur",
        "metadata": {"tenant_id": "acme", "invoice_id": invoice["id"]},
        "payment_method_types": ["card"],
    }
    return {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "account": account,
            "created": int(time.time()), "data": {"object": intent}}  # fmt: skip


def deliver(api, event: dict, secret: str = "whsec_local_dev"):
    payload = json.dumps(event)
    header = sign(payload.encode(), secret, int(time.time()))
    return api.call("POST", "/webhooks/stripe", raw=payload, headers={"Stripe-Signature": header}, tenant=None)


def charge(api, invoice: dict):
    body = {"method": "card", "amount": "398.00", "payment_method_id": "pm_card_visa"}
    return api.post(f"/invoices/{invoice['id']}/payments", body, headers={"Idempotency-Key": str(uuid.uuid4())})


def assert_not_configured(reply) -> None:
    assert reply.status == 503, reply.body
    assert reply.body["error"]["code"] == "payments_not_configured"
    assert "not configured" in reply.body["error"]["message"]
    assert int(reply.headers["Retry-After"]) > 0


def path_of(invoice: dict) -> str:
    return invoice["payment_link"].removeprefix("http://127.0.0.1:3000")


@pytest.mark.parametrize(
    "secret",
    [AS_THE_STACK_CREATES_IT, {}, {"secret_key": "sk_test_local"}],
    ids=["empty values", "no keys", "no webhook secret"],
)
def test_a_webhook_is_a_503_until_the_secret_is_filled_then_stripes_retry_records_it(api, invoice, account, secret):
    stripe_secret_is(secret)

    reply = deliver(api, payment_event(invoice, account))

    assert_not_configured(reply)
    assert api.get(f"/invoices/{invoice['id']}").body["payments"] == []
    stripe_secret_is({"secret_key": "sk_test_local", "webhook_secret": "whsec_local_dev"})
    assert deliver(api, payment_event(invoice, account)).body["outcome"] == "recorded"  # the event was not marked done


@pytest.mark.parametrize(
    "secret", [AS_THE_STACK_CREATES_IT, {"webhook_secret": "whsec_local_dev"}], ids=["empty", "no key"]
)
def test_charging_a_saved_card_is_a_503_and_reaches_neither_stripe_nor_the_table(api, invoice, stripe_standin, secret):
    stripe_secret_is(secret)

    reply = charge(api, invoice)

    assert_not_configured(reply)
    assert stripe_standin.received == []
    assert api.get(f"/invoices/{invoice['id']}").body["payments"] == []
    stripe_secret_is({"secret_key": "sk_test_local", "webhook_secret": "whsec_local_dev"})
    assert charge(api, invoice).status == 201  # no charge lease was left behind


@pytest.mark.parametrize(
    "secret", [AS_THE_STACK_CREATES_IT, {"webhook_secret": "whsec_local_dev"}], ids=["empty", "no key"]
)
def test_stripe_onboarding_is_a_503_and_reaches_neither_stripe_nor_the_profile(api, business, stripe_standin, secret):
    stripe_secret_is(secret)

    reply = api.post("/business/stripe/onboarding")

    assert_not_configured(reply)
    assert stripe_standin.received == []
    assert api.get("/business").body["version"] == business["version"]


def test_the_hosted_page_shows_the_invoice_and_its_pay_button_says_payments_are_not_open_yet(
    api, invoice, stripe_standin
):
    stripe_secret_is(AS_THE_STACK_CREATES_IT)

    page = api.call("GET", path_of(invoice), tenant=None)
    paid = api.call("POST", f"{path_of(invoice)}/checkout", raw=urlencode({"target": "balance"}), tenant=None,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    assert page.status == 200
    assert "INV-1" in page.body
    assert paid.status == 503
    assert paid.headers["Content-Type"].startswith("text/html")
    assert int(paid.headers["Retry-After"]) > 0
    assert "Content-Security-Policy" in paid.headers
    text = html.unescape(paid.body)
    assert "INV-1" in text
    assert "pas encore ouvert" in text
    assert stripe_standin.received == []


@pytest.mark.on_aws
@pytest.mark.parametrize(
    "secret",
    ["missing", "not JSON", "a JSON list", "empty values"],
)
def test_from_secrets_manager_a_secret_missing_not_json_or_empty_is_a_503_not_a_500(api, invoice, account, secret):
    secrets = boto3.client("secretsmanager")
    if secret == "missing":
        secrets.delete_secret(SecretId=SECRET_NAME, ForceDeleteWithoutRecovery=True)
    else:
        value = {"not JSON": "b3JkaW5hcnkgcmFuZG9tIHRleHQ", "a JSON list": "[]"}.get(secret)
        secrets.put_secret_value(SecretId=SECRET_NAME, SecretString=value or json.dumps(AS_THE_STACK_CREATES_IT))
    parameters.clear_caches()

    assert_not_configured(deliver(api, payment_event(invoice, account)))
    assert_not_configured(charge(api, invoice))
    assert_not_configured(api.post("/business/stripe/onboarding"))
    assert api.get(f"/invoices/{invoice['id']}").body["payments"] == []
