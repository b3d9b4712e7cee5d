"""Sending through the local runtime: the bus runs the delivery function,
moto's SES and SNS keep what was sent, GET /_local/outbox shows it."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
import requests

from tests.conftest import CLIENT_ADDRESS, CLIENT_SIREN
from tests.e2e.test_concurrency import all_at_once

pytestmark = pytest.mark.e2e


def outbox(client: Any) -> dict[str, Any]:
    reply = requests.get(f"{client.base_url}/_local/outbox", timeout=10)
    assert reply.status_code == 200
    return reply.json()


def test_send_by_email_and_sms_then_read_the_outbox(runtime, client, ready):
    phone = "+33698765432"
    customer = client.post(
        "/customers",
        {
            "name": "Client SMS",
            "email": "sms@client.example",
            "phone": phone,
            "address": CLIENT_ADDRESS,
            "siren": CLIENT_SIREN,
        },
    ).body
    draft = client.post(
        "/invoices",
        {"name": "À envoyer", "customer_id": customer["id"], "lines": [{"name": "Cours", "unit_price": "40"}]},
    ).body

    sent = client.post(f"/invoices/{draft['id']}/send", {"channels": ["email", "sms"]})
    assert sent.status == 202, sent.body
    assert runtime.drain(timeout_s=60)

    box = outbox(client)
    (email,) = [item for item in box["emails"] if item["to"] == ["sms@client.example"]]
    assert email["subject"] == f"Facture {sent.body['number']} d'Acme SAS"
    assert [(a["filename"], a["content_type"]) for a in email["attachments"]] == [
        (f"{sent.body['number']}.pdf", "application/pdf")
    ]
    assert email["attachments"][0]["size"] > 1000
    (sms,) = [item for item in box["sms"] if item["to"] == phone]
    assert sent.body["payment_link"] in sms["text"]
    deliveries = client.get(f"/invoices/{draft['id']}").body["deliveries"]
    assert [d["status"] for d in deliveries] == ["sent", "sent"]


def test_the_same_send_event_delivered_concurrently_sends_one_email(runtime, client, ready):
    draft = client.post(
        "/invoices",
        {"name": "Une fois", "customer_id": ready["customer"]["id"], "lines": [{"name": "X", "unit_price": "1"}]},
    ).body
    before = len(outbox(client)["emails"])
    with runtime.bus.hold() as held:
        assert client.post(f"/invoices/{draft['id']}/send").status == 202
        assert runtime.pipe.drain(timeout_s=60)  # the commit's event, read from the stream, reached the bus
        (event,) = [event for event in held if event["detail-type"] == "Invoice Sent"]
        barrier, outcomes, busy = threading.Barrier(4), [], []

        def deliver() -> None:
            barrier.wait()
            try:
                outcomes.append(runtime.lambdas.run("delivery", event))
            except Exception as error:  # DeliveryBusy: held by another worker, Lambda would retry it
                busy.append(type(error).__name__)

        threads = [threading.Thread(target=deliver) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert runtime.drain(timeout_s=60)  # the held event too: a fifth delivery of it

    assert sum(outcome["sent"] for outcome in outcomes) == 1
    assert set(busy) <= {"DeliveryBusy"}
    assert len(outbox(client)["emails"]) == before + 1
    assert [d["status"] for d in client.get(f"/invoices/{draft['id']}").body["deliveries"]] == ["sent"]


def code_mailed_to(client: Any, address: str) -> str:
    """The code of the one e-mail the address got, as its reader finds it."""
    (mail,) = [item for item in outbox(client)["emails"] if item["to"] == [address]]
    return re.search(r"\b(\d{6})\b", mail["text"]).group(1)


def test_a_business_proves_its_address_from_the_outbox_and_its_invoices_come_from_it(runtime, client, ready):
    address = f"factures@{client.tenant}.example"

    asked = client.post("/business/sender", {"email": address})
    assert asked.status == 202, asked.body
    confirmed = client.post("/business/sender/confirm", {"code": code_mailed_to(client, address)})
    assert confirmed.status == 200, confirmed.body
    lines = [{"name": "X", "unit_price": "1"}]
    draft = client.post("/invoices", {"name": "Depuis", "customer_id": ready["customer"]["id"], "lines": lines}).body
    assert client.post(f"/invoices/{draft['id']}/send").status == 202
    assert runtime.drain(timeout_s=60)

    (invoice_mail,) = [item for item in outbox(client)["emails"] if item["subject"].startswith("Facture") and
                       address in item["from"]]  # fmt: skip
    assert invoice_mail["from"] == f"Acme SAS <{address}>"


def test_concurrent_requests_for_a_code_email_one(client, ready):
    address = f"concurrent@{client.tenant}.example"

    # a 429 is an answer here (one code a minute to an address), not a reason to try again
    # after its Retry-After: a minute later, a new code would rightly be sent
    statuses = [reply.status for reply in all_at_once(
        [lambda: client.post("/business/sender", {"email": address})] * 4, retry_on=(503,)
    )]  # fmt: skip

    assert statuses.count(202) == 1, statuses
    assert set(statuses) <= {202, 409, 429}
    assert len([item for item in outbox(client)["emails"] if item["to"] == [address]]) == 1


def test_concurrent_confirms_of_one_code_all_end_confirmed(client, ready):
    address = f"twice@{client.tenant}.example"
    client.post("/business/sender", {"email": address})
    code = code_mailed_to(client, address)

    replies = all_at_once([lambda: client.post("/business/sender/confirm", {"code": code})] * 4)

    assert [reply.status for reply in replies] == [200] * 4, [reply.body for reply in replies]
    assert {reply.body["sending_from"] for reply in replies} == {address}


def test_concurrent_wrong_guesses_all_count_and_spend_the_code(client, ready):
    address = f"guess@{client.tenant}.example"
    client.post("/business/sender", {"email": address})
    right = code_mailed_to(client, address)
    wrong = f"{(int(right) + 1) % 10**6:06d}"

    replies = all_at_once([lambda: client.post("/business/sender/confirm", {"code": wrong})] * 8)
    late = client.post("/business/sender/confirm", {"code": right})

    assert [reply.status for reply in replies] == [422] * 8
    messages = [reply.body["error"]["fields"][0]["message"] for reply in replies]
    assert sorted(messages) == ["too many wrong codes: ask for a new one"] * 3 + ["wrong code"] * 5
    assert late.status == 422
    assert "too many wrong codes" in late.body["error"]["message"]
