"""Currencies and the exact formatting of amounts and rates."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from invoicing.domain.money import (
    UnknownCurrency,
    format_amount,
    format_rate,
    has_at_most_decimals,
    minor_unit,
    round_money,
)

pytestmark = pytest.mark.unit


def test_minor_units_follow_iso_4217():
    assert [minor_unit(c) for c in ("EUR", "USD", "JPY", "KWD", "CLF")] == [2, 2, 0, 3, 4]
    with pytest.raises(UnknownCurrency):
        minor_unit("XYZ")


def test_rounding_is_half_up_at_the_minor_unit():
    assert round_money(D("0.125"), "EUR") == D("0.13")
    assert round_money(D("0.124999"), "EUR") == D("0.12")
    assert round_money(D("2.5"), "JPY") == D("3")


def test_amounts_are_plain_strings_with_the_currency_decimals():
    assert format_amount(D("1E+3"), "EUR") == "1000.00"
    assert format_amount(D("5"), "JPY") == "5"
    assert format_amount(D("0.1") + D("0.2"), "EUR") == "0.30"


def test_rates_are_the_shortest_plain_string():
    assert [format_rate(D(r)) for r in ("20", "20.00", "5.5", "5.50", "2.1", "0", "1E+1")] == [
        "20",
        "20",
        "5.5",
        "5.5",
        "2.1",
        "0",
        "10",
    ]


def test_decimal_places_are_counted_on_the_value_not_the_notation():
    assert has_at_most_decimals(D("1.230"), 2)
    assert has_at_most_decimals(D("1E+3"), 0)
    assert not has_at_most_decimals(D("1.001"), 2)
