"""Outgoing webhooks through the local runtime (SPEC §13, §16): the table's
stream, the pipe, the bus, the hooks function's fan-out, the deliveries'
queue in the emulation, and a CRM on loopback verifying each request with
the Standard Webhooks library."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook

pytestmark = pytest.mark.e2e


def test_a_crm_receives_invoice_paid_through_the_runtime(runtime, client, ready, crm):
    made = client.post("/webhook-endpoints", {"url": crm.url, "events": ["invoice.paid", "payment.recorded"]}).body
    body = {"name": "Hooked", "customer_id": ready["customer"]["id"], "lines": [{"name": "Cours", "unit_price": "40"}]}
    draft = client.post("/invoices", body).body
    issued = client.post(f"/invoices/{draft['id']}/mark-sent").body
    paid = client.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": issued["amount_due"]})
    assert paid.status == 201, paid.body

    received = crm.wait_for(2, timeout_s=60)
    payloads = [Webhook(made["secret"]).verify(item.body, item.headers) for item in received]
    assert sorted(payload["type"] for payload in payloads) == ["invoice.paid", "payment.recorded"]
    invoice_paid = next(payload for payload in payloads if payload["type"] == "invoice.paid")
    assert invoice_paid["data"]["object"]["id"] == issued["id"]
    assert invoice_paid["data"]["object"]["status"] == "paid"
    assert runtime.drain(timeout_s=60)
    deliveries = client.get(f"/webhook-endpoints/{made['id']}/deliveries").body["items"]
    assert sorted((item["status"], item["attempts"]) for item in deliveries) == [("delivered", 1), ("delivered", 1)]
    assert len(crm.received) == 2  # each once


def test_a_commit_whose_function_dies_still_reaches_the_endpoint_once(runtime, client, ready, crm):
    """SPEC §16's drill for the CRM: the issuing function is killed the moment
    its commit lands; the stream carries it to the endpoint all the same."""
    from infra.local.lambdas import Crashed
    from tests.e2e.dying import mark_sent_then_die

    made = client.post("/webhook-endpoints", {"url": crm.url, "events": ["invoice.issued"]}).body
    body = {"name": "Killed", "customer_id": ready["customer"]["id"], "lines": [{"name": "Cours", "unit_price": "40"}]}
    draft = client.post("/invoices", body).body
    with pytest.raises(Crashed):
        mark_sent_then_die(runtime, client.tenant, draft["id"])

    (received,) = crm.wait_for(1, timeout_s=60)
    payload = Webhook(made["secret"]).verify(received.body, received.headers)
    assert (payload["type"], payload["data"]["object"]["id"]) == ("invoice.issued", draft["id"])
    assert payload["data"]["object"]["number"].startswith("INV-")
    assert runtime.drain(timeout_s=60)
    assert len(crm.received) == 1


def test_another_tenants_events_never_reach_the_endpoint(runtime, client, new_client, ready, crm):
    client.post("/webhook-endpoints", {"url": crm.url, "events": ["*"]})
    other = new_client()
    assert other.get("/webhook-endpoints").body["items"] == []
    made = other.post("/invoices", {"name": "Theirs", "lines": []})
    assert made.status == 201
    mine = client.post("/invoices", {"name": "Mine", "lines": []}).body

    (received,) = crm.wait_for(1, timeout_s=60)
    assert runtime.drain(timeout_s=60)
    assert len(crm.received) == 1
    assert json.loads(received.body)["data"]["object"]["id"] == mine["id"]


def test_a_failing_endpoint_is_retried_from_the_queue(runtime, client, crm):
    """The first attempt fails; the queue hands the message back 5 s later
    (the visibility the function set), and the second is delivered."""
    made = client.post("/webhook-endpoints", {"url": crm.url, "events": ["invoice.created"]}).body
    crm.statuses = [500]  # then 200
    draft = client.post("/invoices", {"name": "Retried", "lines": []}).body

    first, second = crm.wait_for(2, timeout_s=60)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.at - first.at >= 4.5  # on the queue's clock, not a wait in the function
    assert json.loads(second.body)["data"]["object"]["id"] == draft["id"]
    assert runtime.drain(timeout_s=60)
    (delivery,) = client.get(f"/webhook-endpoints/{made['id']}/deliveries").body["items"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 2, 200)
