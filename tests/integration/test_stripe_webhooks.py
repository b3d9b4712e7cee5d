"""The Stripe webhook (issue 5 §6, SPEC §8): signed events recorded from
their own objects, converging whatever their order and repetitions. acme's
Stripe account is linked through Stripe's onboarding (the local stand-in),
and its events come from it unless a test says otherwise."""

from __future__ import annotations

import json
import time

import pytest

from invoicing.adapters import live
from invoicing.logic import stripe_events
from invoicing.logic.stripe_events import sign
from tests.conftest import CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE
from tests.connect import onboard

pytestmark = pytest.mark.integration

SECRET = "whsec_local_dev"


@pytest.fixture(autouse=True)
def acme_account(api, business, stripe_standin) -> str:
    """acme's account, onboarded: the events below come from it."""
    return onboard(api, stripe_standin)


@pytest.fixture
def invoice(api, business):
    customer = api.post("/customers", {"name": "Dupont & Fils", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body
    assert issued["amount_due"] == "1398.00"
    return issued


def event(kind: str, obj: dict, id: str = "evt_1", created: int | None = None) -> dict:
    return {"id": id, "object": "event", "type": kind, "created": created or int(time.time()), "data": {"object": obj}}


def metadata(invoice: dict, **extra: str) -> dict:
    return {"tenant_id": "acme", "invoice_id": invoice["id"], **extra}


def succeeded(invoice: dict, received: int, intent: str = "pi_1", id: str = "evt_1", **extra: str) -> dict:
    return event("payment_intent.succeeded", {
        "id": intent, "object": "payment_intent", "amount_received": received, "currency": "eur",
        "metadata": metadata(invoice, **extra), "payment_method_types": ["card"],
    }, id)  # fmt: skip


def completed(
    invoice: dict, total: int, intent: str = "pi_1", id: str = "evt_cs", status: str = "paid", **extra
) -> dict:
    return event("checkout.session.completed", {
        "id": "cs_1", "object": "checkout.session", "payment_intent": intent, "payment_status": status,
        "amount_total": total, "currency": "eur", "metadata": metadata(invoice, **extra),
        "payment_method_types": ["card"],
    }, id)  # fmt: skip


def refunded(refunded_minor: int, intent: str = "pi_1", id: str = "evt_refund") -> dict:
    return event("charge.refunded", {
        "id": "ch_1", "object": "charge", "payment_intent": intent, "amount": 139_800,
        "amount_refunded": refunded_minor, "currency": "eur", "metadata": {},
    }, id)  # fmt: skip


def deliver(api, stripe_event: dict, secret: str = SECRET, stamp: int | None = None, body: bytes | None = None,
            encoded: bool = False):  # fmt: skip
    """Signed; from acme's account unless the event names its `account` (None: the platform's own)."""
    if "account" not in stripe_event:
        stripe_event = {**stripe_event, "account": api.get("/business").body["stripe_account_id"]}
    payload = json.dumps(stripe_event).encode()
    header = sign(payload, secret, stamp or int(time.time()))
    sent = (body if body is not None else payload).decode()
    return api.call("POST", "/webhooks/stripe", raw=sent, headers={"Stripe-Signature": header}, tenant=None,
                    base64_body=encoded)  # fmt: skip


def stored(api, invoice: dict) -> dict:
    return api.get(f"/invoices/{invoice['id']}").body


def test_a_payment_intent_succeeded_records_a_card_payment_and_keeps_the_tip_apart(api, invoice):
    reply = deliver(api, succeeded(invoice, 139_800 + 13_980, tip="13980"))

    assert reply.status == 200, reply.body
    assert reply.body["outcome"] == "recorded"
    after = stored(api, invoice)
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("paid", "1398.00", "0.00")
    (payment,) = after["payments"]
    assert (payment["method"], payment["amount"], payment["tip"], payment["source"]) == (
        "card", "1398.00", "139.80", "stripe"
    )  # fmt: skip
    assert payment["stripe_payment_intent"] == "pi_1"


def test_the_same_event_delivered_20_times_records_one_payment(api, invoice):
    replies = [deliver(api, succeeded(invoice, 50_000)) for _ in range(20)]

    assert {reply.status for reply in replies} == {200}
    assert [reply.body["outcome"] for reply in replies[1:]] == ["already processed"] * 19
    assert len(stored(api, invoice)["payments"]) == 1
    assert stored(api, invoice)["amount_paid"] == "500.00"


@pytest.mark.parametrize("order", ["session first", "intent first"])
def test_the_session_and_its_intent_are_one_payment_in_either_order(api, invoice, order):
    events = [completed(invoice, 139_800), succeeded(invoice, 139_800)]
    for stripe_event in events if order == "session first" else events[::-1]:
        assert deliver(api, stripe_event).status == 200

    after = stored(api, invoice)
    assert len(after["payments"]) == 1
    assert (after["status"], after["amount_due"]) == ("paid", "0.00")


@pytest.mark.parametrize("order", ["refund first", "payment first"])
def test_a_refund_raises_the_amount_due_again_whatever_the_order(api, invoice, order):
    events = [refunded(50_000), succeeded(invoice, 139_800)]
    for stripe_event in events if order == "refund first" else events[::-1]:
        assert deliver(api, stripe_event).status == 200

    after = stored(api, invoice)
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("partially_paid", "898.00", "500.00")
    assert after["payments"][0]["amount_refunded"] == "500.00"


def test_a_second_larger_refund_of_the_same_charge_counts_once(api, invoice):
    deliver(api, succeeded(invoice, 139_800))
    deliver(api, refunded(10_000, id="evt_r1"))
    deliver(api, refunded(30_000, id="evt_r2"))
    deliver(api, refunded(10_000, id="evt_r1_late"))  # an older state, delivered late

    assert stored(api, invoice)["amount_due"] == "300.00"


def test_a_session_not_yet_paid_records_nothing(api, invoice):
    reply = deliver(api, completed(invoice, 139_800, status="unpaid"))

    assert reply.body["outcome"] == "awaiting payment"
    assert stored(api, invoice)["payments"] == []


def test_a_failed_payment_is_shown_to_the_business_and_pays_nothing(api, invoice):
    failed = event("payment_intent.payment_failed", {
        "id": "pi_9", "object": "payment_intent", "amount_received": 0, "currency": "eur",
        "metadata": metadata(invoice),
        "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds",
                               "message": "Your card has insufficient funds."},
    }, "evt_fail")  # fmt: skip

    deliver(api, failed)
    deliver(api, failed)

    after = stored(api, invoice)
    assert after["amount_paid"] == "0.00"
    assert [(f["code"], f["message"]) for f in after["payment_failures"]] == [
        ("insufficient_funds", "Your card has insufficient funds.")
    ]


def test_an_event_naming_no_invoice_of_ours_is_acknowledged_and_pays_nothing(api, invoice):
    """Its metadata names none: ignored. It names an invoice acme does not
    have, or another tenant's from acme's account: parked (issue 19 §3)."""
    foreign = event("payment_intent.succeeded", {
        "id": "pi_foreign", "object": "payment_intent", "amount_received": 1000, "currency": "eur", "metadata": {},
    }, "evt_0")  # fmt: skip
    stray = succeeded({"id": "inv_00000000000000000000000000"}, 1000)
    other_tenant = succeeded(invoice, 1000, tenant_id="other", id="evt_2")

    assert deliver(api, foreign).body["outcome"] == "no invoice of ours"
    assert deliver(api, stray).body["outcome"] == "parked: unknown_invoice"
    assert deliver(api, other_tenant).body["outcome"] == "parked: account_of_another_tenant"
    assert stored(api, invoice)["payments"] == []


def test_a_body_api_gateway_encoded_in_base64_is_verified_decoded(api, invoice):
    reply = deliver(api, succeeded(invoice, 1000), encoded=True)

    assert reply.status == 200, reply.body
    assert stored(api, invoice)["amount_paid"] == "10.00"


@pytest.mark.parametrize(
    "attack",
    ["tampered body", "wrong secret", "ten minutes old", "no signature", "from the future"],
)
def test_a_bad_or_stale_signature_is_a_400_and_records_nothing(api, invoice, attack):
    genuine = succeeded(invoice, 139_800)
    if attack == "tampered body":
        forged = json.dumps(succeeded(invoice, 139_800_000)).encode()
        reply = deliver(api, genuine, body=forged)
    elif attack == "wrong secret":
        reply = deliver(api, genuine, secret="whsec_someone_else")
    elif attack == "ten minutes old":
        reply = deliver(api, genuine, stamp=int(time.time()) - 600)
    elif attack == "from the future":
        reply = deliver(api, genuine, stamp=int(time.time()) + 600)
    else:
        reply = api.call("POST", "/webhooks/stripe", raw=json.dumps(genuine), tenant=None)

    assert reply.status == 400
    assert reply.body["error"]["code"] == "bad_signature"
    assert stored(api, invoice)["payments"] == []
    # and the event was not remembered as processed: the genuine delivery still records it
    assert deliver(api, genuine).body["outcome"] == "recorded"


def test_an_event_from_another_stripe_account_cannot_pay_the_invoice_its_metadata_names(api, invoice, acme_account):
    forged = {**succeeded(invoice, 139_800), "account": "acct_someone_else"}
    platform = {**succeeded(invoice, 139_800, id="evt_2"), "account": None}  # the platform's own, not acme's
    genuine = {**succeeded(invoice, 139_800, id="evt_3"), "account": acme_account}

    assert deliver(api, forged).body["outcome"] == "parked: unknown_account"
    assert deliver(api, platform).body["outcome"] == "parked: no_account"
    assert stored(api, invoice)["payments"] == []
    assert deliver(api, genuine).body["outcome"] == "recorded"


def test_a_refund_from_another_account_does_not_touch_the_payment(api, invoice):
    deliver(api, succeeded(invoice, 139_800))

    deliver(api, {**refunded(139_800), "account": "acct_someone_else"})

    assert stored(api, invoice)["amount_due"] == "0.00"


@pytest.mark.parametrize("order", ["session first", "intent first"])
def test_a_tip_only_one_event_names_still_converges(api, invoice, order):
    events = [completed(invoice, 139_800 + 13_980, tip="13980"), succeeded(invoice, 139_800 + 13_980)]
    for stripe_event in events if order == "session first" else events[::-1]:
        deliver(api, stripe_event)

    after = stored(api, invoice)
    (payment,) = after["payments"]
    assert (payment["amount"], payment["tip"]) == ("1398.00", "139.80")
    assert (after["amount_paid"], after["amount_due"]) == ("1398.00", "0.00")


def test_a_stripe_payment_updated_later_keeps_its_place_among_the_payments(api, invoice):
    deliver(api, succeeded(invoice, 10_000, intent="pi_a", id="evt_a"))
    api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "50"})
    deliver(api, refunded(5_000, intent="pi_a", id="evt_ra"))

    assert [p["method"] for p in stored(api, invoice)["payments"]] == ["card", "cash"]


def test_more_paid_through_stripe_than_due_shows_nothing_due_and_the_excess(api, invoice):
    api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "1398"})

    deliver(api, succeeded(invoice, 10_000))

    after = stored(api, invoice)
    assert (after["status"], after["amount_due"], after["amount_overpaid"]) == ("paid", "0.00", "100.00")


@pytest.mark.parametrize(
    "header",
    [
        "t=\u00b2,v1=" + "a" * 64,
        "t=" + "9" * 5000 + ",v1=" + "a" * 64,
        "t=1,v1=\u00e9\u00e9",
        "v1=" + "a" * 64,
        "garbage",
    ],
)
def test_a_malformed_signature_header_is_a_400_not_a_500(api, invoice, header):
    reply = api.call("POST", "/webhooks/stripe", raw=json.dumps(succeeded(invoice, 100)),
                     headers={"Stripe-Signature": header}, tenant=None)  # fmt: skip

    assert reply.status == 400, reply.body
    assert stored(api, invoice)["payments"] == []


# -- signed, yet not what Stripe sends (issue 19 §5) ---------------------------------


def signed(api, payload: bytes):
    """Deliver `payload` as it is, signed with the test secret."""
    header = sign(payload, SECRET, int(time.time()))
    return api.call("POST", "/webhooks/stripe", raw=payload.decode(), headers={"Stripe-Signature": header},
                    tenant=None)  # fmt: skip


def test_a_signed_body_nested_100000_deep_is_a_400_as_the_api_answers_and_records_nothing(api, invoice):
    reply = signed(api, b"[" * 100_000)

    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "malformed_json"
    assert stored(api, invoice)["payments"] == []


@pytest.mark.parametrize(
    "amount", [-100, 0, "139800", 1398.0, True, None, 10**40], ids=lambda amount: f"amount={amount!r}"
)
def test_a_payment_whose_amount_is_not_a_positive_integer_is_a_422_naming_it_and_records_nothing(api, invoice, amount):
    intent = succeeded(invoice, 0)
    intent["data"]["object"]["amount_received"] = amount
    session = completed(invoice, 0)
    session["data"]["object"]["amount_total"] = amount

    for stripe_event, field in ((intent, "amount_received"), (session, "amount_total")):
        reply = deliver(api, stripe_event)

        assert reply.status == 422, reply.body
        assert reply.body["error"]["fields"][0]["field"] == f"data.object.{field}"
    after = stored(api, invoice)
    assert (after["payments"], after["amount_paid"]) == ([], "0.00")


def test_a_refund_larger_than_its_charge_is_a_422_and_the_payment_keeps_what_it_received(api, invoice):
    deliver(api, succeeded(invoice, 139_800))

    reply = deliver(api, refunded(139_800 + 999_899))

    assert reply.status == 422, reply.body
    assert reply.body["error"]["fields"][0]["field"] == "data.object.amount_refunded"
    (payment,) = stored(api, invoice)["payments"]
    assert (payment["amount_refunded"], payment["tip_refunded"]) == ("0.00", "0.00")
    assert stored(api, invoice)["amount_due"] == "0.00"


def charge_of(refunded_minor: int, amount: int) -> dict:
    refund = refunded(refunded_minor)
    refund["data"]["object"]["amount"] = amount
    return refund


@pytest.mark.parametrize("order", ["payment first", "refund first"])
def test_a_refund_larger_than_the_payment_received_is_never_recorded_as_a_tip_refund(api, invoice, order):
    """The charge says it was of 11,396.99 and refunded whole; the payment
    received 1,398.00: the two disagree, and the invoice keeps what is sure."""
    events = [succeeded(invoice, 139_800), charge_of(1_139_699, amount=1_139_699)]
    replies = [deliver(api, stripe_event) for stripe_event in (events if order == "payment first" else events[::-1])]

    (payment,) = stored(api, invoice)["payments"]
    assert (payment["amount"], payment["amount_refunded"], payment["tip_refunded"]) == ("1398.00", "0.00", "0.00")
    assert stored(api, invoice)["amount_due"] == "0.00"
    if order == "payment first":  # kept for an operator, never dropped (issue 19 §3)
        assert replies[1].status == 200, replies[1].body
        assert replies[1].body["outcome"] == "parked: amount"
        (kept,) = stripe_events.parked(live.deps()).items
        assert (kept["id"], kept["field"]) == ("evt_refund", "data.object.amount_refunded")


@pytest.mark.parametrize("amount_refunded", [-5_000, "5000", None])
def test_a_refund_whose_amount_is_not_a_whole_number_of_cents_is_a_422_and_changes_nothing(
    api, invoice, amount_refunded
):
    deliver(api, succeeded(invoice, 139_800))
    refund = refunded(0)
    refund["data"]["object"]["amount_refunded"] = amount_refunded

    reply = deliver(api, refund)

    assert reply.status == 422, reply.body
    assert stored(api, invoice)["amount_due"] == "0.00"


def test_an_instalment_the_invoice_does_not_have_is_not_kept_and_the_payment_fills_the_earliest(api, business):
    customer = api.post("/customers", {"name": "Dupont & Fils", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}).body
    schedule = {"type": "percentage", "instalments": [
        {"due_date": "2026-12-10", "value": "30"}, {"due_date": "2026-12-27", "value": "70"},
    ]}  # fmt: skip
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"], "payment_schedule": schedule}).body
    invoice = api.post(f"/invoices/{draft['id']}/mark-sent").body

    reply = deliver(api, succeeded(invoice, 41_940, instalment_id="ins_99"))

    assert reply.status == 200, reply.body
    after = stored(api, invoice)
    (payment,) = after["payments"]
    assert (payment["amount"], payment["instalment_id"]) == ("419.40", None)
    assert [item["status"] for item in after["payment_schedule"]["instalments"]] == ["paid", "pending"]


def test_an_instalment_named_on_an_invoice_without_a_schedule_is_not_kept(api, invoice):
    deliver(api, succeeded(invoice, 139_800, instalment_id="ins_1"))

    (payment,) = stored(api, invoice)["payments"]
    assert payment["instalment_id"] is None


@pytest.mark.parametrize(
    "shape",
    ["a list", "no id", "data a list", "object a string", "no currency", "currency a number", "created a word",
     "created in year 300000", "metadata a list", "error a list"],
)  # fmt: skip
def test_a_signed_event_of_another_shape_is_a_4xx_not_a_500_and_records_nothing(api, invoice, shape):
    stripe_event: object = completed(invoice, 139_800)
    obj = stripe_event["data"]["object"]
    if shape == "a list":
        stripe_event = [stripe_event]
    elif shape == "no id":
        del stripe_event["id"]
    elif shape == "data a list":
        stripe_event["data"] = [obj]
    elif shape == "object a string":
        stripe_event["data"]["object"] = "cs_1"
    elif shape == "no currency":
        del obj["currency"]
    elif shape == "currency a number":
        obj["currency"] = 978
    elif shape == "created a word":
        stripe_event["created"] = "yesterday"
    elif shape == "created in year 300000":
        stripe_event["created"] = 10**13
    elif shape == "metadata a list":
        obj["metadata"] = [invoice["id"]]
    else:
        stripe_event["type"] = "payment_intent.payment_failed"
        stripe_event["data"]["object"] = {"id": "pi_9", "object": "payment_intent", "metadata": metadata(invoice),
                                          "last_payment_error": ["card_declined"]}  # fmt: skip

    reply = signed(api, json.dumps(stripe_event).encode())

    assert 400 <= reply.status < 500, reply.body
    after = stored(api, invoice)
    assert (after["payments"], after.get("payment_failures") or []) == ([], [])
