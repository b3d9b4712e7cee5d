"""The payments' ledger (SPEC §14, the collected basis).

domain.ledger: each payment's share of its invoice's VAT, split over what
the invoice's groups still ask after credit notes and the entries already
in the ledger, cumulatively, so that an invoice paid in full, in any
number of payments, has collected its groups to the cent; never more than
the groups; beyond them its late fees first, then what was overpaid;
a refund takes back what was overpaid first, then the rest pro rata.

logic.ledger: the entries as stored, a ledger that only grows: a payment
on the day it was received, each refund on the day it was seen, a
cancellation on its day, negative; an entry once written never changes
while its payment is what it was (a closed month stays closed), and a
payment's entries add up to what it still counts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain.credits import Group
from invoicing.domain.invoice import Invoice, stored_groups
from invoicing.domain.ledger import (
    RateKey,
    Share,
    VatRow,
    add_rows,
    collected,
    kept_share,
    received_shares,
    refunded_share,
    vat_rows,
)
from invoicing.domain.money import ZERO, quantum, round_money
from invoicing.logic.ledger import entries_of
from invoicing.logic.totals import totals_of, totals_view

pytestmark = pytest.mark.unit

RATES = ("0", "5.5", "10", "20")  # 0: lines without tax (the rate-0 row with no tax name)
PROPERTY = settings(max_examples=120, deadline=None, derandomize=True)


# -- invoices as the store keeps them ---------------------------------------------------


def taxes(rate: str) -> list[dict[str, str]]:
    return [] if rate == "0" else [{"name": "TVA", "rate": rate}]


def stored_invoice(
    lines: list[dict[str, Any]], discount: dict[str, Any] | None, currency: str = "EUR", **fields: Any
) -> dict[str, Any]:
    """An issued invoice as stored: each line with its net and the totals as
    logic.invoices computes them (the one totals function)."""
    totals = totals_of(lines, discount, currency)
    view = totals_view(totals)
    nets = view.pop("line_nets")
    return {
        "id": "inv_1",
        "number": "INV-1",
        "currency": currency,
        "status": "open",
        "version": 3,
        "issue_date": "2026-11-27",
        "due_date": "2026-12-27",
        "customer_id": "cus_1",
        "customer": {"name": "Dupont & Fils"},
        "lines": [{**line, "net": net} for line, net in zip(lines, nets, strict=True)],
        "discount": discount,
        "totals": view,
        "credited": "0",
        "payments": [],
        **fields,
    }


def paid(id: str, amount: Decimal | str, **fields: Any) -> dict[str, Any]:
    return {"id": id, "amount": f"{Decimal(amount):f}", "amount_refunded": "0", "status": "succeeded",
            "paid_at": "2026-12-01", "method": "bank_transfer", **fields}  # fmt: skip


def unit_of(currency: str) -> Decimal:
    return quantum(currency)


@st.composite
def invoices(draw: st.DrawFn, rates: st.SearchStrategy[list[str]] | None = None) -> dict[str, Any]:
    """An invoice of several VAT rates, lines of each, and a discount (a
    percentage, or a fixed amount within its subtotal), in euros or yen."""
    currency = draw(st.sampled_from(["EUR", "JPY"]))
    unit = unit_of(currency)
    chosen = draw(rates if rates is not None else st.lists(st.sampled_from(RATES), min_size=2, max_size=4, unique=True))
    lines = [
        {
            "name": f"Ligne à {rate} %",
            "quantity": str(draw(st.integers(1, 12))),
            "unit_price": f"{draw(st.integers(1, 250_000)) * unit:f}",
            "taxes": taxes(rate),
            **({"discount": {"type": "percentage", "value": "15"}} if draw(st.booleans()) else {}),
        }
        for rate in chosen
        for _ in range(draw(st.integers(1, 3)))
    ]
    subtotal = totals_of(lines, None, currency).subtotal
    discount = draw(
        st.one_of(
            st.decimals(min_value=Decimal("0.5"), max_value=50, places=1).map(
                lambda value: {"type": "percentage", "value": f"{value:f}"}
            ),
            st.integers(1, max(1, int(subtotal / unit) // 2)).map(
                lambda units: {"type": "fixed", "value": f"{units * unit:f}"}
            ),
        )
    )
    return stored_invoice(lines, discount, currency)


def amounts_adding_up_to(draw: st.DrawFn, total: Decimal, currency: str, most: int = 6) -> list[Decimal]:
    """`total` cut into 1 to `most` payments of at least a minor unit each."""
    unit = unit_of(currency)
    units = int(total / unit)
    count = draw(st.integers(1, max(1, min(most, units))))
    cuts = sorted(draw(st.lists(st.integers(1, units - 1), min_size=count - 1, max_size=count - 1, unique=True))) \
        if count > 1 else []  # fmt: skip
    bounds = [0, *cuts, units]
    return [(high - low) * unit for low, high in zip(bounds, bounds[1:], strict=False)]


def summed(shares: Any, currency: str) -> dict[RateKey, VatRow]:
    rows: dict[RateKey, VatRow] = {}
    for share in shares:
        add_rows(rows, share.rows(currency))
    return rows


def pairs(rows: dict[RateKey, VatRow]) -> dict[RateKey, tuple[Decimal, Decimal]]:
    """Rows as (base, tax) by rate, rows of nothing left out."""
    return {key: (row.base, row.tax) for key, row in rows.items() if row.base or row.tax}


def gross(share: Share) -> Decimal:
    return sum((group.gross for group in share.groups), ZERO)


# -- paid in full ------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_given_an_invoice_paid_in_full_in_any_number_of_payments_then_the_shares_add_up_to_its_groups_exactly(data):
    doc = data.draw(invoices())
    currency = doc["currency"]
    amounts = amounts_adding_up_to(data.draw, Decimal(doc["totals"]["total"]), currency)
    doc["payments"] = [paid(f"pay_{i}", amount) for i, amount in enumerate(amounts)]
    invoice = Invoice.of(doc)

    shares = collected(invoice)

    assert list(shares) == [payment["id"] for payment in doc["payments"]]  # the invoice's order
    expected = vat_rows(invoice.groups(), currency)
    assert pairs(summed(shares.values(), currency)) == pairs(expected)  # base and tax, rate by rate, to the unit
    assert sum((row.base for row in expected.values()), ZERO) == invoice.totals.total - invoice.totals.tax_total
    assert sum((row.tax for row in expected.values()), ZERO) == invoice.totals.tax_total
    for share, amount in zip(shares.values(), amounts, strict=True):
        assert (gross(share), share.outside_vat) == (amount, ZERO)  # each collects what it paid, inside VAT


def test_given_the_spec_invoice_paid_in_three_thirds_then_each_third_collects_its_share_and_the_cents_fall_last():
    """1,398.00 = 1,165.00 HT + 233.00 TVA 20 %, paid 466.00 three times:
    cumulatively 1/3, 2/3 and all of it; the second third takes the cent
    the rounding of the first two left."""
    lines = [{"name": "Développement", "quantity": "3", "unit_price": "450.00", "taxes": taxes("20"),
              "discount": {"type": "percentage", "value": "10"}}]  # fmt: skip
    doc = stored_invoice(lines, {"type": "fixed", "value": "50.00"})
    assert doc["totals"]["total"] == "1398.00"
    doc["payments"] = [paid("p1", "466.00"), paid("p2", "466.00"), paid("p3", "466.00")]

    shares = collected(Invoice.of(doc))

    rows = [share.rows("EUR")[("TVA", Decimal(20))] for share in shares.values()]
    assert [(row.base, row.tax) for row in rows] == [
        (Decimal("388.33"), Decimal("77.67")),
        (Decimal("388.34"), Decimal("77.66")),  # cumulatively 776.67 and 155.33: round(233 × 2/3)
        (Decimal("388.33"), Decimal("77.67")),
    ]


# -- partly paid ---------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_given_payments_short_of_the_total_then_what_they_collected_never_exceeds_any_group(data):
    doc = data.draw(invoices())
    currency = doc["currency"]
    total = Decimal(doc["totals"]["total"])
    unit = unit_of(currency)
    short = data.draw(st.integers(1, int(total / unit) - 1)) * unit if total > unit else None
    if short is None:
        return
    amounts = amounts_adding_up_to(data.draw, short, currency)
    doc["payments"] = [paid(f"pay_{i}", amount) for i, amount in enumerate(amounts)]
    invoice = Invoice.of(doc)

    shares = list(collected(invoice).values())

    groups = invoice.groups()
    for k in range(1, len(shares) + 1):  # after each payment, what the invoice has collected so far
        so_far = [
            Group(group.taxes, sum((s.groups[i].base for s in shares[:k]), ZERO),
                  sum((s.groups[i].tax for s in shares[:k]), ZERO))
            for i, group in enumerate(groups)
        ]  # fmt: skip
        for part, group in zip(so_far, groups, strict=True):
            assert ZERO <= part.base <= group.base, (part, group)
            assert ZERO <= part.tax <= group.tax, (part, group)
        assert sum((part.gross for part in so_far), ZERO) == sum(amounts[:k], ZERO)
    expected = pairs(vat_rows(groups, currency))
    for key, (base, tax) in pairs(summed(shares, currency)).items():
        assert base <= expected[key][0], key
        assert tax <= expected[key][1], key
    assert all(share.outside_vat == ZERO for share in shares)


# -- cancelled and refunded --------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_given_a_cancelled_payment_among_others_then_it_collects_nothing_and_the_others_still_add_up(data):
    doc = data.draw(invoices())
    currency = doc["currency"]
    amounts = amounts_adding_up_to(data.draw, Decimal(doc["totals"]["total"]), currency, most=5)
    payments = [paid(f"pay_{i}", amount) for i, amount in enumerate(amounts)]
    bounced = paid("pay_bounced", data.draw(st.integers(1, 100_000)) * unit_of(currency), status="cancelled")
    payments.insert(data.draw(st.integers(0, len(payments))), bounced)
    doc["payments"] = payments
    invoice = Invoice.of(doc)

    shares = collected(invoice)

    cancelled = shares["pay_bounced"]
    assert all((group.base, group.tax) == (ZERO, ZERO) for group in cancelled.groups)
    assert cancelled.outside_vat == ZERO
    assert pairs(cancelled.rows(currency)) == {}
    assert pairs(summed(shares.values(), currency)) == pairs(vat_rows(invoice.groups(), currency))


def test_given_a_payment_refunded_in_part_then_it_collects_only_what_it_kept():
    doc = stored_invoice([{"name": "Audit", "unit_price": "1000.00", "taxes": taxes("20")}], None)
    doc["payments"] = [paid("p1", "600.00", amount_refunded="240.00"), paid("p2", "840.00")]

    shares = collected(Invoice.of(doc))

    assert [(gross(share), share.outside_vat) for share in shares.values()] == [
        (Decimal("360.00"), ZERO),
        (Decimal("840.00"), ZERO),
    ]
    assert pairs(summed(shares.values(), "EUR")) == {("TVA", Decimal(20)): (Decimal("1000.00"), Decimal("200.00"))}


# -- credit notes ----------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_given_a_credit_note_that_takes_one_rate_entirely_then_the_payments_collect_only_the_other(data):
    two = st.lists(st.sampled_from(RATES), min_size=2, max_size=2, unique=True)
    doc = data.draw(invoices(rates=two))
    currency = doc["currency"]
    groups = Invoice.of(doc).groups()
    taken = data.draw(st.sampled_from(groups))
    kept = next(group for group in groups if group is not taken)
    doc["credited"] = f"{taken.gross:f}"
    doc["credited_groups"] = stored_groups([taken])
    amounts = amounts_adding_up_to(data.draw, kept.gross, currency) if kept.gross > 0 else []
    doc["payments"] = [paid(f"pay_{i}", amount) for i, amount in enumerate(amounts)]
    invoice = Invoice.of(doc)
    assert invoice.amount_due == ZERO

    shares = collected(invoice)

    assert pairs(summed(shares.values(), currency)) == pairs(vat_rows([kept], currency))
    taken_keys = set(vat_rows([taken], currency)) - set(vat_rows([kept], currency))
    for share in shares.values():
        assert not set(pairs(share.rows(currency))) & taken_keys  # nothing at the credited rate
        assert share.outside_vat == ZERO


# -- beyond the groups -------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_given_late_fees_paid_with_the_invoice_then_what_is_beyond_the_groups_is_outside_vat(data):
    doc = data.draw(invoices())
    currency = doc["currency"]
    unit = unit_of(currency)
    fee = data.draw(st.integers(1, 50_000)) * unit
    doc["late_fee_entries"] = [{"period": "2027-01-27", "amount": f"{fee:f}", "applied_on": "2027-01-28"}]
    total = Decimal(doc["totals"]["total"])
    amounts = amounts_adding_up_to(data.draw, total + fee, currency)
    doc["payments"] = [paid(f"pay_{i}", amount) for i, amount in enumerate(amounts)]
    invoice = Invoice.of(doc)
    assert invoice.amount_due == ZERO

    shares = list(collected(invoice).values())

    assert pairs(summed(shares, currency)) == pairs(vat_rows(invoice.groups(), currency))
    assert sum((share.outside_vat for share in shares), ZERO) == fee
    running = ZERO
    for share, amount in zip(shares, amounts, strict=True):
        running += amount
        # outside VAT only what takes the payments past the invoice's total: late fees, nothing overpaid
        assert share.outside_vat == min(amount, max(running - total, ZERO))
        assert (share.late_fees, share.overpaid) == (share.outside_vat, ZERO)
        assert gross(share) + share.outside_vat == share.gross == amount


def test_given_an_overpayment_then_the_excess_is_outside_vat_and_the_groups_are_collected_once():
    doc = stored_invoice([{"name": "Audit", "unit_price": "100.00", "taxes": taxes("20")},
                          {"name": "Livre", "unit_price": "50.00", "taxes": taxes("5.5")}], None)  # fmt: skip
    assert doc["totals"]["total"] == "172.75"
    doc["payments"] = [paid("p1", "172.75"), paid("p2", "20.00")]  # two clients paying at once

    first, second = collected(Invoice.of(doc)).values()

    assert (gross(first), first.late_fees, first.overpaid) == (Decimal("172.75"), ZERO, ZERO)
    assert (gross(second), second.late_fees, second.overpaid) == (ZERO, ZERO, Decimal("20.00"))  # owed back
    assert second.outside_vat == Decimal("20.00")


# -- a share, and what the ledger holds already ---------------------------------------------

D = Decimal
TVA_20 = (("TVA", D(20)),)
TVA_5_5 = (("TVA", D("5.5")),)


def reviewers_invoice(**fields: Any) -> dict[str, Any]:
    """2,255.00: 1,000.00 HT at 20 % (1,200.00) and 1,000.00 HT at 5.5 % (1,055.00)."""
    lines = [{"name": "Conseil", "unit_price": "1000.00", "taxes": taxes("20")},
             {"name": "Livres", "unit_price": "1000.00", "taxes": taxes("5.5")}]  # fmt: skip
    doc = stored_invoice(lines, None, **fields)
    assert doc["totals"]["total"] == "2255.00"
    return doc


def credit(doc: dict[str, Any], *groups: Group) -> None:
    """A credit note of these groups recorded on the invoice, as logic.credit_notes does."""
    doc["credited"] = f"{Decimal(doc['credited']) + sum((group.gross for group in groups), ZERO):f}"
    doc["credited_groups"] = [*(doc.get("credited_groups") or []), *stored_groups(list(groups))]
    doc["version"] += 1


def test_a_share_is_its_groups_its_late_fees_and_what_was_overpaid():
    share = Share((Group(TVA_20, D("500.00"), D("100.00")), Group(TVA_5_5, D("500.00"), D("27.50"))),
                  D("21.00"), D("9.00"))  # fmt: skip
    taken = Share((Group(TVA_20, D("250.00"), D("50.00")), Group(TVA_5_5, ZERO, ZERO)), D("21.00"), ZERO)

    assert (share.gross, share.outside_vat) == (D("1157.50"), D("30.00"))
    assert share.minus(taken) == Share(
        (Group(TVA_20, D("250.00"), D("50.00")), Group(TVA_5_5, D("500.00"), D("27.50"))), ZERO, D("9.00")
    )
    with pytest.raises(ValueError):  # the shares of one invoice only: the same groups
        share.minus(Share(taken.groups[:1], ZERO, ZERO))


def test_given_a_credit_note_between_two_payments_then_the_second_collects_what_the_groups_still_ask():
    """The reviewer's case: half of 2,255.00 paid (1,127.50: 500.00 + 100.00
    at 20 %, 500.00 + 27.50 at 5.5 %), then 600.00 credited on the 20 %
    line: all the 20 % group asked is paid already, so the rest (527.50) is
    the 5.5 % group's; 155.00 of VAT over both, as the credited invoice asks."""
    doc = reviewers_invoice()
    doc["payments"] = [paid("p1", "1127.50")]
    (first,) = collected(Invoice.of(doc)).values()
    assert pairs(first.rows("EUR")) == {("TVA", D(20)): (D("500.00"), D("100.00")),
                                        ("TVA", D("5.5")): (D("500.00"), D("27.50"))}  # fmt: skip
    credit(doc, Group(TVA_20, D("500.00"), D("100.00")))
    doc["payments"].append(paid("p2", "527.50"))
    invoice = Invoice.of(doc)
    assert invoice.amount_due == ZERO

    shares = received_shares(invoice, [first], [("p2", D("527.50"))])

    assert list(shares) == ["p2"]
    second = shares["p2"]
    assert pairs(second.rows("EUR")) == {("TVA", D("5.5")): (D("500.00"), D("27.50"))}
    assert (second.late_fees, second.overpaid) == (ZERO, ZERO)
    both = summed([first, second], "EUR")
    assert pairs(both) == {("TVA", D(20)): (D("500.00"), D("100.00")), ("TVA", D("5.5")): (D("1000.00"), D("55.00"))}
    assert pairs(both) == pairs(vat_rows(invoice.groups_left(), "EUR"))
    assert sum((row.tax for row in both.values()), ZERO) == D("155.00")


def test_given_late_fees_then_what_is_beyond_the_groups_pays_them_first_and_only_the_rest_is_overpaid():
    doc = stored_invoice([{"name": "Audit", "unit_price": "100.00", "taxes": taxes("20")}], None,
                         late_fee_entries=[{"period": "2027-01", "amount": "21.00"}])  # fmt: skip
    invoice = Invoice.of(doc)

    first, second = received_shares(invoice, (), [("p1", D("100.00")), ("p2", D("50.00"))]).values()
    (third,) = received_shares(invoice, [first, second], [("p3", D("10.00"))]).values()

    assert (gross(first), first.late_fees, first.overpaid) == (D("100.00"), ZERO, ZERO)
    assert (gross(second), second.late_fees, second.overpaid) == (D("20.00"), D("21.00"), D("9.00"))
    assert (gross(third), third.late_fees, third.overpaid) == (ZERO, ZERO, D("10.00"))  # the fees were paid


def test_given_the_ledger_holds_part_of_the_late_fees_then_a_new_payment_pays_only_the_rest_of_them():
    doc = stored_invoice([{"name": "Audit", "unit_price": "100.00", "taxes": taxes("20")}], None,
                         late_fee_entries=[{"period": "2027-01", "amount": "21.00"},
                                           {"period": "2027-02", "amount": "21.00"}])  # fmt: skip
    invoice = Invoice.of(doc)
    kept = Share((Group(TVA_20, D("100.00"), D("20.00")),), D("21.00"), ZERO)

    (share,) = received_shares(invoice, [kept], [("p2", D("30.00"))]).values()

    assert (gross(share), share.late_fees, share.overpaid) == (ZERO, D("21.00"), D("9.00"))


def test_a_refund_takes_back_what_was_overpaid_first_then_the_rest_pro_rata_and_all_of_it_once_in_full():
    share = Share((Group(TVA_20, D("500.00"), D("100.00")), Group(TVA_5_5, D("500.00"), D("27.50"))),
                  D("21.00"), D("9.00"))  # fmt: skip

    small = refunded_share(share, D("5.00"), "EUR")
    larger = refunded_share(share, D("229.70"), "EUR")  # 9.00 overpaid, then 220.70 of the 1,148.50 left
    whole = refunded_share(share, share.gross, "EUR")

    assert small == Share((Group(TVA_20, ZERO, ZERO), Group(TVA_5_5, ZERO, ZERO)), ZERO, D("5.00"))
    assert larger.overpaid == D("9.00")
    assert larger.gross == D("229.70")
    pieces = [*((part.gross, group.gross) for part, group in zip(larger.groups, share.groups, strict=True)),
              (larger.late_fees, share.late_fees)]  # fmt: skip
    for piece, of in pieces:
        assert ZERO < piece < of
        assert abs(piece - of * D("220.70") / D("1148.50")) < D("0.01")  # pro rata, to the cent
    assert whole == share


@PROPERTY
@given(data=st.data())
def test_given_refunds_in_any_steps_then_each_takes_what_it_refunded_and_all_of_them_the_whole_share(data):
    doc = data.draw(invoices())
    currency = doc["currency"]
    unit = unit_of(currency)
    fee = data.draw(st.integers(0, 5_000)) * unit
    if fee:
        doc["late_fee_entries"] = [{"period": "2027-01", "amount": f"{fee:f}"}]
    extra = data.draw(st.integers(0, 5_000)) * unit  # overpaid
    amounts = amounts_adding_up_to(data.draw, Decimal(doc["totals"]["total"]) + fee + extra, currency, most=3)
    doc["payments"] = [paid(f"pay_{i}", amount) for i, amount in enumerate(amounts)]
    share = data.draw(st.sampled_from(list(collected(Invoice.of(doc)).values())))
    units = int(share.gross / unit)
    cuts = sorted(data.draw(st.lists(st.integers(1, units), min_size=1, max_size=4, unique=True)))
    totals = [cut * unit for cut in cuts]

    taken = [refunded_share(share, total, currency) for total in totals]

    for total, part in zip(totals, taken, strict=True):
        assert part.gross == total  # exactly what was refunded
        assert part.overpaid == min(total, share.overpaid)  # what was overpaid first
        for piece, group in zip(part.groups, share.groups, strict=True):
            assert abs(piece.base) <= abs(group.base), (piece, group)
            assert abs(piece.tax) <= abs(group.tax), (piece, group)
    steps = [later.minus(earlier) for earlier, later in zip([refunded_share(share, ZERO, currency), *taken], taken,
                                                           strict=False)]  # fmt: skip
    assert sum((step.gross for step in steps), ZERO) == totals[-1]
    if totals[-1] == share.gross:
        assert taken[-1] == share  # refunded in full: all of it, nothing left


# -- the entries as stored (logic.ledger) ---------------------------------------------------------

DERIVED = ("version", "source_version", "projected_at")


def bare(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key not in DERIVED}


def projected(doc: dict[str, Any], held: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """What logic.ledger.project writes, in memory: the ledger after it, and
    the ids of the entries it wrote again (changed)."""
    ledger, rewritten = dict(held), []
    for entry in entries_of(doc, held):
        old = held.get(entry["id"])
        if old is not None and bare(old) == bare(entry):
            continue
        if old is not None:
            rewritten.append(entry["id"])
        ledger[entry["id"]] = {**entry, "version": old["version"] + 1 if old else 1}
    return ledger, rewritten


def entry_rows(entries: Any) -> dict[RateKey, VatRow]:
    rows: dict[RateKey, VatRow] = {}
    for entry in entries:
        add_rows(rows, {(row["name"], Decimal(row["rate"])): VatRow(row["name"], Decimal(row["rate"]),
                        Decimal(row["base"]), Decimal(row["tax"])) for row in entry["vat"]})  # fmt: skip
    return rows


def on(ledger: dict[str, dict[str, Any]], month: str) -> list[dict[str, Any]]:
    """The entries of a month, by their day."""
    return [entry for entry in ledger.values() if entry["date"].startswith(month)]


def entry_gross(entry: dict[str, Any]) -> Decimal:
    """What the entry's share comes to: its groups, late fees and overpaid."""
    groups = sum((Decimal(group["base"]) + Decimal(group["tax"]) for group in entry["groups"]), ZERO)
    return groups + Decimal(entry["late_fees"]) + Decimal(entry["overpaid"])


def stamp(doc: dict[str, Any], at: str) -> None:
    """The invoice written again at `at` (a refund is seen on that day)."""
    doc["version"] += 1
    doc["updated_at"] = at


@PROPERTY
@given(data=st.data())
def test_given_an_invoice_paid_in_full_then_its_payment_entries_as_stored_add_up_to_its_vat(data):
    doc = data.draw(invoices())
    currency = doc["currency"]
    amounts = amounts_adding_up_to(data.draw, Decimal(doc["totals"]["total"]), currency)
    doc["payments"] = [paid(f"pay_{i}", amount, paid_at=f"2026-12-{i + 1:02d}") for i, amount in enumerate(amounts)]

    entries = entries_of(doc)

    assert [entry["id"] for entry in entries] == [f"inv_1.pay_{i}" for i in range(len(amounts))]
    for entry, payment in zip(entries, doc["payments"], strict=True):
        assert (entry["type"], entry["date"], entry["paid_at"]) == ("payment", payment["paid_at"], payment["paid_at"])
        assert Decimal(entry["amount"]) == entry_gross(entry) == Decimal(payment["amount"])
        assert Decimal(entry["late_fees"]) == Decimal(entry["overpaid"]) == Decimal(entry["outside_vat"]) == ZERO
        assert not {"counted", "status", "amount_refunded"} & set(entry)  # the old design's fields are gone
    assert pairs(entry_rows(entries)) == pairs(vat_rows(Invoice.of(doc).groups(), currency))


def test_given_the_reviewer_s_case_projected_as_it_happens_then_155_00_of_vat_and_the_first_entry_stands():
    doc = reviewers_invoice(updated_at="2026-12-01T10:00:00.000Z")
    doc["payments"] = [paid("p1", "1127.50", paid_at="2026-12-01")]
    ledger, _ = projected(doc, {})
    first = ledger["inv_1.p1"]

    credit(doc, Group(TVA_20, D("500.00"), D("100.00")))  # 600.00 on the 20 % line
    ledger, rewritten = projected(doc, ledger)
    assert (rewritten, ledger) == ([], {"inv_1.p1": first})  # a credit note writes no entry
    doc["payments"].append(paid("p2", "527.50", paid_at="2027-01-15"))
    stamp(doc, "2027-01-15T10:00:00.000Z")
    ledger, rewritten = projected(doc, ledger)

    assert rewritten == []
    assert ledger["inv_1.p1"] == first  # December stands
    assert pairs(entry_rows([first])) == {("TVA", D(20)): (D("500.00"), D("100.00")),
                                          ("TVA", D("5.5")): (D("500.00"), D("27.50"))}  # fmt: skip
    assert pairs(entry_rows(on(ledger, "2027-01"))) == {("TVA", D("5.5")): (D("500.00"), D("27.50"))}
    both = entry_rows(ledger.values())
    assert pairs(both) == {("TVA", D(20)): (D("500.00"), D("100.00")), ("TVA", D("5.5")): (D("1000.00"), D("55.00"))}
    assert sum((row.tax for row in both.values()), ZERO) == D("155.00")


# a services invoice of two rates: 1,200.00 + 105.50 = 1,305.50
TWO_RATES = [{"name": "Conseil", "unit_price": "1000.00", "taxes": taxes("20")},
             {"name": "Livres", "unit_price": "100.00", "taxes": taxes("5.5")}]  # fmt: skip


def test_given_a_payment_in_january_refunded_in_february_then_january_stands_and_february_takes_its_part_back():
    doc = stored_invoice(TWO_RATES, None, updated_at="2027-01-10T09:00:00.000Z")
    doc["payments"] = [paid("p1", "1305.50", paid_at="2027-01-10", method="card", tip="10.00")]
    ledger, _ = projected(doc, {})
    january = entry_rows(on(ledger, "2027-01"))
    assert pairs(january) == pairs(vat_rows(Invoice.of(doc).groups(), "EUR"))

    doc["payments"][0]["amount_refunded"] = "261.10"
    stamp(doc, "2027-02-03T23:30:00.000Z")  # half past midnight on 02-04 in Paris
    ledger, rewritten = projected(doc, ledger)
    again, rewritten_again = projected({**doc, "version": doc["version"] + 1}, ledger)  # seen again: nothing new

    assert rewritten == rewritten_again == []
    assert again == ledger
    assert entry_rows(on(ledger, "2027-01")) == january  # a closed month never changes
    (refund,) = on(ledger, "2027-02")
    assert (refund["id"], refund["type"], refund["date"], refund["paid_at"]) == (
        "inv_1.p1.r1", "refund", "2027-02-04", "2027-01-10")  # fmt: skip
    assert (refund["amount"], refund["tip"], refund["refunded_total"], refund["tip_refunded_total"]) == (
        "-261.10", "0.00", "261.10", "0.00")  # fmt: skip
    assert entry_gross(refund) == D("-261.10")
    february = entry_rows([refund])
    assert all(row.base < 0 and row.tax < 0 for row in february.values())  # its part of each rate, taken back
    net = dict(january)
    add_rows(net, february)
    assert sum((row.base + row.tax for row in net.values()), ZERO) == D("1044.40")  # the payment less its refund
    assert sum(Decimal(entry["amount"]) for entry in ledger.values()) == D("1044.40")


def test_given_a_payment_refunded_in_full_in_two_steps_then_every_rate_and_the_tip_come_back_to_nothing():
    doc = stored_invoice(TWO_RATES, None, updated_at="2027-01-10T09:00:00.000Z")
    doc["payments"] = [paid("p1", "1305.50", paid_at="2027-01-10", method="card", tip="10.00")]
    ledger, _ = projected(doc, {})
    doc["payments"][0]["amount_refunded"] = "300.00"
    stamp(doc, "2027-02-03T10:00:00.000Z")
    ledger, _ = projected(doc, ledger)
    doc["payments"][0] |= {"amount_refunded": "1305.50", "tip_refunded": "4.00"}  # the invoice's part first
    stamp(doc, "2027-03-03T10:00:00.000Z")

    ledger, rewritten = projected(doc, ledger)

    assert rewritten == []
    assert sorted(ledger) == ["inv_1.p1", "inv_1.p1.r1", "inv_1.p1.r2"]  # each refund seen, in turn
    last = ledger["inv_1.p1.r2"]
    assert (last["date"], last["amount"], last["tip"]) == ("2027-03-03", "-1005.50", "-4.00")
    assert sum(Decimal(entry["amount"]) for entry in ledger.values()) == ZERO
    assert sum(Decimal(entry["tip"]) for entry in ledger.values()) == D("6.00")  # the tip kept
    assert pairs(entry_rows(ledger.values())) == {}  # every rate's base and VAT back to nothing


def test_given_a_payment_cancelled_in_a_later_month_then_its_month_keeps_its_entry_and_the_cancellation_undoes_it():
    doc = stored_invoice(TWO_RATES, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("p1", "600.00", paid_at="2026-12-01")]
    ledger, _ = projected(doc, {})
    december = entry_rows(on(ledger, "2026-12"))
    doc["payments"][0] |= {"status": "cancelled", "cancelled_at": "2026-12-31T23:30:00.000Z"}  # 01-01 in Paris
    stamp(doc, "2026-12-31T23:30:00.000Z")

    ledger, rewritten = projected(doc, ledger)

    assert rewritten == []
    assert entry_rows(on(ledger, "2026-12")) == december
    assert sum((row.base + row.tax for row in december.values()), ZERO) == D("600.00")
    (cancellation,) = on(ledger, "2027-01")
    assert (cancellation["id"], cancellation["type"], cancellation["date"]) == (
        "inv_1.p1.cancel", "cancellation", "2027-01-01")  # fmt: skip
    assert (cancellation["amount"], cancellation["tip"]) == ("-600.00", "0.00")
    payment = ledger["inv_1.p1"]
    for key in ("groups", "vat"):  # the payment's whole share, negative
        for undone, done in zip(cancellation[key], payment[key], strict=True):
            assert (D(undone["base"]), D(undone["tax"])) == (-D(done["base"]), -D(done["tax"]))
    assert pairs(entry_rows(ledger.values())) == {}  # nothing, net
    assert sum(Decimal(entry["amount"]) for entry in ledger.values()) == ZERO


def test_given_a_payment_cancelled_before_it_was_ever_projected_then_both_its_entries_are_written_at_once():
    doc = stored_invoice(TWO_RATES, None, updated_at="2026-12-03T09:00:00.000Z")
    doc["payments"] = [
        paid("p1", "600.00", paid_at="2026-12-01", status="cancelled", cancelled_at="2026-12-03T09:00:00.000Z"),
        paid("p2", "1305.50", paid_at="2026-12-02"),
    ]

    ledger, _ = projected(doc, {})

    assert [(entry["id"], entry["date"], entry["amount"]) for entry in ledger.values()] == [
        ("inv_1.p1", "2026-12-01", "600.00"), ("inv_1.p1.cancel", "2026-12-03", "-600.00"),
        ("inv_1.p2", "2026-12-02", "1305.50")]  # fmt: skip
    assert sum(Decimal(entry["amount"]) for entry in ledger.values()) == D("1305.50")


def test_given_a_payment_that_received_more_since_then_an_adjustment_on_that_day_and_its_entry_stands():
    """Stripe's amounts only grow: what a payment received since its entry
    was written is an adjustment of its own, on the day it was seen; the
    payment's entry, in its month, never changes."""
    doc = stored_invoice(TWO_RATES, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("p1", "600.00")]
    ledger, _ = projected(doc, {})
    first = ledger["inv_1.p1"]
    doc["payments"] = [paid("p1", "1305.50")]  # its entry no longer says what was received
    stamp(doc, "2026-12-02T09:00:00.000Z")

    ledger, rewritten = projected(doc, ledger)

    assert rewritten == []
    assert bare(ledger["inv_1.p1"]) == bare(first)
    adjusted = ledger["inv_1.p1.a1"]
    assert (adjusted["type"], adjusted["date"], adjusted["amount"]) == ("adjustment", "2026-12-02", "705.50")
    assert pairs(entry_rows(ledger.values())) == pairs(vat_rows(Invoice.of(doc).groups(), "EUR"))


def test_given_an_overpayment_refunded_then_the_refund_takes_back_what_was_owed_and_no_vat():
    doc = stored_invoice(TWO_RATES, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("p1", "1305.50", method="card"), paid("p2", "100.00", method="card")]  # two at once
    ledger, _ = projected(doc, {})
    assert (ledger["inv_1.p2"]["overpaid"], ledger["inv_1.p2"]["outside_vat"]) == ("100.00", "100.00")
    doc["payments"][1]["amount_refunded"] = "100.00"
    stamp(doc, "2026-12-05T09:00:00.000Z")

    ledger, _ = projected(doc, ledger)

    refund = ledger["inv_1.p2.r1"]
    assert (refund["amount"], refund["overpaid"], refund["late_fees"]) == ("-100.00", "-100.00", "0.00")
    assert pairs(entry_rows([refund])) == {}
    assert pairs(entry_rows(ledger.values())) == pairs(vat_rows(Invoice.of(doc).groups(), "EUR"))


# -- any history ------------------------------------------------------------------------------


START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STEPS = ("pay", "pay", "refund", "cancel", "credit", "late_fee", "project", "project")


def at(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def held_to(doc: dict[str, Any], ledger: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ledger projected once more (logic.ledger.project in memory), held
    to what it promises at every projection: no entry written ever changes
    or goes (no payment here changes what it received), ids are unique,
    each payment's entries add up to what it still counts, and once new
    entries are written the ledger in all is what the invoice keeps, split
    over its groups, to the cent (a cent of rounding may then sit on
    another payment's entry than the one it came from)."""
    entries = entries_of(doc, ledger)
    ids = [entry["id"] for entry in entries]
    assert len(ids) == len(set(ids)), ids
    after = {entry["id"]: entry for entry in entries}
    assert set(ledger) <= set(after), set(ledger) - set(after)
    for id, old in ledger.items():
        assert bare(old) == bare(after[id]), id  # a closed month never changes
    for entry in entries:
        assert entry_gross(entry) == Decimal(entry["amount"]), entry  # its share is what it moved
        assert Decimal(entry["outside_vat"]) == Decimal(entry["late_fees"]) + Decimal(entry["overpaid"])
        assert (Decimal(entry["amount"]) > 0) == (entry["type"] == "payment"), entry
    for payment in doc["payments"]:
        mine = [entry for entry in entries if entry["payment_id"] == payment["id"]]
        cancelled = payment.get("status") == "cancelled"
        amount, refunded = Decimal(payment["amount"]), Decimal(payment.get("amount_refunded") or 0)
        tip, tip_refunded = Decimal(payment.get("tip") or 0), Decimal(payment.get("tip_refunded") or 0)
        assert sum(Decimal(entry["amount"]) for entry in mine) == (ZERO if cancelled else amount - refunded)
        assert sum(Decimal(entry["tip"]) for entry in mine) == (ZERO if cancelled else tip - tip_refunded)
    if set(after) != set(ledger):  # new entries: the ledger in all is what the invoice keeps, to the cent
        kept = kept_share(Invoice.of(doc))
        summed = {"late_fees": ZERO, "overpaid": ZERO}
        groups = [[ZERO, ZERO] for _ in kept.groups]
        for entry in entries:
            summed["late_fees"] += Decimal(entry["late_fees"])
            summed["overpaid"] += Decimal(entry["overpaid"])
            for i, group in enumerate(entry["groups"]):
                groups[i][0] += Decimal(group["base"])
                groups[i][1] += Decimal(group["tax"])
        assert groups == [[g.base, g.tax] for g in kept.groups], (groups, kept)
        assert (summed["late_fees"], summed["overpaid"]) == (kept.late_fees, kept.overpaid), (summed, kept)
    return {id: {**entry, "version": 1} for id, entry in after.items()}


@PROPERTY
@given(data=st.data())
def test_given_any_history_of_payments_refunds_cancellations_and_credit_notes_then_the_ledger_only_grows_and_adds_up(
    data,
):
    doc = data.draw(invoices())
    currency = doc["currency"]
    unit = unit_of(currency)
    total = Decimal(doc["totals"]["total"])
    now = START
    doc["updated_at"] = at(now)
    ledger: dict[str, dict[str, Any]] = {}
    happened: set[str] = set()

    for number in range(data.draw(st.integers(1, 10), label="steps")):
        step = data.draw(st.sampled_from(STEPS))
        now += timedelta(days=data.draw(st.integers(0, 40)), hours=data.draw(st.integers(0, 23)))
        payments = doc["payments"]
        if step == "project":
            ledger = held_to(doc, ledger)
            continue
        if step == "pay":
            card = data.draw(st.booleans())
            due = Invoice.of(doc).amount_due
            pay_all = due > 0 and data.draw(st.booleans())
            amount = due if pay_all else data.draw(st.integers(1, max(1, int(total / unit)))) * unit
            tip = data.draw(st.integers(0, 500)) * unit if card else ZERO
            payments.append(paid(f"pay_{number}", amount, paid_at=now.date().isoformat(), tip=f"{tip:f}",
                                 method="card" if card else "bank_transfer"))  # fmt: skip
        elif step == "refund":
            refundable = [p for p in payments if p["method"] == "card" and Decimal(p["amount_refunded"]) +
                          Decimal(p.get("tip_refunded") or 0) < Decimal(p["amount"]) + Decimal(p["tip"])]  # fmt: skip
            if not refundable:
                continue
            payment = data.draw(st.sampled_from(refundable))
            amount, tip = Decimal(payment["amount"]), Decimal(payment["tip"])
            before = Decimal(payment["amount_refunded"]) + Decimal(payment.get("tip_refunded") or 0)
            after = before + data.draw(st.integers(1, int((amount + tip - before) / unit))) * unit
            payment["amount_refunded"] = f"{min(after, amount):f}"  # the invoice's part first, then the tip
            payment["tip_refunded"] = f"{after - min(after, amount):f}"
        elif step == "cancel":
            cancellable = [p for p in payments if p["method"] == "bank_transfer" and p["status"] != "cancelled"]
            if not cancellable:
                continue
            data.draw(st.sampled_from(cancellable)).update(status="cancelled", cancelled_at=at(now))
        elif step == "credit":
            open_groups = [g for g in Invoice.of(doc).groups_left() if g.base >= unit and g.tax >= 0]
            if not open_groups:
                continue
            group = data.draw(st.sampled_from(open_groups))
            base = data.draw(st.integers(1, int(group.base / unit))) * unit
            rate = sum((tax_rate for _, tax_rate in group.taxes), ZERO)
            credit(doc, Group(group.taxes, base, min(round_money(base * rate / 100, currency), group.tax)))
        else:  # a late fee applied
            fee = data.draw(st.integers(1, 5_000)) * unit
            doc["late_fee_entries"] = [*(doc.get("late_fee_entries") or []), {"period": f"p{number}",
                                                                              "amount": f"{fee:f}"}]  # fmt: skip
        happened.add(step)
        stamp(doc, at(now))
    ledger = held_to(doc, ledger)

    invoice = Invoice.of(doc)
    late_fees = sum(Decimal(entry["late_fees"]) for entry in ledger.values())
    assert ZERO <= late_fees <= invoice.late_fees_total
    if "credit" not in happened:  # never more of a group than it asks, never less than nothing
        for i, group in enumerate(invoice.groups()):
            base = sum(Decimal(entry["groups"][i]["base"]) for entry in ledger.values())
            tax = sum(Decimal(entry["groups"][i]["tax"]) for entry in ledger.values())
            assert ZERO <= base <= group.base, (group, base)
            assert ZERO <= tax <= group.tax, (group, tax)
    if not happened & {"refund", "credit"} and invoice.amount_due == ZERO and invoice.payments:
        # paid in full however it went (projected at any points, late fees, overpaid, cancellations): its VAT exactly
        assert pairs(entry_rows(ledger.values())) == pairs(vat_rows(invoice.groups(), currency))


# -- what a payment gives back is offered to the payments after it -------------------------------
# A later payment is shared over what the groups still ask once the ledger's entries are taken off.
# Found while the ledger was redesigned: a cancellation or refund not in the ledger yet was not taken
# off, so a later payment seen with it was counted overpaid (no VAT) while the cancellation took the VAT
# back. Each payment is now followed by what was taken back of it: however the projections fall.

AUDIT = [{"name": "Audit", "unit_price": "1000.00", "taxes": taxes("20")}]  # 1,200.00


def test_given_a_bounced_cheque_projected_before_the_new_payment_then_the_invoice_collects_its_vat_once():
    """The cancellation in the ledger when the new payment is shared."""
    doc = stored_invoice(AUDIT, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("cheque", "1200.00", paid_at="2026-12-01", method="cheque")]
    ledger, _ = projected(doc, {})
    doc["payments"][0] |= {"status": "cancelled", "cancelled_at": "2026-12-08T09:00:00.000Z"}
    stamp(doc, "2026-12-08T09:00:00.000Z")
    ledger, _ = projected(doc, ledger)
    doc["payments"].append(paid("transfer", "1200.00", paid_at="2026-12-10"))
    stamp(doc, "2026-12-10T09:00:00.000Z")

    ledger, _ = projected(doc, ledger)

    assert pairs(entry_rows(ledger.values())) == {("TVA", D(20)): (D("1000.00"), D("200.00"))}
    assert ledger["inv_1.transfer"]["overpaid"] == "0.00"


def test_given_a_bounced_cheque_and_the_new_payment_seen_by_one_projection_then_the_invoice_collects_its_vat_once():
    doc = stored_invoice(AUDIT, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("cheque", "1200.00", paid_at="2026-12-01", method="cheque")]
    ledger, _ = projected(doc, {})
    doc["payments"][0] |= {"status": "cancelled", "cancelled_at": "2026-12-08T09:00:00.000Z"}
    doc["payments"].append(paid("transfer", "1200.00", paid_at="2026-12-10"))
    stamp(doc, "2026-12-10T09:00:00.000Z")  # the events of both, projected once (late, or batched)

    ledger, _ = projected(doc, ledger)

    assert pairs(entry_rows(ledger.values())) == {("TVA", D(20)): (D("1000.00"), D("200.00"))}


def test_given_a_bounced_cheque_and_the_new_payment_projected_from_an_empty_ledger_then_its_vat_once():
    """As logic.reindex projects an invoice for the first time."""
    doc = stored_invoice(AUDIT, None, updated_at="2026-12-10T09:00:00.000Z")
    bounced = {"status": "cancelled", "cancelled_at": "2026-12-08T09:00:00.000Z"}
    doc["payments"] = [
        paid("cheque", "1200.00", paid_at="2026-12-01", method="cheque", **bounced),
        paid("transfer", "1200.00", paid_at="2026-12-10"),
    ]

    ledger, _ = projected(doc, {})

    assert pairs(entry_rows(ledger.values())) == {("TVA", D(20)): (D("1000.00"), D("200.00"))}


def test_given_a_card_payment_refunded_and_paid_again_before_the_next_projection_then_its_vat_once():
    doc = stored_invoice(AUDIT, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("card", "1200.00", paid_at="2026-12-01", method="card")]
    ledger, _ = projected(doc, {})
    doc["payments"][0]["amount_refunded"] = "1200.00"
    doc["payments"].append(paid("transfer", "1200.00", paid_at="2026-12-10"))
    stamp(doc, "2026-12-10T09:00:00.000Z")

    ledger, _ = projected(doc, ledger)

    assert pairs(entry_rows(ledger.values())) == {("TVA", D(20)): (D("1000.00"), D("200.00"))}


def test_given_two_clients_paying_at_once_and_the_first_refunded_the_excess_then_the_invoice_collects_its_vat_once():
    """1,200.00 paid by card, then 100.00 more by another card (overpaid,
    owed back); the business refunds 100.00 of the first: 1,200.00 is kept,
    the invoice is paid, owes nothing back, and its VAT was collected."""
    doc = stored_invoice(AUDIT, None, updated_at="2026-12-01T09:00:00.000Z")
    doc["payments"] = [paid("first", "1200.00", method="card"), paid("second", "100.00", method="card")]
    ledger, _ = projected(doc, {})
    doc["payments"][0]["amount_refunded"] = "100.00"
    stamp(doc, "2026-12-10T09:00:00.000Z")

    ledger, _ = projected(doc, ledger)

    invoice = Invoice.of(doc)
    assert (invoice.amount_due, invoice.amount_overpaid) == (ZERO, ZERO)
    assert pairs(entry_rows(ledger.values())) == {("TVA", D(20)): (D("1000.00"), D("200.00"))}
