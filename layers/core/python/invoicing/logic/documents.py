"""Use cases of documents: the invoice as the client will see it, in HTML
and in PDF, both from one view-model. The rendering libraries load here,
on first use, never in the other functions."""

from __future__ import annotations

import logging
import re
from typing import Any

from invoicing.domain.errors import NotFound
from invoicing.logic import catalog, invoices
from invoicing.logic.common import Deps

LINK_TTL_S = 300
logger = logging.getLogger(__name__)


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
    current version (and of the credit note the event names). Re-reads the
    invoice, so an event that arrives late, out of order or twice renders at
    most what is missing. Returns what it did."""
    tenant, invoice_id = detail["tenant_id"], detail["invoice_id"]
    try:
        invoice, key, rendered = store_pdf(deps, tenant, invoice_id)
    except NotFound:
        return "gone"  # a draft deleted since: nothing to render
    if invoice["version"] < detail["version"]:  # reads are consistent: versions only grow
        raise RuntimeError(f"read version {invoice['version']}, older than the event's {detail['version']}")
    if detail.get("credit_note_id"):  # after the invoice's: a credit note that fails does not hold it up
        store_credit_note_pdf(deps, tenant, detail["credit_note_id"])
    return "rendered" if rendered else "present"


def credit_note_link(deps: Deps, tenant: str, credit_note_id: str) -> dict[str, Any]:
    """A short-lived link to the credit note's PDF (one version: it never changes)."""
    assert deps.blobs is not None, "the documents function has a bucket"
    note, key = store_credit_note_pdf(deps, tenant, credit_note_id)
    return {
        "url": deps.blobs.download_url(key, pdf_filename(note), LINK_TTL_S),
        "expires_in": LINK_TTL_S,
        "version": note["version"],
    }


def store_credit_note_pdf(deps: Deps, tenant: str, credit_note_id: str) -> tuple[dict[str, Any], str]:
    """Render the credit note into the bucket unless it is there."""
    assert deps.blobs is not None, "the documents function has a bucket"
    note = deps.store.get(tenant, "credit_note", credit_note_id)
    if note is None:
        raise NotFound("credit note")
    key = f"{tenant}/credit-notes/{credit_note_id}.pdf"
    if not deps.blobs.exists(key):
        deps.blobs.put(key, render_credit_note(deps, tenant, note), "application/pdf", if_absent=True)
    return note, key


def render_credit_note(deps: Deps, tenant: str, note: dict[str, Any]) -> bytes:
    from invoicing.documents.pdf import render_pdf
    from invoicing.documents.view import credit_note_view
    from invoicing.logic.logo import logo_bytes

    view = credit_note_view(note, logo_bytes(deps, tenant, note["business"].get("logo")))
    credited = {"number": note["invoice_number"], "issue_date": note["invoice_issue_date"]}
    return with_facturx(render_pdf(view), note, view, credit_note_of=credited, notes=view["legal_notes"])


def pdf_filename(invoice: dict[str, Any]) -> str:
    """The file's name as the client saves it: its number (a draft's name)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", invoice.get("number") or invoice["name"])[:80] + ".pdf"


def pdf_key(tenant: str, invoice_id: str, version: int) -> str:
    return f"{tenant}/invoices/{invoice_id}/v{version}.pdf"


def _render(
    deps: Deps, tenant: str, invoice: dict[str, Any], business: dict[str, Any], customer: dict[str, Any] | None
) -> bytes:
    from invoicing.documents.pdf import render_pdf

    view = view_model(deps, tenant, invoice, business, customer)
    pdf = render_pdf(view)
    if invoice["status"] == "draft":
        return pdf  # not an invoice yet: no number, nothing to declare
    return with_facturx(pdf, invoice, view, payment_terms=view["payment_terms"], notes=view["legal_notes"])


def with_facturx(pdf: bytes, document: dict[str, Any], view: dict[str, Any], **cii: Any) -> bytes:
    """The PDF/A-3 with the document's EN 16931 data embedded (Factur-X).
    A document the standard cannot express (a line with two taxes) stays a
    plain PDF/A, and the log says why."""
    from invoicing.documents.facturx import cii_xml, embed_xml
    from invoicing.domain.einvoice import NotRepresentable, cii_data

    try:
        data = cii_data(document, **cii)
    except NotRepresentable as reason:
        logger.warning("no Factur-X data", extra={"number": document.get("number"), "reason": str(reason)})
        return pdf
    seller = view["seller"]["name"] or ""
    title = f"{view['title']} {document['number']}"
    lang = "fr-FR" if view["lang"] == "fr" else "en"
    return embed_xml(pdf, cii_xml(data), title=title, author=seller, subject=f"{title} — {seller}", lang=lang)


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
