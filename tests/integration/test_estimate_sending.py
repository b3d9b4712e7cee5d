"""Sending an estimate (SPEC §11): the invoices' delivery path — 202 and
pending deliveries, sent once by the delivery function with the PDF and the
link to the estimate's page — and its events on the bus."""

from __future__ import annotations

import io

import pypdf
import pytest

from tests.conftest import published_events
from tests.integration.test_estimates import estimate_body
from tests.integration.test_send import PHONE, sent_emails, sent_sms

pytestmark = pytest.mark.integration


@pytest.fixture
def estimate(api, business, customer):
    assert api.patch(f"/customers/{customer['id']}", {"phone": PHONE, "version": customer["version"]}).status == 200
    reply = api.post("/estimates", estimate_body(customer))
    assert reply.status == 201, reply.body
    return reply.body


def test_an_estimate_goes_by_email_with_its_pdf_and_by_sms_with_its_link(api, estimate):
    sent = api.post(f"/estimates/{estimate['id']}/send", {"channels": ["email", "sms"]}).body

    api.deliver_events()

    (email,) = sent_emails()
    assert email["Subject"] == "Devis D-1 d'Acme SAS"
    assert email["To"] == "compta@dupont.example"
    (pdf,) = list(email.iter_attachments())
    assert pdf.get_filename() == "D-1.pdf"
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.get_payload(decode=True))).pages)
    assert "D-1" in text
    assert "Bon pour accord" in text
    assert sent["quote_link"] in email.get_body(("plain",)).get_content()
    ((phone, sms),) = sent_sms()
    assert phone == PHONE
    assert sent["quote_link"] in sms
    assert "D-1" in sms
    deliveries = api.get(f"/estimates/{estimate['id']}").body["deliveries"]
    assert [(d["channel"], d["status"]) for d in deliveries] == [("email", "sent"), ("sms", "sent")]


def test_numbering_an_estimate_puts_estimate_sent_on_the_bus(api, estimate):
    published_events()  # what came before
    api.post(f"/estimates/{estimate['id']}/mark-sent")

    found = [(event["detail-type"], event["detail"]) for event in published_events()]

    assert ("Estimate Sent", {"tenant_id": "acme", "estimate_id": estimate["id"], "version": 2}) in found
    assert not [kind for kind, _ in found if kind == "Estimate Delivery Requested"]  # marked sent: nothing to send


def test_the_same_delivery_event_twice_sends_one_email(api, estimate):
    api.post(f"/estimates/{estimate['id']}/send", {"channels": ["email"]})
    event = next(event for event in published_events() if event["detail-type"] == "Estimate Delivery Requested")

    first = api.invoke_function("delivery", event)
    second = api.invoke_function("delivery", event)

    assert (first["sent"], second["sent"], second["skipped"]) == (1, 0, 1)
    assert len(sent_emails()) == 1


def test_an_estimate_declined_before_its_delivery_is_not_sent(api, estimate):
    from tests.integration.test_quote_page import decline

    sent = api.post(f"/estimates/{estimate['id']}/send", {"channels": ["email"]}).body
    assert decline(api, sent, "Trop cher").status == 303

    api.deliver_events()

    assert [email["To"] for email in sent_emails() if email["To"] == "compta@dupont.example"] == []
    (delivery,) = api.get(f"/estimates/{estimate['id']}").body["deliveries"]
    assert delivery["status"] == "failed"
    assert "declined" in delivery["error"]
    assert api.post(f"/estimates/{estimate['id']}/send", {"channels": ["email"]}).status == 409


def test_estimates_count_against_the_day_s_sending_limit(api, estimate, monkeypatch):
    from invoicing import settings

    monkeypatch.setenv("SENDING_LIMITS", '{"emails_per_day": 1}')
    settings.reread()
    assert api.post(f"/estimates/{estimate['id']}/send", {"channels": ["email"]}).status == 202
    other = api.post("/estimates", estimate_body({"id": estimate["customer_id"]}, name="Autre")).body

    reply = api.post(f"/estimates/{other['id']}/send", {"channels": ["email"]})

    assert reply.status == 429
    assert "Retry-After" in reply.headers
    assert api.get(f"/estimates/{other['id']}").body["status"] == "draft"  # nothing numbered, nothing queued
