"""The facts a tenant's webhook endpoints hear (SPEC §13), read from the
table's changes by invoicing.events.webhook_events_of: every type of the
catalogue comes from some write, each fact has an id only it gives (the
same when its stream record is read twice), and a write that changes
nothing says nothing."""

from __future__ import annotations

from typing import Any

import pytest

from invoicing.domain.webhooks import EVENT_TYPES
from invoicing.events import WEBHOOK_EVENT, Change, events_of, webhook_events_of

pytestmark = pytest.mark.unit

AT = "2025-03-01T10:00:00Z"
LATER = "2025-03-02T11:00:00Z"

DRAFT = {"id": "inv_1", "version": 1, "status": "draft", "updated_at": AT}
ISSUED = {"id": "inv_1", "version": 2, "status": "open", "amount_paid": "0.00", "payments": [], "credit_notes": [],
          "finalized_at": AT, "updated_at": AT}  # fmt: skip
PAYMENT = {"id": "pay_1", "amount": "40.00", "amount_refunded": "0.00", "tip_refunded": "0.00",
           "status": "succeeded", "recorded_at": LATER}  # fmt: skip
DELIVERY = {"id": "inv_1.d1", "invoice_id": "inv_1", "invoice_version": 2, "status": "sending", "attempts": 1,
            "version": 2, "sent_at": None, "updated_at": AT}  # fmt: skip
ESTIMATE = {"id": "est_1", "version": 2, "status": "sent", "sent_at": AT, "updated_at": AT}


def invoice(**changed: Any) -> dict[str, Any]:
    return {**ISSUED, "updated_at": LATER, **changed, "version": changed.get("version", 3)}


def delivery(**changed: Any) -> dict[str, Any]:
    return {**DELIVERY, "updated_at": LATER, "version": 3, **changed}


def facts(old: dict[str, Any] | None, new: dict[str, Any] | None, kind: str = "invoice") -> list[dict[str, Any]]:
    found = webhook_events_of(Change("acme", kind, old, new))
    assert {detail_type for detail_type, _ in found} <= {WEBHOOK_EVENT}
    return [detail for _, detail in found]


def types(old: dict[str, Any] | None, new: dict[str, Any] | None, kind: str = "invoice") -> list[str]:
    return [detail["type"] for detail in facts(old, new, kind)]


PAID = invoice(status="paid", amount_paid="100.00", payments=[PAYMENT])
PART = invoice(status="partially_paid", amount_paid="40.00", payments=[PAYMENT])

# One write for each fact of the catalogue: (kind, before, after, the types it holds).
WRITES: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None, list[str]]] = [
    ("invoice", None, DRAFT, ["invoice.created"]),
    ("invoice", DRAFT, {**DRAFT, "version": 2}, ["invoice.updated"]),
    ("invoice", DRAFT, None, ["invoice.deleted"]),
    ("invoice", DRAFT, ISSUED, ["invoice.issued"]),
    ("invoice", DRAFT, {**ISSUED, "recurring_id": "rec_1"}, ["invoice.issued", "recurring.invoice_issued"]),
    ("invoice", ISSUED, PART, ["payment.recorded", "invoice.partially_paid"]),
    ("invoice", PART, invoice(version=4, status="paid", amount_paid="100.00",
                              payments=[PAYMENT, {**PAYMENT, "id": "pay_2"}]),  # fmt: skip
     ["payment.recorded", "invoice.paid"]),
    ("invoice", PART, invoice(version=4, status="open", amount_paid="0.00",
                              payments=[{**PAYMENT, "status": "cancelled", "cancelled_at": LATER}]),  # fmt: skip
     ["payment.cancelled"]),
    ("invoice", PAID, invoice(version=4, status="partially_paid", amount_paid="90.00",
                              payments=[{**PAYMENT, "amount_refunded": "10.00"}]),  # fmt: skip
     ["payment.refunded", "invoice.partially_paid"]),
    ("invoice", ISSUED, invoice(payment_failures=[{"stripe_payment_intent": "pi_1", "failed_at": LATER}]),
     ["payment.failed"]),
    ("invoice", ISSUED, invoice(credit_notes=[{"id": "cn_1"}]), ["credit_note.issued"]),
    ("invoice", ISSUED, invoice(late_fee_entries=[{"period": "2025-03", "amount": "5.00", "applied_at": LATER}]),
     ["late_fee.applied"]),
    ("invoice", ISSUED, invoice(status="void", voided_at=LATER, credit_notes=[{"id": "cn_2"}]),
     ["credit_note.issued", "invoice.voided"]),
    ("invoice", ISSUED, invoice(viewed_version=2, viewed_at=LATER), ["invoice.viewed"]),
    ("invoice", ISSUED, invoice(overdue_at=LATER), ["invoice.overdue"]),
    ("delivery", DELIVERY, delivery(status="sent", sent_at=LATER), ["invoice.sent"]),
    ("delivery", {**DELIVERY, "kind": "reminder"}, delivery(kind="reminder", status="sent", sent_at=LATER),
     ["reminder.sent"]),
    ("delivery", DELIVERY, delivery(status="failed"), ["delivery.failed"]),
    ("estimate", {**ESTIMATE, "status": "draft", "version": 1}, ESTIMATE, ["estimate.sent"]),
    ("estimate", ESTIMATE, {**ESTIMATE, "status": "accepted", "version": 3, "acceptance": {"accepted_at": LATER}},
     ["estimate.accepted"]),
    ("estimate", ESTIMATE, {**ESTIMATE, "status": "declined", "version": 3, "decline": {"declined_at": LATER}},
     ["estimate.declined"]),
    ("estimate", ESTIMATE, {**ESTIMATE, "status": "expired", "version": 3, "expired_at": LATER},
     ["estimate.expired"]),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "old", "new", "expected"), WRITES)
def test_each_write_holds_its_facts(kind, old, new, expected):
    assert types(old, new, kind) == expected


def test_every_type_of_the_catalogue_comes_from_some_write_and_none_other_is_made():
    made = [kind for _, _, _, expected in WRITES for kind in expected]

    assert set(made) == set(EVENT_TYPES)


@pytest.mark.parametrize(("kind", "old", "new", "expected"), WRITES)
def test_a_stream_record_read_twice_gives_the_same_events_ids_included(kind, old, new, expected):
    first = webhook_events_of(Change("acme", kind, old, new))

    assert webhook_events_of(Change("acme", kind, old, new)) == first
    assert all(detail["event_id"].startswith("evt_") and len(detail["event_id"]) == 30 for _, detail in first)


def test_no_two_facts_share_an_id_and_another_tenant_s_same_fact_has_its_own():
    ids = [detail["event_id"] for kind, old, new, _ in WRITES for detail in facts(old, new, kind)]
    other = [webhook_events_of(Change("other", kind, old, new)) for kind, old, new, _ in WRITES]

    # the fact issued is the same whether or not the invoice came from a recurring one: same id
    assert len(set(ids)) == len(ids) - 1
    assert not set(ids) & {detail["event_id"] for found in other for _, detail in found}


@pytest.mark.parametrize(("kind", "old", "new", "expected"), WRITES)
def test_a_document_written_again_as_it_was_says_nothing(kind, old, new, expected):
    if new is not None:
        assert facts(new, new, kind) == []
    assert facts(None, None, kind) == []


def test_documents_other_than_invoices_deliveries_and_estimates_say_nothing():
    assert facts(None, {"id": "cus_1", "version": 1}, "customer") == []
    assert facts(None, {"id": "cn_1", "version": 1, "status": "issued"}, "credit_note") == []


def test_the_detail_names_the_tenant_the_fact_its_time_and_the_object():
    (recorded, partly) = facts(ISSUED, PART)
    (sent,) = facts(DELIVERY, delivery(status="sent", sent_at=LATER), "delivery")
    estimate_delivery = {**DELIVERY, "id": "est_1.d1", "kind": "estimate", "estimate_id": "est_1", "invoice_id": None}
    (failed,) = facts(estimate_delivery, {**estimate_delivery, "status": "failed", "version": 3}, "delivery")
    (deleted,) = facts(DRAFT, None)

    assert {key: recorded[key] for key in ("tenant_id", "type", "created_at", "object")} == {
        "tenant_id": "acme",
        "type": "payment.recorded",
        "created_at": LATER,  # when it was recorded
        "object": {"kind": "payment", "id": "pay_1", "invoice_id": "inv_1", "version": 3},
    }
    assert (partly["created_at"], partly["object"]) == (LATER, {"kind": "invoice", "id": "inv_1", "version": 3})
    assert (sent["type"], sent["object"]) == ("invoice.sent", {"kind": "invoice", "id": "inv_1", "version": 2})
    assert failed["object"] == {"kind": "delivery", "id": "est_1.d1", "estimate_id": "est_1", "version": 3}
    assert deleted["object"] == {"kind": "invoice", "id": "inv_1", "version": 1, "deleted": True}
    assert deleted["created_at"] == AT  # the draft's last write: a deletion keeps no time


def test_the_fact_s_own_time_is_its_created_at():
    failure = {"stripe_payment_intent": "pi_1", "failed_at": "2025-03-02T09:00:00Z"}
    viewed = invoice(viewed_version=2, viewed_at=AT, version_viewed_at="2025-03-02T08:00:00Z")

    assert facts(ISSUED, invoice(payment_failures=[failure]))[0]["created_at"] == failure["failed_at"]
    assert facts(ISSUED, invoice(overdue_at="2025-03-02T05:00:00Z"))[0]["created_at"] == "2025-03-02T05:00:00Z"
    assert facts(ISSUED, viewed)[0]["created_at"] == "2025-03-02T08:00:00Z"
    assert facts(ISSUED, invoice(viewed_version=2, viewed_at=AT))[0]["created_at"] == AT
    assert facts({**ISSUED, "updated_at": None}, {**invoice(overdue_at=None), "updated_at": None}) == []


def test_a_refund_that_grows_is_a_fact_each_time_and_the_same_total_is_none():
    ten = invoice(version=4, status="partially_paid", payments=[{**PAYMENT, "amount_refunded": "10.00"}])
    twenty = invoice(version=5, status="partially_paid", payments=[{**PAYMENT, "amount_refunded": "20.00"}])
    tip = invoice(version=6, status="partially_paid",
                  payments=[{**PAYMENT, "amount_refunded": "20.00", "tip_refunded": "1.00"}])  # fmt: skip

    (first,) = [d for d in facts(PAID, ten) if d["type"] == "payment.refunded"]
    (second,) = facts(ten, twenty)
    (third,) = facts(twenty, tip)

    assert len({first["event_id"], second["event_id"], third["event_id"]}) == 3
    assert facts(twenty, {**twenty, "version": 6}) == []


def test_a_payment_recorded_with_a_refund_already_known_is_both_facts():
    refunded_early = {**PAYMENT, "amount_refunded": "5.00"}

    assert types(ISSUED, invoice(payments=[refunded_early])) == ["payment.recorded", "payment.refunded"]


def test_partly_paid_again_with_more_is_a_fact_and_the_same_amount_is_none():
    more = invoice(version=4, status="partially_paid", amount_paid="70.00",
                   payments=[PAYMENT, {**PAYMENT, "id": "pay_2", "amount": "30.00"}])  # fmt: skip

    assert types(PART, more) == ["payment.recorded", "invoice.partially_paid"]
    assert types(PART, {**PART, "version": 4, "reminders_done": ["x"]}) == []


def test_a_delivery_failing_again_after_it_was_asked_again_is_another_fact():
    first = delivery(status="failed", attempts=1)
    retried = {**first, "status": "pending", "version": 4}
    claimed = {**retried, "status": "sending", "attempts": 2, "version": 5}
    again = {**claimed, "status": "failed", "version": 6}

    (one,) = facts(DELIVERY, first, "delivery")
    (two,) = facts(claimed, again, "delivery")

    assert facts(first, retried, "delivery") == facts(retried, claimed, "delivery") == []
    assert one["event_id"] != two["event_id"]


def test_deliveries_other_than_the_invoice_s_and_reminders_say_only_their_failure():
    for kind in ("receipt", "credit_note", "estimate", "payment_failed", "estimate_answer"):
        pending = {**DELIVERY, "kind": kind, "status": "pending"}

        assert facts(None, pending, "delivery") == []
        assert facts(DELIVERY | {"kind": kind}, delivery(kind=kind, status="sent"), "delivery") == []
        assert types(DELIVERY | {"kind": kind}, delivery(kind=kind, status="failed"), "delivery") == ["delivery.failed"]


def test_viewed_once_per_version_and_overdue_once():
    viewed = invoice(viewed_version=2, viewed_at=AT)
    paid_then_seen = {**viewed, "version": 4, "viewed_version": 3}
    overdue = invoice(overdue_at=LATER)

    assert types(viewed, {**viewed, "version": 4}) == []
    (first,) = facts(ISSUED, viewed)
    (second,) = facts(viewed, paid_then_seen)
    assert first["event_id"] != second["event_id"]
    assert types(overdue, {**overdue, "version": 4}) == []


def test_a_failure_dropped_from_the_latest_few_is_no_fact():
    old = [{"stripe_payment_intent": f"pi_{n}", "failed_at": f"2025-03-0{n}T00:00:00Z"} for n in (1, 2)]
    new = [old[1], {"stripe_payment_intent": "pi_3", "failed_at": "2025-03-03T00:00:00Z"}]

    (failed,) = facts(invoice(payment_failures=old), invoice(version=4, payment_failures=new))

    assert failed["object"] == {"kind": "invoice", "id": "inv_1", "version": 4}
    assert failed["created_at"] == "2025-03-03T00:00:00Z"


def test_an_invoice_made_already_issued_is_created_and_issued():
    made = {**ISSUED, "recurring_id": "rec_1"}

    assert types(None, made) == ["invoice.created", "invoice.issued", "recurring.invoice_issued"]
    assert types(ISSUED, invoice(status="draft")) == []  # no way back to draft: nothing to say


def test_the_webhook_events_come_besides_the_internal_ones_not_instead():
    change = Change("acme", "invoice", PART, PAID | {"version": 4})

    assert "Invoice Paid" in [detail_type for detail_type, _ in events_of(change)]
    assert [detail["type"] for _, detail in webhook_events_of(change)] == ["invoice.paid"]
