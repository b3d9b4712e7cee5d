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

    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    return render_html(view_model(deps, tenant, invoice, *parties(deps, tenant, invoice)))


def pdf(deps: Deps, tenant: str, invoice_id: str) -> bytes:
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    return _render(deps, tenant, invoice, *parties(deps, tenant, invoice))


def pdf_link(deps: Deps, tenant: str, invoice_id: str) -> dict[str, Any]:
    """A short-lived link to the PDF of the invoice's current version,
    rendered now if it is not in the bucket yet (its event was lost or is
    still on its way, or the invoice is a draft)."""
    assert deps.blobs is not None, "the documents function has a bucket"
    invoice, key, _ = store_pdf(deps, tenant, invoice_id)
    return {
        "url": deps.blobs.download_url(key, pdf_filename(invoice), LINK_TTL_S),
        "expires_in": LINK_TTL_S,
        "version": invoice["version"],
    }


def store_pdf(deps: Deps, tenant: str, invoice_id: str) -> tuple[dict[str, Any], str, bool]:
    """Render the invoice's current version into the bucket unless it is
    there: the invoice, the object's key, and whether this call rendered it.
    One object per version, `{tenant}/invoices/{id}/v{version}.pdf`, written
    only if absent: a repeated or concurrent render stores nothing twice, and
    a link never shows an amount the invoice no longer has. A draft shows
    today's business and customer, so their versions are in its key too."""
    assert deps.blobs is not None, "the documents function has a bucket"
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    business, customer = parties(deps, tenant, invoice)
    key = pdf_key(tenant, invoice_id, invoice["version"])
    if invoice["status"] == "draft":
        key = key.removesuffix(".pdf") + f"-draft-b{business['version']}-c{(customer or {}).get('version', 0)}.pdf"
    if deps.blobs.exists(key):
        return invoice, key, False
    rendered = deps.blobs.put(
        key, _render(deps, tenant, invoice, business, customer), "application/pdf", if_absent=True
    )
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


def pdf_filename(invoice: dict[str, Any]) -> str:
    """The file's name as the client saves it: its number (a draft's name)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", invoice.get("number") or invoice["name"])[:80] + ".pdf"


def pdf_key(tenant: str, invoice_id: str, version: int) -> str:
    return f"{tenant}/invoices/{invoice_id}/v{version}.pdf"


def _render(
    deps: Deps, tenant: str, invoice: dict[str, Any], business: dict[str, Any], customer: dict[str, Any] | None
) -> bytes:
    from invoicing.documents.pdf import render_pdf

    return render_pdf(view_model(deps, tenant, invoice, business, customer))


def parties(deps: Deps, tenant: str, invoice: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The business and the customer as they are now (an issued invoice
    shows its snapshots instead)."""
    customer = deps.store.get(tenant, "customer", invoice["customer_id"]) if invoice.get("customer_id") else None
    return catalog.get_business(deps, tenant), customer


def view_model(
    deps: Deps, tenant: str, invoice: dict[str, Any], business: dict[str, Any], customer: dict[str, Any] | None
) -> dict[str, Any]:
    from invoicing.documents.view import invoice_view
    from invoicing.logic.logo import logo_bytes

    seller = invoice.get("business") or business
    return invoice_view(invoice, business, customer, logo=logo_bytes(deps, tenant, seller.get("logo")))
