"""Payment schedules (SPEC §6): instalments that must add up to the total.

What can be checked while the draft is edited is checked at every write
(percentages add up to 100, dates in order, amounts in the currency's
decimals); fixed amounts can only match the total once it is final, so that
is checked when the invoice is issued.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from invoicing.domain.errors import FieldError
from invoicing.domain.money import HUNDRED, has_at_most_decimals, minor_unit, round_money

FIELD = "payment_schedule.instalments"


class Instalment(NamedTuple):
    due_date: date
    value: Decimal  # a percentage of the total, or an amount


def draft_problems(
    kind: str, instalments: Sequence[Instalment], currency: str, issue_date: date | None, due_date: date | None = None
) -> list[FieldError]:
    """What is wrong with a schedule as far as the draft says: percentages
    that do not add up to 100, amounts with too many decimals, dates out of
    order, before the issue date or after the invoice's due date (SPEC
    §6.2: the due date is the last day anything is owed, so that overdue,
    late fees and reminders can follow the earliest unpaid instalment)."""
    problems = []
    if kind == "percentage":
        total = sum((i.value for i in instalments), Decimal(0))
        if total != HUNDRED:
            problems.append(FieldError(FIELD, f"percentages add up to {total}, not 100"))
    else:
        decimals = minor_unit(currency)
        problems += [
            FieldError(f"{FIELD}.{n}.value", f"{currency} amounts have at most {decimals} decimals")
            for n, instalment in enumerate(instalments)
            if not has_at_most_decimals(instalment.value, decimals)
        ]
    for n in range(1, len(instalments)):
        if instalments[n].due_date < instalments[n - 1].due_date:
            problems.append(FieldError(f"{FIELD}.{n}.due_date", "before the previous instalment's due date"))
    if issue_date is not None and instalments and instalments[0].due_date < issue_date:
        problems.append(FieldError(f"{FIELD}.0.due_date", "before the issue date"))
    if due_date is not None:
        problems += [
            FieldError(
                f"{FIELD}.{n}.due_date", f"after the invoice's due date ({due_date.isoformat()}): move one or the other"
            )
            for n, instalment in enumerate(instalments)
            if instalment.due_date > due_date
        ]
    return problems


def issue_problems(kind: str, instalments: Sequence[Instalment], total: Decimal) -> list[FieldError]:
    """At issue time: fixed instalments add up to the invoice's total."""
    if kind != "fixed":
        return []
    scheduled = sum((i.value for i in instalments), Decimal(0))
    if scheduled != total:
        return [FieldError(FIELD, f"the instalments add up to {scheduled}, not the total {total}")]
    return []


def amounts(kind: str, instalments: Sequence[Instalment], total: Decimal, currency: str) -> list[Decimal]:
    """What each instalment asks for. Percentages are rounded to the
    currency, and the last instalment takes what rounding left, so the
    amounts always add up to the total; fixed amounts are what they say."""
    if kind != "percentage":
        return [i.value for i in instalments]
    shares = [round_money(total * i.value / HUNDRED, currency) for i in instalments[:-1]]
    return [*shares, total - sum(shares, Decimal(0))] if instalments else []


def next_due_date(instalments: Sequence[tuple[date, bool]], due_date: date) -> date:
    """The day the next payment is due: the earliest unpaid instalment's
    (`(due date, paid)` pairs), else the invoice's own due date."""
    return next((day for day, paid in instalments if not paid), due_date)


def less_credited(amounts: Sequence[Decimal], credited: Decimal) -> list[Decimal]:
    """What each instalment still asks once credit notes took `credited` off
    the invoice: from the last instalment back, as a price reduction reduces
    what is asked last."""
    left, reduced = credited, []
    for amount in reversed(amounts):
        taken = min(amount, max(left, Decimal(0)))
        reduced.append(amount - taken)
        left -= taken
    return reduced[::-1]
