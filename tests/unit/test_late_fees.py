"""Late fees as of a day (issue 6 §2): the periods owed, the amounts, and
catching up, as a table of cases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from invoicing.domain.late_fees import Policy, add_months, fees_due, next_fee_date, periods_due

pytestmark = pytest.mark.unit

DUE = date(2027, 1, 10)


def owed(policy: Policy, today: date, applied=(), unpaid="1000.00", currency="EUR", not_before=None):
    fees = fees_due(policy, DUE, set(applied), Decimal(unpaid), today, currency, not_before)
    return [(fee.period, f"{fee.amount:f}") for fee in fees]


CASES = [
    # (case, policy, today, already applied, unpaid, currency, expected fees)
    ("not yet overdue", Policy("fixed", Decimal(40), "once"), date(2027, 1, 10), (), "1000.00", "EUR", []),
    ("fixed once, the day after", Policy("fixed", Decimal(40), "once"), date(2027, 1, 11), (), "1000.00", "EUR",
     [("2027-01-11", "40.00")]),
    ("fixed once, months later: still once", Policy("fixed", Decimal(40), "once"), date(2027, 6, 1), (), "1000.00",
     "EUR", [("2027-01-11", "40.00")]),
    ("fixed monthly, 3 months, max 2", Policy("fixed", Decimal(15), "month", max_fees=2), date(2027, 4, 12), (),
     "1000.00", "EUR", [("2027-01-11", "15.00"), ("2027-02-11", "15.00")]),
    ("grace 10 days: nothing on day 10", Policy("fixed", Decimal(15), "month", grace_days=10), date(2027, 1, 20), (),
     "1000.00", "EUR", []),
    ("grace 10 days: the first on day 11", Policy("fixed", Decimal(15), "month", grace_days=10), date(2027, 1, 21),
     (), "1000.00", "EUR", [("2027-01-21", "15.00")]),
    ("percentage 1.5 %/month on 1 398.00", Policy("percentage", Decimal("1.5"), "month"), date(2027, 1, 11), (),
     "1398.00", "EUR", [("2027-01-11", "20.97")]),
    ("partly paid since: the second on what is left", Policy("percentage", Decimal("1.5"), "month"),
     date(2027, 2, 11), ("2027-01-11",), "898.00", "EUR", [("2027-02-11", "13.47")]),
    ("a sweep skipped 2 weeks catches up the week it missed", Policy("fixed", Decimal(5), "week"),
     date(2027, 1, 26), ("2027-01-11",), "1000.00", "EUR", [("2027-01-18", "5.00"), ("2027-01-25", "5.00")]),
    ("every 2 days", Policy("fixed", Decimal(1), "day", interval_count=2), date(2027, 1, 15), (), "10.00", "EUR",
     [("2027-01-11", "1.00"), ("2027-01-13", "1.00"), ("2027-01-15", "1.00")]),
    ("JPY: whole yen, half up", Policy("percentage", Decimal("1.5"), "month"), date(2027, 1, 11), (), "12345",
     "JPY", [("2027-01-11", "185")]),  # 185.175
    ("paid in full: none", Policy("fixed", Decimal(40), "once"), date(2027, 2, 1), (), "0.00", "EUR", []),
    ("a fixed fee finer than the yen is rounded to it", Policy("fixed", Decimal("500.5"), "once"), date(2027, 1, 11),
     (), "10000", "JPY", [("2027-01-11", "501")]),
    ("refunded on 2027-03-05 after being paid: nothing for the months paid", Policy("fixed", Decimal(5), "month"),
     date(2027, 4, 20), ("2027-01-11",), "100.00", "EUR", [("2027-03-11", "5.00"), ("2027-04-11", "5.00")]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "policy", "today", "applied", "unpaid", "currency", "expected"), CASES,
                         ids=[case[0] for case in CASES])  # fmt: skip
def test_the_fees_owed_on_a_day(case, policy, today, applied, unpaid, currency, expected):
    not_before = date(2027, 3, 5) if case.startswith("refunded") else None
    assert owed(policy, today, applied, unpaid, currency, not_before) == expected


def test_applied_fees_are_never_owed_again_and_the_next_date_moves_on():
    policy = Policy("fixed", Decimal(15), "month", max_fees=2)

    assert owed(policy, date(2027, 3, 1), applied=("2027-01-11", "2027-02-11")) == []
    assert next_fee_date(policy, DUE, set()) == date(2027, 1, 11)
    assert next_fee_date(policy, DUE, {"2027-01-11"}) == date(2027, 2, 11)
    assert next_fee_date(policy, DUE, {"2027-01-11", "2027-02-11"}) is None  # max reached: out of the index


def test_months_keep_their_day_or_the_last_one():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 1, 31), 2) == date(2027, 3, 31)  # from the first, never drifting
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    policy = Policy("fixed", Decimal(1), "month")
    assert periods_due(policy, date(2027, 1, 30), date(2027, 4, 1)) == ["2027-01-31", "2027-02-28", "2027-03-31"]
