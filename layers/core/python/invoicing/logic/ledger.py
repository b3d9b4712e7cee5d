"""The payments' ledger: each payment of an invoice as reports and exports
read it (SPEC §14), on the day it was received, and each refund and
cancellation of it on its own day.

Payments live inside their invoice; a report of what came in between two
days cannot find them there without reading every invoice. So each
payment is also kept as an entry of its own (kind `payment_entry`, id
`{invoice id}.{payment id}`; its refunds `….r1`, `….r2`…, what it
received since `….a1`…, its cancellation `….cancel`: two projections
at once name their new entry alike, and only one is written), indexed by
its day (`by_date`),
with its share of the invoice's VAT (domain.ledger, the collected
basis), signed, and what the invoice's number and customer are. The
ledger only grows: a month once closed never changes.

The entries follow from the commit (SPEC §16): a change of an invoice's
payments, credits or amounts puts an event on the bus (invoicing.events),
and `project` reads the invoice as it now stands and writes the entries
that are new: a payment, an adjustment, a refund seen since the last one
(dated the day of the invoice's write that holds it), a cancellation;
after them the ledger in all is what the invoice keeps. Idempotent and
order-free: an event
taken twice, late or out of order writes nothing more, and an entry
never goes back to an older version of its invoice (`source_version`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from invoicing.domain.credits import Group
from invoicing.domain.errors import NotFound, StaleVersion
from invoicing.domain.invoice import Invoice, day_of, stored_groups
from invoicing.domain.ledger import Share, kept_share, received_shares, taken_back
from invoicing.domain.money import ZERO, format_amount, format_rate
from invoicing.logic.common import Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.ports import ConditionFailed, Doc

KIND = "payment_entry"


def entries_of(invoice: Doc, held: Mapping[str, Doc] | None = None) -> list[Doc]:
    """The ledger's entries of the invoice's payments (without their own
    version), `held` the entries written before, by id, which stand as
    they were written. What moved money since they were written is new:
    a payment received, a change of what it received (an adjustment), a
    refund, a cancellation; each an entry on its day. The new entries
    bring the ledger, in all, to what the invoice now keeps, split over
    its groups (domain.ledger.kept_share): each takes its natural part
    (a payment its share of what is left to collect; a refund or a
    cancellation what it takes back of its payment), the last one the
    rest. So an invoice paid in full collects its VAT exactly, however
    its payments, refunds, cancellations, credit notes and projections
    fell, and a closed month never changes."""
    held = {id: entry for id, entry in (held or {}).items() if "groups" in entry and "type" in entry}
    payments = invoice.get("payments") or []
    if not payments:
        return list(held.values())
    currency = invoice["currency"]
    fresh: list[Doc] = []
    for payment in payments:
        fresh += _moved(invoice, payment, [e for e in held.values() if e["payment_id"] == payment["id"]])
    if not fresh:
        return list(held.values())
    figures = Invoice.of(invoice)
    ledger = [share_of(entry) for entry in held.values()]  # grows with each new entry's part
    shares = _natural(figures, fresh[:-1], held, ledger)
    whole = kept_share(figures)
    for share in ledger:
        whole = whole.minus(share)
    shares.append(whole)  # the last new entry brings the ledger to what the invoice keeps
    made = [{**entry, **_shown(share, currency)} for entry, share in zip(fresh, shares, strict=True)]
    return [*held.values(), *made]


def _moved(invoice: Doc, payment: Doc, mine: list[Doc]) -> list[Doc]:
    """What moved a payment's money since its entries `mine` were written,
    as new entries (without shares), in order: its receipt, a change of
    what it received, a refund, its cancellation."""
    currency = invoice["currency"]
    base = _base(invoice, payment, currency)
    today = day_of(invoice["updated_at"]).isoformat() if invoice.get("updated_at") else payment["paid_at"]
    received, found = _received(payment, currency), []

    def total(field: str, *types: str) -> Decimal:
        return sum((Decimal(e[field]) for e in [*mine, *found] if e["type"] in types), ZERO)

    def count(kind: str) -> int:
        return sum(1 for e in [*mine, *found] if e["type"] == kind)

    amount, tip = Decimal(received["amount"]), Decimal(received["tip"])
    if not any(e["type"] == "payment" for e in mine):
        found.append({**base, **received, "type": "payment", "id": _id(invoice, payment), "date": payment["paid_at"]})
    else:
        more, more_tip = amount - total("amount", "payment", "adjustment"), tip - total("tip", "payment", "adjustment")
        if more or more_tip:  # what it received changed (Stripe's amounts only grow)
            found.append({**base, "type": "adjustment", "id": f"{_id(invoice, payment)}.a{count('adjustment') + 1}",
                          "date": today, "amount": format_amount(more, currency),
                          "tip": format_amount(more_tip, currency)})  # fmt: skip
    refunded = Decimal(payment.get("amount_refunded") or 0) + total("amount", "refund")
    tip_refunded = Decimal(payment.get("tip_refunded") or 0) + total("tip", "refund")
    if refunded > 0 or tip_refunded > 0:  # more was refunded than the ledger says
        found.append({**base, "type": "refund", "id": f"{_id(invoice, payment)}.r{count('refund') + 1}", "date": today,
                      "amount": format_amount(-max(refunded, ZERO), currency),
                      "tip": format_amount(-max(tip_refunded, ZERO), currency),
                      "refunded_total": format_amount(Decimal(payment.get("amount_refunded") or 0), currency),
                      "tip_refunded_total": format_amount(Decimal(payment.get("tip_refunded") or 0), currency),
                      })  # fmt: skip
    if payment.get("status") == "cancelled" and not count("cancellation"):  # all that is left of it, back
        day = day_of(payment["cancelled_at"]).isoformat() if payment.get("cancelled_at") else today
        found.append({**base, "type": "cancellation", "id": f"{_id(invoice, payment)}.cancel", "date": day,
                      "amount": format_amount(-total("amount", "payment", "adjustment", "refund"), currency),
                      "tip": format_amount(-total("tip", "payment", "adjustment", "refund"), currency)})  # fmt: skip
    return found


def _natural(figures: Invoice, fresh: list[Doc], held: Mapping[str, Doc], ledger: list[Share]) -> list[Share]:
    """Each new entry's own part, in order (`ledger` grows with them): money
    in, its share of what the groups still ask; money out, what it takes
    back of its payment's entries (the invoice's overpaid first)."""
    currency = figures.currency
    shares: list[Share] = []
    for entry in fresh:
        amount = Decimal(entry["amount"])
        if amount >= 0:
            share = received_shares(figures, ledger, [(entry["id"], amount)])[entry["id"]]
        else:
            mine = [share_of(e) for e in held.values() if e["payment_id"] == entry["payment_id"]]
            mine += [s for e, s in zip(fresh, shares, strict=False) if e["payment_id"] == entry["payment_id"]]
            left = _summed(mine, figures)
            share = _negated(taken_back(left, -amount, sum((s.overpaid for s in ledger), ZERO), currency))
        ledger.append(share)
        shares.append(share)
    return shares


def _summed(shares: list[Share], figures: Invoice) -> Share:
    """Shares added up (none: nothing of the invoice's groups)."""
    total = Share(tuple(Group(g.taxes, ZERO, ZERO) for g in figures.groups_left()), ZERO, ZERO)
    for share in shares:
        total = total.minus(_negated(share))
    return total


def share_of(entry: Doc) -> Share:
    """The share an entry holds."""
    return Share(
        tuple(Group(tuple((name, Decimal(rate)) for name, rate in g["taxes"]), Decimal(g["base"]), Decimal(g["tax"]))
              for g in entry.get("groups") or ()),
        Decimal(entry.get("late_fees") or 0),
        Decimal(entry.get("overpaid") or 0),
    )  # fmt: skip


def _negated(share: Share) -> Share:
    return Share(tuple(Group(g.taxes, -g.base, -g.tax) for g in share.groups), -share.late_fees, -share.overpaid)


def _id(invoice: Doc, payment: Doc) -> str:
    return f"{invoice['id']}.{payment['id']}"


def _base(invoice: Doc, payment: Doc, currency: str) -> Doc:
    return {
        "invoice_id": invoice["id"],
        "invoice_number": invoice.get("number"),
        "customer_id": invoice.get("customer_id"),
        "customer_name": (invoice.get("customer") or {}).get("name"),
        "payment_id": payment["id"],
        "currency": currency,
        "paid_at": payment["paid_at"],
        "method": payment.get("method"),
        "reference": _reference(payment),
        "source_version": invoice["version"],
    }


def _received(payment: Doc, currency: str) -> Doc:
    """What was received: the invoice's part and the tip, before any refund."""
    return {
        "paid_at": payment["paid_at"],
        "amount": format_amount(Decimal(payment["amount"]), currency),
        "tip": format_amount(Decimal(payment.get("tip") or 0), currency),
    }


def _shown(share: Share, currency: str) -> Doc:
    return {
        "groups": stored_groups(list(share.groups)),
        "vat": [
            {
                "name": row.name,
                "rate": format_rate(row.rate),
                "base": format_amount(row.base, currency),
                "tax": format_amount(row.tax, currency),
            }  # fmt: skip
            for row in share.rows(currency).values()
        ],
        "late_fees": format_amount(share.late_fees, currency),
        "overpaid": format_amount(share.overpaid, currency),
        "outside_vat": format_amount(share.outside_vat, currency),
    }


def _reference(payment: Doc) -> str | None:
    """What identifies the payment at the bank: a transfer's reference, a cheque's number, Stripe's intent."""
    found = payment.get("reference") or payment.get("cheque_number") or payment.get("stripe_payment_intent")
    return str(found) if found else None


def project(deps: Deps, tenant: str, invoice_id: str) -> int:
    """The invoice's payment entries brought to where the invoice stands;
    how many were written."""

    def attempt() -> int:
        invoice = deps.store.get(tenant, "invoice", invoice_id)
        if invoice is None:
            return 0
        held = {entry["id"]: entry for entry in deps.store.children(tenant, KIND, invoice_id)}
        written = 0
        for entry in entries_of(invoice, held):
            old = held.get(entry["id"])
            if old is not None and (old["source_version"] >= entry["source_version"] or _same(old, entry)):
                continue
            try:
                _write(deps, tenant, entry, old)
            except (ConditionFailed, StaleVersion, NotFound):
                raise LostRace from None  # another projection of the same invoice: read both again
            written += 1
        return written

    return until_written(attempt, "the invoice's payment entries are being written too often at once")


def _write(deps: Deps, tenant: str, entry: Doc, old: Doc | None) -> None:
    now = deps.timestamp()
    if old is None:
        deps.store.create(tenant, KIND, {**entry, "version": 1, "projected_at": now}, name=None)
        return
    version = old["version"]
    updated = {**entry, "version": version + 1, "projected_at": now}
    deps.store.replace(tenant, KIND, updated, expected_version=version, old_name=None, new_name=None)


def _same(old: Doc, new: Doc) -> bool:
    """The same entry, but for when and from which version of the invoice it was written (an entry
    written stands: `entries_of` gives it back as it is; one of an older shape is written anew)."""
    derived = ("version", "source_version", "projected_at")
    return {k: v for k, v in old.items() if k not in derived} == {k: v for k, v in new.items() if k not in derived}
