"""Payment schedules add up (SPEC §6): percentages to 100 while editing,
fixed amounts to the total when the invoice is issued."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

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
