"""The receipt (issue 5 §7): when an invoice becomes paid, its client gets
an e-mail saying so, with the paid invoice attached — once."""

from __future__ import annotations

import concurrent.futures
import io

import pypdf
import pytest

from tests.conftest import CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE
from tests.integration.test_send import sent_emails
from tests.integration.test_stripe_webhooks import deliver, refunded, succeeded

pytestmark = pytest.mark.integration


def issue(api, email: str | None = "compta@dupont.example") -> dict:
    customer = api.post(
        "/customers", {"name": f"Client {email}", "email": email, "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}
    ).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "name": f"Pour {email}", "customer_id": customer["id"]}).body
    return api.post(f"/invoices/{draft['id']}/mark-sent").body


def pay(api, invoice: dict, amount: str = "1398.00"):
    reply = api.post(f"/invoices/{invoice['id']}/payments", {"method": "bank_transfer", "amount": amount})
    assert reply.status == 201, reply.body
    return reply.body


def paid_events(api) -> list[dict]:
    """The "Invoice Paid" events published so far (the others delivered as EventBridge would)."""
    import json

    import boto3

    from tests.conftest import EVENT_CAPTURE_QUEUE

    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName=EVENT_CAPTURE_QUEUE)["QueueUrl"]
    found = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            event = json.loads(message["Body"])
            if event["detail-type"] == "Invoice Paid":
                found.append(event)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_paying_in_full_e_mails_the_client_a_receipt_with_the_paid_invoice(api, business):
    invoice = issue(api)
    pay(api, invoice, "398.00")
    pay(api, invoice, "1000.00")

    delivered = api.deliver_events()

    assert ("delivery", {"sent": 1, "failed": 0, "skipped": 0}) in delivered
    (email,) = sent_emails()
    assert email["To"] == "compta@dupont.example"
    assert email["Subject"] == "Reçu : facture INV-1 d'Acme SAS, réglée"
    assert "1\u202f398,00\u00a0€" in email.get_body(("plain",)).get_content()
    (attachment,) = list(email.iter_attachments())
    text = pypdf.PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    assert "INV-1" in text
    deliveries = api.get(f"/invoices/{invoice['id']}").body["deliveries"]
    assert [(d["kind"], d["status"]) for d in deliveries] == [("receipt", "sent")]


def test_a_partial_payment_sends_no_receipt(api, business):
    pay(api, issue(api), "100.00")

    api.deliver_events()

    assert sent_emails() == []


def test_the_paid_event_twice_and_at_once_sends_one_receipt(api, business):
    invoice = issue(api)
    pay(api, invoice)
    (event,) = paid_events(api)

    api.invoke_function("delivery", event)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: api.invoke_function("delivery", event), range(4)))

    assert len(sent_emails()) == 1


def test_no_receipt_for_a_client_without_an_e_mail(api, business):
    pay(api, issue(api, email=None))

    (event,) = paid_events(api)

    assert api.invoke_function("delivery", event) == {"sent": 0, "failed": 0, "skipped": 1}
    assert sent_emails() == []


def test_no_receipt_once_a_refund_made_the_invoice_due_again(api, business):
    invoice = issue(api)
    assert deliver(api, succeeded(invoice, 139_800)).status == 200
    (event,) = paid_events(api)
    assert deliver(api, refunded(10_000)).status == 200  # before the paid event reaches the delivery function

    assert api.invoke_function("delivery", event) == {"sent": 0, "failed": 0, "skipped": 1}
    assert sent_emails() == []
