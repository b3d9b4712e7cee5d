"""The payments' ledger: each payment of an invoice as reports and exports
read it (SPEC §14), on the day it was received, and each refund and
cancellation of it on its own day.

Payments live inside their invoice; a report of what came in between two
days cannot find them there without reading every invoice. So each
payment is also kept as an entry of its own (kind `payment_entry`, id
`{invoice id}.{payment id}`; a refund's `….r{total refunded, in minor
units}`, a cancellation's `….cancel`), indexed by its day (`by_date`),
with its share of the invoice's VAT (domain.ledger, the collected
basis), signed, and what the invoice's number and customer are. The
ledger only grows: a month once closed never changes.

The entries follow from the commit (SPEC §16): a change of an invoice's
payments, credits or amounts puts an event on the bus (invoicing.events),
and `project` reads the invoice as it now stands and writes the entries
that are new: a payment, a refund seen since the last one (dated the day
of the invoice's write that holds it), a cancellation. Idempotent and
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
from invoicing.domain.ledger import Share, received_shares, taken_back
from invoicing.domain.money import ZERO, format_amount, format_rate, quantum
from invoicing.logic.common import Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.ports import ConditionFailed, Doc

KIND = "payment_entry"
_RECEIVED = ("paid_at", "amount", "tip")  # a payment's entry stands while these do (its share with them)


def entries_of(invoice: Doc, held: Mapping[str, Doc] | None = None) -> list[Doc]:
    """The ledger's entries of the invoice's payments (without their own
    version), `held` the entries written before, by id: a payment's entry
    on the day it was received, each refund's on the day it was seen, a
    cancellation's on its day. An entry written stands (its share with
    it, while its payment received the same); the new ones are made in
    the payments' order, each payment followed by what was taken back of
    it, each sharing what the ledger leaves (domain.ledger): so a cheque
    cancelled and paid again by transfer collects the VAT once, however
    the projections fell."""
    held = held or {}
    payments = invoice.get("payments") or []
    if not payments:
        return []
    kept = {p["id"] for p in payments if _stands(held.get(_id(invoice, p)), p, invoice["currency"])}
    # what stands is in the ledger first: what is new shares what it leaves
    ledger = [share_of(e) for e in held.values() if e["payment_id"] in kept]
    entries: list[Doc] = []
    for payment in payments:
        entries += _of_payment(Invoice.of(invoice), invoice, payment, held, ledger, payment["id"] in kept)
    return entries


def _of_payment(
    figures: Invoice, invoice: Doc, payment: Doc, held: Mapping[str, Doc], ledger: list[Share], kept: bool
) -> list[Doc]:
    """A payment's entries: its own, its refunds, its cancellation; each new
    share added to `ledger`. Long because the three share one running
    state (what of the payment is left to take back), in order."""
    currency, base = invoice["currency"], _base(invoice, payment, invoice["currency"])
    received = _received(payment, currency)
    if kept:
        share = share_of(held[_id(invoice, payment)])
    else:
        share = received_shares(figures, ledger, [(payment["id"], Decimal(payment["amount"]))])[payment["id"]]
        ledger.append(share)
    entries = [{**base, **received, **_shown(share, currency), "type": "payment", "id": _id(invoice, payment),
                "date": payment["paid_at"]}]  # fmt: skip
    left = share  # what of the payment was not taken back yet
    for step in _refund_steps(invoice, payment, held):
        written = held.get(step["id"]) if kept else None
        if written is not None:
            taken = share_of(written)
        else:
            taken = _negated(taken_back(left, Decimal(step["amount"]).copy_abs(), _overpaid(ledger), currency))
            ledger.append(taken)
        left = left.minus(_negated(taken))
        entries.append({**base, **step, **_shown(taken, currency)})
    if payment.get("status") == "cancelled":  # what was left of it, all taken back on its day
        cancel_id = f"{_id(invoice, payment)}.cancel"
        written = held.get(cancel_id) if kept else None
        taken = share_of(written) if written is not None else _negated(left)
        if written is None:
            ledger.append(taken)
        tip_left = Decimal(received["tip"]) - Decimal(payment.get("tip_refunded") or 0)
        entries.append({**base, **_shown(taken, currency), "type": "cancellation", "id": cancel_id,
                        "date": day_of(payment.get("cancelled_at") or invoice["updated_at"]).isoformat(),
                        "amount": format_amount(-left.gross, currency),
                        "tip": format_amount(-tip_left, currency)})  # fmt: skip
    return entries


def _refund_steps(invoice: Doc, payment: Doc, held: Mapping[str, Doc]) -> list[Doc]:
    """Each time more of the payment was refunded: the steps written before,
    then one for what was refunded since (on the day of the invoice's
    write that holds it)."""
    currency = invoice["currency"]
    refunded, tip_refunded = Decimal(payment.get("amount_refunded") or 0), Decimal(payment.get("tip_refunded") or 0)
    earlier = sorted((e for e in held.values() if e.get("type") == "refund" and e["payment_id"] == payment["id"]),
                     key=lambda e: Decimal(e["refunded_total"]) + Decimal(e["tip_refunded_total"]))  # fmt: skip
    totals = [(Decimal(e["refunded_total"]), Decimal(e["tip_refunded_total"]), e["date"]) for e in earlier]
    if refunded + tip_refunded > (totals[-1][0] + totals[-1][1] if totals else ZERO):
        totals.append((refunded, tip_refunded, day_of(invoice["updated_at"]).isoformat()))
    steps, before, tip_before = [], ZERO, ZERO
    for total, tip_total, day in totals:
        steps.append({"type": "refund", "date": day,
                      "id": f"{_id(invoice, payment)}.r{int((total + tip_total) / quantum(currency))}",
                      "amount": format_amount(before - total, currency),
                      "tip": format_amount(tip_before - tip_total, currency),
                      "refunded_total": format_amount(total, currency),
                      "tip_refunded_total": format_amount(tip_total, currency)})  # fmt: skip
        before, tip_before = total, tip_total
    return steps


def _stands(entry: Doc | None, payment: Doc, currency: str) -> bool:
    """Whether a payment's written entry stands: it received the same since."""
    return entry is not None and all(entry.get(key) == _received(payment, currency)[key] for key in _RECEIVED)


def _overpaid(ledger: list[Share]) -> Decimal:
    """What the invoice holds beyond what it asked (owed back), in all."""
    return sum((share.overpaid for share in ledger), ZERO)


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
    """The same entry, but for when and from which version of the invoice it was written."""
    derived = ("version", "source_version", "projected_at")
    return {k: v for k, v in old.items() if k not in derived} == {k: v for k, v in new.items() if k not in derived}
