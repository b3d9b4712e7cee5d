"""The totals of an invoice: one pure function, used for the editor preview,
the stored invoice, the PDF and the amounts charged through Stripe.

The rules (SPEC §4, EN 16931):

1. Each line: ``quantity × unit_price`` minus the line discount, rounded
   half-up to the currency's minor unit. When taxes are inclusive, the
   amount includes them: lines whose prices include the same taxes are
   converted together — their total divided by ``1 + Σ inclusive rates``,
   rounded once (once per line would lose a cent every few lines) — and the
   net is shared back over them cent by cent. ``subtotal = Σ line nets``.
2. The invoice discount (a percentage of the subtotal, rounded, or a fixed
   amount) is a document-level allowance: it is spread over the groups of
   lines that share the same taxes, pro rata to their nets, cent by cent
   (largest remainder), so it never makes a base negative and the parts add up
   exactly to the discount.
3. Per tax (name and rate): ``base = Σ nets of the lines carrying it, after
   their share of the discount``; ``tax = round(base × rate)``.
4. ``tax_total = Σ breakdown taxes``; ``total = subtotal − discount +
   tax_total``. Nothing is ever computed twice in two ways, so no cent can
   stand between the lines and the total.
5. A final invoice's deductions (the deposit invoices it takes off, SPEC
   §11) are lines outside the discount: it is computed on and spread over
   the other lines only, and each deduction's net goes to its taxes' bases
   as it is. The discount was granted on the estimate's lines, not on what
   was paid towards them: so the final invoice's discount and bases are
   the estimate's, less the deposits' bases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Literal, NamedTuple, TypeVar

from invoicing.domain.errors import FieldError, InvalidInput
from invoicing.domain.money import HALF_UP, HUNDRED, PRECISION, ZERO, quantum, round_money

DiscountType = Literal["percentage", "fixed"]
K = TypeVar("K", bound="tuple[object, ...] | int")


class Tax(NamedTuple):
    name: str
    rate: Decimal  # a percentage: 20 for 20 %
    inclusive: bool = False

    @property
    def key(self) -> tuple[str, Decimal]:
        return (self.name, self.rate)


class Discount(NamedTuple):
    type: DiscountType
    value: Decimal  # a percentage, or an amount in the invoice's currency


class Line(NamedTuple):
    """A line as the totals see it. The editor sends up to 1,000 a
    keystroke: a named tuple is built in 0.4 µs, a frozen dataclass in
    1.1 µs (measured on Python 3.12)."""

    quantity: Decimal
    unit_price: Decimal
    discount: Discount | None = None
    taxes: tuple[Tax, ...] = ()


class TaxAmount(NamedTuple):
    name: str
    rate: Decimal
    base: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    currency: str
    line_nets: tuple[Decimal, ...]
    subtotal: Decimal
    discount: Decimal
    tax_breakdown: tuple[TaxAmount, ...]
    tax_total: Decimal
    total: Decimal


def compute_totals(
    lines: tuple[Line, ...] | list[Line], discount: Discount | None, currency: str, deductions: Sequence[Line] = ()
) -> Totals:
    """Totals of an invoice or a preview. `deductions` are a final invoice's
    deposit deductions (rule 5); their nets follow the lines' in
    `line_nets`, and a field named in an error counts them after the lines.
    Raises `InvalidInput` naming the field when a discount exceeds what it
    applies to. Long because it is the editor's every keystroke: one pass
    over the lines for each step, no call a line where none is needed."""
    with localcontext(prec=PRECISION):
        errors: list[FieldError] = []
        unit = quantum(currency)
        amounts = [
            # most lines have no discount: rounded here, without a call (the editor sends 1,000 lines)
            (line.quantity * line.unit_price).quantize(unit, context=HALF_UP)
            if line.discount is None
            else _line_amount(line, currency, i, errors)
            for i, line in enumerate(lines)
        ]
        # lines usually share one tuple of taxes: its group and its inclusive taxes are read once
        shared: dict[int, tuple[GroupKey, GroupKey]] = {}
        keys: list[tuple[GroupKey, GroupKey]] = []  # each line's group and inclusive taxes
        for line in lines:
            pair = shared.get(id(line.taxes))
            if pair is None:
                pair = shared[id(line.taxes)] = (taxes_key(line.taxes), _inclusive_key(line))
            keys.append(pair)
        nets = _nets(lines, amounts, [inclusive for _group, inclusive in keys], currency)
        groups: dict[GroupKey, Decimal] = {}
        for (key, _inclusive), net in zip(keys, nets, strict=True):
            groups[key] = groups.get(key, ZERO) + net
        subtotal = sum(nets, ZERO)
        invoice_discount = _discount_amount(discount, subtotal, currency, "discount", errors)
        deducted = _deduction_nets(deductions, len(lines), currency, errors) if deductions else []
        if errors:
            raise InvalidInput(errors)

        discounts = spread(invoice_discount, groups, currency)
        bases: dict[tuple[str, Decimal], Decimal] = {}
        for key, net in groups.items():
            for name, rate in key:
                bases[(name, rate)] = bases.get((name, rate), ZERO) + net - discounts[key]
        if deductions:  # after the spread: the discount never reaches them (rule 5)
            for deduction, net in zip(deductions, deducted, strict=True):
                for name, rate in taxes_key(deduction.taxes):
                    bases[(name, rate)] = bases.get((name, rate), ZERO) + net
            nets += deducted
            subtotal += sum(deducted, ZERO)
        breakdown = tuple(
            TaxAmount(name, rate, base, round_money(base * rate / HUNDRED, currency))
            for (name, rate), base in sorted(bases.items(), key=lambda kv: (-kv[0][1], kv[0][0]))
        )
        tax_total = sum((entry.tax for entry in breakdown), ZERO)
        return Totals(
            currency=currency,
            line_nets=tuple(nets),
            subtotal=subtotal,
            discount=invoice_discount,
            tax_breakdown=breakdown,
            tax_total=tax_total,
            total=subtotal - invoice_discount + tax_total,
        )


GroupKey = tuple[tuple[str, Decimal], ...]


def taxes_key(taxes: Sequence[Tax]) -> GroupKey:
    """Taxes as (name, rate), sorted: lines carrying the same taxes share the
    invoice discount as one group (and credit notes credit them as one)."""
    return tuple(sorted(tax.key for tax in taxes))


def _inclusive_key(line: Line) -> GroupKey:
    """The taxes a line's price includes (none, mostly)."""
    return tuple(sorted(tax.key for tax in line.taxes if tax.inclusive))


def _nets(lines: Sequence[Line], amounts: list[Decimal], inclusive: list[GroupKey], currency: str) -> list[Decimal]:
    """Each line's net. Lines whose prices include the same taxes
    (`inclusive`, line by line) are converted together — their total
    divided by 1 + Σ inclusive rates, rounded once — and the net shared
    back over them cent by cent."""
    nets = list(amounts)
    by_inclusive: dict[GroupKey, list[int]] = {}
    for index, key in enumerate(inclusive):
        if key:
            by_inclusive.setdefault(key, []).append(index)
    for key, indexes in by_inclusive.items():
        rate = sum((rate for _name, rate in key), ZERO)
        total = sum((amounts[i] for i in indexes), ZERO)
        net = round_money(total * HUNDRED / (HUNDRED + rate), currency)
        shares = spread(net, {i: amounts[i] for i in indexes}, currency)
        for i in indexes:
            nets[i] = shares[i]
    return nets


def _deduction_nets(deductions: Sequence[Line], first: int, currency: str, errors: list[FieldError]) -> list[Decimal]:
    """The deductions' nets, by the rules of any line (they are numbered
    from `first` in errors), converted apart from the other lines: a
    deduction must not move a cent of theirs."""
    amounts = [_line_amount(line, currency, first + i, errors) for i, line in enumerate(deductions)]
    return _nets(deductions, amounts, [_inclusive_key(line) for line in deductions], currency)


def _line_amount(line: Line, currency: str, index: int, errors: list[FieldError]) -> Decimal:
    gross = line.quantity * line.unit_price
    if line.discount is not None:  # the field named only when there is one (the editor sends 1,000 lines)
        gross -= _discount_amount(line.discount, gross, currency, f"lines.{index}.discount", errors, exact=True)
    return round_money(gross, currency)


def _discount_amount(
    discount: Discount | None,
    amount: Decimal,
    currency: str,
    field: str,
    errors: list[FieldError],
    *,
    exact: bool = False,
) -> Decimal:
    """The discount on `amount`: a percentage of it (rounded unless `exact`,
    since a line rounds once, after its discount) or a fixed value, which may
    not exceed it."""
    if discount is None:
        return ZERO
    if discount.type == "percentage":
        value = amount * discount.value / HUNDRED
        return value if exact else round_money(value, currency)
    if discount.value > amount:
        errors.append(
            FieldError(f"{field}.value", f"the discount ({discount.value}) exceeds the amount it applies to ({amount})")
        )
        return ZERO
    return discount.value


def spread(amount: Decimal, weights: Mapping[K, Decimal], currency: str) -> dict[K, Decimal]:
    """Split `amount` over `weights` pro rata, in whole minor units: each
    gets the floor of its exact share, and the units left go to the largest
    remainders (ties broken by key, so the result does not depend on the
    order of the lines). No share exceeds its weight when `amount` does not
    exceed their sum."""
    unit = quantum(currency)
    total = sum(weights.values(), ZERO)
    if not amount or not total:
        return dict.fromkeys(weights, ZERO * unit)  # nothing, in minor units: 0.00
    amount_units, total_units = int(amount / unit), int(total / unit)
    floors: dict[K, int] = {}
    remainders: dict[K, int] = {}
    for key, weight in weights.items():
        floors[key], remainders[key] = divmod(amount_units * int(weight / unit), total_units)
    left = amount_units - sum(floors.values())
    for key in sorted(weights, key=lambda k: (-remainders[k], k))[:left]:
        floors[key] += 1
    return {key: units * unit for key, units in floors.items()}
