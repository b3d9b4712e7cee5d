"""Payment entries: each payment of an invoice as reports and exports read
it (SPEC §14), by the day it was received.

Payments live inside their invoice; a report of what came in between two
days cannot find them there without reading every invoice. So each
payment is also kept as an entry of its own (kind `payment_entry`, id
`{invoice id}.{payment id}`), indexed by the day it was received
(`by_date`), with its share of the invoice's VAT (domain.ledger, the
collected basis) and what the invoice's number and customer are.

The entries follow from the commit (SPEC §16): a change of an invoice's
payments, credits or amounts puts an event on the bus (invoicing.events),
and `project` reads the invoice as it now stands and writes the entries
of the payments that are new or changed (refunded, cancelled); an entry
whose payment is unchanged keeps its share of the VAT (what a payment
collected in its month stays so). Idempotent and order-free: an event
taken twice, late or out of order writes nothing more, and an entry
never goes back to an older version of its invoice (`source_version`).
"""

from __future__ import annotations

from decimal import Decimal

from invoicing.domain.errors import NotFound, StaleVersion
from invoicing.domain.invoice import Invoice
from invoicing.domain.ledger import collected
from invoicing.domain.money import ZERO, format_amount, format_rate
from invoicing.logic.common import Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.ports import ConditionFailed, Doc

KIND = "payment_entry"
# What the payment is: an entry whose payment is still this keeps its share of the VAT as it was
# first written. The VAT of a payment is due in its month (the collected basis): a credit note or
# a void after it changes what later payments collect, never what this one did.
_PAYMENT = ("paid_at", "method", "reference", "status", "amount", "amount_refunded", "tip", "currency",
            "invoice_number", "customer_id", "customer_name")  # fmt: skip


def entries_of(invoice: Doc) -> list[Doc]:
    """The invoice's payments as entries (without their own version)."""
    payments = invoice.get("payments") or []
    if not payments:
        return []
    currency = invoice["currency"]
    shares = collected(Invoice.of(invoice))
    customer = invoice.get("customer") or {}
    entries = []
    for payment in payments:
        share = shares[payment["id"]]
        cancelled = payment.get("status") == "cancelled"
        tip = ZERO if cancelled else Decimal(payment.get("tip") or 0) - Decimal(payment.get("tip_refunded") or 0)
        counted = sum((group.gross for group in share.groups), share.outside_vat)
        entries.append(
            {
                "id": f"{invoice['id']}.{payment['id']}",
                "invoice_id": invoice["id"],
                "invoice_number": invoice.get("number"),
                "customer_id": invoice.get("customer_id"),
                "customer_name": customer.get("name"),
                "payment_id": payment["id"],
                "currency": currency,
                "paid_at": payment["paid_at"],
                "method": payment.get("method"),
                "reference": payment.get("reference")
                or payment.get("cheque_number")
                or payment.get("stripe_payment_intent"),
                "status": payment.get("status") or "succeeded",
                "amount": payment["amount"],
                "amount_refunded": payment.get("amount_refunded") or format_amount(ZERO, currency),
                "counted": format_amount(counted, currency),
                "tip": format_amount(tip, currency),
                "vat": [
                    {
                        "name": row.name,
                        "rate": format_rate(row.rate),
                        "base": format_amount(row.base, currency),
                        "tax": format_amount(row.tax, currency),
                    }  # fmt: skip
                    for row in share.rows(currency).values()
                ],
                "outside_vat": format_amount(share.outside_vat, currency),
                "source_version": invoice["version"],
            }
        )
    return entries


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
        for entry in entries_of(invoice):
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
    """The same payment: its entry stands, its share of the VAT with it."""
    return all(old.get(key) == new.get(key) for key in _PAYMENT)
