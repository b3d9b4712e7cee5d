"""Documents for the tests and the bench that need one without the API: an
issued invoice of so many lines, and its view-model (what the PDF draws)."""

from __future__ import annotations

from typing import Any


def issued_invoice(count: int, description: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """An issued invoice of `count` lines of 3 days at 450.00, VAT 20 %
    (with `description` on each), and its view-model."""
    from invoicing.documents.view import invoice_view
    from invoicing.logic.invoices import totals_of, totals_view

    line = {"name": "Développement", "quantity": "3", "unit": "jour", "unit_price": "450.00",
            "taxes": [{"name": "TVA", "rate": "20"}]}  # fmt: skip
    if description:
        line["description"] = description
    totals = totals_view(totals_of([line] * count, None, "EUR"))
    nets = totals.pop("line_nets")
    invoice = {
        "status": "open", "number": "INV-1", "currency": "EUR", "issue_date": "2026-11-27",
        "due_date": "2026-12-27", "lines": [{**line, "net": net} for net in nets], "totals": totals,
        "amount_due": totals["total"], "business": {"legal_name": "Atelier SAS", "siren": "732829320"},
        "customer": {"name": "Client"},
    }  # fmt: skip
    return invoice, invoice_view(invoice, {}, None)
