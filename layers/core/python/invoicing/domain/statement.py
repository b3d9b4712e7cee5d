"""A customer's statement of account (relevé de compte, SPEC §14), pure:
what the customer was asked (invoices, late fees) and what settled it
(credit notes, payments), each on its day, with the balance after each,
per currency.

The balance before the period (its opening) is everything dated before
its first day; the closing balance is the opening plus the period's
movements. A positive balance is owed by the customer; a negative one is
owed to it (an overpayment). A payment counts what it paid, refunds
deducted; a cancelled payment counts for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from invoicing.domain.invoice import Invoice, day_of
from invoicing.domain.money import ZERO, format_amount

Doc = Mapping[str, Any]
METHODS = {"cash": "espèces", "bank_transfer": "virement", "cheque": "chèque", "card": "carte",
           "sepa_debit": "prélèvement SEPA"}  # fmt: skip
_ORDER = {"invoice": 0, "late_fee": 1, "credit_note": 2, "late_fees_voided": 3, "payment": 4}  # on a day: asked first


class Movement(NamedTuple):
    day: str  # ISO
    kind: str  # invoice | late_fee | credit_note | late_fees_voided | payment
    number: str  # the document's: the invoice's, the credit note's
    invoice_id: str
    invoice_number: str
    label: str
    debit: Decimal
    credit: Decimal
    currency: str

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.day, _ORDER[self.kind], self.invoice_number, self.number)


def movements(doc: Doc) -> list[Movement]:
    """An issued invoice's movements on the customer's account."""
    invoice = Invoice.of(doc)
    if invoice.number is None or invoice.issue_date is None:
        return []
    number, currency, id = invoice.number, invoice.currency, invoice.id

    def moved(day: str, kind: str, label: str, debit: Decimal, credit: Decimal, own: str | None = None) -> Movement:
        return Movement(day, kind, own or number, id, number, label, debit, credit, currency)

    assert invoice.issue_date is not None
    found = [moved(invoice.issue_date.isoformat(), "invoice", f"Facture {number}", invoice.total, ZERO)]
    for fee in doc.get("late_fee_entries") or []:
        found.append(
            moved(fee["applied_on"], "late_fee", f"Pénalités de retard {number}", Decimal(fee["amount"]), ZERO)
        )
    for note in doc.get("credit_notes") or []:
        label = f"Avoir {note['number']} sur {number}"
        found.append(moved(note["issue_date"], "credit_note", label, ZERO, Decimal(note["total"]), note["number"]))
    if doc.get("status") == "void" and invoice.late_fees_total and doc.get("voided_at"):  # they went with it
        voided = day_of(doc["voided_at"]).isoformat()
        found.append(moved(voided, "late_fees_voided", f"Pénalités annulées {number}", ZERO, invoice.late_fees_total))
    for payment, stored in zip(invoice.payments, doc.get("payments") or [], strict=True):
        if payment.counted:
            label = f"Règlement {number} {METHODS.get(stored.get('method') or '', '')}".strip()
            found.append(moved(stored["paid_at"], "payment", label, ZERO, payment.counted))
    return found


def statement(invoices: Iterable[Doc], start: date, end: date) -> list[dict[str, Any]]:
    """Per currency: the opening balance, the period's movements each with
    the balance after it, the closing balance and the period's totals."""
    first, last = start.isoformat(), end.isoformat()
    by_currency: dict[str, list[Movement]] = {}
    for doc in invoices:
        for movement in movements(doc):
            if movement.day <= last:
                by_currency.setdefault(movement.currency, []).append(movement)
    return [_account(currency, by_currency[currency], first) for currency in sorted(by_currency)]


def _account(currency: str, found: list[Movement], first: str) -> dict[str, Any]:
    found.sort(key=lambda movement: movement.key)
    before = [m for m in found if m.day < first]
    during = [m for m in found if m.day >= first]
    opening = sum((m.debit - m.credit for m in before), ZERO)
    balance = opening
    lines = []
    for movement in during:
        balance += movement.debit - movement.credit
        lines.append(
            {
                "date": movement.day, "type": movement.kind, "number": movement.number,
                "invoice_id": movement.invoice_id, "invoice_number": movement.invoice_number,
                "label": movement.label, "debit": format_amount(movement.debit, currency),
                "credit": format_amount(movement.credit, currency), "balance": format_amount(balance, currency),
            }
        )  # fmt: skip
    return {
        "currency": currency,
        "opening_balance": format_amount(opening, currency),
        "lines": lines,
        "total_debit": format_amount(sum((m.debit for m in during), ZERO), currency),
        "total_credit": format_amount(sum((m.credit for m in during), ZERO), currency),
        "closing_balance": format_amount(balance, currency),
    }
