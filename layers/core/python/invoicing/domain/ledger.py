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
   services), VAT is due as payments come in. A payment is split over
   what the invoice's groups still ask (its groups less what credit notes
   took, less what the ledger's earlier entries collected), pro rata.
   The split is cumulative: after the k-th payment the invoice has
   collected the spread of everything paid so far, and the k-th
   payment's share is the difference; so once the invoice is paid, the
   shares add up to its groups exactly, whatever the number of payments,
   credit notes between them included. What is paid beyond the groups is
   outside VAT: the invoice's late fees first, then what is owed back.
3. The ledger only grows (logic.ledger): an entry keeps its share as it
   was first written, in its month; a refund, a cancellation, a change
   of what a payment received are entries of their own, on their day.
   The new entries of a projection bring the ledger, in all, to what the
   invoice keeps (`kept_share`): each takes its natural part (a payment
   its share of what is left to collect, a refund what it takes back:
   the invoice's overpaid first), the last one the rest. A closed month
   never changes, and an invoice collects its VAT to the cent whatever
   the order of its payments, refunds, credit notes and projections.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
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


class Share(NamedTuple):
    """What one entry of the ledger takes (rule 2): a part of each of its
    invoice's groups (base and VAT), late fees (no VAT) and what was paid
    beyond everything asked (owed back to the client, no VAT). Negative for
    a refund or a cancellation."""

    groups: tuple[Group, ...]
    late_fees: Decimal
    overpaid: Decimal

    @property
    def gross(self) -> Decimal:
        return sum((group.gross for group in self.groups), ZERO) + self.late_fees + self.overpaid

    @property
    def outside_vat(self) -> Decimal:
        return self.late_fees + self.overpaid

    def rows(self, currency: str) -> dict[RateKey, VatRow]:
        return vat_rows(self.groups, currency)

    def minus(self, other: Share) -> Share:
        """This share less `other` (of the same groups)."""
        return Share(
            tuple(
                Group(a.taxes, a.base - b.base, a.tax - b.tax) for a, b in zip(self.groups, other.groups, strict=True)
            ),
            self.late_fees - other.late_fees,
            self.overpaid - other.overpaid,
        )


def received_shares(
    invoice: Invoice, kept: Sequence[Share], received: Sequence[tuple[str, Decimal]]
) -> dict[str, Share]:
    """The shares of payments `received` ((id, amount), in the invoice's
    order), the ledger holding `kept` for the others (their entries stand:
    what a payment collected in its month stays so). What they collect is
    what the invoice's groups still ask once its credit notes and the kept
    entries are taken off, pro rata, cumulatively (rule 2); beyond it, its
    late fees not paid yet, then what is owed back."""
    currency = invoice.currency
    taken: dict[object, tuple[Decimal, Decimal]] = {}
    for share in kept:
        for group in share.groups:
            base, tax = taken.get(group.taxes, (ZERO, ZERO))
            taken[group.taxes] = (base + group.base, tax + group.tax)
    left = [
        Group(group.taxes, group.base - taken.get(group.taxes, (ZERO, ZERO))[0],
              group.tax - taken.get(group.taxes, (ZERO, ZERO))[1])
        for group in invoice.groups_left()
    ]  # fmt: skip
    asked = sum((max(group.gross, ZERO) for group in left), ZERO)
    fees_left = max(invoice.late_fees_total - sum((share.late_fees for share in kept), ZERO), ZERO)
    before, paid = _parts(left, ZERO, currency), ZERO
    shares: dict[str, Share] = {}
    for id, amount in received:
        paid += amount
        after = _parts(left, min(max(paid, ZERO), asked), currency)
        groups = tuple(
            Group(g.taxes, a.base - b.base, a.tax - b.tax) for g, a, b in zip(left, after, before, strict=True)
        )
        beyond = amount - sum((group.gross for group in groups), ZERO)
        fees = min(max(beyond, ZERO), fees_left)
        fees_left -= fees
        shares[id] = Share(groups, fees, beyond - fees)
        before = after
    return shares


def refunded_share(received: Share, refunded: Decimal, currency: str) -> Share:
    """What refunds of `refunded` in all take back of a payment's share: what
    it overpaid first, then its late fees and groups pro rata (all of it
    once refunded in full). A refund's entry is the difference between two
    of these, so refunds add up to the payment exactly."""
    over = min(max(refunded, ZERO), max(received.overpaid, ZERO))
    pseudo = [*received.groups, Group((), received.late_fees, ZERO)]
    rest = min(refunded - over, sum((max(group.gross, ZERO) for group in pseudo), ZERO))
    parts = _parts(pseudo, max(rest, ZERO), currency)
    return Share(tuple(parts[:-1]), parts[-1].base, over)


def taken_back(left: Share, amount: Decimal, overpaid: Decimal, currency: str) -> Share:
    """What a refund of `amount` takes back (positive), `left` what of its
    payment was not taken back yet and `overpaid` what the invoice holds
    beyond what it asked (whichever payment brought it): that first (a
    refund of an overpayment takes no VAT back), then the payment's late
    fees and groups pro rata (all that is left of them once refunded in
    full)."""
    over = min(amount, max(overpaid, ZERO))
    pseudo = [*left.groups, Group((), left.late_fees, ZERO)]
    within = min(amount - over, sum((max(group.gross, ZERO) for group in pseudo), ZERO))
    parts = _parts(pseudo, max(within, ZERO), currency)
    return Share(tuple(parts[:-1]), parts[-1].base, amount - within)


def kept_share(invoice: Invoice) -> Share:
    """What the ledger holds in all once up to date: what the invoice keeps
    (its payments less their refunds, cancelled ones apart) split over its
    groups still asked (credit notes taken off), then its late fees (none
    once void: they go with it), then what is owed back."""
    kept = sum((payment.counted for payment in invoice.payments), ZERO)
    fees = ZERO if invoice.status.value == "void" else invoice.late_fees_total
    figures = invoice if fees == invoice.late_fees_total else replace(invoice, fees=())
    return received_shares(figures, (), [("kept", kept)])["kept"]


def collected(invoice: Invoice) -> dict[str, Share]:
    """Each payment's share of what it still counts (its amount less its
    refunds; a cancelled one nothing), the ledger empty: by payment id, in
    the invoice's order of payments."""
    return received_shares(invoice, (), [(payment.id, payment.counted) for payment in invoice.payments])


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
