"""The events a committed change holds (invoicing.events.events_of): what
the pipe puts on the bus for each write, read from the document before and
after it."""

from __future__ import annotations

import pytest

from infra import wiring
from invoicing import events
from invoicing.adapters.dynamodb import KINDS
from invoicing.events import EVENTFUL_KINDS, Change, events_of

pytestmark = pytest.mark.unit

ISSUED = {"id": "inv_1", "version": 2, "status": "open", "total": "100.00", "amount_paid": "0.00",
          "amount_due": "100.00", "payments": [], "credit_notes": []}  # fmt: skip


def invoice(**changed: object) -> dict[str, object]:
    return {**ISSUED, **changed}


def payment(id: str, amount: str = "40.00", status: str = "succeeded") -> dict[str, str]:
    return {"id": id, "amount": amount, "status": status}


def found(old: dict | None, new: dict | None, kind: str = "invoice") -> list[tuple[str, dict]]:
    return events_of(Change("acme", kind, old, new))


def test_a_draft_numbered_is_finalized_once_and_a_draft_edited_says_nothing():
    draft = invoice(status="draft", version=1)

    assert found(draft, invoice()) == [
        ("Invoice Finalized", {"tenant_id": "acme", "invoice_id": "inv_1", "version": 2})
    ]
    assert found(draft, {**draft, "version": 2}) == []
    assert found(None, draft) == []


def test_a_payment_recorded_then_the_one_that_pays_it_names_itself_in_invoice_paid():
    first = invoice(version=3, payments=[payment("pay_1")], amount_paid="40.00", amount_due="60.00",
                    status="partially_paid")  # fmt: skip
    paid = invoice(version=4, payments=[payment("pay_1"), payment("pay_2", "60.00")], amount_paid="100.00",
                   amount_due="0.00", status="paid")  # fmt: skip

    assert found(invoice(), first) == [
        ("Payment Recorded", {"tenant_id": "acme", "invoice_id": "inv_1", "version": 3, "payment_id": "pay_1"})
    ]
    assert [(kind, detail.get("payment_id")) for kind, detail in found(first, paid)] == [
        ("Payment Recorded", "pay_2"),
        ("Invoice Paid", "pay_2"),
    ]


def test_a_payment_cancelled_is_said_once_and_its_amount_owed_again_is_no_second_event():
    paid = invoice(version=3, payments=[payment("pay_1")], amount_paid="40.00", amount_due="60.00")
    cancelled = invoice(version=4, payments=[payment("pay_1", status="cancelled")], amount_due="100.00")

    assert [kind for kind, _ in found(paid, cancelled)] == ["Payment Cancelled"]
    assert found(cancelled, {**cancelled, "version": 5}) == []  # cancelled before: nothing new


def test_a_credit_note_issued_names_itself_and_the_void_or_the_payment_it_completes():
    voided = invoice(version=3, status="void", credit_notes=[{"id": "cn_1"}], credited="100.00", amount_due="0.00")
    settled = invoice(version=3, status="paid", credit_notes=[{"id": "cn_1"}], credited="60.00", amount_due="0.00")

    assert [(kind, detail.get("credit_note_id")) for kind, detail in found(invoice(), voided)] == [
        ("Credit Note Issued", "cn_1"),
        ("Invoice Voided", None),
    ]
    paid_by_note = found(invoice(status="partially_paid"), settled)
    assert [kind for kind, _ in paid_by_note] == ["Credit Note Issued", "Invoice Paid"]
    assert "payment_id" not in paid_by_note[1][1]  # no payment paid it: the receipt says the invoice is paid


def test_a_late_fee_or_a_refund_changes_the_amounts_and_a_reminder_marked_done_does_not():
    fee = invoice(version=3, total="140.00", amount_due="140.00", late_fees_total="40.00")
    refunded = invoice(version=3, payments=[], amount_paid="0.00", amount_due="100.00")
    before_refund = invoice(amount_paid="100.00", amount_due="0.00", status="paid", payments=[])

    assert [kind for kind, _ in found(invoice(), fee)] == ["Invoice Amounts Changed"]
    assert [kind for kind, _ in found(before_refund, {**refunded, "status": "open"})] == ["Invoice Amounts Changed"]
    assert found(invoice(), invoice(version=3, reminders_done=["d1"])) == []


def test_a_refund_of_the_tip_alone_changes_no_amount_yet_is_said_for_the_payments_ledger():
    """Found by the review: the invoice's amounts stay (the tip is outside
    them), but the ledger's payment entry must take the refund back."""
    paid = invoice(version=3, payments=[{**payment("pay_1"), "tip": "5.00", "tip_refunded": "0.00"}])
    tip_back = invoice(version=4, payments=[{**payment("pay_1"), "tip": "5.00", "tip_refunded": "5.00"}])

    assert [kind for kind, _ in found(paid, tip_back)] == ["Invoice Amounts Changed"]
    assert "Invoice Amounts Changed" in wiring.EVENT_RULES[[rule.name for rule in wiring.EVENT_RULES].index(
        "payment-entries")].detail_types  # fmt: skip


def test_a_voided_invoice_without_credit_note_is_voided():
    assert [kind for kind, _ in found(invoice(), invoice(version=3, status="void"))] == ["Invoice Voided"]


def test_a_deleted_draft_with_files_has_them_removed_one_without_says_nothing():
    draft = invoice(status="draft", version=1)

    assert [kind for kind, _ in found({**draft, "attachments": [{"id": "att_1"}]}, None)] == ["Invoice Deleted"]
    assert [kind for kind, _ in found({**draft, "uploads": [{"id": "att_2"}]}, None)] == ["Invoice Deleted"]
    assert found(draft, None) == []


def delivery(status: str, **fields: object) -> dict[str, object]:
    return {"id": "inv_1.d1", "invoice_id": "inv_1", "invoice_version": 2, "status": status, "version": 1, **fields}


def test_a_delivery_requested_or_asked_again_is_sent_and_its_own_worker_s_steps_are_not():
    sent = [("Invoice Sent", {"tenant_id": "acme", "invoice_id": "inv_1", "version": 2, "deliveries": ["inv_1.d1"]})]

    assert found(None, delivery("pending"), "delivery") == sent  # requested
    assert found(delivery("failed"), delivery("pending"), "delivery") == sent  # sent again after a failure
    assert found(delivery("sending"), delivery("pending", error=None), "delivery") == sent  # stranded, asked again
    assert found(delivery("pending"), delivery("sending"), "delivery") == []  # claimed
    assert found(delivery("sending"), delivery("sent"), "delivery") == []
    # throttled: its invocation fails and is retried, no second event
    assert found(delivery("sending"), delivery("pending", error="throttled: will retry"), "delivery") == []


def test_a_reminder_queued_is_due_and_a_receipt_is_sent_by_the_function_that_records_it():
    due = found(None, delivery("pending", kind="reminder"), "delivery")

    assert [kind for kind, _ in due] == ["Invoice Reminder Due"]
    assert found(None, delivery("pending", kind="receipt"), "delivery") == []


def test_the_businesss_notice_of_an_answer_is_sent_by_the_function_that_records_it():
    notice = delivery("pending", kind="estimate_answer", estimate_id="est_1", invoice_id=None)

    assert found(None, notice, "delivery") == []


def test_other_documents_hold_no_event():
    assert found(None, {"id": "cus_1", "version": 1}, "customer") == []
    assert found(None, {"id": "cn_1", "version": 1}, "credit_note") == []


def test_the_pipe_lets_through_exactly_the_keys_of_the_documents_that_hold_events():
    prefixes = tuple(f"{KINDS[kind]}#" for kind in EVENTFUL_KINDS)

    assert wiring.PIPE.key_prefixes == prefixes
    assert wiring.PIPE.passes({"pk": {"S": "T#acme"}, "sk": {"S": "INV#inv_1"}})
    assert wiring.PIPE.passes({"pk": {"S": "T#acme"}, "sk": {"S": "DLV#inv_1.d1"}})
    assert not wiring.PIPE.passes({"pk": {"S": "T#acme"}, "sk": {"S": "NUM#INV-1"}})
    assert not wiring.PIPE.passes({"pk": {"S": "T#acme"}, "sk": {"S": "CUS#cus_1"}})
    assert wiring.PIPE.filter_pattern() == {
        "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "INV#"}, {"prefix": "DLV#"}, {"prefix": "EST#"}]}}}
    }


def test_an_estimate_s_status_changes_are_its_events():
    draft = {"id": "est_1", "status": "draft", "version": 1}
    sent = {**draft, "status": "sent", "version": 2}
    accepted = {**sent, "status": "accepted", "version": 3}
    detail = {"tenant_id": "acme", "estimate_id": "est_1"}

    assert events_of(Change("acme", "estimate", None, draft)) == []
    assert events_of(Change("acme", "estimate", draft, sent)) == [(events.ESTIMATE_SENT, {**detail, "version": 2})]
    assert events_of(Change("acme", "estimate", sent, accepted)) == [
        (events.ESTIMATE_ACCEPTED, {**detail, "version": 3})
    ]
    assert events_of(Change("acme", "estimate", sent, {**sent, "version": 3})) == []  # an invoice listed: no news
    for status, detail_type in (("declined", events.ESTIMATE_DECLINED), ("expired", events.ESTIMATE_EXPIRED)):
        assert events_of(Change("acme", "estimate", sent, {**sent, "status": status})) == [
            (detail_type, {**detail, "version": 2})
        ]
    assert events_of(Change("acme", "estimate", accepted, {**accepted, "status": "invoiced"})) == []


def test_an_estimate_s_delivery_asks_the_delivery_function_to_send_it():
    delivery = {"id": "est_1.d1", "kind": "estimate", "estimate_id": "est_1", "invoice_id": None,
                "invoice_version": 2, "status": "pending"}  # fmt: skip

    assert events_of(Change("acme", "delivery", None, delivery)) == [
        (
            events.ESTIMATE_DELIVERY,
            {"tenant_id": "acme", "estimate_id": "est_1", "version": 2, "deliveries": ["est_1.d1"]},
        )  # fmt: skip
    ]
    assert wiring.rules_for(events.ESTIMATE_DELIVERY)[0].function == "delivery"
