"""The totals rules of SPEC §4: worked examples, then properties."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain.errors import InvalidInput
from invoicing.domain.money import quantum
from invoicing.domain.totals import Discount, Line, Tax, compute_totals

pytestmark = pytest.mark.unit

VAT20 = Tax("TVA", D("20"))
VAT10 = Tax("TVA", D("10"))
VAT55 = Tax("TVA", D("5.5"))


def test_the_spec_invoice_totals_to_1398():
    totals = compute_totals(
        [Line(D("3"), D("450.00"), Discount("percentage", D("10")), (VAT20,))],
        Discount("fixed", D("50.00")),
        "EUR",
    )
    assert totals.line_nets == (D("1215.00"),)
    assert totals.subtotal == D("1215.00")
    assert totals.discount == D("50.00")
    assert [(t.rate, t.base, t.tax) for t in totals.tax_breakdown] == [(D("20"), D("1165.00"), D("233.00"))]
    assert totals.tax_total == D("233.00")
    assert totals.total == D("1398.00")


def test_vat_is_computed_per_rate_not_per_line():
    """Three lines at 0.10 € and 20 %: per line each would round 0.02 → 0.06;
    per rate, 0.30 × 20 % = 0.06 as well, but 7 lines of 0.07 show the gap:
    per line 7 × 0.01 = 0.07, per rate round(0.49 × 0.2) = 0.10."""
    totals = compute_totals([Line(D("1"), D("0.07"), None, (VAT20,))] * 7, None, "EUR")
    assert totals.tax_breakdown[0].base == D("0.49")
    assert totals.tax_total == D("0.10")
    assert totals.total == D("0.59")


def test_line_amount_is_rounded_half_up_after_its_discount():
    totals = compute_totals([Line(D("1"), D("0.125"), None, ())], None, "EUR")
    assert totals.line_nets == (D("0.13"),)
    discounted = compute_totals([Line(D("3"), D("3.35"), Discount("percentage", D("5")), ())], None, "EUR")
    assert discounted.line_nets == (D("9.55"),)  # 10.05 × 0.95 = 9.5475 → 9.55, rounded once


def test_invoice_discount_is_spread_over_rates_pro_rata():
    totals = compute_totals(
        [Line(D("1"), D("100.00"), None, (VAT20,)), Line(D("1"), D("50.00"), None, (VAT55,))],
        Discount("percentage", D("10")),
        "EUR",
    )
    bases = {t.rate: t.base for t in totals.tax_breakdown}
    assert totals.discount == D("15.00")
    assert bases == {D("20"): D("90.00"), D("5.5"): D("45.00")}
    assert totals.tax_total == D("18.00") + D("2.48")  # 2.475 rounds half-up
    assert totals.total == D("135.00") + totals.tax_total


def test_discount_cents_go_to_the_largest_remainders():
    """0.10 over three equal groups: 0.03 each and one extra cent, given by
    the tie-break on the taxes, never to a group with nothing to discount."""
    lines = [Line(D("1"), D("1.00"), None, (tax,)) for tax in (VAT20, VAT10, VAT55)]
    totals = compute_totals(lines, Discount("fixed", D("0.10")), "EUR")
    bases = sorted(t.base for t in totals.tax_breakdown)
    assert bases == [D("0.96"), D("0.97"), D("0.97")]
    assert sum(bases) == D("3.00") - D("0.10")


def test_inclusive_tax_is_taken_out_of_the_line_amount():
    totals = compute_totals([Line(D("1"), D("120.00"), None, (Tax("TVA", D("20"), inclusive=True),))], None, "EUR")
    assert totals.line_nets == (D("100.00"),)
    assert totals.tax_total == D("20.00")
    assert totals.total == D("120.00")


def test_inclusive_prices_are_converted_once_per_group_not_once_per_line():
    """3 × 10.00 TTC at 20 %: per line 8.33 × 3 = 24.99 + 5.00 = 29.99; per
    group 30.00 → 25.00 net + 5.00 VAT = 30.00, the sum the client expects."""
    vat = Tax("TVA", D("20"), inclusive=True)
    totals = compute_totals([Line(D("1"), D("10.00"), None, (vat,))] * 3, None, "EUR")
    assert totals.total == D("30.00")
    assert sorted(totals.line_nets) == [D("8.33"), D("8.33"), D("8.34")]
    assert totals.subtotal == sum(totals.line_nets) == D("25.00")


def test_lines_including_the_same_vat_convert_together_whatever_else_they_carry():
    vat = Tax("TVA", D("20"), inclusive=True)
    eco = Tax("Éco", D("0"))
    totals = compute_totals(
        [Line(D("1"), D("10.00"), None, (vat,)), Line(D("1"), D("10.00"), None, (vat, eco))], None, "EUR"
    )
    assert totals.total == D("20.00")


def test_inclusive_and_exclusive_lines_at_one_rate_share_one_breakdown_entry():
    totals = compute_totals(
        [
            Line(D("1"), D("12.00"), None, (Tax("TVA", D("20"), inclusive=True),)),
            Line(D("1"), D("10.00"), None, (VAT20,)),
        ],
        None,
        "EUR",
    )
    assert [(t.base, t.tax) for t in totals.tax_breakdown] == [(D("20.00"), D("4.00"))]


def test_a_line_can_carry_several_taxes():
    eco = Tax("Éco-participation", D("1"))
    totals = compute_totals([Line(D("2"), D("50.00"), None, (VAT20, eco))], None, "EUR")
    assert {(t.name, t.tax) for t in totals.tax_breakdown} == {("TVA", D("20.00")), ("Éco-participation", D("1.00"))}
    assert totals.total == D("121.00")


def test_lines_without_tax_are_in_the_subtotal_but_no_breakdown():
    totals = compute_totals([Line(D("1"), D("10.00"), None, ())], None, "EUR")
    assert totals.tax_breakdown == ()
    assert totals.total == D("10.00")


def test_zero_decimal_currency_rounds_to_whole_units():
    totals = compute_totals([Line(D("3"), D("333.5"), None, (VAT10,))], Discount("percentage", D("3")), "JPY")
    assert totals.line_nets == (D("1001"),)  # 1000.5 → 1001
    assert totals.discount == D("30")
    assert totals.tax_breakdown[0].tax == D("97")  # 971 × 10 % = 97.1
    assert totals.total == D("1068")


def test_three_decimal_currency():
    totals = compute_totals([Line(D("1"), D("1.2345"), None, ())], None, "KWD")
    assert totals.total == D("1.235")


def test_a_fixed_discount_larger_than_the_subtotal_names_the_field():
    with pytest.raises(InvalidInput) as raised:
        compute_totals([Line(D("1"), D("10"), None, ())], Discount("fixed", D("10.01")), "EUR")
    assert [e.field for e in raised.value.errors] == ["discount.value"]


def test_a_fixed_line_discount_larger_than_the_line_names_the_line():
    with pytest.raises(InvalidInput) as raised:
        compute_totals(
            [Line(D("1"), D("10"), None, ()), Line(D("1"), D("5"), Discount("fixed", D("6")), ())], None, "EUR"
        )
    assert [e.field for e in raised.value.errors] == ["lines.1.discount.value"]


def test_an_empty_invoice_totals_to_zero():
    totals = compute_totals([], Discount("percentage", D("50")), "EUR")
    assert (totals.subtotal, totals.discount, totals.total) == (D("0"), D("0.00"), D("0"))


# -- properties -------------------------------------------------------------------

TAXES = st.sampled_from(
    [
        (),
        (VAT20,),
        (VAT10,),
        (VAT55,),
        (Tax("TVA", D("2.1")),),
        (Tax("TVA", D("0")),),
        (Tax("TVA", D("20"), inclusive=True),),
        (VAT20, Tax("Taxe locale", D("1.5"))),
    ]
)
LINES = st.builds(
    Line,
    quantity=st.decimals(min_value=0, max_value=10_000, places=3),
    unit_price=st.decimals(min_value=0, max_value=100_000, places=4),
    discount=st.one_of(st.none(), st.builds(Discount, st.just("percentage"), st.decimals(0, 100, places=2))),
    taxes=TAXES,
)
CURRENCIES = st.sampled_from(["EUR", "JPY", "KWD"])


@st.composite
def invoices(draw: st.DrawFn) -> tuple[list[Line], Discount | None, str]:
    lines = draw(st.lists(LINES, max_size=25))
    currency = draw(CURRENCIES)
    subtotal = compute_totals(lines, None, currency).subtotal
    discount = draw(
        st.one_of(
            st.none(),
            st.builds(Discount, st.just("percentage"), st.decimals(0, 100, places=2)),
            st.builds(
                Discount,
                st.just("fixed"),
                st.decimals(0, subtotal, places=0) if subtotal >= 1 else st.just(D(0)),
            ),
        )
    )
    return lines, discount, currency


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_totals_never_drift_a_cent_from_the_breakdown(invoice):
    lines, discount, currency = invoice
    totals = compute_totals(lines, discount, currency)
    assert totals.subtotal == sum(totals.line_nets, D(0))
    assert totals.tax_total == sum((t.tax for t in totals.tax_breakdown), D(0))
    assert totals.total == totals.subtotal - totals.discount + totals.tax_total
    unit = quantum(currency)
    for amount in (totals.subtotal, totals.discount, totals.tax_total, totals.total, *totals.line_nets):
        assert amount == amount.quantize(unit), f"{amount} is not in whole {currency} minor units"
    for entry in totals.tax_breakdown:
        assert entry.tax == (entry.base * entry.rate / 100).quantize(unit, rounding="ROUND_HALF_UP")


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_discount_never_makes_a_base_negative_and_is_fully_spread(invoice):
    lines, discount, currency = invoice
    totals = compute_totals(lines, discount, currency)
    assert all(entry.base >= 0 for entry in totals.tax_breakdown)
    assert D(0) <= totals.discount <= totals.subtotal
    # with one tax per line, the bases account for every discounted cent
    if all(len(line.taxes) == 1 for line in lines):
        assert sum((t.base for t in totals.tax_breakdown), D(0)) == totals.subtotal - totals.discount


@settings(max_examples=200, deadline=None)
@given(invoices(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_line_order(invoice, rng):
    lines, discount, currency = invoice
    shuffled = list(lines)
    rng.shuffle(shuffled)
    a, b = compute_totals(lines, discount, currency), compute_totals(shuffled, discount, currency)
    assert (a.subtotal, a.discount, a.tax_breakdown, a.tax_total, a.total) == (
        b.subtotal,
        b.discount,
        b.tax_breakdown,
        b.tax_total,
        b.total,
    )


INCLUSIVE = st.sampled_from([Tax("TVA", D(r), inclusive=True) for r in ("20", "10", "5.5", "2.1")])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(
            Line,
            quantity=st.integers(1, 20).map(D),
            unit_price=st.decimals(min_value=0, max_value=10_000, places=2),
            discount=st.none(),  # prices as entered, no discount (hypothesis fills a NamedTuple's defaults)
            taxes=st.tuples(INCLUSIVE, st.booleans()).map(
                lambda pair: (pair[0], Tax("Éco", D("0"))) if pair[1] else (pair[0],)
            ),
        ),
        max_size=30,
    )
)
def test_inclusive_prices_total_what_was_entered_within_one_cent_per_rate(lines):
    totals = compute_totals(lines, None, "EUR")
    entered = sum((line.quantity * line.unit_price for line in lines), D(0))
    rates = {line.taxes[0].rate for line in lines}  # the conversion groups
    assert abs(totals.total - entered) <= D("0.01") * len(rates)
    assert totals.subtotal == sum(totals.line_nets, D(0))


def test_lines_that_come_to_nothing_have_nets_in_the_currency_minor_units():
    """The editor shows each net as the totals give it: "0.00", never "0"."""
    from invoicing.logic.totals import totals_view

    inclusive = Tax("TVA", D("20"), inclusive=True)
    nothing = [Line(D("0"), D("10.00"), None, (inclusive,)), Line(D("0"), D("5.00"), None, (inclusive,))]

    view = totals_view(compute_totals(nothing, None, "EUR"))

    assert view["line_nets"] == ["0.00", "0.00"]
    assert (view["subtotal"], view["total"]) == ("0.00", "0.00")
    assert totals_view(compute_totals(nothing, None, "JPY"))["line_nets"] == ["0", "0"]


# -- a final invoice's deposit deductions (rule 5) ----------------------------------


def test_deductions_stay_outside_a_percentage_discount():
    """An estimate of 1,000.00 at 20 % less 10 %, a deposit of 300.00 HT taken
    off: the discount stays 100.00 (10 % of the estimate, not of 700.00), and
    the deduction comes off the base after it."""
    totals = compute_totals(
        [Line(D("1"), D("1000.00"), None, (VAT20,))],
        Discount("percentage", D("10")),
        "EUR",
        deductions=[Line(D("1"), D("-300.00"), None, (VAT20,))],
    )
    assert totals.line_nets == (D("1000.00"), D("-300.00"))
    assert (totals.subtotal, totals.discount) == (D("700.00"), D("100.00"))
    assert [(t.base, t.tax) for t in totals.tax_breakdown] == [(D("600.00"), D("120.00"))]
    assert totals.total == D("700.00") - D("100.00") + D("120.00")


def test_deductions_stay_outside_a_fixed_discount_spread_over_two_rates():
    totals = compute_totals(
        [Line(D("1"), D("1000.00"), None, (VAT20,)), Line(D("1"), D("500.00"), None, (VAT10,))],
        Discount("fixed", D("150.00")),
        "EUR",
        deductions=[Line(D("1"), D("-200.00"), None, (VAT20,)), Line(D("1"), D("-100.00"), None, (VAT10,))],
    )
    bases = {t.rate: (t.base, t.tax) for t in totals.tax_breakdown}
    assert bases == {D("20"): (D("700.00"), D("140.00")), D("10"): (D("350.00"), D("35.00"))}
    assert (totals.subtotal, totals.discount, totals.total) == (D("1200.00"), D("150.00"), D("1225.00"))


def test_a_fixed_discount_is_held_to_the_lines_without_their_deductions():
    lines, deductions = [Line(D("1"), D("100.00"), None, ())], [Line(D("1"), D("-60.00"), None, ())]

    allowed = compute_totals(lines, Discount("fixed", D("80.00")), "EUR", deductions)
    with pytest.raises(InvalidInput) as raised:
        compute_totals(lines, Discount("fixed", D("100.01")), "EUR", deductions)

    assert (allowed.subtotal, allowed.discount, allowed.total) == (D("40.00"), D("80.00"), D("-40.00"))
    assert [e.field for e in raised.value.errors] == ["discount.value"]


DEDUCTIONS = st.lists(
    st.builds(
        Line,
        quantity=st.just(D("1")),
        unit_price=st.decimals(min_value=-10_000, max_value=0, places=2),
        discount=st.none(),
        taxes=st.sampled_from([(VAT20,), (VAT10,), (VAT55,), (Tax("TVA", D("0")),), ()]),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(invoices(), DEDUCTIONS)
def test_deductions_leave_the_lines_discount_and_bases_as_they_were_and_take_off_their_nets(invoice, deductions):
    lines, discount, currency = invoice
    deductions = [line._replace(unit_price=line.unit_price.quantize(quantum(currency))) for line in deductions]
    alone = compute_totals(lines, discount, currency)

    totals = compute_totals(lines, discount, currency, deductions)

    deducted = [line.unit_price for line in deductions]
    assert totals.line_nets == (*alone.line_nets, *deducted)
    assert totals.discount == alone.discount
    assert totals.subtotal == alone.subtotal + sum(deducted, D(0))
    expected = {(t.name, t.rate): t.base for t in alone.tax_breakdown}
    for line in deductions:
        for tax in line.taxes:
            expected[tax.key] = expected.get(tax.key, D(0)) + line.unit_price
    assert {(t.name, t.rate): t.base for t in totals.tax_breakdown} == expected
    assert totals.total == totals.subtotal - totals.discount + totals.tax_total


def test_stored_deductions_come_back_in_the_lines_order():
    """totals_of takes the lines carrying a deposit invoice as deductions,
    wherever they are; callers zip the nets with their lines."""
    from invoicing.logic.totals import totals_of

    vat = [{"name": "TVA", "rate": "20"}]
    lines = [
        {"quantity": "1", "unit_price": "100.00", "taxes": vat},
        {"quantity": "1", "unit_price": "-30.00", "taxes": vat, "deposit_invoice_id": "inv_1"},
        {"quantity": "2", "unit_price": "50.00", "taxes": vat},
    ]

    totals = totals_of(lines, {"type": "percentage", "value": "10"}, "EUR")

    assert totals.line_nets == (D("100.00"), D("-30.00"), D("100.00"))
    assert totals.discount == D("20.00")  # 10 % of 200.00: the deduction is not discounted
    assert [(t.base, t.tax) for t in totals.tax_breakdown] == [(D("150.00"), D("30.00"))]


def test_an_error_names_the_line_as_it_was_sent_even_after_a_deduction():
    from invoicing.logic.totals import totals_of

    lines = [
        {"quantity": "1", "unit_price": "-30.00", "deposit_invoice_id": "inv_1"},
        {"quantity": "1", "unit_price": "5.00", "discount": {"type": "fixed", "value": "6"}},
    ]

    with pytest.raises(InvalidInput) as raised:
        totals_of(lines, None, "EUR")

    assert [e.field for e in raised.value.errors] == ["lines.1.discount.value"]


def test_the_preview_of_a_final_invoice_is_its_stored_totals():
    """POST /totals with the final invoice's lines as GET gives them."""
    from invoicing.logic.totals import preview, totals_of, totals_view
    from invoicing.models.invoices import TotalsRequest

    vat = [{"name": "TVA", "rate": "20"}]
    body = {
        "currency": "EUR",
        "discount": {"type": "fixed", "value": "15.00"},
        "lines": [
            {"quantity": "1", "unit_price": "-25.00", "taxes": vat, "deposit_invoice_id": "inv_1", "net": "-25.00"},
            {"name": "Pose", "quantity": "3", "unit_price": "40.00", "taxes": vat},
        ],
    }

    shown = preview(TotalsRequest.model_validate(body))

    assert shown == totals_view(totals_of(body["lines"], body["discount"], "EUR"))
    assert shown["line_nets"] == ["-25.00", "120.00"]
    assert (shown["discount"], shown["tax_breakdown"][0]["base"], shown["total"]) == ("15.00", "80.00", "96.00")
