"""The security review's relay probes, replayed against the local runtime
(`make dev`): the platform's address and SMS sender cannot be turned
against strangers (SPEC §15, issue 19 §1)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from tests.conftest import CLIENT_ADDRESS, CLIENT_SIREN
from tests.e2e.test_sending import outbox

pytestmark = pytest.mark.e2e


def invoice_for(client: Any, email: str, phone: str | None = None) -> dict[str, Any]:
    customer = {"name": f"Client {uuid4().hex[:6]}", "email": email, "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}
    created = client.post("/customers", {**customer, **({"phone": phone} if phone else {})})
    assert created.status == 201, created.body
    draft = client.post("/invoices", {"name": f"F {uuid4().hex[:6]}", "customer_id": created.body["id"],
                                      "lines": [{"name": "Cours", "unit_price": "40"}]})  # fmt: skip
    assert draft.status == 201, draft.body
    return draft.body


@pytest.mark.parametrize("phone", ["+33899123456", "+8823421234"])  # premium rate; international networks
def test_premium_and_international_network_numbers_get_no_sms(client, ready, phone):
    invoice = invoice_for(client, "client@client.example")

    refused = client.post(f"/invoices/{invoice['id']}/send", {"channels": ["sms"], "to": {"phones": [phone]}})

    assert refused.status == 422, refused.body
    assert refused.error_fields == ["to.phones"]
    assert client.get(f"/invoices/{invoice['id']}").body["status"] == "draft"


def test_an_invoice_cannot_be_mailed_to_a_list_of_strangers(client, ready):
    invoice = invoice_for(client, "client@client.example")
    strangers = [f"victim{n}@example.org" for n in range(10)]

    refused = client.post(f"/invoices/{invoice['id']}/send", {"to": {"emails": strangers}})

    assert refused.status == 422, refused.body
    assert refused.error_fields == ["to.emails"]


def eleven_sends_to(client: Any, victim: str) -> tuple[list[int], str | None]:
    statuses, retry_after = [], None
    for _ in range(11):
        invoice = invoice_for(client, f"c{uuid4().hex[:6]}@client.example")
        reply = client.post(f"/invoices/{invoice['id']}/send", {"to": {"emails": [victim]}})
        statuses.append(reply.status)
        retry_after = reply.headers.get("Retry-After") if reply.status == 429 else retry_after
    return statuses, retry_after


def test_one_recipient_gets_ten_messages_a_day_from_a_business_then_429(runtime, client, ready):
    from datetime import UTC, datetime

    victim = f"victim-{uuid4().hex[:8]}@example.org"
    day = datetime.now(UTC).date()
    statuses, retry_after = eleven_sends_to(client, victim)
    if datetime.now(UTC).date() != day:  # the limits are a UTC day's: a run across midnight starts again
        victim = f"victim-{uuid4().hex[:8]}@example.org"
        statuses, retry_after = eleven_sends_to(client, victim)

    assert statuses == [202] * 10 + [429]
    assert retry_after is not None
    assert 0 < int(retry_after) <= 86_401
    assert runtime.drain(timeout_s=120)
    sent = [email for email in outbox(client)["emails"] if email["to"] == [victim]]
    assert len(sent) == 10
    assert sent[0]["from"].startswith("Acme SAS via Invoicing <")


def test_bounces_put_on_the_default_bus_suspend_the_tenant(runtime, client, ready):
    """SES's configuration set puts its events on the account's default bus;
    the local runtime's bus takes them there too and runs the rule's function."""
    import json

    invoice = invoice_for(client, f"c{uuid4().hex[:6]}@client.example")
    assert client.post(f"/invoices/{invoice['id']}/send").status == 202
    for n in range(5):
        detail = {
            "eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bouncedRecipients": []},
            "mail": {"messageId": f"{client.tenant}-{n}", "tags": {"tenant_id": [client.tenant]}},
        }
        entry = {"EventBusName": "default", "Source": "aws.ses", "DetailType": "Email Bounced",
                 "Detail": json.dumps(detail)}  # fmt: skip
        assert "EventId" in runtime.bus.put(entry)
    assert runtime.drain(timeout_s=60)

    other = invoice_for(client, f"c{uuid4().hex[:6]}@client.example")
    refused = client.post(f"/invoices/{other['id']}/send")
    assert refused.status == 403, refused.body
    assert refused.body["error"]["code"] == "sending_suspended"
