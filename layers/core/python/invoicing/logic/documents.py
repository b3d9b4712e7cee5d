"""Use cases of documents: the invoice as the client will see it, in HTML
and in PDF, both from one view-model. The rendering libraries load here,
on first use, never in the other functions."""

from __future__ import annotations

from typing import Any

from invoicing.logic import catalog, invoices
from invoicing.logic.common import Deps


def preview(deps: Deps, tenant: str, invoice_id: str) -> str:
    """The invoice as HTML, drafts included (with today's business and
    customer; an issued invoice shows its snapshots)."""
    from invoicing.documents.html import render_html

    return render_html(_view(deps, tenant, invoice_id))


def pdf(deps: Deps, tenant: str, invoice_id: str) -> bytes:
    from invoicing.documents.pdf import render_pdf

    return render_pdf(_view(deps, tenant, invoice_id))


def _view(deps: Deps, tenant: str, invoice_id: str) -> dict[str, Any]:
    from invoicing.documents.view import invoice_view

    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    customer = deps.store.get(tenant, "customer", invoice["customer_id"]) if invoice.get("customer_id") else None
    return invoice_view(invoice, catalog.get_business(deps, tenant), customer)
