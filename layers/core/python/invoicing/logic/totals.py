"""Totals as the API gives them (SPEC §5): the one totals function of
domain.totals fed from stored lines or from the editor's request, and its
result as decimal strings. The totals function (POST /totals, every
keystroke) imports this module and the models only: no store, no clock."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from invoicing.domain.errors import FieldError, InvalidInput
from invoicing.domain.money import exact, format_amount, format_rate, has_at_most_decimals, minor_unit
from invoicing.domain.totals import Discount, Line, Tax, Totals, compute_totals
from invoicing.models.invoices import LineIn, TotalsRequest


def totals_of(lines: list[dict[str, Any]], discount: dict[str, Any] | None, currency: str) -> Totals:
    """The one totals function, fed from wire-shaped lines (strings or Decimals).
    Lines carrying `deposit_invoice_id` are a final invoice's deposit
    deductions (domain.totals, rule 5)."""
    taxes_seen: dict[tuple[Any, ...], tuple[Tax, ...]] = {}  # lines share their taxes: build each set once

    def taxes_of(line: dict[str, Any]) -> tuple[Tax, ...]:
        given = line.get("taxes") or ()
        key = tuple((tax["name"], str(tax["rate"]), bool(tax.get("inclusive"))) for tax in given)
        if key not in taxes_seen:
            taxes_seen[key] = tuple(Tax(name, exact(rate), inclusive) for name, rate, inclusive in key)
        return taxes_seen[key]

    built = [
        Line(
            quantity=exact(line.get("quantity", 1)),
            unit_price=exact(line["unit_price"]),
            discount=_discount(line.get("discount")),
            taxes=taxes_of(line),
        )
        for line in lines
    ]
    deductions = [i for i, line in enumerate(lines) if line.get("deposit_invoice_id")]
    if deductions:
        return _with_deductions(built, deductions, _discount(discount), currency)
    return compute_totals(built, _discount(discount), currency)


def _with_deductions(lines: list[Line], deductions: list[int], discount: Discount | None, currency: str) -> Totals:
    """The totals with the lines at `deductions` (their indexes) as deductions.
    compute_totals takes them after the other lines: their nets, and the
    lines named in its errors, are put back in the lines' order (callers
    zip the nets with their lines)."""
    taken = set(deductions)
    order = [i for i in range(len(lines)) if i not in taken] + deductions
    ordinary = order[: len(lines) - len(deductions)]
    try:
        totals = compute_totals([lines[i] for i in ordinary], discount, currency, [lines[i] for i in deductions])
    except InvalidInput as error:
        raise InvalidInput([_renumbered(problem, order) for problem in error.errors]) from None
    if order == list(range(len(lines))):  # the deductions last, as a final invoice is made
        return totals
    nets = list(totals.line_nets)
    for index, net in zip(order, totals.line_nets, strict=True):
        nets[index] = net
    return replace(totals, line_nets=tuple(nets))


def _renumbered(problem: FieldError, order: list[int]) -> FieldError:
    """`lines.{p}.…` of the p-th line compute_totals was given, as the line it is."""
    head, _, rest = problem.field.partition(".")
    if head != "lines":
        return problem
    index, dot, tail = rest.partition(".")
    return problem._replace(field=f"lines.{order[int(index)]}{dot}{tail}")


def totals_view(totals: Totals) -> dict[str, Any]:
    currency = totals.currency
    return {
        "subtotal": format_amount(totals.subtotal, currency),
        "discount": format_amount(totals.discount, currency),
        "tax_breakdown": [
            {
                "name": entry.name,
                "rate": format_rate(entry.rate),
                "base": format_amount(entry.base, currency),
                "tax": format_amount(entry.tax, currency),
            }
            for entry in totals.tax_breakdown
        ],
        "tax_total": format_amount(totals.tax_total, currency),
        "total": format_amount(totals.total, currency),
        # each net is already in the currency's minor units (domain.totals rounds it)
        "line_nets": [f"{net:f}" for net in totals.line_nets],
    }


def preview(request: TotalsRequest) -> dict[str, Any]:
    """`POST /totals`: stateless, so lines must carry their own prices. The
    editor's every keystroke: the domain's lines are built straight from the
    request's models (no dict in between, each set of taxes built once)."""
    taxes_seen: dict[tuple[Any, ...], tuple[Tax, ...]] = {}

    def taxes_of(line: LineIn) -> tuple[Tax, ...]:
        given = line.taxes or ()
        key = tuple([(tax.name, tax.rate, tax.inclusive) for tax in given])
        if key not in taxes_seen:  # 20 and 20.0 are one rate: the first written is kept, as the breakdown does
            taxes_seen[key] = tuple(Tax(tax.name, tax.rate, tax.inclusive) for tax in given)
        return taxes_seen[key]

    problems: list[FieldError] = []
    fixed: list[tuple[str, dict[str, Any] | None]] = []  # fixed discounts: amounts of the currency
    lines: list[Line] = []
    deductions: list[int] = []  # a final invoice's deposit deductions, by index
    for i, line in enumerate(request.lines):  # one pass: the editor sends up to 1,000 lines a keystroke
        if line.deposit_invoice_id is not None:
            deductions.append(i)
        discount = None
        if line.discount:
            discount = Discount(line.discount.type, line.discount.value)
            if discount.type == "fixed":
                fixed.append((f"lines.{i}.discount.value", {"type": "fixed", "value": discount.value}))
        if line.unit_price is None:
            problems.append(FieldError(f"lines.{i}.unit_price", "required to compute totals"))
            continue
        lines.append(Line(line.quantity, line.unit_price, discount, taxes_of(line)))
    if request.discount and request.discount.type == "fixed":
        fixed.append(("discount.value", {"type": "fixed", "value": request.discount.value}))
    problems += money_problems(fixed, request.currency)
    if problems:
        raise InvalidInput(problems)
    discount = Discount(request.discount.type, request.discount.value) if request.discount else None
    if deductions:
        return totals_view(_with_deductions(lines, deductions, discount, request.currency))
    return totals_view(compute_totals(lines, discount, request.currency))


def _discount(data: dict[str, Any] | None) -> Discount | None:
    if not data:
        return None
    return Discount(data["type"], Decimal(str(data["value"])))


def money_problems(discounts: list[tuple[str, dict[str, Any] | None]], currency: str) -> list[FieldError]:
    """Fixed discounts are amounts of the currency: no more decimals than it
    has. `discounts` pairs each discount with the field it came from."""
    decimals = minor_unit(currency)
    return [
        FieldError(field, f"{currency} amounts have at most {decimals} decimals")
        for field, value in discounts
        if value and value["type"] == "fixed" and not has_at_most_decimals(Decimal(str(value["value"])), decimals)
    ]


def discounts_of(
    lines: list[dict[str, Any]], discount: dict[str, Any] | None
) -> list[tuple[str, dict[str, Any] | None]]:
    """The discounts of stored lines and of the document, by field."""
    return [
        *((f"lines.{i}.discount.value", line.get("discount")) for i, line in enumerate(lines)),
        ("discount.value", discount),
    ]
