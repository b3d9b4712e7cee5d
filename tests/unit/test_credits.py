"""Splitting an amount tax included into credit-note bases (domain.credits):
exact to the cent through the totals function, within what each group of the
invoice has left, refused only when no bases can make it."""

from __future__ import annotations

from decimal import Decimal
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain import credits
from invoicing.domain.document import Document
from invoicing.domain.schedule import less_credited
from invoicing.logic.invoices import totals_of

TVA20 = (("TVA", Decimal(20)),)
TVA10 = (("TVA", Decimal(10)),)


def group(taxes, base: str, currency: str = "EUR") -> credits.Group:
    amount = Decimal(base)
    return credits.Group(taxes, amount, credits.gross_of(amount, taxes, currency) - amount)


def total_of(groups, bases, currency="EUR") -> Decimal:
    lines = [
        {"quantity": "1", "unit_price": str(base), "taxes": [{"name": n, "rate": str(r)} for n, r in g.taxes]}
        for g, base in zip(groups, bases, strict=True)
        if base > 0
    ]
    return totals_of(lines, None, currency).total


def test_one_rate_makes_what_a_base_can_make_and_nothing_else():
    within = [group(TVA20, "1000.00")]

    assert credits.split(Decimal("120.00"), within, "EUR") == [Decimal("100.00")]
    assert credits.split(Decimal("0.50"), within, "EUR") == [Decimal("0.42")]
    assert credits.split(Decimal("0.51"), within, "EUR") is None  # 0.42 makes 0.50, 0.43 makes 0.52
    assert credits.nearest(Decimal("0.51"), within, "EUR") == (Decimal("0.50"), Decimal("0.52"))


def test_several_rates_move_a_cent_between_them_rather_than_refuse():
    within = [group(TVA20, "1000.00"), group(TVA10, "500.00")]

    bases = credits.split(Decimal("50.18"), within, "EUR")

    assert bases is not None
    assert total_of(within, bases) == Decimal("50.18")


def test_nothing_beyond_what_a_group_has_left():
    within = [group(TVA20, "10.00"), group(TVA10, "1000.00")]

    assert credits.split(Decimal("1112.00"), within, "EUR") == [Decimal("10.00"), Decimal("1000.00")]
    assert credits.split(Decimal("1112.01"), within, "EUR") is None


def test_two_taxes_on_a_line_are_rounded_each_as_the_totals_function_does():
    both = (("Accise", Decimal(1)), ("TVA", Decimal(20)))
    within = [group(both, "100.00")]

    bases = credits.split(Decimal("10.00"), within, "EUR")

    assert bases == [Decimal("8.27")]  # 8.27 + 1.65 + 0.08; a combined 21 % would round to 10.01
    assert total_of(within, bases) == Decimal("10.00")


def test_the_groups_of_a_document_share_its_discount_as_the_totals_function_does():
    lines = [
        {"net": "100.00", "taxes": [{"name": "TVA", "rate": "20"}]},
        {"net": "50.00", "taxes": [{"name": "TVA", "rate": "10"}]},
        {"net": "30.00", "taxes": []},
    ]
    breakdown = [{"name": "TVA", "rate": "20", "base": "88.89", "tax": "17.78"},
                 {"name": "TVA", "rate": "10", "base": "44.44", "tax": "4.44"}]  # fmt: skip
    totals = {"subtotal": "180.00", "discount": "20.00", "tax_breakdown": breakdown, "tax_total": "22.22",
              "total": "182.22"}  # fmt: skip

    found = Document.of({"id": "inv", "currency": "EUR", "lines": lines, "totals": totals}).groups()

    assert [(g.taxes, g.base, g.tax) for g in found] == [
        (TVA20, Decimal("88.89"), Decimal("17.78")),
        (TVA10, Decimal("44.44"), Decimal("4.44")),
        ((), Decimal("26.67"), Decimal("0")),
    ]


def test_what_is_left_takes_off_what_was_credited_group_by_group():
    invoice = [group(TVA20, "100.00"), group(TVA10, "50.00")]

    left = credits.left(invoice, [group(TVA20, "30.00"), group(TVA20, "20.00")])

    assert [(g.base, g.tax) for g in left] == [
        (Decimal("50.00"), Decimal("10.00")),
        (Decimal("50.00"), Decimal("5.00")),
    ]


def test_the_largest_base_within_a_total():
    assert credits.base_within(Decimal("60.03"), TVA20, "EUR") == Decimal("50.02")  # 60.02; 50.03 makes 60.04


def test_instalments_give_up_credits_from_the_last_back():
    amounts = [Decimal("600.00"), Decimal("400.00"), Decimal("200.00")]

    assert less_credited(amounts, Decimal("300.00")) == [Decimal("600.00"), Decimal("300.00"), Decimal("0.00")]
    assert less_credited(amounts, Decimal("0")) == amounts
    assert less_credited(amounts, Decimal("1200.00")) == [Decimal("0.00")] * 3


RATES = st.sampled_from([Decimal(20), Decimal(10), Decimal("5.5"), Decimal("2.1"), Decimal(0)])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    rates=st.lists(RATES, min_size=1, max_size=4, unique=True),
    cents=st.lists(st.integers(1, 10_000_000), min_size=4, max_size=4),
    share=st.fractions(0, 1),
    currency=st.sampled_from(["EUR", "JPY"]),
)
def test_a_split_is_exact_and_within_what_is_left(rates, cents, share, currency):
    unit = Decimal("0.01") if currency == "EUR" else Decimal(1)
    within = [
        group((("TVA", rate),) if rate else (), f"{Decimal(n) * unit:f}", currency)
        for rate, n in zip(rates, cents, strict=False)
    ]
    total = sum((g.gross for g in within), Decimal(0))
    amount = max(unit, (total * share.numerator / share.denominator).quantize(unit))

    bases = credits.split(amount, within, currency)

    if bases is None:  # then no bases near their pro rata share make it, within what each has left
        assert not _near_bases_making(amount, within, currency)
        return
    assert total_of(within, bases, currency) == amount
    assert all(base <= g.base for base, g in zip(bases, within, strict=True))


def _near_bases_making(amount: Decimal, within: list[credits.Group], currency: str) -> bool:
    unit = Decimal("0.01") if currency == "EUR" else Decimal(1)
    total = sum((g.gross for g in within), Decimal(0))
    options = []
    for g in within:
        centre = (g.base * amount / total).quantize(unit)
        near = [centre + k * unit for k in range(-3, 4)]
        options.append([b for b in near if 0 <= b <= g.base and credits.gross_of(b, g.taxes, currency) <= g.gross])
    return any(
        sum((credits.gross_of(b, g.taxes, currency) for b, g in zip(combo, within, strict=True)), Decimal(0)) == amount
        for combo in product(*options)
    )
