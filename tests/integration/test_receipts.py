"""Receipts (SPEC §6.2): after every payment, partial ones included, the
client gets an e-mail naming what it paid and what is still due, the
invoice as it stands attached — once per payment; or only when the invoice
is paid, or never, as the business's `receipts` setting says."""

from __future__ import annotations

import concurrent.futures
import io

import pypdf
import pytest

from tests.conftest import CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE
from tests.connect import onboard
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


def paid_events(api, detail_type: str = "Invoice Paid") -> list[dict]:
    """The events of `detail_type` published so far (the others dropped)."""
    from tests.conftest import published_events

    return [event for event in published_events() if event["detail-type"] == detail_type]


def test_each_payment_gets_its_receipt_saying_what_it_paid_and_what_is_still_due(api, business):
    invoice = issue(api)
    first = pay(api, invoice, "398.00")
    pay(api, invoice, "1000.00")

    delivered = api.deliver_events()  # both payments' events arrive after both payments

    assert [outcome for function, outcome in delivered if function == "delivery"].count(
        {"sent": 1, "failed": 0, "skipped": 0}
    ) == 2
    partial, paid = sorted(sent_emails(), key=lambda email: "réglée" in email["Subject"])
    assert partial["Subject"] == "Reçu : paiement de 398,00\u00a0€ sur la facture INV-1 d'Acme SAS"
    body = partial.get_body(("plain",)).get_content()
    today = first["paid_at"]
    assert f"votre paiement de 398,00\u00a0€ du {today[8:10]}/{today[5:7]}/{today[:4]}" in body
    assert "Il reste 1\u202f000,00\u00a0€ à régler." in body  # where that payment left it, though sent later
    assert paid["Subject"] == "Reçu : facture INV-1 d'Acme SAS, réglée"
    assert "votre paiement de 1\u202f000,00\u00a0€" in paid.get_body(("plain",)).get_content()
    (attachment,) = list(paid.iter_attachments())
    text = pypdf.PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    assert "INV-1" in text
    deliveries = api.get(f"/invoices/{invoice['id']}").body["deliveries"]
    assert [(d["kind"], d["status"]) for d in deliveries] == [("receipt", "sent")] * 2


def test_when_paid_sends_one_receipt_when_the_invoice_is_paid_and_never_sends_none(api, business):
    api.patch("/business", {"receipts": "when_paid"})
    invoice = issue(api)
    pay(api, invoice, "398.00")
    api.deliver_events()
    assert sent_emails() == []
    pay(api, invoice, "1000.00")
    api.deliver_events()
    (paid,) = sent_emails()
    assert paid["Subject"] == "Reçu : facture INV-1 d'Acme SAS, réglée"

    api.patch("/business", {"receipts": "never"})
    pay(api, issue(api, email="autre@dupont.example"))
    api.deliver_events()
    assert len(sent_emails()) == 1


def test_a_credit_note_that_settles_the_rest_sends_the_paid_receipt(api, business):
    invoice = issue(api)
    pay(api, invoice, "1000.00")
    api.deliver_events()
    api.post(f"/invoices/{invoice['id']}/credit-notes", {"amount": "398.00"})

    api.deliver_events()

    subjects = [email["Subject"] for email in sent_emails()]
    assert "Reçu : facture INV-1 d'Acme SAS, réglée" in subjects
    assert len([s for s in subjects if s.startswith("Reçu")]) == 2  # the payment's, then the paid one


def test_a_payment_cancelled_before_its_receipt_goes_out_gets_none(api, business):
    invoice = issue(api)
    payment = pay(api, invoice, "100.00")
    api.post(f"/invoices/{invoice['id']}/payments/{payment['id']}/cancel", {"reason": "saisie en double"})

    api.deliver_events()

    assert sent_emails() == []


@pytest.mark.on_aws
@pytest.mark.parametrize("detail_type", ["Payment Recorded", "Invoice Paid"])
def test_the_event_twice_and_at_once_sends_one_receipt(api, business, detail_type):
    api.patch("/business", {"receipts": "every_payment" if detail_type == "Payment Recorded" else "when_paid"})
    invoice = issue(api)
    pay(api, invoice)
    (event,) = paid_events(api, detail_type)

    api.invoke_function("delivery", event)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: api.invoke_function("delivery", event), range(4)))

    assert len(sent_emails()) == 1


@pytest.mark.on_aws
def test_no_receipt_for_a_client_without_an_e_mail(api, business):
    pay(api, issue(api, email=None))

    (event,) = paid_events(api, "Payment Recorded")

    assert api.invoke_function("delivery", event) == {"sent": 0, "failed": 0, "skipped": 1}
    assert sent_emails() == []


@pytest.mark.on_aws
def test_no_receipt_once_a_refund_made_the_invoice_due_again(api, business, stripe_standin):
    onboard(api, stripe_standin)  # the events come from acme's Stripe account
    api.patch("/business", {"receipts": "when_paid"})
    invoice = issue(api)
    assert deliver(api, succeeded(invoice, 139_800)).status == 200
    (event,) = paid_events(api)
    assert deliver(api, refunded(10_000)).status == 200  # before the paid event reaches the delivery function

    assert api.invoke_function("delivery", event) == {"sent": 0, "failed": 0, "skipped": 1}
    assert sent_emails() == []
