"""Payment schedules add up (SPEC §6): percentages to 100 while editing,
fixed amounts to the total when the invoice is issued."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.domain import schedule
from invoicing.domain.schedule import Instalment, draft_problems, issue_problems

pytestmark = pytest.mark.unit

JAN, FEB, MAR = date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)


def fields(problems):
    return [p.field for p in problems]


def test_percentages_must_add_up_to_100():
    assert draft_problems("percentage", [Instalment(JAN, D("30")), Instalment(FEB, D("70"))], "EUR", None) == []
    over = draft_problems("percentage", [Instalment(JAN, D("70")), Instalment(FEB, D("80"))], "EUR", None)
    assert fields(over) == ["payment_schedule.instalments"]
    assert "150" in over[0].message


def test_due_dates_go_forward_and_start_on_or_after_the_issue_date():
    backwards = [Instalment(FEB, D("50")), Instalment(JAN, D("50"))]
    assert fields(draft_problems("percentage", backwards, "EUR", None)) == ["payment_schedule.instalments.1.due_date"]
    early = [Instalment(JAN, D("100"))]
    assert fields(draft_problems("percentage", early, "EUR", FEB)) == ["payment_schedule.instalments.0.due_date"]


def test_fixed_amounts_have_the_currency_decimals_and_add_up_to_the_total_at_issue():
    amounts = [Instalment(JAN, D("500.00")), Instalment(FEB, D("400.00")), Instalment(MAR, D("498.00"))]
    assert draft_problems("fixed", amounts, "EUR", None) == []
    assert issue_problems("fixed", amounts, D("1398.00")) == []
    assert fields(issue_problems("fixed", amounts, D("1398.01"))) == ["payment_schedule.instalments"]
    assert fields(draft_problems("fixed", [Instalment(JAN, D("1.5"))], "JPY", None)) == [
        "payment_schedule.instalments.0.value"
    ]
    assert issue_problems("percentage", amounts, D("1")) == []


def test_percentage_instalments_are_rounded_and_the_last_takes_what_rounding_left():
    thirds = [
        schedule.Instalment(date(2026, 12, day), D(value)) for day, value in ((1, "33.33"), (2, "33.33"), (3, "33.34"))
    ]

    assert schedule.amounts("percentage", thirds, D("1398.00"), "EUR") == [D("465.95"), D("465.95"), D("466.10")]
    assert schedule.amounts("percentage", thirds, D("1000"), "JPY") == [D("333"), D("333"), D("334")]
    assert schedule.amounts("fixed", [schedule.Instalment(date(2026, 12, 1), D("10.00"))], D("10.00"), "EUR") == [
        D("10.00")
    ]
    assert schedule.amounts("percentage", [], D("10.00"), "EUR") == []


@given(
    total=st.decimals(min_value=0, max_value=10**9, places=2),
    cuts=st.lists(st.integers(min_value=1, max_value=9999), min_size=1, max_size=12),
)
def test_percentage_instalments_always_add_up_to_the_total(total, cuts):
    weights = [D(cut) for cut in cuts]
    percents = [(w * 100 / sum(weights)).quantize(D("0.01")) for w in weights[:-1]]
    percents.append(D(100) - sum(percents, D(0)))
    instalments = [schedule.Instalment(date(2026, 12, 1), p) for p in percents]

    assert sum(schedule.amounts("percentage", instalments, total, "EUR"), D(0)) == total
