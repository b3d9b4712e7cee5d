"""Sending limits (SPEC §15, issue 19 §1): the platform's address and SMS
sender cannot be turned into a relay. Each test reproduces a probe of the
security review: 4 requests sent 40 e-mails and 21 SMS to arbitrary
recipients, to premium-rate and international-network numbers, under a
display name of the tenant's free text."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE
from tests.integration.test_send import PHONE, sent_emails, sent_sms

pytestmark = pytest.mark.integration

STRANGERS = [f"victim{n}@example.org" for n in range(10)]


@pytest.fixture
def limits(monkeypatch):
    """The platform's limits, made small enough to reach in a test."""

    def set_limits(**given):
        from invoicing import settings

        monkeypatch.setenv("SENDING_LIMITS", json.dumps(given))
        settings.reread()

    return set_limits


def new_invoice(api, email="compta@dupont.example", phone=PHONE, tenant="acme"):
    customer = {"name": f"Client {email}", "email": email, "phone": phone, "address": CLIENT_ADDRESS,
                "siren": CLIENT_SIREN}  # fmt: skip
    created = api.post("/customers", customer, tenant=tenant)
    assert created.status == 201, created.body
    draft = api.post("/invoices", {**SPEC_INVOICE, "name": f"F {email}", "customer_id": created.body["id"]},
                     tenant=tenant)  # fmt: skip
    assert draft.status == 201, draft.body
    return draft.body


def deliveries(api, invoice_id, tenant="acme"):
    return api.get(f"/invoices/{invoice_id}", tenant=tenant).body.get("deliveries") or []


def test_an_invoice_goes_to_its_customer_and_at_most_three_others(api, business):
    invoice = new_invoice(api)

    refused = api.post(f"/invoices/{invoice['id']}/send", {"to": {"emails": STRANGERS}})

    assert refused.status == 422, refused.body
    assert refused.error_fields == ["to.emails"]
    assert "at most 3 others" in refused.body["error"]["message"]
    assert api.get(f"/invoices/{invoice['id']}").body["status"] == "draft"  # nothing issued, nothing queued
    three = ["compta@dupont.example", *STRANGERS[:3]]
    assert api.post(f"/invoices/{invoice['id']}/send", {"to": {"emails": three}}).status == 202
    # the three are spent over the invoice's life, not per request
    again = api.post(f"/invoices/{invoice['id']}/send", {"to": {"emails": [STRANGERS[3]]}})
    assert again.status == 422, again.body
    assert api.post(f"/invoices/{invoice['id']}/send", {"to": {"emails": STRANGERS[:2]}}).status == 202


@pytest.mark.parametrize(
    ("phone", "why"),
    [
        ("+33899123456", "not a mobile number"),  # French premium rate (08 99)
        ("+33144556677", "not a mobile number"),  # a Paris landline
        ("+8823421234", "international networks"),  # +882, a "mobile" of no country: SMS pumpers' favourite
        ("+14155552671", "numbers of US"),  # a US number: the US is not an allowed country
    ],
)
def test_sms_go_only_to_mobiles_of_allowed_countries(api, business, phone, why):
    invoice = new_invoice(api)

    refused = api.post(f"/invoices/{invoice['id']}/send", {"channels": ["sms"], "to": {"phones": [phone]}})

    assert refused.status == 422, refused.body
    assert refused.error_fields == ["to.phones"]
    assert why in refused.body["error"]["message"]
    assert api.get(f"/invoices/{invoice['id']}").body["status"] == "draft"


def test_a_customers_premium_rate_number_gets_no_sms_either(api, business):
    invoice = new_invoice(api, phone="+33899123456")

    refused = api.post(f"/invoices/{invoice['id']}/send", {"channels": ["sms"]})

    assert refused.status == 422, refused.body
    assert refused.error_fields == ["to.phones"]


def test_a_mobile_of_an_allowed_country_gets_its_sms(api, business):
    invoice = new_invoice(api, phone="+32470123456")  # a Belgian mobile

    assert api.post(f"/invoices/{invoice['id']}/send", {"channels": ["sms"]}).status == 202
    api.deliver_events()
    assert [phone for phone, _ in sent_sms()] == ["+32470123456"]


def test_beyond_the_tenants_daily_emails_a_send_is_429_and_nothing_is_queued(api, business, limits):
    limits(emails_per_day=3)
    first, second = new_invoice(api, "a@client.example"), new_invoice(api, "b@client.example")
    assert (
        api.post(f"/invoices/{first['id']}/send", {"to": {"emails": ["a@client.example", "x@client.example"]}}).status
        == 202
    )

    refused = api.post(f"/invoices/{second['id']}/send", {"to": {"emails": ["b@client.example", "y@client.example"]}})

    assert refused.status == 429, refused.body
    assert 0 < int(refused.headers["Retry-After"]) <= 86_401
    assert "3 e-mails a day" in refused.body["error"]["message"]
    assert api.get(f"/invoices/{second['id']}").body["status"] == "draft"
    assert deliveries(api, second["id"]) == []
    # what fits still goes, and a second click on what was queued counts nothing
    assert api.post(f"/invoices/{first['id']}/send", {"to": {"emails": ["a@client.example"]}}).status == 202
    assert api.post(f"/invoices/{second['id']}/send").status == 202
    api.deliver_events()
    assert sorted(email["To"] for email in sent_emails()) == [
        "a@client.example",
        "b@client.example",
        "x@client.example",
    ]


def test_beyond_the_tenants_daily_sms_a_send_is_429(api, business, limits):
    limits(sms_per_day=1)
    first, second = new_invoice(api, "a@client.example"), new_invoice(api, "b@client.example", "+33698765432")
    assert api.post(f"/invoices/{first['id']}/send", {"channels": ["sms"]}).status == 202

    refused = api.post(f"/invoices/{second['id']}/send", {"channels": ["email", "sms"]})

    assert refused.status == 429, refused.body
    assert "1 SMS a day" in refused.body["error"]["message"]
    assert deliveries(api, second["id"]) == []  # not even the e-mail that fitted


def test_one_recipient_gets_a_bounded_number_of_messages_from_every_tenant(api, limits):
    limits(per_recipient_per_day=2, platform_per_recipient_per_day=3)
    for tenant in ("acme", "globex"):
        assert api.put("/business", {**BUSINESS, "version": 0}, tenant=tenant).status == 200
    sent = []
    for n in range(3):
        invoice = new_invoice(api, f"c{n}@dupont.example", tenant="acme")
        sent.append(api.post(f"/invoices/{invoice['id']}/send", {"to": {"emails": ["victim@example.org"]}}).status)
    assert sent == [202, 202, 429]  # two a day from one business

    invoice = new_invoice(api, "d@dupont.example", tenant="globex")
    assert api.post(f"/invoices/{invoice['id']}/send", {"to": {"emails": ["victim@example.org"]}},
                    tenant="globex").status == 202  # fmt: skip
    invoice = new_invoice(api, "e@dupont.example", tenant="globex")
    refused = api.post(f"/invoices/{invoice['id']}/send", {"to": {"emails": ["Victim@Example.org"]}}, tenant="globex")
    assert refused.status == 429, refused.body  # three a day from the whole platform, whatever the case
    assert "may receive no more messages today from this platform" in refused.body["error"]["message"]
    assert refused.body["error"]["code"] == "sending_limit_reached"


def test_concurrent_sends_never_pass_the_daily_limit(api, business, limits):
    limits(emails_per_day=4)
    invoices = [new_invoice(api, f"c{n}@client.example") for n in range(8)]

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda invoice: api.post(f"/invoices/{invoice['id']}/send").status, invoices))

    assert sorted(statuses) == [202] * 4 + [429] * 4
    queued = sum(len(deliveries(api, invoice["id"])) for invoice in invoices)
    assert queued == 4


def test_a_send_retried_with_its_idempotency_key_counts_once(api, business, limits, fakes):
    limits(emails_per_day=1)
    invoice = new_invoice(api)
    headers = {"Idempotency-Key": "send-once"}

    first = api.post(f"/invoices/{invoice['id']}/send", headers=headers)
    second = api.post(f"/invoices/{invoice['id']}/send", headers=headers)

    assert (first.status, second.status) == (202, 202)
    assert second.headers.get("Idempotent-Replayed") == "true"
    from datetime import UTC, datetime

    day = datetime.now(UTC).date().isoformat()
    assert fakes.store.counted("tenant:acme:email", day) == 1


def test_receipts_stop_at_the_recipients_daily_limit_and_say_so(api, business, limits):
    """A receipt per one-cent payment must not flood the client's inbox."""
    limits(per_recipient_per_day=3)
    invoice = new_invoice(api)
    assert api.post(f"/invoices/{invoice['id']}/mark-sent").status == 200
    for _ in range(4):
        paid = api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "0.01"})
        assert paid.status == 201, paid.body
    api.deliver_events()

    receipts = [d for d in deliveries(api, invoice["id"]) if d["kind"] == "receipt"]
    assert sorted(d["status"] for d in receipts) == ["failed", "sent", "sent", "sent"]
    (failed,) = [d for d in receipts if d["status"] == "failed"]
    assert failed["error"].startswith("not sent: daily sending limit reached")
    assert len(sent_emails()) == 3


def test_the_from_of_the_platforms_address_names_the_platform(api, business):
    api.put("/business", {**api.get("/business").body, "legal_name": "Service des impots - impots.gouv.fr"})
    invoice = new_invoice(api)
    api.post(f"/invoices/{invoice['id']}/send")
    api.deliver_events()

    (email,) = sent_emails()
    assert email["From"].addresses[0].display_name == "Service des impots - impots.gouv.fr via Invoicing"


def test_the_limits_are_the_platforms_settings_and_a_typo_in_them_is_loud(monkeypatch):
    from invoicing.settings import NotConfigured, SendingLimits

    assert SendingLimits.of(None).emails_per_day == 200
    assert SendingLimits.of('{"sms_per_day": 5}').sms_per_day == 5
    with pytest.raises(NotConfigured, match="sms_per_dya"):
        SendingLimits.of('{"sms_per_dya": 5}')


# -- reputation: SES's bounces and complaints ----------------------------------------


def ses_event(message_id, kind="Bounce", tenant="acme", bounce_type="Permanent"):
    """An SES event as EventBridge delivers it from the configuration set."""
    detail = {
        "eventType": kind,
        "mail": {"messageId": message_id, "tags": {"tenant_id": [tenant]}, "destination": ["x@example.org"]},
    }
    if kind == "Bounce":
        detail["bounce"] = {"bounceType": bounce_type, "bounceSubType": "General", "bouncedRecipients": []}
    else:
        detail["complaint"] = {"complainedRecipients": [], "complaintFeedbackType": "abuse"}
    detail_type = "Email Bounced" if kind == "Bounce" else "Email Complaint Received"
    return {"id": f"evt-{message_id}", "source": "aws.ses", "detail-type": detail_type, "detail": detail}


def send_to_customers(api, count, tenant="acme", start=0):
    ids = []
    for n in range(start, start + count):
        invoice = new_invoice(api, f"c{n}@client.example", tenant=tenant)
        assert api.post(f"/invoices/{invoice['id']}/send", tenant=tenant).status == 202
        ids.append(invoice["id"])
    api.deliver_events()
    return ids


def test_every_email_is_tagged_with_its_tenant_for_sess_events(api, business, fakes):
    send_to_customers(api, 1)

    assert [email.tenant for email in fakes.messenger.emails] == ["acme"]


def test_a_tenant_whose_emails_bounce_past_the_threshold_stops_sending_until_lifted(api, business, fakes, capsys):
    invoices = send_to_customers(api, 5)
    messages = [email.message_id for email in fakes.messenger.emails]
    assert len(messages) == 5
    pending = new_invoice(api, "later@client.example")
    assert api.post(f"/invoices/{pending['id']}/send").status == 202  # queued before the bounces come back

    outcomes = [api.invoke_function("delivery", ses_event(message))["outcome"] for message in messages[:4]]
    outcomes.append(api.invoke_function("delivery", ses_event(messages[0]))["outcome"])  # delivered twice
    assert outcomes == ["counted"] * 4 + ["duplicate"]
    assert api.post(f"/invoices/{invoices[0]}/send", {"to": {"emails": ["new@client.example"]}}).status == 202

    assert api.invoke_function("delivery", ses_event(messages[4]))["outcome"] == "counted"  # 5 of 7: suspended

    refused = api.post(f"/invoices/{invoices[1]}/send", {"to": {"emails": ["other@client.example"]}})
    assert refused.status == 403, refused.body
    assert refused.body["error"]["code"] == "sending_suspended"
    assert "5 of the 7 e-mails sent over 14 days bounced" in refused.body["error"]["message"]
    assert api.post("/business/sender", {"email": "me@acme.example"}).status == 403  # a code is an e-mail too
    api.deliver_events()  # what was queued before is not sent either
    statuses = {d["recipient"]: (d["status"], d["error"]) for d in deliveries(api, pending["id"])}
    assert statuses["later@client.example"][0] == "failed"
    assert statuses["later@client.example"][1].startswith("not sent: sending is suspended")

    from infra import admin

    assert admin.main(["standing", "acme"]) == 0
    assert '"suspended": true' in capsys.readouterr().out
    assert admin.main(["lift-sending", "acme"]) == 0  # the platform's operator
    assert '"suspended": false' in capsys.readouterr().out
    assert api.post(f"/invoices/{invoices[1]}/send", {"to": {"emails": ["other@client.example"]}}).status == 202


def test_soft_bounces_and_unknown_tenants_are_not_counted(api, business):
    assert api.invoke_function("delivery", ses_event("m-1", bounce_type="Transient"))["outcome"] == "ignored"
    assert api.invoke_function("delivery", ses_event("m-2", tenant="../x"))["outcome"] == "ignored"
    event = ses_event("m-3")
    del event["detail"]["mail"]["tags"]
    assert api.invoke_function("delivery", event)["outcome"] == "ignored"


def test_complaints_suspend_at_a_far_lower_rate_and_another_tenant_sends_on(api, business):
    assert api.put("/business", {**BUSINESS, "version": 0}, tenant="globex").status == 200
    send_to_customers(api, 2)
    for n in range(3):
        assert api.invoke_function("delivery", ses_event(f"m-{n}", kind="Complaint"))["outcome"] == "counted"

    invoice = new_invoice(api, "z@client.example")
    assert api.post(f"/invoices/{invoice['id']}/send").status == 403
    other = new_invoice(api, "z@client.example", tenant="globex")
    assert api.post(f"/invoices/{other['id']}/send", tenant="globex").status == 202


def test_one_event_delivered_concurrently_is_counted_once(api, business):
    event = ses_event("m-1")

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: api.invoke_function("delivery", event)["outcome"], range(4)))

    assert sorted(outcomes) == ["counted", "duplicate", "duplicate", "duplicate"]


def test_the_ses_adapter_tags_the_tenant_and_names_the_configuration_set(monkeypatch):
    from invoicing import settings
    from invoicing.adapters.messaging import AwsMessenger

    class Ses:
        class exceptions:  # noqa: N801 - botocore's spelling
            ClientError = Exception

        def send_email(self, **request):
            self.request = request
            return {"MessageId": "m-1"}

    ses = Ses()
    monkeypatch.setenv("SES_CONFIGURATION_SET", "invoicing-feedback")
    settings.reread()

    AwsMessenger(ses=ses).send_email("f@invoicing.example", "x@example.org", b"mime", tenant="acme")

    assert ses.request["EmailTags"] == [{"Name": "tenant_id", "Value": "acme"}]
    assert ses.request["ConfigurationSetName"] == "invoicing-feedback"


@pytest.mark.parametrize(
    ("code", "message", "misconfigured"),
    [
        ("MessageRejected", "Email address is not verified. The following identities failed the check", True),
        ("MailFromDomainNotVerifiedException", "m", True),
        ("AuthorizationError", "not authorized to perform SNS:Publish", True),
        ("MessageRejected", "Illegal address", False),
        ("InvalidParameter", "Invalid parameter: PhoneNumber", False),
    ],
)
def test_refusals_of_the_platforms_set_up_are_told_from_bad_messages(code, message, misconfigured):
    from botocore.exceptions import ClientError

    from invoicing.adapters import messaging

    error = ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "Op"
    )

    assert messaging._classified(error).misconfigured is misconfigured


def test_deliveries_refused_for_the_set_up_are_counted_for_the_alarm(api, business, fakes, capsys):
    fakes.messenger.verified.clear()  # the platform's own address is not verified: SES refuses every e-mail
    invoice = new_invoice(api)
    api.post(f"/invoices/{invoice['id']}/send")

    api.deliver_events()

    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(metric.get("DeliveriesMisconfigured") == [1.0] for metric in metrics)


# -- what the review of the first version found ------------------------------------------


def test_reminders_count_against_the_daily_limit_and_reach_no_premium_number(api, business, limits):
    """The tenant sets its reminders off at will (its settings, its customers'
    addresses): they are no way around the daily limits nor the SMS rules."""
    limits(emails_per_day=2)
    api.patch("/business", {"reminders": {"offsets": [0], "channels": ["email", "sms"]}})
    for n in range(3):
        invoice = new_invoice(api, f"c{n}@client.example", phone="+33899123456" if n == 0 else "+3361234567" + str(n))
        assert api.post(f"/invoices/{invoice['id']}/mark-sent").status == 200

    api.run_sweep("reminders", "2026-12-27")
    api.deliver_events()

    assert len(sent_emails()) == 2  # the third e-mail: past the day's two
    assert sorted(phone for phone, _ in sent_sms()) == ["+33612345671", "+33612345672"]  # never the premium number
    failed = [d["error"] for invoice in api.get("/invoices").body["items"] for d in deliveries(api, invoice["id"])
              if d["status"] == "failed"]  # fmt: skip
    assert sorted(error.split(":")[1].strip() for error in failed) == [
        "+33899123456 is not a mobile number",
        "daily sending limit reached, nothing was sent",
    ]


def test_a_throttled_reminder_tried_again_is_counted_once(api, business, limits, fakes):
    from datetime import UTC, datetime

    from invoicing.ports import SendThrottled
    from tests.conftest import published_events

    invoice = new_invoice(api)
    api.post(f"/invoices/{invoice['id']}/mark-sent")
    api.deliver_events()
    api.run_sweep("reminders", "2026-12-27")
    (event,) = [event for event in published_events() if event["detail-type"] == "Invoice Reminder Due"]
    fakes.messenger.fail_next = SendThrottled("slow down")
    with pytest.raises(SendThrottled):
        api.invoke_function("delivery", event)  # the invocation fails: Lambda retries it
    assert api.invoke_function("delivery", event)["sent"] == 1

    assert [d["status"] for d in deliveries(api, invoice["id"])] == ["sent"]
    assert fakes.store.counted("tenant:acme:email", datetime.now(UTC).date().isoformat()) == 1


def test_a_send_refused_for_a_stale_version_counts_nothing(api, business, limits):
    limits(per_recipient_per_day=2)
    invoice = new_invoice(api)

    for _ in range(2):
        assert api.post(f"/invoices/{invoice['id']}/send", {"version": 99}).status == 409

    assert api.post(f"/invoices/{invoice['id']}/send", {"version": invoice["version"]}).status == 202


def test_the_platform_wide_limit_protects_strangers_not_customers(api, limits):
    """Five businesses billing one big client's accounts address cannot
    lock every other business out of it for the day."""
    limits(platform_per_recipient_per_day=1)
    for tenant in ("acme", "globex"):
        assert api.put("/business", {**BUSINESS, "version": 0}, tenant=tenant).status == 200
        invoice = new_invoice(api, "compta@bigcorp.example", tenant=tenant)
        assert api.post(f"/invoices/{invoice['id']}/send", tenant=tenant).status == 202


def test_an_amount_past_a_limit_of_zero_is_refused(api, business, limits):
    limits(sms_per_day=0)
    invoice = new_invoice(api)

    assert api.post(f"/invoices/{invoice['id']}/send", {"channels": ["sms"]}).status == 429


def test_bounces_of_addresses_on_the_suppression_list_are_not_the_tenants(api, business):
    event = ses_event("m-1")
    event["detail"]["bounce"]["bounceSubType"] = "OnAccountSuppressionList"

    assert api.invoke_function("delivery", event)["outcome"] == "ignored"


def test_a_lift_counts_afresh_from_its_moment_and_only_a_suspension_is_lifted(api, business, fakes, capsys):
    from infra import admin

    assert admin.main(["lift-sending", "acme"]) == 1  # not suspended: nothing to lift
    assert "not suspended" in capsys.readouterr().err
    send_to_customers(api, 1)
    for n in range(5):
        api.invoke_function("delivery", ses_event(f"m-{n}"))
    assert admin.main(["lift-sending", "acme"]) == 0

    # the same day, after the lift: what came before is not held against it, what comes after is
    send_to_customers(api, 20, start=1)
    for n in range(5, 9):
        api.invoke_function("delivery", ses_event(f"m-{n}"))
    assert api.post(f"/invoices/{new_invoice(api, 'z@client.example')['id']}/send").status == 202
    api.invoke_function("delivery", ses_event("m-9"))  # 5 of 21 since the lift
    assert api.post(f"/invoices/{new_invoice(api, 'y@client.example')['id']}/send").status == 403


def test_sender_codes_are_not_counted_as_the_tenants_mail(api, business, fakes):
    assert api.post("/business/sender", {"email": "me@acme.example"}).status == 202

    assert [email.tenant for email in fakes.messenger.emails] == [None]
