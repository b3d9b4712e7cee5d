"""Manual payments (issue 5 §1–2, SPEC §6): recorded on the issued invoice,
exact to the cent, allocated to the instalments of its schedule."""

from __future__ import annotations

import concurrent.futures

import pytest

from tests.conftest import CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE, internal, published_events

pytestmark = pytest.mark.integration

THREE_INSTALMENTS = {
    "type": "fixed",
    "instalments": [
        {"due_date": "2026-12-15", "value": "500.00"},
        {"due_date": "2027-01-15", "value": "500.00"},
        {"due_date": "2027-02-15", "value": "398.00"},
    ],
}


@pytest.fixture
def customer(api, business):
    return api.post("/customers", {"name": "Dupont & Fils", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}).body


def issued(api, customer, **fields) -> dict:
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"], **fields})
    assert draft.status == 201, draft.body
    reply = api.post(f"/invoices/{draft.body['id']}/mark-sent")
    assert reply.status == 200, reply.body
    return reply.body


def pay(api, invoice: dict, amount: str, method: str = "cash", **fields):
    return api.post(f"/invoices/{invoice['id']}/payments", {"method": method, "amount": amount, **fields})


def instalments(api, invoice: dict) -> list[tuple[str, str, str, str]]:
    shown = api.get(f"/invoices/{invoice['id']}").body["payment_schedule"]["instalments"]
    return [(i["id"], i["amount_paid"], i["amount_due"], i["status"]) for i in shown]


def test_partial_payments_to_paid_exact_to_the_cent_on_three_instalments(api, customer):
    invoice = issued(api, customer, payment_schedule=THREE_INSTALMENTS, due_date="2027-02-15")
    assert invoice["totals"]["total"] == "1398.00"

    first = pay(api, invoice, "250.00")
    assert first.status == 201, first.body
    assert first.body["invoice"] == {"status": "partially_paid", "amount_paid": "250.00", "amount_due": "1148.00",
                                     "version": invoice["version"] + 1}  # fmt: skip
    assert instalments(api, invoice)[0] == ("ins_1", "250.00", "250.00", "pending")

    pay(api, invoice, "250.01", "bank_transfer", reference="VIR 2026-118")
    assert instalments(api, invoice)[:2] == [
        ("ins_1", "500.00", "0.00", "paid"),
        ("ins_2", "0.01", "499.99", "pending"),
    ]

    # named for the last instalment: it fills that one, the rest goes to the earliest unpaid
    pay(api, invoice, "600.00", "cheque", cheque_number="0001234", instalment_id="ins_3")
    assert instalments(api, invoice) == [
        ("ins_1", "500.00", "0.00", "paid"),
        ("ins_2", "202.01", "297.99", "pending"),
        ("ins_3", "398.00", "0.00", "paid"),
    ]

    last = pay(api, invoice, "297.99", "card", brand="visa", last4="4242")
    assert last.body["invoice"]["status"] == "paid"
    assert (last.body["invoice"]["amount_paid"], last.body["invoice"]["amount_due"]) == ("1398.00", "0.00")
    assert {status for *_, status in instalments(api, invoice)} == {"paid"}
    stored = api.get(f"/invoices/{invoice['id']}").body
    assert (stored["status"], stored["amount_paid"], stored["amount_due"]) == ("paid", "1398.00", "0.00")


def test_each_method_keeps_its_own_fields_and_the_list_pages(api, customer):
    invoice = issued(api, customer)
    pay(api, invoice, "1", "cash", notes="au comptoir")
    pay(api, invoice, "2", "bank_transfer", reference="VIR-1")
    pay(api, invoice, "3", "cheque", cheque_number="77")
    pay(api, invoice, "4", "card", brand="mastercard", last4="0005", paid_at="2026-11-20")

    first = api.get(f"/invoices/{invoice['id']}/payments?limit=3")
    rest = api.get(f"/invoices/{invoice['id']}/payments?limit=3&cursor={first.body['next_cursor']}")

    listed = first.body["items"] + rest.body["items"]
    assert rest.body["next_cursor"] is None
    assert [(p["method"], p["amount"]) for p in listed] == [
        ("cash", "1.00"), ("bank_transfer", "2.00"), ("cheque", "3.00"), ("card", "4.00")
    ]  # fmt: skip
    assert (listed[0]["notes"], listed[1]["reference"], listed[2]["cheque_number"]) == ("au comptoir", "VIR-1", "77")
    assert (listed[3]["brand"], listed[3]["last4"], listed[3]["paid_at"]) == ("mastercard", "0005", "2026-11-20")
    assert all(p["source"] == "manual" and p["tip"] == "0.00" for p in listed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": "cash", "amount": "10.001"}, "amount"),
        ({"method": "cash", "amount": "0"}, "amount"),
        ({"method": "cash", "amount": "-5"}, "amount"),
        ({"method": "cheque", "amount": "10"}, "cheque_number"),
        ({"method": "card", "amount": "10", "last4": "42"}, "last4"),
        ({"method": "bitcoin", "amount": "10"}, "method"),
        ({"method": "cash", "amount": "10", "paid_at": "2099-01-01"}, "paid_at"),
        ({"method": "cash", "amount": "10", "instalment_id": "ins_9"}, "instalment_id"),
        ({"method": "cash", "amount": "10", "reference": "x"}, "reference"),
    ],
)
def test_a_bad_payment_is_a_422_naming_the_field_and_records_nothing(api, customer, body, field):
    invoice = issued(api, customer)

    reply = api.post(f"/invoices/{invoice['id']}/payments", body)

    assert reply.status == 422, reply.body
    assert api.get(f"/invoices/{invoice['id']}").body["amount_paid"] == "0.00"
    assert reply.body["error"]["fields"][0]["field"] == field


def test_more_than_the_amount_due_is_a_409_and_records_nothing(api, customer):
    invoice = issued(api, customer)
    pay(api, invoice, "1000")

    reply = pay(api, invoice, "398.01")

    assert reply.status == 409
    assert reply.body["error"]["code"] == "overpayment"
    assert "398.01 EUR" in reply.body["error"]["message"]
    assert "398.00 EUR" in reply.body["error"]["message"]
    assert api.get(f"/invoices/{invoice['id']}").body["amount_due"] == "398.00"


def test_a_paid_invoice_takes_no_more_payments(api, customer):
    invoice = issued(api, customer)
    pay(api, invoice, "1398")

    reply = pay(api, invoice, "0.01")

    assert reply.status == 409
    assert "already paid" in reply.body["error"]["message"]


def test_a_draft_or_a_void_invoice_takes_no_payment(api, customer):
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body
    void = issued(api, customer, name="Annulée")
    api.post(f"/invoices/{void['id']}/void")

    assert pay(api, draft, "10").status == 409
    assert pay(api, void, "10").status == 409
    assert api.get(f"/invoices/{void['id']}/payments").body["items"] == []


def test_a_retried_payment_with_its_idempotency_key_is_recorded_once(api, customer):
    invoice = issued(api, customer)
    body = {"method": "cash", "amount": "100"}

    first = api.post(f"/invoices/{invoice['id']}/payments", body, headers={"Idempotency-Key": "pay-1"})
    second = api.post(f"/invoices/{invoice['id']}/payments", body, headers={"Idempotency-Key": "pay-1"})

    assert (first.status, second.status) == (201, 201)
    assert second.body["id"] == first.body["id"]
    assert len(api.get(f"/invoices/{invoice['id']}/payments").body["items"]) == 1


def test_a_payment_publishes_it_and_the_last_one_the_invoice_paid_and_the_pdf_shows_them(api, customer):
    invoice = issued(api, customer)
    api.deliver_events()

    pay(api, invoice, "398")
    pay(api, invoice, "1000")
    events = published_events()
    heard = sorted(
        ((e["detail-type"], e["detail"]) for e in internal(events)), key=lambda e: (e[0] != "Payment Recorded", e[0])
    )
    delivered = api.deliver_events(events)

    assert [detail_type for detail_type, _ in heard] == ["Payment Recorded", "Payment Recorded", "Invoice Paid"]
    assert heard[0][1]["payment_id"].startswith("pay_")
    assert [function for function, _ in delivered].count("documents") == 2  # each payment re-renders the PDF
    stored = api.get(f"/invoices/{invoice['id']}/pdf").body
    assert stored["version"] == invoice["version"] + 2


def test_a_client_sending_back_the_instalments_it_read_is_not_refused(api, customer):
    draft = api.post(
        "/invoices",
        {
            **SPEC_INVOICE,
            "customer_id": customer["id"],
            "payment_schedule": THREE_INSTALMENTS,
            "due_date": "2027-02-15",
        },
    ).body
    shown = api.get(f"/invoices/{draft['id']}").body

    reply = api.patch(f"/invoices/{draft['id']}", {"payment_schedule": shown["payment_schedule"], "version": 1})

    assert reply.status == 200, reply.body


def test_payments_recorded_at_once_under_one_key_are_one(api, customer):
    """Below the key's record (as after a lost answer released it): the
    payment's id comes from the key, so concurrent attempts write one."""
    from concurrent.futures import ThreadPoolExecutor

    from pydantic import TypeAdapter

    from invoicing.adapters.live import deps
    from invoicing.logic import payments
    from invoicing.models.payments import PaymentIn

    invoice = issued(api, customer)
    data = TypeAdapter(PaymentIn).validate_python({"method": "cash", "amount": "100"})

    def attempt(_: int) -> str:
        return payments.record(deps(), "acme", invoice["id"], data, "pay-at-once")[0]["id"]

    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(attempt, range(4)))

    assert len(ids) == 1
    assert [p["id"] for p in api.get(f"/invoices/{invoice['id']}/payments").body["items"]] == list(ids)


# -- a payment recorded by mistake is cancelled, never deleted (SPEC §6.2) ------------------------------


def test_a_cancelled_payment_stays_listed_and_its_amount_is_owed_again(api, issued):
    payment = api.post(f"/invoices/{issued['id']}/payments", {"method": "cheque", "amount": "1398.00",
                                                              "cheque_number": "0001234"}).body  # fmt: skip
    assert api.get(f"/invoices/{issued['id']}").body["status"] == "paid"

    reply = api.post(f"/invoices/{issued['id']}/payments/{payment['id']}/cancel", {"reason": "Chèque revenu impayé"})

    assert reply.status == 200, reply.body
    assert (reply.body["status"], reply.body["cancel_reason"]) == ("cancelled", "Chèque revenu impayé")
    assert reply.body["invoice"] == {"status": "open", "amount_paid": "0.00", "amount_due": "1398.00",
                                     "version": payment["invoice"]["version"] + 1}  # fmt: skip
    listed = api.get(f"/invoices/{issued['id']}/payments").body["items"]
    assert [(p["id"], p["status"]) for p in listed] == [(payment["id"], "cancelled")]
    assert api.get(f"/invoices/{issued['id']}").body["amount_due"] == "1398.00"
    events = [event for event in published_events() if event["detail-type"] == "Payment Cancelled"]
    assert [event["detail"]["payment_id"] for event in events] == [payment["id"]]


def test_cancelling_twice_and_at_once_cancels_once(api, issued):
    payment = api.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": "100.00"}).body
    path = f"/invoices/{issued['id']}/payments/{payment['id']}/cancel"

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: api.post(path, {"reason": "erreur"}), range(4)))
    again = api.post(path, {"reason": "erreur"})

    assert [reply.status for reply in [*replies, again]] == [200] * 5
    assert len({reply.body["cancelled_at"] for reply in [*replies, again]}) == 1
    after = api.get(f"/invoices/{issued['id']}").body
    assert (after["amount_paid"], after["version"]) == ("0.00", payment["invoice"]["version"] + 1)


def test_a_stripe_payment_is_refunded_through_stripe_not_cancelled(api, issued, stripe_standin):
    from tests.connect import onboard
    from tests.integration.test_stripe_webhooks import deliver, succeeded

    onboard(api, stripe_standin)  # the events come from acme's Stripe account
    deliver(api, succeeded(issued, 50_000))
    (payment,) = api.get(f"/invoices/{issued['id']}/payments").body["items"]

    reply = api.post(f"/invoices/{issued['id']}/payments/{payment['id']}/cancel", {"reason": "erreur"})

    assert reply.status == 409
    assert "refunded through Stripe" in reply.body["error"]["message"]
    assert api.get(f"/invoices/{issued['id']}").body["amount_paid"] == "500.00"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [({}, 422, "reason"), ({"reason": ""}, 422, "reason"), ({"reason": "x" * 501}, 422, "reason")],
)
def test_a_cancellation_says_why(api, issued, body, status, field):
    payment = api.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": "100.00"}).body

    reply = api.post(f"/invoices/{issued['id']}/payments/{payment['id']}/cancel", body)

    assert (reply.status, reply.error_fields) == (status, [field])


def test_cancelling_an_unknown_payment_is_a_404(api, issued):
    reply = api.post(f"/invoices/{issued['id']}/payments/pay_unknown/cancel", {"reason": "erreur"})

    assert reply.status == 404


def test_recording_a_payment_keeps_what_the_invoice_keeps_for_itself(api, issued):
    """It used to write the invoice as the API shows it: the credit notes' bases by taxes, the payment
    link's base and the reminders done were lost, and the answer's own fields stored."""
    from invoicing.adapters.live import deps

    api.post(f"/invoices/{issued['id']}/credit-notes", {"amount": "100.00"})
    before = deps().store.get("acme", "invoice", issued["id"])

    api.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": "10.00"})

    after = deps().store.get("acme", "invoice", issued["id"])
    assert set(before) - set(after) == set()
    assert {"payment_link", "overdue"} & set(after) == set()
