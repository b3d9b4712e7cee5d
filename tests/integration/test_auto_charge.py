"""Automatic collection (SPEC §12 `auto_charge`): an issued invoice charged
off-session to its customer's default saved method — a card paid at once,
a card declined leaving the invoice open and its client e-mailed the page
to pay it, a SEPA Direct Debit processing until the bank answers — once
per invoice, whoever asks and however often."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest

from invoicing.domain.errors import Busy
from invoicing.ports import StripeUnavailable
from tests.conftest import CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE
from tests.connect import deliver
from tests.integration.conftest import STRIPE_CUSTOMER
from tests.integration.test_send import sent_emails

pytestmark = pytest.mark.integration

EMAIL = "compta@dupont.example"
FAILED_SUBJECT = "Paiement non abouti : facture INV-1 d'Acme SAS, 1\u202f398,00\u00a0€ à régler"


def save_method(customer_id: str, pm: str, kind: str = "card", account: str | None = None, **fields: Any) -> None:
    """A saved payment method, as logic.payment_methods keeps it (a child of
    the customer; the default the one chosen last, else the newest)."""
    from invoicing.adapters import live

    deps = live.deps()
    now = deps.timestamp()
    card = kind == "card"
    doc = {"id": f"{customer_id}.{pm}", "payment_method": pm, "customer_id": customer_id, "type": kind,
           "brand": "visa" if card else None, "last4": "4242" if card else "3000", "exp_month": 12 if card else None,
           "exp_year": 2030 if card else None, "bank_code": None if card else "20041", "country": "FR",
           "mandate": None if card else "mandate_1", "stripe_customer": STRIPE_CUSTOMER, "account": account,
           "default_at": now, "version": 1, "created_at": now, "updated_at": now, **fields}  # fmt: skip
    deps.store.create("acme", "payment_method", doc, name=None)


@pytest.fixture
def client(api, account) -> dict:
    reply = api.post("/customers", {"name": "Dupont & Fils", "email": EMAIL, "address": CLIENT_ADDRESS,
                                    "siren": CLIENT_SIREN, "stripe_customer_id": STRIPE_CUSTOMER})  # fmt: skip
    assert reply.status == 201, reply.body
    return reply.body


@pytest.fixture
def invoice(api, client) -> dict:
    """INV-1 (1,398.00 due 2026-12-27, late fees on), issued without a message."""
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": client["id"]}).body
    reply = api.post(f"/invoices/{draft['id']}/mark-sent")
    assert reply.status == 200, reply.body
    return reply.body


def collect(invoice: dict, gateway: Any = None) -> dict:
    from invoicing.adapters import live
    from invoicing.logic import auto_charge

    return auto_charge.collect(live.deps(), gateway or live.payment_gateway(), "acme", invoice)


def stored(api, invoice: dict) -> dict:
    return api.get(f"/invoices/{invoice['id']}").body


def internal(invoice: dict) -> dict:
    from invoicing.adapters import live

    return live.deps().store.get("acme", "invoice", invoice["id"])


def intents(standin) -> list:
    return standin.requests_to("/v1/payment_intents")


def sent(standin, kind: str) -> list[dict]:
    """The events of `kind` the stand-in sent (the onboarding's too are there)."""
    return [event for event in standin.sent_events if event["type"] == kind]


def failed_notices(api, invoice: dict) -> list[dict]:
    return [d for d in stored(api, invoice)["deliveries"] if d["kind"] == "payment_failed"]


def failed_emails() -> list:
    return [email for email in sent_emails() if email["Subject"] == FAILED_SUBJECT]


# -- a card ------------------------------------------------------------------------------


def test_a_card_is_charged_off_session_for_what_is_due_and_the_payment_recorded_once(
    api, client, invoice, stripe_standin, account
):
    save_method(client["id"], "pm_card_visa", account=account)

    outcome = collect(invoice)
    again = collect(invoice)

    assert (outcome["status"], again["status"]) == ("succeeded", "succeeded")
    assert again["stripe_payment_intent"] == outcome["stripe_payment_intent"]
    (request,) = intents(stripe_standin)  # the second call asked Stripe nothing
    assert request.account == account
    assert request.idempotency_key.startswith("auto-")
    params = request.params
    assert (params["amount"], params["currency"], params["customer"]) == ("139800", "eur", STRIPE_CUSTOMER)
    assert (params["payment_method"], params["payment_method_types"]) == ("pm_card_visa", ["card"])
    assert (params["off_session"], params["confirm"]) == ("true", "true")
    assert params["metadata"] == {"tenant_id": "acme", "invoice_id": invoice["id"], "invoice_number": "INV-1",
                                  "auto_charge": "true"}  # fmt: skip
    after = stored(api, invoice)
    assert after["status"] == "paid"
    ((payment),) = after["payments"]
    assert (payment["method"], payment["amount"], payment["source"]) == ("card", "1398.00", "stripe")


def test_stripes_own_event_about_the_charge_records_nothing_more(api, client, invoice, stripe_standin, account):
    save_method(client["id"], "pm_card_visa", account=account)
    outcome = collect(invoice)
    intent = {"id": outcome["stripe_payment_intent"], "object": "payment_intent", "amount": 139800,
              "amount_received": 139800, "currency": "eur", "payment_method_types": ["card"],
              "metadata": {"tenant_id": "acme", "invoice_id": invoice["id"], "auto_charge": "true"}}  # fmt: skip
    event = {"id": "evt_auto_1", "type": "payment_intent.succeeded", "account": account, "created": 1_800_000_000,
             "data": {"object": intent}}  # fmt: skip

    assert deliver(api, event).body["outcome"] == "already recorded"
    assert len(stored(api, invoice)["payments"]) == 1


def test_the_invoices_recurring_schedule_is_named_to_stripe(api, client, invoice, stripe_standin, account):
    from invoicing.adapters import live

    store = live.deps().store
    doc = internal(invoice)
    store.replace("acme", "invoice", {**doc, "recurring_id": "rec_1", "version": doc["version"] + 1},
                  expected_version=doc["version"], old_name=None, new_name=None)  # fmt: skip
    save_method(client["id"], "pm_card_visa", account=account)

    collect(invoice)

    assert intents(stripe_standin)[0].params["metadata"]["recurring_id"] == "rec_1"


@pytest.mark.parametrize(
    ("method", "code"),
    [("pm_card_chargeDeclined", "generic_decline"), ("pm_card_authenticationRequired", "authentication_required")],
)
def test_a_declined_card_leaves_the_invoice_open_records_why_and_emails_the_client_the_page_once(
    api, client, invoice, stripe_standin, account, method, code
):
    save_method(client["id"], method, account=account)

    outcome = collect(invoice)
    again = collect(invoice)
    api.deliver_events()

    assert (outcome["status"], outcome["reason"]) == ("failed", code)
    assert again["stripe_payment_intent"] == outcome["stripe_payment_intent"]
    assert outcome["stripe_payment_intent"].startswith("pi_")
    assert len(intents(stripe_standin)) == 1
    after = stored(api, invoice)
    assert (after["status"], after["amount_due"], after["payments"]) == ("open", "1398.00", [])
    (failure,) = after["payment_failures"]
    assert (failure["stripe_payment_intent"], failure["code"]) == (outcome["stripe_payment_intent"], code)
    (notice,) = failed_notices(api, invoice)
    assert (notice["recipient"], notice["channel"], notice["status"]) == (EMAIL, "email", "sent")
    (email,) = failed_emails()
    assert email["To"] == EMAIL
    assert after["payment_link"] in email.get_body(("plain",)).get_content()
    assert [part.get_filename() for part in email.iter_attachments()] == ["INV-1.pdf"]


def test_a_method_stripe_no_longer_has_is_a_failure_and_the_client_pays_on_the_page(
    api, client, invoice, stripe_standin, account
):
    save_method(client["id"], "pm_missing", account=account)

    outcome = collect(invoice)
    api.deliver_events()

    assert (outcome["status"], outcome["reason"]) == ("failed", "resource_missing")
    assert stored(api, invoice)["payment_failures"][0]["code"] == "resource_missing"
    assert len(failed_emails()) == 1


# -- what is not charged -----------------------------------------------------------------


def test_nothing_is_asked_of_stripe_without_a_default_method_an_account_or_anything_due(
    api, client, invoice, stripe_standin, account
):
    assert collect(invoice)["reason"] == "no saved payment method"
    save_method(client["id"], "pm_card_visa", account=account, default_at=None)
    newest = {"default_at": None, "created_at": "2030-01-01T00:00:00Z"}
    save_method(client["id"], "pm_card_mastercard", account="acct_1ANOTHER", **newest)
    assert collect(invoice)["reason"] == "saved on another Stripe account than the business's"

    paid = api.post(f"/invoices/{invoice['id']}/payments", {"method": "bank_transfer", "amount": "1398.00"})
    assert paid.status == 201, paid.body
    assert collect(invoice) == {"status": "skipped", "reason": "nothing due", "stripe_payment_intent": None,
                                "invoice": None}  # fmt: skip
    assert intents(stripe_standin) == []


def test_a_business_whose_account_takes_no_payments_is_not_charged(api, client, invoice, stripe_standin, account):
    save_method(client["id"], "pm_card_visa", account=account)
    for event in stripe_standin.update_account(account, at=2_000_000_000, charges_enabled=False):
        assert deliver(api, event).body["outcome"] == "account updated"

    assert collect(invoice)["reason"] == "the business's Stripe account takes no payments"
    assert intents(stripe_standin) == []


def test_stripe_unreachable_raises_keeps_nothing_and_the_next_call_charges_once(
    api, client, invoice, stripe_standin, account
):
    from invoicing.adapters import live

    save_method(client["id"], "pm_card_visa", account=account)

    class Unreachable:
        def confirm_off_session(self, *args: Any) -> dict:
            raise StripeUnavailable("connection refused")

    with pytest.raises(StripeUnavailable):
        collect(invoice, Unreachable())
    outcome = collect(invoice, live.payment_gateway())

    assert outcome["status"] == "succeeded"
    assert stored(api, invoice)["status"] == "paid"


# -- together ----------------------------------------------------------------------------


def test_collect_called_at_once_makes_one_payment_intent_and_one_payment(api, client, invoice, stripe_standin, account):
    save_method(client["id"], "pm_card_visa", account=account)

    def attempt(_: int) -> str:
        try:
            return collect(invoice)["status"]
        except Busy:  # another call holds the invoice's charge: the caller tries again later
            return "busy"

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(attempt, range(4)))

    assert set(outcomes) <= {"succeeded", "busy"}
    assert "succeeded" in outcomes
    assert len(intents(stripe_standin)) == 1
    assert len(stored(api, invoice)["payments"]) == 1


def test_a_declined_charge_and_its_events_at_once_record_one_failure_and_send_one_message(
    api, client, invoice, stripe_standin, account
):
    save_method(client["id"], "pm_card_chargeDeclined", account=account)
    outcome = collect(invoice)
    intent = {"id": outcome["stripe_payment_intent"], "object": "payment_intent", "amount": 139800,
              "currency": "eur", "payment_method_types": ["card"], "status": "requires_payment_method",
              "last_payment_error": {"code": "card_declined", "decline_code": "generic_decline",
                                     "message": "Your card was declined."},
              "metadata": {"tenant_id": "acme", "invoice_id": invoice["id"], "auto_charge": "true"}}  # fmt: skip
    event = {"id": "evt_declined", "type": "payment_intent.payment_failed", "account": account,
             "created": 1_800_000_000, "data": {"object": intent}}  # fmt: skip

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: deliver(api, event), range(4)))
    api.deliver_events()

    assert {reply.status for reply in replies} == {200}
    assert len(stored(api, invoice)["payment_failures"]) == 1
    assert len(failed_notices(api, invoice)) == 1
    assert len(failed_emails()) == 1


# -- a SEPA Direct Debit -------------------------------------------------------------------


def processing(api, client, invoice, standin, account) -> dict:
    save_method(client["id"], "pm_sepa_debit", "sepa_debit", account=account)
    outcome = collect(invoice)
    assert outcome["status"] == "processing", outcome
    return outcome


def test_a_debit_is_processing_then_settled_paid_and_no_longer_processing(
    api, client, invoice, stripe_standin, account
):
    outcome = processing(api, client, invoice, stripe_standin, account)

    (request,) = intents(stripe_standin)
    assert (request.params["payment_method_types"], request.params["mandate"]) == (["sepa_debit"], "mandate_1")
    shown = stored(api, invoice)
    assert shown["status"] == "open"
    assert shown["payment_processing"]["stripe_payment_intent"] == outcome["stripe_payment_intent"]
    assert (shown["payment_processing"]["method"], shown["payment_processing"]["amount"]) == ("sepa_debit", "1398.00")
    assert internal(invoice)["sweep_late_fees_on"] is None  # nobody chases the client meanwhile
    (started,) = sent(stripe_standin, "payment_intent.processing")
    assert deliver(api, started).body["outcome"] == "already processing"

    (settled,) = stripe_standin.settle(outcome["stripe_payment_intent"])
    assert deliver(api, settled).body["outcome"] == "recorded"
    assert deliver(api, {**settled, "id": settled["id"] + "_again"}).body["outcome"] == "already recorded"
    assert deliver(api, {**started, "id": started["id"] + "_late"}).body["outcome"] == "already paid"

    after = stored(api, invoice)
    assert (after["status"], after["payment_processing"]) == ("paid", None)
    ((payment),) = after["payments"]
    assert (payment["method"], payment["amount"]) == ("sepa_debit", "1398.00")
    assert collect(invoice)["status"] == "processing"  # as Stripe answered it: nothing asked again
    assert len(intents(stripe_standin)) == 1
    assert len(stored(api, invoice)["payments"]) == 1


def test_a_returned_debit_is_a_failure_the_client_is_emailed_once_and_the_sweeps_resume(
    api, client, invoice, stripe_standin, account
):
    outcome = processing(api, client, invoice, stripe_standin, account)

    (failed,) = stripe_standin.fail_debit(outcome["stripe_payment_intent"])
    first = deliver(api, failed)
    second = deliver(api, {**failed, "id": failed["id"] + "_again"})  # Stripe's retry, as a new delivery
    api.deliver_events()

    assert (first.body["outcome"], second.body["outcome"]) == ("failure recorded", "already recorded")
    after = stored(api, invoice)
    assert (after["status"], after["payment_processing"], after["amount_due"]) == ("open", None, "1398.00")
    (failure,) = after["payment_failures"]
    assert (failure["stripe_payment_intent"], failure["code"]) == (
        outcome["stripe_payment_intent"],
        "insufficient_funds",
    )
    assert len(failed_notices(api, invoice)) == 1
    assert len(failed_emails()) == 1
    assert internal(invoice)["sweep_late_fees_on"] == "2026-12-28"
    (started,) = sent(stripe_standin, "payment_intent.processing")
    assert deliver(api, {**started, "id": "evt_late"}).body["outcome"] == "already failed"


def test_a_debits_outcome_delivered_at_once_records_one_payment(api, client, invoice, stripe_standin, account):
    outcome = processing(api, client, invoice, stripe_standin, account)
    (settled,) = stripe_standin.settle(outcome["stripe_payment_intent"])

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda n: deliver(api, {**settled, "id": f"{settled['id']}_{n}"}), range(4)))

    assert sorted(reply.body["outcome"] for reply in replies) == ["already recorded"] * 3 + ["recorded"]
    assert len(stored(api, invoice)["payments"]) == 1


def test_a_returned_debit_delivered_at_once_records_one_failure_and_one_message(
    api, client, invoice, stripe_standin, account
):
    outcome = processing(api, client, invoice, stripe_standin, account)
    (failed,) = stripe_standin.fail_debit(outcome["stripe_payment_intent"], "account_closed")

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: deliver(api, {**failed, "id": f"{failed['id']}_{n}"}), range(4)))
    api.deliver_events()

    assert len(stored(api, invoice)["payment_failures"]) == 1
    assert len(failed_notices(api, invoice)) == 1
    assert len(failed_emails()) == 1


def test_no_late_fee_while_a_debit_is_processing_and_its_periods_caught_up_once_it_failed(
    api, client, invoice, stripe_standin, account
):
    outcome = processing(api, client, invoice, stripe_standin, account)

    api.run_sweep("late_fees", "2027-01-05")
    assert stored(api, invoice).get("late_fee_entries") in (None, [])

    (failed,) = stripe_standin.fail_debit(outcome["stripe_payment_intent"])
    deliver(api, failed)
    api.run_sweep("late_fees", "2027-01-05")
    assert len(stored(api, invoice)["late_fee_entries"]) == 1


# -- from the recurring sweep ------------------------------------------------------------


def test_the_recurring_sweep_charges_an_auto_charged_invoice_once(api, client, stripe_standin, account):
    from datetime import date

    from tests.integration.test_recurring import create, invoices_of, monthly

    save_method(client["id"], "pm_card_visa", account=account)
    made = create(api, monthly(client, auto_charge=True, schedule={"start_date": date.today().isoformat()}))
    first = made["next_dates"][0]

    api.run_sweep("recurring", first)
    api.run_sweep("recurring", first)

    (invoice,) = invoices_of(api, made)
    (request,) = intents(stripe_standin)
    assert request.params["metadata"]["recurring_id"] == made["id"]
    assert (invoice["status"], invoice["recurring_id"], len(invoice["payments"])) == ("paid", made["id"], 1)


def test_while_a_debit_is_processing_its_page_offers_no_second_payment(api, client, invoice, stripe_standin, account):
    processing(api, client, invoice, stripe_standin, account)
    link = stored(api, invoice)["payment_link"]
    path = link[link.index("/pay/") :]

    page = api.call("GET", path, tenant=None)
    refused = api.call("POST", f"{path}/checkout", raw="target=balance", tenant=None,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    assert page.status == 200
    assert "prélèvement SEPA de cette facture est en cours" in page.body
    assert 'id="pay-button"' not in page.body
    assert refused.status == 409
    assert stripe_standin.requests_to("/v1/checkout/sessions") == []
