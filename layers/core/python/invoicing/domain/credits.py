"""What a credit note may take off an invoice, and how an amount, tax
included, becomes credit-note lines at the invoice's VAT rates. Pure.

An amount tax included is shared over the invoice's tax groups pro rata to
what each weighs in its total (cent by cent, as the totals function shares
a discount), then each share is split into a base and its VAT so that
``base + round(base × rate) = share``. Not every amount can be: at 20 %,
a base of 0.42 makes 0.50 and 0.43 makes 0.52, so nothing makes 0.51. A
share that cannot be reached passes its cent to the next group; an amount
no group can absorb is refused with the nearest ones that can be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from invoicing.domain.money import HUNDRED, ZERO, quantum, round_money
from invoicing.domain.totals import spread


@dataclass(frozen=True)
class Group:
    """A part of an invoice: its taxes (none for the untaxed part), its base
    and its tax, as the invoice's breakdown says."""

    taxes: tuple[tuple[str, Decimal], ...]
    base: Decimal
    tax: Decimal

    @property
    def rate(self) -> Decimal:
        return sum((rate for _, rate in self.taxes), ZERO)


def gross_of(base: Decimal, rate: Decimal, currency: str) -> Decimal:
    """What a base comes to with its VAT, as the totals function rounds it."""
    return base + round_money(base * rate / HUNDRED, currency)


def base_for(gross: Decimal, rate: Decimal, currency: str) -> Decimal | None:
    """The base whose total with VAT is exactly `gross`, None if none is."""
    guess = round_money(gross * HUNDRED / (HUNDRED + rate), currency)
    unit = quantum(currency)
    for base in (guess, guess - unit, guess + unit):
        if base >= 0 and gross_of(base, rate, currency) == gross:
            return base
    return None


def split(amount: Decimal, groups: Sequence[Group], currency: str) -> list[Decimal] | None:
    """The bases, one a group, whose totals with VAT add up to `amount`
    exactly; None when no such bases exist in whole cents."""
    weights = {i: group.base + group.tax for i, group in enumerate(groups)}
    shares = spread(amount, weights, currency)
    bases: list[Decimal] = []
    carry = ZERO
    unit = quantum(currency)
    for i, group in enumerate(groups):
        share = shares[i] + carry
        base = base_for(share, group.rate, currency)
        if base is None:
            # one cent less here, one more in the next group
            base = base_for(share - unit, group.rate, currency)
            if base is None:
                return None
            carry = unit
        else:
            carry = ZERO
        bases.append(base)
    return bases if carry == ZERO else None


def nearest(amount: Decimal, groups: Sequence[Group], currency: str) -> tuple[Decimal | None, Decimal | None]:
    """The nearest amounts below and above `amount` that split exactly."""
    unit = quantum(currency)
    below = above = None
    for step in range(1, 4):
        if below is None and amount - step * unit > 0 and split(amount - step * unit, groups, currency):
            below = amount - step * unit
        if above is None and split(amount + step * unit, groups, currency):
            above = amount + step * unit
    return below, above
