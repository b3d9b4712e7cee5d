"""Late fees (SPEC §6, §9): which periods of lateness an invoice owes a fee
for on a given day, and how much.

Pure, and `today` is an argument: the scheduled sweep passes its event's
date, the tests any date. Periods are named by the day they begin, so a fee
is applied at most once per period however often the sweep runs, and a
sweep that did not run for a while catches up every period it missed (up to
`max_fees`).

The first period begins the day after the grace: an invoice due on the 10th
with 10 days of grace owes its first fee from the 21st. A percentage fee is
the rate times the unpaid part of the invoice itself, never of the fees
already charged (no interest on interest: C. civ. art. 1343-2).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from invoicing.domain.money import round_money

ZERO = Decimal(0)
MOST_FEES = 1000  # per invoice, whatever the policy: entries live on the invoice's item


class Policy(NamedTuple):
    kind: str  # "fixed" | "percentage"
    value: Decimal  # the flat amount, or the rate in percent
    interval: str  # "once" | "day" | "week" | "month"
    interval_count: int = 1
    grace_days: int = 0
    max_fees: int | None = None


class Fee(NamedTuple):
    period: str  # ISO date the period begins: its key
    amount: Decimal


def period_start(policy: Policy, due_date: date, index: int) -> date:
    """The day period `index` (0, 1, …) begins."""
    first = due_date + timedelta(days=policy.grace_days + 1)
    step = index * policy.interval_count
    if policy.interval == "day":
        return first + timedelta(days=step)
    if policy.interval == "week":
        return first + timedelta(weeks=step)
    if policy.interval == "month":
        return add_months(first, step)
    return first  # "once": one period


def periods_due(policy: Policy, due_date: date, today: date) -> list[str]:
    """Every period begun by `today`, oldest first, at most `max_fees`
    (counting those waived)."""
    limit = _limit(policy)
    found = []
    index = 0
    while index < limit:
        start = period_start(policy, due_date, index)
        if start > today:
            break
        found.append(start.isoformat())
        index += 1
    return found


def fees_due(
    policy: Policy,
    due_date: date,
    applied: set[str],
    unpaid: Decimal,
    today: date,
    currency: str,
    not_before: date | None = None,
) -> list[Fee]:
    """The fees to apply today: one per begun period not applied yet. None
    once nothing of the invoice is unpaid (a payment that clears it stops
    the fees); none for the periods begun before `not_before` (while it was
    paid, before a refund made it due again)."""
    amount = fee_amount(policy, unpaid, currency)
    room = _limit(policy) - len(applied)  # at most max_fees on the invoice, whatever date they ran from
    if amount <= 0 or room <= 0:
        return []
    waived = not_before.isoformat() if not_before else ""
    return [Fee(period, amount) for period in periods_due(policy, due_date, today)
            if period not in applied and period >= waived][:room]  # fmt: skip


def fee_amount(policy: Policy, unpaid: Decimal, currency: str) -> Decimal:
    """One fee on `unpaid` (what is unpaid of the invoice itself): the flat
    value, or the rate of it; nothing once nothing is unpaid."""
    if unpaid <= 0 or policy.value <= 0:
        return ZERO
    return round_money(policy.value if policy.kind == "fixed" else unpaid * policy.value / 100, currency)


def next_fee_date(policy: Policy, due_date: date, applied: set[str], not_before: date | None = None) -> date | None:
    """The day the next fee not yet applied becomes due; None when every
    fee the policy allows has been applied (or waived)."""
    limit = _limit(policy)
    if len(applied) >= limit:
        return None
    index = 0
    while index < limit:
        start = period_start(policy, due_date, index)
        if start.isoformat() not in applied and (not_before is None or start >= not_before):
            return start
        index += 1
    return None


def _limit(policy: Policy) -> int:
    if policy.interval == "once":
        return 1
    return min(policy.max_fees or MOST_FEES, MOST_FEES)


def add_months(day: date, months: int) -> date:
    """`day` plus `months`, the day of the month clamped (31 Jan + 1 = 28 or 29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
