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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import product

from invoicing.domain.money import HUNDRED, ZERO, quantum, round_money
from invoicing.domain.totals import spread

Taxes = tuple[tuple[str, Decimal], ...]  # a group's taxes: (name, rate), sorted; () for untaxed lines
SHIFT = 2  # cents a share may move to make the amount reachable


@dataclass(frozen=True)
class Group:
    """A part of a document: its taxes, its base and its VAT."""

    taxes: Taxes
    base: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.base + self.tax


def groups(
    lines: Sequence[Mapping[str, object]], discount: Decimal, breakdown: Sequence[Mapping[str, str]], currency: str
) -> list[Group]:
    """The groups of a stored document: its lines (with their `net`) by
    taxes, the discount spread over them as the totals function spreads it,
    and each group's VAT: its breakdown entry's, when the tax is the group's
    alone (always, for lines of one tax each), else the group's own rounding."""
    nets: dict[Taxes, Decimal] = {}
    for line in lines:
        key = taxes_of(line)
        nets[key] = nets.get(key, ZERO) + Decimal(str(line["net"]))
    shares = spread(discount, nets, currency)
    owners: dict[tuple[str, Decimal], list[Taxes]] = {}
    for key in nets:
        for tax in key:
            owners.setdefault(tax, []).append(key)
    taxes_by_entry = {(entry["name"], Decimal(entry["rate"])): Decimal(entry["tax"]) for entry in breakdown}
    found = []
    for key, net in nets.items():
        base = net - shares[key]
        vat = sum(
            (
                taxes_by_entry[tax]
                if len(owners[tax]) == 1 and tax in taxes_by_entry
                else round_money(base * tax[1] / HUNDRED, currency)
                for tax in key
            ),
            ZERO,
        )
        found.append(Group(key, base, vat))
    return found


def taxes_of(line: Mapping[str, object]) -> Taxes:
    taxes = line.get("taxes") or []
    assert isinstance(taxes, list)
    return tuple(sorted((str(tax["name"]), Decimal(str(tax["rate"]))) for tax in taxes))


def left(invoice: Sequence[Group], credited: Sequence[Group]) -> list[Group]:
    """What each of the invoice's groups has not been credited yet."""
    taken: dict[Taxes, Group] = {}
    for group in credited:
        before = taken.get(group.taxes, Group(group.taxes, ZERO, ZERO))
        taken[group.taxes] = replace(before, base=before.base + group.base, tax=before.tax + group.tax)
    return [
        replace(group, base=group.base - taken[group.taxes].base, tax=group.tax - taken[group.taxes].tax)
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


def split(amount: Decimal, within: Sequence[Group], currency: str, *, capped: bool = True) -> list[Decimal] | None:
    """Bases, one a group, whose totals with VAT add up to `amount` exactly,
    each share close to its pro rata part of what the groups have left and,
    when `capped`, within what each has left. None when there are none."""
    unit = quantum(currency)
    weights = {i: group.gross for i, group in enumerate(within) if group.gross > 0}
    if not weights or amount <= 0:
        return None
    shares = spread(amount, weights, currency)
    order = sorted(weights)
    reach = SHIFT if len(order) <= 5 else 1  # 5**4 combinations at most, 3**n beyond
    shifts = sorted(range(-reach, reach + 1), key=abs)
    for moves in _moves(len(order) - 1, shifts):
        grosses = [shares[i] + move * unit for i, move in zip(order, moves, strict=False)]
        grosses.append(amount - sum(grosses, ZERO))
        bases = [base_for(gross, within[i].taxes, currency) for i, gross in zip(order, grosses, strict=True)]
        if any(base is None for base in bases):
            continue
        fits = all(
            gross >= 0 and (not capped or (gross <= within[i].gross and base is not None and base <= within[i].base))
            for i, gross, base in zip(order, grosses, bases, strict=True)
        )
        if fits:
            found = dict(zip(order, bases, strict=True))
            return [found.get(i) or ZERO for i in range(len(within))]
    return None


def _moves(count: int, shifts: list[int]) -> Iterator[tuple[int, ...]]:
    """Every way to move the first `count` shares, the smallest moves first."""
    return iter(sorted(product(shifts, repeat=count), key=lambda moves: (sum(map(abs, moves)), moves)))


def nearest(amount: Decimal, within: Sequence[Group], currency: str) -> tuple[Decimal | None, Decimal | None]:
    """The nearest amounts below and above `amount` that split exactly."""
    unit = quantum(currency)
    below = above = None
    for step in range(1, 6):
        if below is None and split(amount - step * unit, within, currency):
            below = amount - step * unit
        if above is None and split(amount + step * unit, within, currency):
            above = amount + step * unit
    return below, above
