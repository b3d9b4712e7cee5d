"""Money: currencies and their minor units, exact rounding, formatting.

Amounts are `Decimal`s, always. A currency's minor unit (EUR 2, JPY 0,
KWD 3) decides where amounts are rounded, half-up as French accountants and
EN 16931 do.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal
from functools import cache

# ISO 4217 active codes whose minor unit is not 2. Every other code in
# CURRENCIES has two decimals.
_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}

CURRENCIES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV
    BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK
    DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL
    HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
    LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR
    MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP
    TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG
    """.split()
)

# Enough digits that no product of bounded inputs is ever rounded by the
# context: quantities and prices are limited to 12 digits and 6 decimals each.
PRECISION = 60
# Handed to each rounding: no context entered and left each time (the
# totals of 1,000 lines round 2,000 amounts; localcontext was a third of it).
HALF_UP = Context(prec=PRECISION, rounding=ROUND_HALF_UP)
_DOWN = Context(prec=PRECISION, rounding=ROUND_DOWN)

HUNDRED = Decimal(100)
ZERO = Decimal(0)


class UnknownCurrency(ValueError):
    pass


def exact(value: object) -> Decimal:
    """A Decimal as it is; anything else (a string, an int, a JSON number) through its text,
    never a float's binary value."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def minor_unit(currency: str) -> int:
    """Number of decimals of `currency` (EUR 2, JPY 0)."""
    if currency not in CURRENCIES:
        raise UnknownCurrency(currency)
    return _MINOR_UNITS.get(currency, 2)


@cache
def quantum(currency: str) -> Decimal:
    """The smallest amount of `currency`: 0.01 for EUR, 1 for JPY."""
    return Decimal(1).scaleb(-minor_unit(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit."""
    return amount.quantize(quantum(currency), context=HALF_UP)


def floor_money(amount: Decimal, currency: str) -> Decimal:
    """Round towards zero to the currency's minor unit."""
    return amount.quantize(quantum(currency), context=_DOWN)


def has_at_most_decimals(value: Decimal, decimals: int) -> bool:
    """True when `value` needs no more than `decimals` decimals (1.230 needs 2)."""
    return value == value.quantize(Decimal(1).scaleb(-decimals), context=_DOWN)


def format_amount(amount: Decimal, currency: str) -> str:
    """The wire format: a plain decimal string with the currency's decimals."""
    return f"{round_money(amount, currency):f}"


def format_rate(rate: Decimal) -> str:
    """A percentage as the shortest plain string: 20, 5.5, 2.1, 0."""
    if rate == rate.to_integral_value():
        return f"{rate.to_integral_value():f}"
    return f"{rate.normalize():f}"
