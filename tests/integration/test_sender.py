"""The business's sender address (issue 4 §2, SPEC §7): a six-digit code
e-mailed to the address proves the business reads it; the invoices' e-mails
then come from it, while it stays the business's and SES accepts it."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, time, timedelta

import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN
from tests.integration.test_send import sent_emails

pytestmark = pytest.mark.integration

ADDRESS = "factures@acme.example"
PLATFORM = "factures@invoicing.local"


def the_code(address: str = ADDRESS) -> str:
    """The code of the last e-mail to the address, as its reader would find it."""
    (email, *_) = [e for e in reversed(sent_emails()) if e["To"].lower() == address.lower()]
    return re.search(r"\b(\d{6})\b", email.get_body(("plain",)).get_content()).group(1)


def confirm_sender(api, address: str = ADDRESS, tenant: str = "acme") -> dict:
    assert api.post("/business/sender", {"email": address}, tenant=tenant).status == 202
    reply = api.post("/business/sender/confirm", {"code": the_code(address)}, tenant=tenant)
    assert reply.status == 200, reply.body
    return reply.body


_numbers = itertools.count(1)


def send_invoice(api, tenant: str = "acme") -> str:
    """Issue and send an invoice by e-mail; the From of the e-mail sent."""
    n = next(_numbers)
    client = {"name": f"Dupont {n}", "email": "compta@dupont.example", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}
    customer = api.post("/customers", client, tenant=tenant).body
    invoice = {"name": f"Audit {n}", "customer_id": customer["id"], "lines": [{"name": "Audit", "unit_price": "100"}]}
    draft = api.post("/invoices", invoice, tenant=tenant).body
    assert api.post(f"/invoices/{draft['id']}/send", tenant=tenant).status == 202
    api.deliver_events()
    return str(sent_emails()[-1]["From"])


@pytest.fixture
def other_business(api):
    assert api.put("/business", {**BUSINESS, "legal_name": "Autre SARL"}, tenant="other").status == 200


def test_a_business_without_its_own_address_sends_from_the_platforms(api, business):
    reply = api.get("/business/sender")

    assert reply.status == 200
    assert reply.body == {
        "email": None,
        "confirmed_at": None,
        "sending_from": PLATFORM,
        "ses_verified": None,
        "pending_email": None,
        "code_expires_at": None,
    }
    assert send_invoice(api) == f"Acme SAS via Invoicing <{PLATFORM}>"


def test_the_code_is_emailed_to_the_address_from_the_platform_in_the_business_language(api, business):
    reply = api.post("/business/sender", {"email": ADDRESS})

    assert reply.status == 202, reply.body
    assert reply.body["pending_email"] == ADDRESS
    assert reply.body["email"] is None
    assert reply.body["sending_from"] == PLATFORM
    (email,) = sent_emails()
    assert (email["To"], email["From"]) == (ADDRESS, PLATFORM)
    assert email["Subject"].startswith("Votre code de vérification")
    assert "Acme SAS" in email.get_body(("plain",)).get_content()
    assert "code_hash" not in str(reply.body)


@pytest.mark.on_aws
def test_the_right_code_makes_the_invoices_come_from_the_address(api, business):
    confirmed = confirm_sender(api)

    assert confirmed["email"] == ADDRESS
    assert confirmed["sending_from"] == ADDRESS
    assert confirmed["pending_email"] is None
    from moto.sesv2.models import sesv2_backends  # asked SES to verify it

    assert ADDRESS in sesv2_backends["123456789012"]["eu-west-3"].core_backend.email_identities
    assert send_invoice(api) == f"Acme SAS <{ADDRESS}>"
    assert api.get("/business/sender").body["sending_from"] == ADDRESS


def test_a_wrong_code_is_a_422_and_five_spend_the_code(api, business):
    api.post("/business/sender", {"email": ADDRESS})
    right = the_code()
    wrong = f"{(int(right) + 1) % 10**6:06d}"

    guesses = [api.post("/business/sender/confirm", {"code": wrong}) for _ in range(5)]
    late = api.post("/business/sender/confirm", {"code": right})

    assert [guess.status for guess in guesses] == [422] * 5
    assert {str(guess.body["error"]["fields"]) for guess in guesses} == {"[{'field': 'code', 'message': 'wrong code'}]"}
    assert late.status == 422
    assert "too many wrong codes" in late.body["error"]["message"]
    assert api.get("/business/sender").body["email"] is None


def test_a_code_is_six_digits(api, business):
    reply = api.post("/business/sender/confirm", {"code": "12345"})

    assert reply.status == 422
    assert reply.body["error"]["fields"][0]["field"] == "code"


def test_an_expired_code_is_refused(api, business, monkeypatch):
    from invoicing.adapters import live as adapters

    api.post("/business/sender", {"email": ADDRESS})
    code = the_code()
    issued_at = adapters.deps().now()
    monkeypatch.setattr(adapters.deps(), "now", lambda: issued_at + timedelta(minutes=31))

    reply = api.post("/business/sender/confirm", {"code": code})

    assert reply.status == 422
    assert "expired" in reply.body["error"]["message"]


def test_confirming_with_no_code_asked_is_a_409(api, business):
    reply = api.post("/business/sender/confirm", {"code": "123456"})

    assert reply.status == 409


def test_the_code_confirmed_once_confirms_again_and_another_code_does_not(api, business):
    """A second click, or a retry whose first answer was lost, whenever it comes."""
    api.post("/business/sender", {"email": ADDRESS})
    code = the_code()
    first = api.post("/business/sender/confirm", {"code": code})

    again = api.post("/business/sender/confirm", {"code": code})
    other = api.post("/business/sender/confirm", {"code": f"{(int(code) + 1) % 10**6:06d}"})

    assert (first.status, again.status) == (200, 200)
    assert again.body["sending_from"] == ADDRESS
    assert other.status == 409
    api.delete("/business/sender")
    assert api.post("/business/sender/confirm", {"code": code}).status == 409  # removed: the code is spent


def test_a_second_code_within_a_minute_is_a_429_with_retry_after(api, business):
    api.post("/business/sender", {"email": ADDRESS})

    again = api.post("/business/sender", {"email": ADDRESS})

    assert again.status == 429
    assert 1 <= int(again.headers["Retry-After"]) <= 60
    assert len(sent_emails()) == 1


def test_a_new_code_after_a_minute_replaces_the_first(api, business, monkeypatch):
    from invoicing.adapters import live as adapters

    api.post("/business/sender", {"email": ADDRESS})
    first = the_code()
    issued_at = adapters.deps().now()
    monkeypatch.setattr(adapters.deps(), "now", lambda: issued_at + timedelta(seconds=61))
    assert api.post("/business/sender", {"email": ADDRESS}).status == 202
    second = the_code()

    if first != second:  # one chance in a million that they are the same
        assert api.post("/business/sender/confirm", {"code": first}).status == 422
    assert api.post("/business/sender/confirm", {"code": second}).status == 200


def test_codes_are_rationed_per_address_whoever_asks_and_per_business(api, business, other_business, monkeypatch):
    from invoicing.adapters import live as adapters

    # early in a UTC day, so that the day's allowances do not reset halfway (this failed after 22:00 UTC)
    start = datetime.combine(adapters.deps().now().date(), time(6), UTC)
    minutes = iter(range(0, 10_000, 2))
    monkeypatch.setattr(adapters.deps(), "now", lambda: start + timedelta(minutes=next(minutes)))

    # X, then Y, then X again: each a new code, and the address's allowance counts them all
    asked = [api.post("/business/sender", {"email": address}, tenant=tenant).status for address, tenant in [
        (ADDRESS, "acme"), ("y@acme.example", "acme"), (ADDRESS, "acme"), (ADDRESS, "other"), (ADDRESS, "acme"),
        (ADDRESS, "other"), (ADDRESS, "acme"),
    ]]  # fmt: skip
    per_business = [api.post("/business/sender", {"email": f"a{n}@acme.example"}).status for n in range(10)]

    assert asked == [202, 202, 202, 202, 202, 202, 429]  # five to ADDRESS a day
    assert per_business == [202] * (10 - 4) + [429] * 4  # ten a day from acme: four spent above, none by the 429
    assert len([e for e in sent_emails() if e["To"] == ADDRESS]) == 5


def test_an_address_of_the_platforms_domain_is_refused(api, business):
    reply = api.post("/business/sender", {"email": "someone@INVOICING.local"})

    assert reply.status == 422
    assert reply.body["error"]["fields"][0]["field"] == "email"
    assert sent_emails() == []


@pytest.mark.on_aws
def test_ses_failing_during_confirm_changes_nothing_and_the_code_still_works(
    api, business, other_business, monkeypatch
):
    from invoicing.adapters import messaging
    from invoicing.ports import SendThrottled

    confirm_sender(api, tenant="other")
    api.post("/business/sender", {"email": ADDRESS})
    code = the_code()
    real = messaging.AwsMessenger.register_sender

    def throttled(self, address):
        raise SendThrottled("TooManyRequestsException: Maximum sending rate exceeded.")

    monkeypatch.setattr(messaging.AwsMessenger, "register_sender", throttled)
    busy = api.post("/business/sender/confirm", {"code": code})
    monkeypatch.setattr(messaging.AwsMessenger, "register_sender", real)

    assert busy.status == 503
    assert api.get("/business/sender", tenant="other").body["sending_from"] == ADDRESS  # still other's
    assert api.post("/business/sender/confirm", {"code": code}).status == 200
    assert api.get("/business/sender", tenant="other").body["sending_from"] == PLATFORM


def test_an_address_is_stored_with_its_domain_in_lower_case(api, business):
    confirmed = confirm_sender(api, "Factures@ACME.Example")

    assert confirmed["email"] == "Factures@acme.example"
    assert api.post("/business/sender", {"email": "factures@acme.EXAMPLE"}).body["pending_email"] is None


def test_a_retried_request_with_its_idempotency_key_emails_one_code(api, business):
    headers = {"Idempotency-Key": "sender-1"}

    first = api.post("/business/sender", {"email": ADDRESS}, headers=headers)
    second = api.post("/business/sender", {"email": ADDRESS}, headers=headers)

    assert (first.status, second.status) == (202, 202)
    assert second.body == first.body
    assert len(sent_emails()) == 1


def test_asking_for_the_confirmed_address_again_sends_nothing(api, business):
    confirm_sender(api)

    again = api.post("/business/sender", {"email": ADDRESS.upper()})

    assert again.status == 202
    assert again.body["email"] == ADDRESS
    assert again.body["pending_email"] is None
    assert len([e for e in sent_emails() if e["To"] == ADDRESS]) == 1


def test_a_new_address_waits_for_its_code_while_the_confirmed_one_stays_in_use(api, business):
    confirm_sender(api)

    reply = api.post("/business/sender", {"email": "autre@acme.example"})

    assert reply.body["email"] == ADDRESS
    assert reply.body["pending_email"] == "autre@acme.example"
    assert send_invoice(api) == f"Acme SAS <{ADDRESS}>"


def test_another_business_proving_it_reads_the_address_takes_it_over(api, business, other_business):
    mine = confirm_sender(api)

    theirs = confirm_sender(api, tenant="other")

    assert (mine["sending_from"], theirs["sending_from"]) == (ADDRESS, ADDRESS)
    assert api.get("/business/sender").body["sending_from"] == PLATFORM
    assert send_invoice(api) == f"Acme SAS via Invoicing <{PLATFORM}>"
    assert send_invoice(api, tenant="other") == f"Autre SARL <{ADDRESS}>"


def test_a_business_cannot_send_from_an_address_another_proved_without_proving_it_too(api, business, other_business):
    confirm_sender(api)

    asked = api.post("/business/sender", {"email": ADDRESS}, tenant="other")

    assert asked.status == 202
    assert asked.body["sending_from"] == PLATFORM  # the code went to acme's mailbox, not to "other"
    assert send_invoice(api, tenant="other") == f"Autre SARL via Invoicing <{PLATFORM}>"
    assert send_invoice(api) == f"Acme SAS <{ADDRESS}>"


def test_removing_the_address_sends_from_the_platform_and_frees_it(api, business, other_business):
    confirm_sender(api)

    assert api.delete("/business/sender").status == 204

    assert api.get("/business/sender").body["sending_from"] == PLATFORM
    assert send_invoice(api) == f"Acme SAS via Invoicing <{PLATFORM}>"
    from invoicing.adapters import live as adapters

    assert adapters.deps().store.get("platform", "sender", ADDRESS) is None


@pytest.mark.on_aws
def test_an_address_ses_refuses_falls_back_to_the_platforms_for_that_email(api, business, monkeypatch):
    from invoicing.adapters import messaging
    from invoicing.ports import SendRejected

    confirm_sender(api)
    real = messaging.AwsMessenger.send_email
    senders = []

    def ses(self, sender, recipient, mime, tenant=None):
        senders.append(sender)
        if sender == ADDRESS:
            raise SendRejected("MessageRejected: Email address is not verified.")
        return real(self, sender, recipient, mime, tenant=tenant)

    monkeypatch.setattr(messaging.AwsMessenger, "send_email", ses)

    assert send_invoice(api) == f"Acme SAS via Invoicing <{PLATFORM}>"
    assert senders == [ADDRESS, PLATFORM]
    assert sent_emails()[-1]["Reply-To"] == f"Acme SAS <{ADDRESS}>"  # its replies still reach the business


@pytest.mark.on_aws
def test_an_address_ses_refuses_to_mail_a_code_is_a_422_on_email(api, business, monkeypatch):
    from invoicing.adapters import messaging
    from invoicing.ports import SendRejected

    def refused(self, sender, recipient, mime, tenant=None):
        raise SendRejected("MessageRejected: Address blacklisted.")

    monkeypatch.setattr(messaging.AwsMessenger, "send_email", refused)

    reply = api.post("/business/sender", {"email": ADDRESS})

    assert reply.status == 422
    assert reply.body["error"]["fields"][0]["field"] == "email"
    assert api.get("/business/sender").body["pending_email"] is None


class _Ses:
    """SES as it answers once its owner clicked the link: the domain verified."""

    class exceptions:
        class NotFoundException(Exception):
            pass

        class AlreadyExistsException(Exception):
            pass

    def __init__(self, verified: set[str]) -> None:
        self.verified, self.created = verified, []

    def get_email_identity(self, EmailIdentity: str) -> dict:
        if EmailIdentity not in self.verified:
            raise self.exceptions.NotFoundException(EmailIdentity)
        return {"VerifiedForSendingStatus": True}

    def create_email_identity(self, EmailIdentity: str) -> dict:
        if EmailIdentity in self.created:
            raise self.exceptions.AlreadyExistsException(EmailIdentity)
        self.created.append(EmailIdentity)
        return {}


def test_an_address_of_a_verified_domain_is_verified_and_registering_twice_is_harmless():
    from invoicing.adapters.messaging import AwsMessenger

    ses = _Ses({"acme.example"})
    messenger = AwsMessenger(ses=ses)

    messenger.register_sender(ADDRESS)
    messenger.register_sender(ADDRESS)

    assert ses.created == [ADDRESS]
    assert messenger.sender_verified(ADDRESS) is True
    assert messenger.sender_verified("someone@elsewhere.example") is False
