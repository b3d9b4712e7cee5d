"""Each payment's share of its invoice's VAT (domain.ledger, SPEC §14, the
collected basis): split over the invoice's groups left after credit notes,
cumulatively, so that an invoice paid in full, in any number of payments,
has collected its groups to the cent; never more than the groups; nothing
for a cancelled payment; what is paid beyond the groups outside VAT."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain.credits import Group
from invoicing.domain.invoice import Invoice, stored_groups
from invoicing.domain.ledger import Collected, RateKey, VatRow, add_rows, collected, vat_rows
from invoicing.domain.money import ZERO, quantum
from invoicing.logic.ledger import entries_of
from invoicing.logic.totals import totals_of, totals_view

pytestmark = pytest.mark.unit

RATES = ("0", "5.5", "10", "20")  # 0: lines without tax (the rate-0 row with no tax name)
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True)


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


def gross(share: Collected) -> Decimal:
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
        # outside VAT only what takes the payments past the invoice's total
        assert share.outside_vat == min(amount, max(running - total, ZERO))
        assert gross(share) + share.outside_vat == amount


def test_given_an_overpayment_then_the_excess_is_outside_vat_and_the_groups_are_collected_once():
    doc = stored_invoice([{"name": "Audit", "unit_price": "100.00", "taxes": taxes("20")},
                          {"name": "Livre", "unit_price": "50.00", "taxes": taxes("5.5")}], None)  # fmt: skip
    assert doc["totals"]["total"] == "172.75"
    doc["payments"] = [paid("p1", "172.75"), paid("p2", "20.00")]  # two clients paying at once

    first, second = collected(Invoice.of(doc)).values()

    assert (gross(first), first.outside_vat) == (Decimal("172.75"), ZERO)
    assert (gross(second), second.outside_vat) == (ZERO, Decimal("20.00"))


# -- the stored entries (logic.ledger) ------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_given_an_invoice_paid_in_full_then_its_payment_entries_as_stored_add_up_to_its_vat(data):
    doc = data.draw(invoices())
    currency = doc["currency"]
    amounts = amounts_adding_up_to(data.draw, Decimal(doc["totals"]["total"]), currency)
    doc["payments"] = [paid(f"pay_{i}", amount) for i, amount in enumerate(amounts)]

    entries = entries_of(doc)

    assert [entry["id"] for entry in entries] == [f"inv_1.pay_{i}" for i in range(len(amounts))]
    rows: dict[RateKey, VatRow] = {}
    for entry in entries:
        assert Decimal(entry["counted"]) == Decimal(entry["amount"])
        assert Decimal(entry["outside_vat"]) == ZERO
        add_rows(rows, {(row["name"], Decimal(row["rate"])): VatRow(row["name"], Decimal(row["rate"]),
                        Decimal(row["base"]), Decimal(row["tax"])) for row in entry["vat"]})  # fmt: skip
    assert pairs(rows) == pairs(vat_rows(Invoice.of(doc).groups(), currency))
