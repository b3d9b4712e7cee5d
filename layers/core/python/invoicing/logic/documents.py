"""Use cases of documents: the invoice as the client will see it, in HTML
and in PDF, both from one view-model. The rendering libraries load here,
on first use, never in the other functions."""

from __future__ import annotations

import re
from typing import Any

from invoicing.logic import catalog, invoices
from invoicing.logic.common import Deps

LINK_TTL_S = 300


def preview(deps: Deps, tenant: str, invoice_id: str) -> str:
    """The invoice as HTML, drafts included (with today's business and
    customer; an issued invoice shows its snapshots)."""
    from invoicing.documents.html import render_html

    return render_html(_view(deps, tenant, invoice_id))


def pdf(deps: Deps, tenant: str, invoice_id: str) -> bytes:
    return _render(deps, tenant, invoices.get_invoice(deps, tenant, invoice_id))


def pdf_link(deps: Deps, tenant: str, invoice_id: str) -> dict[str, Any]:
    """A short-lived link to the PDF of the invoice's current version,
    rendered now if it is not in the bucket yet. One object per version:
    `{tenant}/invoices/{id}/v{version}.pdf`, so a link never shows an amount
    the invoice no longer has."""
    assert deps.blobs is not None, "the documents function has a bucket"
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    key = f"{tenant}/invoices/{invoice_id}/v{invoice['version']}.pdf"
    if not deps.blobs.exists(key):
        deps.blobs.put(key, _render(deps, tenant, invoice), "application/pdf")
    filename = re.sub(r"[^A-Za-z0-9._-]+", "_", invoice.get("number") or invoice["name"])[:80] + ".pdf"
    return {
        "url": deps.blobs.download_url(key, filename, LINK_TTL_S),
        "expires_in": LINK_TTL_S,
        "version": invoice["version"],
    }


def _render(deps: Deps, tenant: str, invoice: dict[str, Any]) -> bytes:
    from invoicing.documents.pdf import render_pdf

    return render_pdf(_view(deps, tenant, invoice))


def _view(deps: Deps, tenant: str, invoice: dict[str, Any] | str) -> dict[str, Any]:
    from invoicing.documents.view import invoice_view

    if isinstance(invoice, str):
        invoice = invoices.get_invoice(deps, tenant, invoice)
    customer = deps.store.get(tenant, "customer", invoice["customer_id"]) if invoice.get("customer_id") else None
    return invoice_view(invoice, catalog.get_business(deps, tenant), customer)
