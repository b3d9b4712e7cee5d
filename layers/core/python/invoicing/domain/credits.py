"""What a credit note may take off an invoice, and how an amount, tax
included, becomes credit-note lines at the invoice's VAT rates. Pure.

An invoice is made of groups: its lines that carry the same taxes, with
their share of the discount (as the totals function groups them). A credit
note takes, in each group, at most the base and the VAT the invoice has not
credited yet, and only in groups the invoice has: no credit at a rate the
invoice never charged.

An amount tax included is shared over the groups pro rata to what each has
left (cent by cent, as the totals function shares a discount), then each
share is split into a base and its VAT so that ``base + round(base × rate)
= share``. Not every amount can be: at 20 %, a base of 0.42 makes 0.50 and
0.43 makes 0.52, so nothing makes 0.51. Shares a few cents apart are tried,
moving cents between groups; an amount no combination makes is refused,
with the nearest ones that can be made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple

from invoicing.domain.money import HUNDRED, ZERO, quantum, round_money
from invoicing.domain.totals import TaxAmount, spread

Taxes = tuple[tuple[str, Decimal], ...]  # a group's taxes: (name, rate), sorted; () for untaxed lines
SHIFT = 2  # units (cents) a share may move to make the amount reachable
# ... and, for a deposit invoice (`settled`), to leave each rate the VAT its base will be charged: over
# 3,000 random estimates, 2 cents left 474 with a rate a cent off that a split could settle, 10 left 23, 20 none
SETTLING_SHIFT = 20


class Group(NamedTuple):
    """A part of a document: its taxes, its base and its VAT."""

    taxes: Taxes
    base: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.base + self.tax


def groups(
    parts: Sequence[tuple[Taxes, Decimal]],
    discount: Decimal,
    breakdown: Sequence[TaxAmount],
    currency: str,
    deducted: Sequence[tuple[Taxes, Decimal]] = (),
) -> list[Group]:
    """The groups of a document from its lines' taxes and nets (`parts`, a
    pair a line): the lines by taxes, the discount spread over them as the
    totals function spreads it, and each group's VAT: each breakdown
    entry's tax shared over the groups that carry it, pro rata to their
    bases, so the groups' VAT adds up to the document's to the cent (a tax
    is rounded once, over all its lines). `Document.groups` reads them from
    a stored document."""
    nets: dict[Taxes, Decimal] = {}
    for key, net in parts:
        nets[key] = nets.get(key, ZERO) + net
    shares = spread(discount, nets, currency)
    bases = {key: net - shares[key] for key, net in nets.items()}
    for key, net in deducted:  # a final invoice's deposit deductions: outside the discount (domain.totals)
        bases[key] = bases.get(key, ZERO) + net
    vat = dict.fromkeys(bases, ZERO)
    for entry in breakdown:
        tax = (entry.name, entry.rate)
        owners = {key: base for key, base in bases.items() if tax in key}
        for key, part in _signed_spread(entry.tax, owners, currency).items():
            vat[key] += part
    return [Group(key, base, vat[key]) for key, base in bases.items()]


def _signed_spread(amount: Decimal, weights: Mapping[Taxes, Decimal], currency: str) -> dict[Taxes, Decimal]:
    if len(weights) == 1:
        return dict.fromkeys(weights, amount)
    positive = {key: max(weight, ZERO) for key, weight in weights.items()}
    if amount < 0:
        return {key: -part for key, part in spread(-amount, positive, currency).items()}
    return spread(amount, positive, currency)


def left(invoice: Sequence[Group], credited: Sequence[Group]) -> list[Group]:
    """What each of the invoice's groups has not been credited yet."""
    taken: dict[Taxes, Group] = {}
    for group in credited:
        before = taken.get(group.taxes, Group(group.taxes, ZERO, ZERO))
        taken[group.taxes] = before._replace(base=before.base + group.base, tax=before.tax + group.tax)
    return [
        group._replace(base=group.base - taken[group.taxes].base, tax=group.tax - taken[group.taxes].tax)
        if group.taxes in taken
        else group
        for group in invoice
    ]


def gross_of(base: Decimal, taxes: Taxes, currency: str) -> Decimal:
    """What a base comes to with its taxes, as the totals function rounds
    them: each tax on its own."""
    return base + sum((round_money(base * rate / HUNDRED, currency) for _, rate in taxes), ZERO)


def base_for(gross: Decimal, taxes: Taxes, currency: str) -> Decimal | None:
    """The base whose total with its taxes is exactly `gross`, None if none is."""
    rate = sum((rate for _, rate in taxes), ZERO)
    guess = round_money(gross * HUNDRED / (HUNDRED + rate), currency)
    unit = quantum(currency)
    for base in (guess, guess - unit, guess + unit, guess - 2 * unit, guess + 2 * unit):
        if base >= 0 and gross_of(base, taxes, currency) == gross:
            return base
    return None


def base_within(gross: Decimal, taxes: Taxes, currency: str) -> Decimal:
    """The largest base whose total with its taxes is at most `gross`."""
    rate = sum((rate for _, rate in taxes), ZERO)
    base = round_money(gross * HUNDRED / (HUNDRED + rate), currency) + quantum(currency)
    while base > 0 and gross_of(base, taxes, currency) > gross:
        base -= quantum(currency)
    return max(base, ZERO)


def split(
    amount: Decimal, within: Sequence[Group], currency: str, *, cap_gross: bool = True, settled: bool = False
) -> list[Decimal] | None:
    """Bases, one a group, whose totals with their taxes add up to `amount`
    exactly, each share at most a few cents from its pro rata part of what
    the groups have left, no base above what its group has left (nor, with
    `cap_gross`, its total above the group's). None when there are none.

    With `settled`, the cents move first so that what each group keeps is
    settled: its VAT is what its base left will be charged (the base's
    taxes, rounded), moving as far as SETTLING_SHIFT to find such a split. A
    deposit invoice takes them so: the final invoice then charges per rate
    the VAT the estimate has left, to the cent, wherever a split can."""
    unit = quantum(currency)
    weights = {i: group.gross for i, group in enumerate(within) if group.gross > 0}
    if not weights or amount <= 0:
        return None
    shares = spread(amount, weights, currency)
    # the shares add up to the amount: find a move for each whose moves add up to nothing,
    # at the least cost: (groups left unsettled, cents moved)
    Picked = tuple[tuple[int, int], list[tuple[int, Decimal]]]
    paths: dict[int, Picked] = {0: ((0, 0), [])}  # sum of moves → (cost, picks)
    reach = SETTLING_SHIFT if settled else SHIFT
    for i in sorted(weights):
        group = within[i]
        found: dict[int, Picked] = {}
        for move in range(-reach, reach + 1):
            gross = shares[i] + move * unit
            base = base_for(gross, group.taxes, currency) if gross >= 0 else None
            if base is None or base > group.base or (cap_gross and gross > group.gross):
                continue
            unsettled = settled and gross_of(group.base - base, group.taxes, currency) != group.gross - gross
            for total, ((left_unsettled, moved), picks) in paths.items():
                candidate = ((left_unsettled + unsettled, moved + abs(move)), [*picks, (i, base)])
                if total + move not in found or candidate[0] < found[total + move][0]:
                    found[total + move] = candidate
        paths = found
    if 0 not in paths:
        return None
    chosen = dict(paths[0][1])
    return [chosen.get(i, ZERO) for i in range(len(within))]


def nearest(amount: Decimal, within: Sequence[Group], currency: str) -> tuple[Decimal | None, Decimal | None]:
    """The nearest amounts below and above `amount` that split exactly, and
    that the groups have left."""
    unit = quantum(currency)
    most = sum((group.gross for group in within), ZERO)
    below = above = None
    for step in range(1, 6):
        if below is None and split(amount - step * unit, within, currency):
            below = amount - step * unit
        if above is None and amount + step * unit <= most and split(amount + step * unit, within, currency):
            above = amount + step * unit
    return below, above
