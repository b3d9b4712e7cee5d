"""The security review's input probes (issue 19 §5 and §6), replayed
against the local runtime (`make dev`): signed webhook bodies parsed as
safely as the API's, amounts bounded, invisible characters and addresses
that are not one refused, the preview sent with the pay page's headers."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.connect import deliver

pytestmark = pytest.mark.e2e


def test_a_signed_body_of_nested_brackets_is_a_400_not_a_500(http):
    from invoicing.logic.stripe_events import sign
    from tests.connect import SECRET

    payload = "[" * 100_000 + "]" * 100_000
    header = sign(payload.encode(), SECRET, int(time.time()))

    reply = http.call("POST", "/webhooks/stripe", raw=payload, headers={"Stripe-Signature": header}, tenant=None)

    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "malformed_json"


def test_a_signed_negative_amount_records_nothing(http, client, ready):
    draft = client.post("/invoices", {"name": "Sonde", "customer_id": ready["customer"]["id"],
                                      "lines": [{"name": "Cours", "unit_price": "40"}]}).body  # fmt: skip
    invoice = client.post(f"/invoices/{draft['id']}/mark-sent").body
    obj = {"id": "pi_negative", "object": "payment_intent", "amount_received": -100, "currency": "eur",
           "metadata": {"tenant_id": client.tenant, "invoice_id": invoice["id"]}}  # fmt: skip
    event = {"id": "evt_negative", "object": "event", "type": "payment_intent.succeeded", "account": "acct_1X",
             "created": int(time.time()), "data": {"object": obj}}  # fmt: skip

    reply = deliver(http, event)

    assert reply.status == 422, reply.body
    assert reply.body["error"]["fields"][0]["field"] == "data.object.amount_received"
    assert client.get(f"/invoices/{invoice['id']}").body["amount_paid"] == "0.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Dupont\u202eliF & tnopuD"}, "name"),  # a right-to-left override: a look-alike customer
        ({"name": "Dupont\u200b"}, "name"),  # a zero-width space
        ({"name": "Dupont", "email": "a@b.example,c"}, "email"),
        ({"name": "Dupont", "email": "evil<a@b.example>"}, "email"),
    ],
)
def test_invisible_characters_and_addresses_that_are_not_one_are_refused(client, body: dict[str, Any], field):
    reply = client.post("/customers", body)

    assert reply.status == 422, reply.body
    assert reply.error_fields == [field]


def test_the_preview_is_sent_with_the_pay_pages_security_headers(client, ready):
    draft = client.post("/invoices", {"name": "Aperçu", "lines": [{"name": "Cours", "unit_price": "40"}]}).body

    reply = client.get(f"/invoices/{draft['id']}/preview")

    assert reply.status == 200
    assert "default-src" in reply.headers["Content-Security-Policy"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
