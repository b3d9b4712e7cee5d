"""Deposits (domain.deposits, SPEC §11): the deposit an estimate asks, the
deposit invoices split over its VAT groups, the final invoice's deductions,
and the property that holds them together: the deposit invoices and the
final invoice charge exactly the estimate's total without VAT, and per VAT
rate at most a cent of VAT per deposit invoice apart from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain import credits, deposits
from invoicing.domain.document import Document
from invoicing.domain.errors import InvalidInput
from invoicing.logic.totals import totals_of, totals_view

pytestmark = pytest.mark.unit

VAT10 = [{"name": "TVA", "rate": "10"}]
VAT20 = [{"name": "TVA", "rate": "20"}]


def stored(lines: list[dict[str, Any]], discount: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A document as the store keeps it: its lines with their nets, its totals."""
    totals = totals_of(lines, discount, "EUR")
    return {
        "id": "est_1",
        "currency": "EUR",
        **fields,
        "lines": [{**line, "net": f"{net:f}"} for line, net in zip(lines, totals.line_nets, strict=True)],
        "discount": discount,
        "totals": totals_view(totals),
    }


def issued(estimate: dict[str, Any], taken: list[dict[str, Any]], amount: D, *, exact: bool = False) -> dict[str, Any]:
    """The next deposit invoice of `amount` on `estimate`, as stored."""
    groups = Document.of(estimate).groups()
    lines = deposits.deposit_lines(groups, taken, amount, "EUR", "Acompte sur devis D-1", exact=exact)
    n = len(taken) + 1
    return stored(lines, id=f"inv_{n}", status="open", number=f"F-{n}", issue_date=f"2027-01-0{n}")


def final(estimate: dict[str, Any], taken: list[dict[str, Any]]) -> dict[str, Any]:
    lines = [{key: value for key, value in line.items() if key != "net"} for line in estimate["lines"]]
    return stored([*lines, *deposits.deduction_lines(taken)], estimate["discount"], id="inv_final")


def without_vat(document: dict[str, Any]) -> D:
    return D(document["totals"]["subtotal"]) - D(document["totals"]["discount"])


def by_rate(*documents: dict[str, Any]) -> dict[D, tuple[D, D]]:
    """Base and VAT per rate, summed over the documents."""
    summed: dict[D, tuple[D, D]] = {}
    for document in documents:
        for entry in document["totals"]["tax_breakdown"]:
            base, tax = summed.get(D(entry["rate"]), (D(0), D(0)))
            summed[D(entry["rate"])] = (base + D(entry["base"]), tax + D(entry["tax"]))
    return summed


# -- the deposit asked ------------------------------------------------------------


def test_a_percentage_deposit_is_rounded_half_up_to_the_cent():
    assert deposits.asked({"type": "percentage", "value": "30"}, D("1026.00"), "EUR") == (D("307.80"), [])
    assert deposits.asked({"type": "percentage", "value": "50"}, D("0.05"), "EUR") == (D("0.03"), [])
    assert deposits.asked({"type": "percentage", "value": "33.33"}, D("1000"), "JPY") == (D("333"), [])


def test_a_fixed_deposit_is_asked_as_it_is_up_to_the_total():
    assert deposits.asked({"type": "fixed", "value": "500.00"}, D("1026.00"), "EUR") == (D("500.00"), [])
    assert deposits.asked({"type": "fixed", "value": "1026.00"}, D("1026.00"), "EUR") == (D("1026.00"), [])


@pytest.mark.parametrize(
    "deposit",
    [
        {"type": "percentage", "value": "0"},
        {"type": "percentage", "value": "100.01"},
        {"type": "fixed", "value": "0"},
        {"type": "fixed", "value": "1026.01"},
    ],
)
def test_a_deposit_of_nothing_or_beyond_the_total_names_its_value(deposit):
    amount, problems = deposits.asked(deposit, D("1026.00"), "EUR")

    assert amount == 0
    assert [problem.field for problem in problems] == ["deposit.value"]


def test_the_label_says_the_percentage_asked_in_french():
    assert deposits.label({"type": "percentage", "value": "30"}, "D-1") == "Acompte de 30 % sur devis D-1"
    assert deposits.label({"type": "percentage", "value": "12.5"}, "D-7") == "Acompte de 12,5 % sur devis D-7"
    assert deposits.label({"type": "fixed", "value": "500"}, "D-1") == "Acompte sur devis D-1"
    assert deposits.label(None, "D-1") == "Acompte sur devis D-1"


# -- deposit invoices ---------------------------------------------------------------


def tiling() -> dict[str, Any]:
    """540.00 at 10 % and 360.00 at 20 %: 1,026.00 tax included."""
    return stored(
        [
            {"name": "Pose de carrelage", "quantity": "12", "unit_price": "45.00", "taxes": VAT10},
            {"name": "Fourniture carrelage", "quantity": "12", "unit_price": "30.00", "taxes": VAT20},
        ]
    )


def test_a_deposit_is_one_line_per_vat_group_pro_rata():
    lines = deposits.deposit_lines(
        Document.of(tiling()).groups(), [], D("307.80"), "EUR", "Acompte de 30 % sur devis D-1", exact=False
    )

    assert lines == [
        {"name": "Acompte de 30 % sur devis D-1", "quantity": "1", "unit_price": "162.00", "taxes": VAT10},
        {"name": "Acompte de 30 % sur devis D-1", "quantity": "1", "unit_price": "108.00", "taxes": VAT20},
    ]
    assert totals_of(lines, None, "EUR").total == D("307.80")


def test_a_later_deposit_is_shared_by_what_each_group_has_left():
    """After a deposit invoice that took the whole 10 % group, the next
    deposit is all at 20 %."""
    estimate = tiling()
    first = stored(
        [{"name": "Acompte", "quantity": "1", "unit_price": "540.00", "taxes": VAT10}],
        id="inv_1",
        status="open",
        number="F-1",
        issue_date="2027-01-05",
    )

    (part,) = deposits.parts(Document.of(estimate).groups(), [first], D("120.00"), "EUR", exact=True)

    assert part == deposits.Part((("TVA", D(20)),), D("100.00"))  # the 10 % group has nothing left


def test_an_amount_typed_that_no_bases_make_is_refused_with_the_nearest():
    """At 20 % only, a base of 0.42 makes 0.50 and 0.43 makes 0.52: nothing makes 0.51."""
    estimate = stored([{"name": "Conseil", "quantity": "1", "unit_price": "1000.00", "taxes": VAT20}])

    with pytest.raises(InvalidInput) as raised:
        issued(estimate, [], D("0.51"), exact=True)

    (problem,) = raised.value.errors
    assert problem.field == "amount"
    assert problem.message.endswith(": ask 0.50 or 0.52")


def test_a_deposit_asked_that_no_bases_make_takes_the_nearest_the_lower_when_as_near():
    """At 20 %: 0.42 makes 0.50, 0.43 makes 0.52; 0.47 makes 0.56, 0.48 makes 0.58."""
    estimate = stored([{"name": "Conseil", "quantity": "1", "unit_price": "1000.00", "taxes": VAT20}])

    assert issued(estimate, [], D("0.51"))["totals"]["total"] == "0.50"
    assert issued(estimate, [], D("0.57"))["totals"]["total"] == "0.56"


def test_a_deposit_moves_a_cent_between_rates_so_that_the_final_vat_is_the_estimate_s():
    """30 % of 2,126.30: pro rata, 46.78 at 20 % (VAT 9.36) would leave
    109.13 (VAT 21.83), a cent more than the 31.18 of the estimate; 46.77
    (9.35) leaves 109.14 (21.83), and the 10 % share takes the cent."""
    estimate = stored(
        [
            {"name": "Conseil", "quantity": "1", "unit_price": "155.91", "taxes": VAT20},
            {"name": "Livres", "quantity": "9", "unit_price": "195.88", "taxes": VAT10},
        ]
    )

    deposit = issued(estimate, [], D("637.89"))

    assert [line["unit_price"] for line in deposit["lines"]] == ["46.77", "528.88"]
    assert deposit["totals"]["total"] == "637.89"
    assert by_rate(deposit, final(estimate, [deposit])) == by_rate(estimate)


def test_with_one_rate_no_cent_can_move_and_the_vat_stands_a_cent_apart():
    """56.14 is 46.78 and 9.36 of VAT, nothing else; what is left, 109.13,
    is charged 21.83: 31.19 of VAT where the estimate charged 31.18."""
    estimate = stored([{"name": "Conseil", "quantity": "1", "unit_price": "155.91", "taxes": VAT20}])

    deposit = issued(estimate, [], D("56.14"), exact=True)

    assert by_rate(deposit, final(estimate, [deposit])) == {D(20): (D("155.91"), D("31.19"))}
    assert by_rate(estimate) == {D(20): (D("155.91"), D("31.18"))}


# -- the final invoice --------------------------------------------------------------


def test_the_final_invoice_deducts_each_line_of_each_deposit_invoice():
    estimate = tiling()
    first = issued(estimate, [], D("307.80"))
    second = issued(estimate, [first], D("100.00"))

    deductions = deposits.deduction_lines([first, second])

    assert [(line["name"], line["unit_price"], line["taxes"], line["deposit_invoice_id"]) for line in deductions] == [
        ("Acompte F-1 du 01/01/2027", "-162.00", VAT10, "inv_1"),
        ("Acompte F-1 du 01/01/2027", "-108.00", VAT20, "inv_1"),
        ("Acompte F-2 du 02/01/2027", "-52.63", VAT10, "inv_2"),
        ("Acompte F-2 du 02/01/2027", "-35.09", VAT20, "inv_2"),
    ]
    assert all(line["quantity"] == "1" for line in deductions)


def test_a_final_invoice_with_a_discount_charges_the_rest_of_the_estimate():
    estimate = stored(
        [
            {"name": "Pose de carrelage", "quantity": "12", "unit_price": "45.00", "taxes": VAT10},
            {"name": "Fourniture carrelage", "quantity": "12", "unit_price": "30.00", "taxes": VAT20},
        ],
        {"type": "percentage", "value": "7"},
    )
    first = issued(estimate, [], D("100.00"), exact=True)
    second = issued(estimate, [first], D("287.21"))

    balance = final(estimate, [first, second])

    assert balance["totals"]["discount"] == estimate["totals"]["discount"] == "63.00"
    assert without_vat(first) + without_vat(second) + without_vat(balance) == without_vat(estimate)
    summed, expected = by_rate(first, second, balance), by_rate(estimate)
    assert {rate: base for rate, (base, _) in summed.items()} == {rate: base for rate, (base, _) in expected.items()}
    for rate, (_, tax) in summed.items():
        assert abs(tax - expected[rate][1]) <= D("0.02")


# -- the property -------------------------------------------------------------------

RATES = ["20", "10", "5.5", "0"]


@dataclass
class Outcome:
    """What invoicing an estimate through its deposits came to."""

    deposits: int
    vat_apart: dict[D, D] = field(default_factory=dict)  # per rate: the invoices' VAT less the estimate's
    nearest_taken: int = 0  # deposits asked (a percentage) that took the nearest amount
    refused: int = 0  # typed amounts refused, then asked as the nearest one offered


def invoiced(lines: list[dict[str, Any]], discount: dict[str, Any] | None, asks: list[tuple[str, D]]) -> Outcome:
    """The estimate of `lines`, then one deposit invoice per ask (a percentage
    of the total; or a share of it typed as an amount, asked again as the
    nearest amount offered when refused), then the final invoice; checked
    to add up to the estimate without VAT, exactly."""
    estimate = stored(lines, discount)
    total = D(estimate["totals"]["total"])
    taken: list[dict[str, Any]] = []
    outcome = Outcome(0)
    for kind, share in asks:
        left = total - sum((D(invoice["totals"]["total"]) for invoice in taken), D(0))
        if kind == "percentage":
            amount, problems = deposits.asked({"type": "percentage", "value": share}, total, "EUR")
            assert not problems
            amount = min(amount, left)
            if amount <= 0:
                continue
            invoice = issued(estimate, taken, amount)
            outcome.nearest_taken += D(invoice["totals"]["total"]) != amount
        else:
            amount = min((total * share / 100).quantize(D("0.01")), left)
            if amount <= 0:
                continue
            try:
                invoice = issued(estimate, taken, amount, exact=True)
            except InvalidInput:
                outcome.refused += 1
                within = credits.left(
                    Document.of(estimate).groups(), [g for i in taken for g in Document.of(i).groups()]
                )
                below, above = credits.nearest(amount, within, "EUR")
                offered = below if below is not None and below > 0 else above
                assert offered is not None, f"nothing near {amount} can be asked"
                invoice = issued(estimate, taken, offered, exact=True)
        assert D(invoice["totals"]["total"]) - amount in (D("-0.02"), D("-0.01"), D(0), D("0.01"), D("0.02"))
        taken.append(invoice)
    balance = final(estimate, taken)
    outcome.deposits = len(taken)

    assert sum((without_vat(document) for document in (*taken, balance)), D(0)) == without_vat(estimate)
    summed, expected = by_rate(*taken, balance), by_rate(estimate)
    assert {rate: base for rate, (base, _) in summed.items()} == {rate: base for rate, (base, _) in expected.items()}
    for rate, (_, tax) in summed.items():
        outcome.vat_apart[rate] = tax - expected[rate][1]
        assert abs(outcome.vat_apart[rate]) <= D("0.01") * len(taken), (rate, outcome)
    return outcome


@st.composite
def estimates(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    rates = draw(st.lists(st.sampled_from(RATES), min_size=1, max_size=3, unique=True))
    lines = [
        {
            "name": f"Ligne {i}",
            "quantity": f"{draw(st.decimals(1, 50, places=draw(st.integers(0, 2)))):f}",
            "unit_price": f"{draw(st.decimals(D('0.01'), 5000, places=2)):f}",
            "taxes": [{"name": "TVA", "rate": rate}],
        }
        for i, rate in enumerate([*rates, *draw(st.lists(st.sampled_from(rates), max_size=5))])
    ]
    subtotal = totals_of(lines, None, "EUR").subtotal
    discount = draw(
        st.one_of(
            st.none(),
            st.builds(lambda v: {"type": "percentage", "value": f"{v:f}"}, st.decimals(0, 50, places=2)),
            st.builds(lambda v: {"type": "fixed", "value": f"{v:f}"}, st.decimals(0, subtotal, places=2)),
        )
    )
    return lines, discount


@st.composite
def asks(draw: st.DrawFn) -> list[tuple[str, D]]:
    """One to three deposits: percentages summing to at most 100 (cut points
    in tenths of a percent), each asked as a percentage or typed as an amount."""
    count = draw(st.integers(1, 3))
    cuts = sorted(draw(st.lists(st.integers(1, 1000), min_size=count, max_size=count, unique=True)))
    shares = [D(b - a) / 10 for a, b in zip([0, *cuts], cuts, strict=False)]
    return [(draw(st.sampled_from(["percentage", "fixed"])), share) for share in shares]


@settings(max_examples=400, deadline=None)
@given(estimates(), asks())
def test_deposits_and_the_final_invoice_add_up_to_the_estimate(estimate, asked):
    """`invoiced` asserts it: the HT to the cent, the VAT per rate within a
    cent per deposit invoice. How often a cent stands apart, measured on
    20,000 estimates drawn alike (uniformly, not by hypothesis): on 19 % of
    them, 9.6 % of their rates (14 % with one deposit invoice, 24 % with
    three; two cents on 26 rates in 40,000), half of them with one taxed
    rate, where no cent can move; 45 % before deposits moved cents to
    settle each rate's VAT."""
    lines, discount = estimate
    invoiced(lines, discount, asked)


def test_what_a_credit_note_took_off_a_deposit_is_neither_deducted_nor_asked_again():
    """A deposit invoice credited in part asks only what is left of it: the
    final invoice deducts that, and a later deposit may ask the rest."""
    from invoicing.domain import credits
    from invoicing.domain.invoice import stored_groups

    estimate = tiling()
    first = issued(estimate, [], D("307.80"))
    took = [credits.Group(group.taxes, group.base / 2, group.tax / 2) for group in Document.of(first).groups()]
    credited = {**first, "credited": "153.90", "credited_groups": stored_groups(took)}

    deducted = deposits.deduction_lines([credited])

    assert [line["unit_price"] for line in deducted] == [
        f"-{group.base / 2:.2f}" for group in Document.of(first).groups()
    ]
    assert deposits.kept_total(credited) == D("153.90")
    later = deposits.parts(Document.of(estimate).groups(), [credited], D("153.90"), "EUR", exact=False)
    assert sum(part.base for part in later) == sum(group.base / 2 for group in Document.of(first).groups())
