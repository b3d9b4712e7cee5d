"""Use cases of documents: the invoice as the client will see it, in HTML
and in PDF, both from one view-model. The rendering libraries load here,
on first use, never in the other functions."""

from __future__ import annotations

import re
from typing import Any

from invoicing.domain.errors import NotFound
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
    rendered now if it is not in the bucket yet (its event was lost or is
    still on its way, or the invoice is a draft)."""
    assert deps.blobs is not None, "the documents function has a bucket"
    invoice, key, _ = store_pdf(deps, tenant, invoice_id)
    filename = re.sub(r"[^A-Za-z0-9._-]+", "_", invoice.get("number") or invoice["name"])[:80] + ".pdf"
    return {
        "url": deps.blobs.download_url(key, filename, LINK_TTL_S),
        "expires_in": LINK_TTL_S,
        "version": invoice["version"],
    }


def store_pdf(deps: Deps, tenant: str, invoice_id: str) -> tuple[dict[str, Any], str, bool]:
    """Render the invoice's current version into the bucket unless it is
    there: the invoice, the object's key, and whether this call rendered it.
    One object per version, `{tenant}/invoices/{id}/v{version}.pdf`, written
    only if absent: a repeated or concurrent render stores nothing twice, and
    a link never shows an amount the invoice no longer has."""
    assert deps.blobs is not None, "the documents function has a bucket"
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    key = pdf_key(tenant, invoice_id, invoice["version"])
    if deps.blobs.exists(key):
        return invoice, key, False
    rendered = deps.blobs.put(key, _render(deps, tenant, invoice), "application/pdf", if_absent=True)
    return invoice, key, rendered


def on_event(deps: Deps, detail: dict[str, Any]) -> str:
    """An invoice was finalized or its amounts changed: store the PDF of its
    current version. Re-reads the invoice, so an event that arrives late, out
    of order or twice renders at most what is missing. Returns what it did."""
    tenant, invoice_id = detail["tenant_id"], detail["invoice_id"]
    try:
        invoice, key, rendered = store_pdf(deps, tenant, invoice_id)
    except NotFound:
        return "gone"  # a draft deleted since: nothing to render
    if invoice["version"] < detail["version"]:  # reads are consistent: versions only grow
        raise RuntimeError(f"read version {invoice['version']}, older than the event's {detail['version']}")
    return "rendered" if rendered else "present"


def pdf_key(tenant: str, invoice_id: str, version: int) -> str:
    return f"{tenant}/invoices/{invoice_id}/v{version}.pdf"


def _render(deps: Deps, tenant: str, invoice: dict[str, Any]) -> bytes:
    from invoicing.documents.pdf import render_pdf

    return render_pdf(_view(deps, tenant, invoice))


def _view(deps: Deps, tenant: str, invoice: dict[str, Any] | str) -> dict[str, Any]:
    from invoicing.documents.view import invoice_view

    if isinstance(invoice, str):
        invoice = invoices.get_invoice(deps, tenant, invoice)
    from invoicing.logic.logo import logo_bytes

    customer = deps.store.get(tenant, "customer", invoice["customer_id"]) if invoice.get("customer_id") else None
    business = catalog.get_business(deps, tenant)
    seller = invoice.get("business") or business
    return invoice_view(invoice, business, customer, logo=logo_bytes(deps, tenant, seller.get("logo")))
