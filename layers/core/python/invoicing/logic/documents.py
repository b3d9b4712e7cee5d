"""Use cases of documents: the invoice as the client will see it."""

from __future__ import annotations

from invoicing.logic import catalog, invoices
from invoicing.logic.common import Deps


def preview(deps: Deps, tenant: str, invoice_id: str) -> str:
    """The invoice as HTML, drafts included (with today's business and
    customer; an issued invoice shows its snapshots)."""
    from invoicing.documents.html import render_html
    from invoicing.documents.view import invoice_view

    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    customer = deps.store.get(tenant, "customer", invoice["customer_id"]) if invoice.get("customer_id") else None
    return render_html(invoice_view(invoice, catalog.get_business(deps, tenant), customer))
