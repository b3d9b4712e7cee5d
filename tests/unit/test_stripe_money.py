"""Amounts as Stripe's API takes them (docs.stripe.com/currencies), both ways."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicing.domain import payments as ledger
from invoicing.domain import stripe_money
from invoicing.domain.errors import Conflict, InvalidInput

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("1398.00", "EUR", 139_800),
        ("0.01", "EUR", 1),
        ("1398", "JPY", 1398),
        ("1398", "ISK", 139_800),  # zero-decimal, sent with two decimals of 0
        ("1398", "UGX", 139_800),
        ("1398.00", "MGA", 1398),  # two decimals for ISO, none for Stripe
        ("12.340", "KWD", 12_340),  # three decimals, the last 0
    ],
)
def test_amounts_go_to_stripe_and_come_back_unchanged(amount, currency, minor):
    assert stripe_money.to_stripe(Decimal(amount), currency) == minor
    assert stripe_money.from_stripe(minor, currency) == Decimal(amount)


@pytest.mark.parametrize(("amount", "currency"), [("1398.50", "MGA"), ("12.345", "KWD")])
def test_an_amount_stripe_cannot_charge_exactly_is_a_422_naming_the_field(amount, currency):
    with pytest.raises(InvalidInput) as refused:
        stripe_money.to_stripe(Decimal(amount), currency, "tip")

    assert refused.value.errors[0].field == "tip"


def test_a_tip_is_rounded_half_up_to_what_stripe_can_charge():
    assert ledger.tip_on(Decimal("419.40"), Decimal(5), stripe_money.step("EUR")) == Decimal("20.97")
    assert ledger.tip_on(Decimal("1398.00"), Decimal(5), stripe_money.step("MGA")) == Decimal(70)
    assert ledger.tip_on(Decimal("12.340"), Decimal(5), stripe_money.step("KWD")) == Decimal("0.62")


def test_an_online_charge_names_its_target_and_refuses_what_is_not_one():
    positions = [ledger.InstalmentPosition("ins_1", Decimal(500), Decimal(500)),
                 ledger.InstalmentPosition("ins_2", Decimal(500), Decimal(100))]  # fmt: skip
    step = stripe_money.step("EUR")

    charge = ledger.online_charge(Decimal(898), positions, "ins_2", Decimal(10), step)
    assert (charge.toward, charge.tip, charge.instalment_id, charge.total) == (400, 40, "ins_2", 440)
    assert ledger.online_charge(Decimal(898), positions, "balance", Decimal(0), step).toward == 898
    with pytest.raises(Conflict):
        ledger.online_charge(Decimal(898), positions, "ins_1", Decimal(0), step)  # paid since the page was shown
    with pytest.raises(InvalidInput):
        ledger.online_charge(Decimal(898), positions, "ins_9", Decimal(0), step)
