"""The typed invoice (domain.invoice): what an invoice owes and when,
derived in one place from what it charges, was paid, credited and fined."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from invoicing.domain.invoice import CreditNote, Invoice, day_of, instalments_shown, planned, settled, voided
from invoicing.domain.lifecycle import Status

pytestmark = pytest.mark.unit

MONTHLY_FEES = {"enabled": True, "type": "percentage", "value": "1.5",
                "frequency": {"interval": "month", "interval_count": 1}, "grace_days": 0, "max_fees": 6}  # fmt: skip


def item(**fields: Any) -> dict[str, Any]:
    """An issued invoice of 1,200.00 due on 2026-12-27, as stored."""
    return {
        "id": "inv_1",
        "currency": "EUR",
        "status": "open",
        "version": 3,
        "totals": {"total": "1200.00"},
        "issue_date": "2026-11-27",
        "due_date": "2026-12-27",
        "amount_paid": "0.00",
        "amount_due": "1200.00",
        "credited": "0.00",
        "late_fees_total": "0.00",
        "payments": [],
        **fields,
    }


def paid(id: str, amount: str, **fields: Any) -> dict[str, Any]:
    return {"id": id, "amount": amount, "amount_refunded": "0.00", "status": "succeeded", **fields}


def test_what_it_owes_counts_fees_payments_refunds_credits_and_not_cancelled_payments():
    invoice = Invoice.of(item(
        credited="100.00",
        late_fee_entries=[{"period": "2027-01-27", "amount": "16.50"}],
        payments=[paid("p1", "500.00", amount_refunded="50.00"), paid("p2", "300.00", status="cancelled")],
    ))  # fmt: skip

    assert invoice.amount_paid == D("450.00")
    assert invoice.late_fees_total == D("16.50")
    assert invoice.amount_due == D("666.50")  # 1200 + 16.50 - 450 - 100
    assert invoice.principal_unpaid == D("650.00")
    assert invoice.status_from_amounts() is Status.PARTIALLY_PAID


def test_paid_more_than_it_asks_owes_nothing_and_says_what_to_give_back():
    invoice = Invoice.of(item(payments=[paid("p1", "1200.00"), paid("p2", "20.00")]))

    assert (invoice.amount_due, invoice.amount_overpaid) == (D("0"), D("20.00"))
    assert invoice.status_from_amounts() is Status.PAID


def test_instalments_fill_the_one_named_first_then_the_earliest_and_lose_credits_from_the_last():
    schedule = {"type": "percentage", "instalments": [{"due_date": "2026-12-01", "value": "50"},
                                                      {"due_date": "2027-01-01", "value": "50"}]}  # fmt: skip
    invoice = Invoice.of(item(payment_schedule=schedule, credited="200.00",
                              payments=[paid("p1", "100.00", instalment_id="ins_2")]))  # fmt: skip

    first, second = invoice.instalments()
    assert (first.amount, first.amount_paid) == (D("600.00"), D("0"))
    assert (second.amount, second.amount_paid) == (D("400.00"), D("100.00"))
    assert invoice.next_due_date() == date(2026, 12, 1)
    assert invoice.is_overdue(date(2026, 12, 2))
    assert not invoice.is_overdue(date(2026, 12, 1))  # due today is not late
    assert invoice.overdue_base(date(2026, 12, 2)) == D("600.00")  # only what was due by then
    unpaid = item(payment_schedule=schedule)
    assert [row["status"] for row in instalments_shown(unpaid)] == ["pending", "pending"]
    assert instalments_shown({**unpaid, "payment_schedule": None}) is None


def test_the_sweeps_have_work_on_the_first_fee_day_and_three_days_before_the_due_date():
    stored = planned(item(late_fees=MONTHLY_FEES, reminders={"enabled": True}))

    assert stored["next_due_date"] == "2026-12-27"
    assert stored["sweep_late_fees_on"] == "2026-12-28"
    assert stored["sweep_reminders_on"] == "2026-12-24"  # offsets -3, 0, 7


def test_a_paid_draft_or_void_invoice_gives_the_sweeps_no_work():
    for stored in (
        planned(item(late_fees=MONTHLY_FEES, payments=[paid("p1", "1200.00")], amount_due="0.00")),
        planned(item(late_fees=MONTHLY_FEES, status="draft")),
        voided(item(late_fees=MONTHLY_FEES), "2026-12-03T10:00:00.000Z"),
    ):
        assert (stored["sweep_late_fees_on"], stored["sweep_reminders_on"]) == (None, None)


def test_settling_writes_the_amounts_status_and_a_new_version():
    after = settled(item(payments=[paid("p1", "1200.00")]), "2026-12-03T10:00:00.000Z")

    assert (after["amount_paid"], after["amount_due"], after["status"]) == ("1200.00", "0.00", "paid")
    assert (after["paid_at"], after["version"]) == ("2026-12-03T10:00:00.000Z", 4)
    assert after["next_due_date"] is None


def test_a_refund_that_makes_it_unpaid_again_charges_no_fee_for_the_periods_before():
    fully_paid = item(status="paid", amount_paid="1200.00", amount_due="0.00", late_fees=MONTHLY_FEES,
                      payments=[paid("p1", "1200.00", amount_refunded="200.00")])  # fmt: skip

    after = settled(fully_paid, "2027-02-10T23:30:00.000Z")  # already the 11th in Paris

    assert after["status"] == "partially_paid"
    assert after["fees_from"] == "2027-02-11"
    assert after["sweep_late_fees_on"] == "2027-02-28"  # the first period that starts after it (28th of each month)


def test_a_receipt_says_what_was_left_right_after_its_payment():
    invoice = Invoice.of(item(payments=[paid("p1", "200.00"), paid("p2", "300.00")]))

    assert invoice.due_after("p1") == D("1000.00")
    assert invoice.due_after("p2") == D("700.00")


def test_days_are_frances():
    assert day_of("2026-12-31T23:30:00Z") == date(2027, 1, 1)


def test_a_credit_note_is_a_document_that_takes_its_total_off_what_is_left_to_credit():
    note = CreditNote.of({"id": "cn_1", "number": "AV-2", "currency": "EUR", "total": "700.00", "invoice_id": "inv_1",
                          "lines": [], "business": {}, "customer": {}})  # fmt: skip
    invoice = Invoice.of(item(credited="500.00"))

    assert (note.id, note.number, note.currency, note.total, note.invoice_id) == ("cn_1", "AV-2", "EUR", D("700.00"),
                                                                                   "inv_1")  # fmt: skip
    assert invoice.left_to_credit == D("700.00")
    assert invoice.credited_in_full_by(note)
    assert not invoice.credited_in_full_by(CreditNote.of({**vars(note), "total": "699.99"}))
    assert not Invoice.of(item()).credited_in_full_by(note)
