"""The day the overdue sweep has work for an invoice (`sweep_overdue_on`,
kept by `planned`): the day after its next payment was due, while it is
unpaid, no payment of it is on its way and it was never marked overdue
(SPEC §13's invoice.overdue, once per invoice)."""

from __future__ import annotations

from datetime import date

import pytest

from invoicing.domain.invoice import Invoice, planned, voided
from tests.unit.test_invoice_core import item, paid
from tests.unit.test_payment_processing import PROCESSING

pytestmark = pytest.mark.unit

SPLIT = {"type": "percentage", "instalments": [{"due_date": "2026-12-01", "value": "50"},
                                               {"due_date": "2026-12-27", "value": "50"}]}  # fmt: skip


def test_given_an_unpaid_invoice_the_sweep_has_work_the_day_after_its_due_date_when_it_is_overdue():
    stored = planned(item())  # due on 2026-12-27

    assert stored["sweep_overdue_on"] == "2026-12-28"
    assert not Invoice.of(stored).is_overdue(date(2026, 12, 27))  # due today is not late
    assert Invoice.of(stored).is_overdue(date(2026, 12, 28))


def test_given_a_part_payment_the_sweep_still_has_work_on_that_day():
    stored = planned(item(status="partially_paid", payments=[paid("p1", "200.00")], amount_due="1000.00"))

    assert stored["sweep_overdue_on"] == "2026-12-28"


def test_given_a_paid_draft_or_void_invoice_the_sweep_has_no_work():
    for stored in (
        planned(item(status="paid", payments=[paid("p1", "1200.00")], amount_due="0.00")),
        planned(item(status="draft")),
        voided(item(), "2026-12-03T10:00:00.000Z"),
    ):
        assert stored["sweep_overdue_on"] is None, stored["status"]


def test_given_a_payment_on_its_way_no_day_until_it_is_gone_then_the_day_is_back():
    processing = planned(item(payment_processing=PROCESSING))
    failed = planned({**processing, "payment_processing": None})

    assert processing["sweep_overdue_on"] is None
    assert failed["sweep_overdue_on"] == "2026-12-28"  # already past by then: the next run catches up


def test_given_an_invoice_already_marked_overdue_the_sweep_never_has_work_again():
    stored = planned(item(overdue_at="2026-12-28T06:00:01.000Z"))

    assert stored["sweep_overdue_on"] is None


def test_given_instalments_the_day_follows_the_earliest_unpaid_one():
    unpaid = planned(item(payment_schedule=SPLIT))
    first_paid = planned(item(status="partially_paid", payment_schedule=SPLIT, payments=[paid("p1", "600.00")],
                              amount_due="600.00"))  # fmt: skip
    marked = planned(item(payment_schedule=SPLIT, overdue_at="2026-12-02T06:00:00.000Z"))

    assert unpaid["sweep_overdue_on"] == "2026-12-02"
    assert first_paid["sweep_overdue_on"] == "2026-12-28"
    assert marked["sweep_overdue_on"] is None  # once per invoice: the second instalment late is no new mark
