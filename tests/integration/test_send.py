"""Sending (issue 4 §1–2): POST /invoices/{id}/send answers 202 with pending
deliveries and publishes them; the delivery function sends each once."""

from __future__ import annotations

import io
from email import message_from_bytes, policy

import pypdf
import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE, not_hooks, published_events

pytestmark = pytest.mark.integration

PHONE = "+33612345678"


def sent_emails() -> list:
    """The e-mails sent so far, parsed, from the fake messenger or moto's SES."""
    from invoicing.adapters import live

    if live.installed() is not None:
        raw = [email.mime for email in live.installed().messenger.emails]
    else:
        from moto.ses.models import ses_backends

        sent = ses_backends["123456789012"]["eu-west-3"].sent_messages
        raw = [m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data for m in sent]
    return [message_from_bytes(data, policy=policy.default) for data in raw]


def sent_sms() -> list[tuple[str, str]]:
    """(phone, text) of each SMS sent so far."""
    from invoicing.adapters import live

    if live.installed() is not None:
        return [(sms.phone, sms.text) for sms in live.installed().messenger.sms]
    from moto.sns.models import sns_backends

    return list(sns_backends["123456789012"]["eu-west-3"].sms_messages.values())


@pytest.fixture
def reachable(api, business):
    customer = {
        "name": "Dupont & Fils",
        "email": "compta@dupont.example",
        "phone": PHONE,
        "address": CLIENT_ADDRESS,
        "siren": CLIENT_SIREN,
    }
    created = api.post("/customers", customer)
    assert created.status == 201, created.body
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": created.body["id"]})
    return draft.body


def test_sending_a_draft_issues_it_and_answers_202_with_pending_deliveries(api, reachable):
    reply = api.post(f"/invoices/{reachable['id']}/send", {"channels": ["email", "sms"]})

    assert reply.status == 202, reply.body
    assert reply.body["number"] == "INV-1"
    assert [(d["channel"], d["recipient"], d["status"]) for d in reply.body["deliveries"]] == [
        ("email", "compta@dupont.example", "pending"),
        ("sms", PHONE, "pending"),
    ]


def test_the_delivery_function_sends_the_pdf_by_email_and_the_link_by_sms(api, reachable):
    invoice = api.post(f"/invoices/{reachable['id']}/send", {"channels": ["email", "sms"]}).body

    delivered = api.deliver_events()

    assert sent_by(delivered) == {"sent": 2, "failed": 0, "skipped": 0}
    (email,) = sent_emails()
    assert email["Subject"] == "Facture INV-1 d'Acme SAS"
    assert email["To"] == "compta@dupont.example"
    assert "factures@invoicing.local" in email["From"]
    (pdf,) = list(email.iter_attachments())
    assert pdf.get_filename() == "INV-1.pdf"
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.get_payload(decode=True))).pages)
    assert "INV-1" in text
    assert "1 398,00" in text.replace("\u202f", " ").replace("\xa0", " ")
    assert invoice["payment_link"] in email.get_body(("plain",)).get_content()
    ((phone, sms),) = sent_sms()
    assert phone == PHONE
    assert invoice["payment_link"] in sms
    assert "INV-1" in sms
    assert len(sms) <= 306
    deliveries = api.get(f"/invoices/{reachable['id']}").body["deliveries"]
    assert {d["status"] for d in deliveries} == {"sent"}
    assert all(d["provider_message_id"] for d in deliveries)


@pytest.mark.on_aws
def test_the_same_event_delivered_twice_sends_one_email(api, reachable):
    api.post(f"/invoices/{reachable['id']}/send")
    event = next(event for event in published_events() if event["detail-type"] == "Invoice Sent")

    first = api.invoke_function("delivery", event)
    second = api.invoke_function("delivery", event)

    assert (first["sent"], second["sent"], second["skipped"]) == (1, 0, 1)
    assert len(sent_emails()) == 1


def test_sending_again_to_the_same_recipient_sends_nothing_more(api, reachable):
    api.post(f"/invoices/{reachable['id']}/send")
    api.deliver_events()

    again = api.post(f"/invoices/{reachable['id']}/send")

    assert again.status == 202
    assert [d["status"] for d in again.body["deliveries"]] == ["sent"]
    assert [function for function, _ in not_hooks(api.deliver_events())] == []
    assert len(sent_emails()) == 1


@pytest.mark.on_aws
def test_a_throttled_email_is_retried_and_sent_once(api, reachable, monkeypatch):
    from invoicing.adapters.messaging import AwsMessenger
    from invoicing.ports import SendThrottled

    api.post(f"/invoices/{reachable['id']}/send")
    events = _captured(api)
    original, calls = AwsMessenger.send_email, []

    def throttled_once(self, sender, recipient, mime, tenant=None):
        calls.append(recipient)
        if len(calls) == 1:
            raise SendThrottled("TooManyRequestsException: slow down")
        return original(self, sender, recipient, mime, tenant=tenant)

    monkeypatch.setattr(AwsMessenger, "send_email", throttled_once)
    with pytest.raises(SendThrottled):
        api.invoke_function("delivery", events[0])  # the invocation fails: Lambda retries it
    assert api.get(f"/invoices/{reachable['id']}").body["deliveries"][0]["status"] == "pending"

    retried = api.invoke_function("delivery", events[0])

    assert retried["sent"] == 1
    assert len(sent_emails()) == 1
    assert api.get(f"/invoices/{reachable['id']}").body["deliveries"][0]["status"] == "sent"


@pytest.mark.on_aws
def test_a_rejected_email_is_a_failed_delivery_with_its_reason_and_no_retry(api, reachable, monkeypatch):
    from botocore.exceptions import ClientError

    from invoicing.adapters import messaging

    def rejected(self, sender, recipient, mime, tenant=None):
        error = {"Error": {"Code": "MessageRejected", "Message": "Email address is not verified."},
                 "ResponseMetadata": {"HTTPStatusCode": 400}}  # fmt: skip
        raise messaging._classified(ClientError(error, "SendEmail"))

    monkeypatch.setattr(messaging.AwsMessenger, "send_email", rejected)
    api.post(f"/invoices/{reachable['id']}/send")

    delivered = api.deliver_events()  # no exception: nothing to retry

    # "not verified": the sender, or the recipient while SES is in its sandbox: the set-up's fault (an alarm)
    assert ("delivery", {"sent": 0, "failed": 1, "skipped": 0, "misconfigured": 1}) in delivered
    (delivery,) = api.get(f"/invoices/{reachable['id']}").body["deliveries"]
    assert delivery["status"] == "failed"
    assert "MessageRejected" in delivery["error"]
    assert sent_emails() == []


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("MessageRejected", 400, "SendRejected"),
        ("ParameterValueInvalid", 400, "SendRejected"),  # SNS: a bad phone number
        ("TooManyRequestsException", 429, "SendThrottled"),
        ("Throttling", 400, "SendThrottled"),
        ("SendingPausedException", 400, "ClientError"),  # the account: retried
        ("InternalFailure", 500, "ClientError"),
    ],
)
def test_provider_errors_are_told_apart(code, status, kind):
    from botocore.exceptions import ClientError

    from invoicing.adapters import messaging

    error = ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")

    assert type(messaging._classified(error)).__name__ == kind


def test_the_email_comes_from_the_platform_for_the_business_and_replies_go_to_the_business(api, reachable):
    """SPEC §15: the platform's From reads "{business} via {platform}"."""
    api.put("/business", {**BUSINESS, "sender_email": "factures@acme.example", "version": 1})
    api.post(f"/invoices/{reachable['id']}/send")

    api.deliver_events()

    (email,) = sent_emails()
    assert email["From"] == "Acme SAS via Invoicing <factures@invoicing.local>"
    assert email["Reply-To"] == "Acme SAS <factures@acme.example>"


@pytest.mark.on_aws
def test_an_invoice_voided_before_its_delivery_is_not_sent(api, reachable):
    api.post(f"/invoices/{reachable['id']}/send")
    events = _captured(api)
    api.post(f"/invoices/{reachable['id']}/void")

    outcome = api.invoke_function("delivery", events[0])

    assert outcome == {"sent": 0, "failed": 1, "skipped": 0}
    assert "voided" in api.get(f"/invoices/{reachable['id']}").body["deliveries"][0]["error"]
    assert sent_emails() == []


@pytest.mark.on_aws
def test_a_delivery_left_sending_by_a_dead_worker_is_retried_after_its_claim_and_sent_once(api, reachable):
    from invoicing.adapters.live import deps
    from invoicing.logic import delivery

    api.post(f"/invoices/{reachable['id']}/send")
    (event,) = _captured(api)
    (stuck,) = deps().store.children("acme", "delivery", reachable["id"])
    claimed = {**stuck, "status": "sending", "claimed_until": "2999-01-01T00:00:00+00:00", "version": 2}
    deps().store.replace("acme", "delivery", claimed, expected_version=1, old_name=None, new_name=None)

    with pytest.raises(delivery.DeliveryBusy):  # a live claim: retried later, not dropped
        api.invoke_function("delivery", event)
    expired = {**claimed, "claimed_until": "2020-01-01T00:00:00+00:00", "version": 3}
    deps().store.replace("acme", "delivery", expired, expected_version=2, old_name=None, new_name=None)

    assert api.invoke_function("delivery", event)["sent"] == 1
    assert len(sent_emails()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channels": ["sms"], "to": {"phones": ["+3361234"]}}, "to.phones.0"),
        ({"channels": ["sms"], "to": {"phones": ["0612345678"]}}, "to.phones.0"),
        ({"channels": ["email"], "to": {"emails": ["pas-une-adresse"]}}, "to.emails.0"),
        ({"channels": ["email"], "to": {"emails": [f"c{n}@x.fr" for n in range(11)]}}, "to.emails"),
        ({"channels": ["fax"]}, "channels.0"),
        ({"channels": ["email", "email"]}, "channels"),
    ],
)
def test_bad_recipients_are_a_422_naming_the_field_and_nothing_is_sent_or_issued(api, reachable, body, field):
    reply = api.post(f"/invoices/{reachable['id']}/send", body)

    assert reply.status == 422, reply.body
    assert field in reply.error_fields
    assert api.get(f"/invoices/{reachable['id']}").body["status"] == "draft"
    assert not_hooks(api.deliver_events()) == []


def test_a_customer_without_a_phone_needs_one_named(api, business, draft):
    reply = api.post(f"/invoices/{draft['id']}/send", {"channels": ["sms"]})

    assert (reply.status, reply.error_fields) == (422, ["to.phones"])
    assert api.get(f"/invoices/{draft['id']}").body["status"] == "draft"


def test_a_void_invoice_cannot_be_sent(api, reachable):
    api.post(f"/invoices/{reachable['id']}/mark-sent")
    api.post(f"/invoices/{reachable['id']}/void")

    reply = api.post(f"/invoices/{reachable['id']}/send")

    assert reply.status == 409
    assert reply.body["error"]["code"] == "illegal_transition"


def _captured(api) -> list[dict]:
    return [event for event in published_events() if event["detail-type"] == "Invoice Sent"]


def sent_by(delivered: list[tuple[str, dict]]) -> dict[str, int]:
    """What the delivery function did, over its invocations (one per delivery requested)."""
    outcomes = [outcome for function, outcome in delivered if function == "delivery"]
    return {key: sum(outcome[key] for outcome in outcomes) for key in ("sent", "failed", "skipped")}


def test_a_duplicate_of_a_sent_invoice_has_no_deliveries(api, reachable):
    api.post(f"/invoices/{reachable['id']}/send")
    api.deliver_events()

    copy = api.post(f"/invoices/{reachable['id']}/duplicate")

    assert copy.status == 201
    assert (copy.body["status"], copy.body["number"], copy.body["deliveries"]) == ("draft", None, [])
    assert api.get(f"/invoices/{copy.body['id']}").body["deliveries"] == []


def test_an_english_speaking_business_sends_in_english(api, reachable):
    api.put("/business", {**BUSINESS, "locale": "en", "version": 1})
    api.post(f"/invoices/{reachable['id']}/send")

    api.deliver_events()

    (email,) = sent_emails()
    assert email["Subject"] == "Invoice INV-1 from Acme SAS"
    assert "Please find attached invoice INV-1" in email.get_body(("plain",)).get_content()
    assert "View and pay the invoice" in email.get_body(("html",)).get_content()


def test_one_address_written_twice_in_two_cases_is_one_delivery(api, reachable):
    body = {"channels": ["email"], "to": {"emails": ["Compta@Dupont.example", "compta@dupont.example"]}}

    reply = api.post(f"/invoices/{reachable['id']}/send", body)

    assert [d["recipient"] for d in reply.body["deliveries"]] == ["Compta@Dupont.example"]


def test_a_credit_note_of_a_voided_invoice_is_sent_with_its_pdf_and_listed_on_the_invoice(api, reachable):
    api.post(f"/invoices/{reachable['id']}/send", {"channels": ["email"]})
    api.deliver_events()
    voided = api.post(f"/invoices/{reachable['id']}/void").body
    (note,) = voided["credit_notes"]

    reply = api.post(f"/credit-notes/{note['id']}/send", {"channels": ["email", "sms"]})
    delivered = api.deliver_events()

    assert reply.status == 202, reply.body
    assert [(d["kind"], d["channel"], d["status"]) for d in reply.body["deliveries"]] == [
        ("credit_note", "email", "pending"),
        ("credit_note", "sms", "pending"),
    ]
    assert sent_by(delivered) == {"sent": 2, "failed": 0, "skipped": 0}
    _, email = sent_emails()
    assert email["Subject"] == "Avoir AV-1 d'Acme SAS (facture INV-1)"
    assert "sur la facture INV-1" in email.get_body(("plain",)).get_content()
    (pdf,) = list(email.iter_attachments())
    assert pdf.get_filename() == "AV-1.pdf"
    text = " ".join(pypdf.PdfReader(io.BytesIO(pdf.get_payload(decode=True))).pages[0].extract_text().split())
    assert "Avoir N° AV-1" in text
    ((phone, sms),) = sent_sms()
    assert (phone, sms) == (PHONE, "Acme SAS : avoir AV-1 de 1 398,00 EUR sur la facture INV-1.".replace("EUR", "€"))
    listed = api.get(f"/invoices/{reachable['id']}").body["deliveries"]
    assert [(d.get("kind", "invoice"), d["status"]) for d in listed] == [
        ("invoice", "sent"),
        ("credit_note", "sent"),
        ("credit_note", "sent"),
    ]


def test_a_credit_note_sent_twice_is_sent_once(api, reachable):
    invoice = api.post(f"/invoices/{reachable['id']}/mark-sent").body
    note = api.post(f"/invoices/{invoice['id']}/credit-notes", {"amount": "120.00"}).body

    api.post(f"/credit-notes/{note['id']}/send")
    api.post(f"/credit-notes/{note['id']}/send")
    api.deliver_events()

    assert [email["Subject"] for email in sent_emails()] == ["Avoir AV-1 d'Acme SAS (facture INV-1)"]
    assert api.post(f"/credit-notes/{note['id']}/send", tenant="globex").status == 404


# -- the invoice's attachments reach the client (SPEC §6.2) ------------------------------------------------


def test_the_invoices_attachments_go_with_its_email_and_are_listed_on_its_page(api, reachable):
    from tests.integration.conftest import PDF_BYTES, attach

    attached = attach(api, reachable["id"]).body
    invoice = api.post(f"/invoices/{reachable['id']}/send").body
    api.deliver_events()

    (email,) = sent_emails()
    files = {part.get_filename(): part.get_payload(decode=True) for part in email.iter_attachments()}
    assert files == {"INV-1.pdf": files["INV-1.pdf"], "bon-de-commande.pdf": PDF_BYTES}
    assert "Également joints : bon-de-commande.pdf" in email.get_body(("plain",)).get_content()
    page = api.get(invoice["payment_link"].removeprefix("http://127.0.0.1:3000"), tenant=None).body
    link = f"{invoice['payment_link']}/attachments/{attached['id']}"
    assert f'href="{link}"' in page
    assert "bon-de-commande.pdf (2 Ko)" in page
    download = api.get(link.removeprefix("http://127.0.0.1:3000"), tenant=None)
    assert download.status == 302
    assert "attachments" in download.headers["Location"]


def test_attachments_too_large_for_one_message_are_linked_instead(api, reachable, monkeypatch):
    from invoicing.logic import delivery
    from tests.integration.conftest import attach

    attached = attach(api, reachable["id"]).body
    monkeypatch.setattr(delivery, "MAX_MESSAGE_BYTES", 100_000)  # the PDF alone fits, not with the file
    invoice = api.post(f"/invoices/{reachable['id']}/send").body
    api.deliver_events()

    (email,) = sent_emails()
    assert [part.get_filename() for part in email.iter_attachments()] == ["INV-1.pdf"]
    text = email.get_body(("plain",)).get_content()
    assert f"- bon-de-commande.pdf : {invoice['payment_link']}/attachments/{attached['id']}" in text


def test_an_attachment_of_another_invoice_or_unknown_is_not_found_through_this_link(api, reachable):
    from tests.integration.conftest import attach

    other = api.post("/invoices", {**SPEC_INVOICE, "name": "Autre", "customer_id": reachable["customer_id"]}).body
    theirs = attach(api, other["id"]).body
    invoice = api.post(f"/invoices/{reachable['id']}/mark-sent").body
    base = invoice["payment_link"].removeprefix("http://127.0.0.1:3000")

    for attachment_id in (theirs["id"], "att_unknown", "x" * 200):
        reply = api.get(f"{base}/attachments/{attachment_id}", tenant=None)
        assert reply.status == 404, attachment_id
        assert "text/html" in reply.headers["Content-Type"]
