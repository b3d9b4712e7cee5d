"""The events the system publishes on its bus: their names and their detail.

`infra/wiring.py` routes them to functions by these names (a unit test
holds the two together). Every detail names the tenant and the invoice, and
the invoice's version when it was published: a consumer re-reads the
invoice and acts on what it finds, so a late or repeated event is harmless.
"""

from __future__ import annotations

SOURCE = "invoicing"

INVOICE_FINALIZED = "Invoice Finalized"  # a draft got its number
INVOICE_AMOUNTS_CHANGED = "Invoice Amounts Changed"  # a payment or a late fee changed what is due
INVOICE_VOIDED = "Invoice Voided"  # its document now says so
INVOICE_DELETED = "Invoice Deleted"  # a draft with attachments: they are to be removed
INVOICE_SENT = "Invoice Sent"  # deliveries requested; the detail lists their ids
PAYMENT_RECORDED = "Payment Recorded"  # the detail names the payment; the amounts changed with it
INVOICE_PAID = "Invoice Paid"  # nothing is due any more
REMINDER_DUE = "Invoice Reminder Due"  # reminders queued by the sweep; the detail lists their deliveries
CREDIT_NOTE_ISSUED = "Credit Note Issued"  # the detail names the credit note; the invoice's amounts changed with it
PAYMENT_CANCELLED = "Payment Cancelled"  # a manual payment recorded in error; the detail names it; it is owed again

DETAIL_TYPES = (
    INVOICE_FINALIZED,
    INVOICE_AMOUNTS_CHANGED,
    INVOICE_VOIDED,
    INVOICE_DELETED,
    INVOICE_SENT,
    PAYMENT_RECORDED,
    INVOICE_PAID,
    REMINDER_DUE,
    CREDIT_NOTE_ISSUED,
    PAYMENT_CANCELLED,
)


def invoice_detail(tenant: str, invoice: dict[str, object], **extra: object) -> dict[str, object]:
    return {"tenant_id": tenant, "invoice_id": invoice["id"], "version": invoice["version"], **extra}
