"""The payments' ledger on the histories a second review of it found wrong
(logic.ledger.entries_of): each ends with what the invoice keeps, split
over its groups, to the cent, and no entry written ever changes."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from invoicing.domain.credits import Group
from invoicing.logic.ledger import entries_of
from tests.unit.test_ledger import AUDIT, TWO_RATES, bare, credit, entry_rows, paid, pairs, projected, stamp
from tests.unit.test_ledger import stored_invoice as invoice

pytestmark = pytest.mark.unit
VAT_20 = ("TVA", D(20))
VAT_5 = ("TVA", D("5.5"))


def overpaid(ledger: dict) -> D:
    return sum(D(entry["overpaid"]) for entry in ledger.values())


def test_a_transfer_bounced_while_another_was_overpaid_then_paid_again_collects_the_vat_once():
    """1,200.00 and 100.00 by transfer on 1,200.00; the 1,200.00 bounces; the
    client pays the 1,100.00 still due: paid in full, nothing owed back."""
    doc = invoice(AUDIT, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("a", "1200.00"), paid("b", "100.00")]
    ledger, _ = projected(doc, {})
    doc["payments"][0] |= {"status": "cancelled", "cancelled_at": "2026-12-05T09:00:00.000Z"}
    doc["payments"].append(paid("c", "1100.00", paid_at="2026-12-06"))
    stamp(doc, "2026-12-06T09:00:00.000Z")

    ledger, rewritten = projected(doc, ledger)

    assert rewritten == []
    assert pairs(entry_rows(ledger.values())) == {VAT_20: (D("1000.00"), D("200.00"))}
    assert overpaid(ledger) == D("0.00")


def test_two_cards_both_refunded_in_full_leave_nothing_collected():
    doc = invoice(AUDIT, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("a", "1200.00", method="card"), paid("b", "100.00", method="card")]
    ledger, _ = projected(doc, {})
    for payment in doc["payments"]:
        payment["amount_refunded"] = payment["amount"]
    stamp(doc, "2026-12-09T09:00:00.000Z")

    ledger, _ = projected(doc, ledger)

    assert pairs(entry_rows(ledger.values())) in ({}, {VAT_20: (D("0.00"), D("0.00"))})
    assert overpaid(ledger) == D("0.00")


def test_a_credit_note_after_payment_then_its_refund_takes_back_the_vat_of_the_rate_credited():
    """1,305.50 paid (1,000.00 at 20 %, 100.00 at 5.5 %); 600.00 credited on
    the 20 % line; 600.00 refunded: the VAT collected is 100.00 at 20 % and
    5.50 at 5.5 %, the 5.5 % line untouched."""
    doc = invoice(TWO_RATES, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("a", "1305.50", method="card")]
    ledger, _ = projected(doc, {})
    credit(doc, Group((VAT_20,), D("500.00"), D("100.00")))
    doc["payments"][0]["amount_refunded"] = "600.00"
    stamp(doc, "2026-12-10T09:00:00.000Z")

    ledger, _ = projected(doc, ledger)

    assert pairs(entry_rows(ledger.values())) == {VAT_20: (D("500.00"), D("100.00")), VAT_5: (D("100.00"), D("5.50"))}
    assert ledger["inv_1.a.r1"]["date"] == "2026-12-10"  # the refund, on its day, took the 20 % back


def test_two_projections_at_once_of_two_refund_states_cannot_both_write_their_refund():
    """Projection A reads 50.00 refunded, B 80.00, both from the same ledger:
    both name their refund r1, so only one is written (the other's write is
    refused and it reads again): never 130.00 taken back for 80.00."""
    doc = invoice(AUDIT, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("a", "1200.00", method="card")]
    ledger, _ = projected(doc, {})
    seen_by_a = {**doc, "payments": [{**doc["payments"][0], "amount_refunded": "50.00"}], "version": 4}
    seen_by_b = {**doc, "payments": [{**doc["payments"][0], "amount_refunded": "80.00"}], "version": 5}

    ids_a = {entry["id"] for entry in entries_of(seen_by_a, ledger)} - set(ledger)
    ids_b = {entry["id"] for entry in entries_of(seen_by_b, ledger)} - set(ledger)
    assert ids_a == ids_b == {"inv_1.a.r1"}

    ledger_a, _ = projected(seen_by_a, ledger)  # A won; B reads again and adds what A did not see
    ledger_b, _ = projected(seen_by_b, ledger_a)
    assert sorted(D(entry["amount"]) for entry in ledger_b.values()) == [D("-50.00"), D("-30.00"), D("1200.00")]


def test_an_entry_of_the_earlier_shape_is_written_anew_and_none_of_its_vat_is_lost():
    """Entries written before the ledger held its groups (no `groups`, no
    `type`): projected again as if unwritten, whole."""
    doc = invoice(AUDIT, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("a", "1200.00")]
    old = {"inv_1.a": {"id": "inv_1.a", "payment_id": "a", "paid_at": "2026-12-01", "amount": "1200.00",
                       "counted": "1200.00", "vat": [], "version": 1, "source_version": 1}}  # fmt: skip

    ledger, rewritten = projected(doc, old)

    assert rewritten == ["inv_1.a"]
    assert pairs(entry_rows(ledger.values())) == {VAT_20: (D("1000.00"), D("200.00"))}
    assert bare(ledger["inv_1.a"])["type"] == "payment"
