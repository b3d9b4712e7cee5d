"""What an accountant reads of the documents (SPEC §14): VAT by rate, and
each payment's share of it — pure, exact to the cent.

1. A document's VAT by rate is its own breakdown (`document_rows`); its
   untaxed lines are the rate-0 row with no tax name. A part of it (a
   payment's share) comes from its groups (its lines by taxes, each with
   its share of the discount and of the VAT, `Document.groups`), which add
   up to its totals to the cent: a group that carries several taxes counts
   its base under each and shares its VAT over them pro rata to their
   rates (a cent may then move between two taxes of one line).
2. On the collected basis (TVA sur les encaissements, CGI art. 269-2-c:
   services), VAT is due as payments come in. A payment is split over the
   invoice's groups pro rata to what each still asks (its groups less
   what credit notes took). The split is cumulative: after the k-th
   payment the invoice has collected the spread of everything paid so
   far, and the k-th payment's share is the difference; so once the
   invoice is paid, its payments' shares add up to its groups exactly,
   whatever the number of payments. What is paid beyond the groups (late
   fees, which bear no VAT, or an overpayment) is outside VAT. The
   payment entries (logic.ledger) keep each payment's share as it was
   first computed: a credit note or a void after a payment changes what
   the later ones collect, never what an earlier one did in its month.
3. What a payment counts is its amount less what was refunded of it, and
   nothing once cancelled (domain.invoice.Payment.counted).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from invoicing.domain.credits import Group
from invoicing.domain.document import Document
from invoicing.domain.invoice import Invoice
from invoicing.domain.money import ZERO, round_money
from invoicing.domain.totals import spread

RateKey = tuple[str | None, Decimal]  # (tax name, rate); (None, 0) for untaxed lines


class VatRow(NamedTuple):
    name: str | None
    rate: Decimal
    base: Decimal
    tax: Decimal


def vat_rows(groups: Iterable[Group], currency: str, sign: int = 1) -> dict[RateKey, VatRow]:
    """Groups as VAT rows by (tax name, rate) (rule 1); `sign` -1 for what is taken off (a credit note)."""
    rows: dict[RateKey, VatRow] = {}
    for group in groups:
        for key, tax in _per_tax(group, currency).items():
            row = rows.get(key, VatRow(key[0], key[1], ZERO, ZERO))
            rows[key] = row._replace(base=row.base + sign * group.base, tax=row.tax + sign * tax)
    return rows


def document_rows(document: Document, sign: int = 1) -> dict[RateKey, VatRow]:
    """A document's VAT rows as it states them: each tax of its breakdown
    (a line of two taxes counts its base under each, each tax rounded once
    over the document, as the totals function does), and its untaxed lines'
    base at rate 0 with no tax name."""
    rows: dict[RateKey, VatRow] = {
        (entry.name, entry.rate): VatRow(entry.name, entry.rate, sign * entry.base, sign * entry.tax)
        for entry in document.totals.tax_breakdown
    }
    untaxed = sum((group.base for group in document.groups() if not group.taxes), ZERO)
    if untaxed:
        rows[(None, ZERO)] = VatRow(None, ZERO, sign * untaxed, ZERO)
    return rows


def add_rows(total: dict[RateKey, VatRow], more: dict[RateKey, VatRow]) -> None:
    """`more` added into `total`, row by row."""
    for key, row in more.items():
        held = total.get(key)
        total[key] = row if held is None else held._replace(base=held.base + row.base, tax=held.tax + row.tax)


def _per_tax(group: Group, currency: str) -> dict[RateKey, Decimal]:
    if not group.taxes:
        return {(None, ZERO): ZERO}
    if len(group.taxes) == 1:
        return {group.taxes[0]: group.tax}
    weights: dict[RateKey, Decimal] = {tax: tax[1] for tax in group.taxes}
    if group.tax < 0:
        return {key: -part for key, part in spread(-group.tax, weights, currency).items()}
    return dict(spread(group.tax, weights, currency))


class Collected(NamedTuple):
    """A payment's share of its invoice's VAT (rule 2): a part of each group
    (base and VAT), and what it paid beyond them, outside VAT."""

    groups: tuple[Group, ...]
    outside_vat: Decimal

    def rows(self, currency: str) -> dict[RateKey, VatRow]:
        return vat_rows(self.groups, currency)


def collected(invoice: Invoice) -> dict[str, Collected]:
    """Each payment's share (rule 2), by payment id, in the invoice's order
    of payments; a cancelled one collects nothing."""
    currency = invoice.currency
    left = invoice.groups_left()
    asked = sum((group.gross for group in left), ZERO)
    before = _parts(left, ZERO, currency)
    paid = ZERO
    shares: dict[str, Collected] = {}
    for payment in invoice.payments:
        paid += payment.counted
        within = min(max(paid, ZERO), max(asked, ZERO))
        after = _parts(left, within, currency)
        groups = tuple(
            Group(group.taxes, now.base - then.base, now.tax - then.tax)
            for group, now, then in zip(left, after, before, strict=True)
        )
        gross = sum((group.gross for group in groups), ZERO)
        shares[payment.id] = Collected(groups, payment.counted - gross)
        before = after
    return shares


def _parts(groups: Sequence[Group], amount: Decimal, currency: str) -> list[Group]:
    """What `amount` paid of the groups: spread over them pro rata to their
    gross (taxes included); each part's VAT in its group's proportion, all
    of it once the group is paid in full."""
    weights = {i: max(group.gross, ZERO) for i, group in enumerate(groups)}
    gross = spread(amount, weights, currency)
    parts = []
    for i, group in enumerate(groups):
        part = gross[i]
        tax = group.tax if part == group.gross else _share(group.tax, part, group.gross, currency)
        parts.append(Group(group.taxes, part - tax, tax))
    return parts


def _share(tax: Decimal, part: Decimal, gross: Decimal, currency: str) -> Decimal:
    if not gross:
        return ZERO
    return round_money(tax * part / gross, currency)
