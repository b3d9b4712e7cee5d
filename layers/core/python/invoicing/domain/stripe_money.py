"""Amounts as Stripe's API takes them, which is not always ISO 4217's minor
unit (docs.stripe.com/currencies): some currencies are zero-decimal for
Stripe though ISO gives them two (MGA), some keep two decimals in the API
that must be 00 (ISK, UGX), and three-decimal currencies must end in 0.
Both ways go through here: what the system asks Stripe to charge, and what
Stripe's events say it received."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from invoicing.domain.errors import InvalidInput
from invoicing.domain.money import quantum

ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF".split())
WHOLE_IN_TWO_DECIMALS = frozenset({"ISK", "UGX"})  # sent with two decimals, both 0
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})  # the last decimal must be 0


def exponent(currency: str) -> int:
    """How many decimals Stripe's integer amounts carry for `currency`."""
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


def step(currency: str) -> Decimal:
    """The smallest amount Stripe charges exactly in `currency` (never finer than ISO's)."""
    if currency in ZERO_DECIMAL or currency in WHOLE_IN_TWO_DECIMALS:
        stripe_step = Decimal(1)
    else:
        stripe_step = Decimal("0.01")
    return max(stripe_step, quantum(currency))


def chargeable(amount: Decimal, currency: str) -> bool:
    return amount % step(currency) == 0


def rounded(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to what Stripe can charge (a tip, say)."""
    return amount.quantize(step(currency), rounding=ROUND_HALF_UP)


def to_stripe(amount: Decimal, currency: str, field: str = "amount") -> int:
    """Stripe's integer for `amount`: 12.34 EUR → 1234, 1234 JPY → 1234,
    1398 ISK → 139800. An amount Stripe cannot charge exactly (1398.50 MGA)
    is a 422 naming `field`."""
    if not chargeable(amount, currency):
        raise InvalidInput.of(field, f"Stripe charges {currency} in steps of {step(currency)}: {amount} is not one")
    return int(amount.scaleb(exponent(currency)))


def from_stripe(minor: int, currency: str) -> Decimal:
    """The amount a Stripe integer stands for."""
    return Decimal(minor).scaleb(-exponent(currency))
