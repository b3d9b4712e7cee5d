"""Deposits (acomptes, SPEC §11): the deposit an estimate asks, the deposit
invoices that ask for it, and the lines by which the final invoice takes
them off. Pure.

- The deposit asked is a percentage of the estimate's total tax included,
  rounded half-up, or a fixed amount no larger than that total.
- A deposit invoice charges an amount tax included at the estimate's VAT
  rates: one line per group of the estimate (its lines that carry the same
  taxes, with their share of the discount: `Document.groups`), the amount
  shared over the groups pro rata to what each has left after the earlier
  deposit invoices, each share a base whose total with its VAT is exactly
  the share. That is how a credit note takes an amount off an invoice
  (domain.credits), and the same split does it. Not every amount can be
  made (at 20 %, no base makes 0.51): the deposit asked as a percentage
  takes the nearest amount that can; an amount the user typed is refused,
  with the nearest ones that can.
- The final invoice is the estimate's lines, then, for each deposit
  invoice, one line per line of it: minus its net, at its taxes. These
  deductions stay outside the discount (domain.totals, rule 5), so the
  final invoice's bases are the estimate's less the deposits': together the
  invoices charge exactly the estimate's total without VAT. Their VAT is
  rounded on each invoice's base at each rate: a deposit's shares move a
  cent between groups where that leaves each group's VAT what its base
  left will be charged, and where none can (one taxed rate: nothing to
  move), the VAT per rate stands a cent per deposit invoice from the
  estimate's, shown as it is (SPEC §11).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from invoicing.domain import credits, money
from invoicing.domain.document import Item
from invoicing.domain.errors import FieldError, InvalidInput
from invoicing.domain.invoice import Invoice
from invoicing.domain.money import HUNDRED, ZERO, format_amount, format_rate, round_money
from invoicing.domain.totals import Line, Tax, compute_totals


class Part(NamedTuple):
    """A deposit invoice's share of one group of the estimate: its taxes and its base."""

    taxes: credits.Taxes
    base: Decimal


def asked(deposit: Mapping[str, Any], total: Decimal, currency: str) -> tuple[Decimal, list[FieldError]]:
    """The deposit `{type, value}` asks of an estimate totalling `total` tax
    included, with what is wrong with it (the amount is then 0)."""
    value = money.exact(deposit["value"])
    if value <= 0:
        return ZERO, [FieldError("deposit.value", "a deposit is more than 0")]
    if deposit["type"] == "percentage":
        if value > HUNDRED:
            return ZERO, [FieldError("deposit.value", "a deposit is at most 100 % of the estimate")]
        return round_money(total * value / HUNDRED, currency), []
    if value > total:
        return ZERO, [FieldError("deposit.value", f"exceeds the estimate's total ({format_amount(total, currency)})")]
    return value, []


def label(deposit: Mapping[str, Any] | None, estimate_number: str) -> str:
    """The deposit invoice's lines' name: the percentage asked, when it is the
    deposit asked as a percentage that is invoiced."""
    if deposit and deposit["type"] == "percentage":
        rate = format_rate(money.exact(deposit["value"])).replace(".", ",")  # as French writes it: 12,5 %
        return f"Acompte de {rate} % sur devis {estimate_number}"
    return f"Acompte sur devis {estimate_number}"


def parts(
    groups: Sequence[credits.Group],
    deposit_invoices: Sequence[Mapping[str, Any]],
    amount: Decimal,
    currency: str,
    *,
    exact: bool,
) -> list[Part]:
    """A deposit invoice of `amount` tax included over the estimate's
    `groups`, after the `deposit_invoices` already issued (as stored). When
    `amount` cannot be made to the cent, the nearest amount that can is
    taken, or, if `exact` (an amount the user typed), `InvalidInput` names
    `amount` with the nearest ones."""
    taken = [group for invoice in deposit_invoices for group in kept(invoice)]
    within = credits.left(groups, taken)
    bases = _split(amount, within, currency)
    if bases is None:
        below, above = credits.nearest(amount, within, currency)
        candidates = [value for value in (below, above) if value is not None]
        if exact:
            options = " or ".join(format_amount(value, currency) for value in candidates)
            raise InvalidInput.of(
                "amount",
                f"{format_amount(amount, currency)} cannot be split into bases and VAT at the estimate's rates "
                "to the cent (VAT is rounded on each base)" + (f": ask {options}" if options else ""),
            )
        bases = _nearest_split(amount, candidates, within, currency)
    return [Part(group.taxes, base) for group, base in zip(within, bases, strict=True) if base > 0]


def reachable(groups: Sequence[credits.Group], amount: Decimal, currency: str, *, exact: bool) -> Decimal:
    """What a first deposit invoice of `amount` charges over an estimate's
    `groups`: `amount` when bases make it to the cent, else the nearest
    amount they make (or, if `exact`, `InvalidInput` naming `amount` with
    the nearest ones). The estimate prints what its deposit invoice will ask."""
    if amount <= 0 or not groups:
        return amount
    made = parts(groups, [], amount, currency, exact=exact)
    lines = [Line(Decimal(1), part.base, None, tuple(Tax(name, rate) for name, rate in part.taxes)) for part in made]
    return compute_totals(lines, None, currency).total


def deposit_lines(
    groups: Sequence[credits.Group],
    deposit_invoices: Sequence[Mapping[str, Any]],
    amount: Decimal,
    currency: str,
    name: str,
    *,
    exact: bool,
) -> list[Item]:
    """The deposit invoice's lines (`parts`), as an invoice stores them: one a
    group, named `name` (`label`), its base as its price."""
    return [
        {
            "name": name,
            "quantity": "1",
            "unit_price": format_amount(part.base, currency),
            "taxes": [{"name": tax_name, "rate": format_rate(rate)} for tax_name, rate in part.taxes],
        }
        for part in parts(groups, deposit_invoices, amount, currency, exact=exact)
    ]


def deduction_lines(deposit_invoices: Sequence[Mapping[str, Any]]) -> list[Item]:
    """The final invoice's deductions: for each deposit invoice (as stored:
    its number, issue date, currency, lines and credit notes), one line a
    group of it, "Acompte F-12 du 05/01/2027", minus the base its credit
    notes left it (all of it, mostly), at its taxes."""
    deductions = []
    for invoice in deposit_invoices:
        day = date.fromisoformat(invoice["issue_date"]).strftime("%d/%m/%Y")
        for group in kept(invoice):
            if group.base <= 0:
                continue
            deductions.append(
                {
                    "name": f"Acompte {invoice['number']} du {day}",
                    "quantity": "1",
                    "unit_price": format_amount(-group.base, invoice["currency"]),
                    "taxes": [{"name": name, "rate": format_rate(rate)} for name, rate in group.taxes],
                    "deposit_invoice_id": invoice["id"],
                }
            )
    return deductions


def kept(deposit_invoice: Mapping[str, Any]) -> list[credits.Group]:
    """What a deposit invoice asks, group by group, once its credit notes
    took their part: what the final invoice deducts, and later deposits
    are not asked again."""
    return Invoice.of(deposit_invoice).groups_left()


def kept_total(deposit_invoice: Mapping[str, Any]) -> Decimal:
    """What a deposit invoice asks, tax included, less its credit notes."""
    return Invoice.of(deposit_invoice).left_to_credit


def _nearest_split(
    amount: Decimal, candidates: list[Decimal], within: Sequence[credits.Group], currency: str
) -> list[Decimal]:
    """The split of the candidate nearest `amount`; of the lower one when
    both are as near: a deposit never asks more than was asked if it can."""
    for value in sorted(candidates, key=lambda value: (abs(value - amount), value)):
        bases = _split(value, within, currency)
        if bases is not None:
            return bases
    raise InvalidInput.of(
        "amount", f"no amount near {format_amount(amount, currency)} splits over the estimate's rates"
    )


def _split(amount: Decimal, within: Sequence[credits.Group], currency: str) -> list[Decimal] | None:
    """Bases, one a group, that make `amount` exactly as the totals function
    will total them (credits.split makes it group by group; a tax carried
    by two groups is rounded once over both), None when there are none.
    Each group keeps what is settled where cents can move (credits.split):
    then the final invoice's VAT is, per rate, what the estimate has left."""
    bases = credits.split(amount, within, currency, settled=True)
    if bases is None:
        return None
    lines = [
        Line(Decimal(1), base, None, tuple(Tax(name, rate) for name, rate in group.taxes))
        for group, base in zip(within, bases, strict=True)
        if base > 0
    ]
    return bases if compute_totals(lines, None, currency).total == amount else None
