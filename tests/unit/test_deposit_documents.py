"""The documents of deposit and final invoices (SPEC §11): titled and
referenced as what they are, in the HTML preview and the PDF alike."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest

from invoicing.documents.html import render_html
from invoicing.documents.pdf import render_pdf
from invoicing.documents.view import invoice_view
from tests.unit.test_einvoice import SELLER, deposit_invoice, final_invoice

pytestmark = pytest.mark.unit


def shown(invoice: dict[str, Any], locale: str = "fr-FR") -> dict[str, Any]:
    """The view of an open invoice, from a business writing in `locale`."""
    business = {**SELLER, "locale": locale}
    return invoice_view({**invoice, "business": business, "status": "open", "amount_due": invoice["totals"]["total"]},
                        business, None)  # fmt: skip


def pdf_text(view: dict[str, Any]) -> str:
    (page, *_) = pypdf.PdfReader(io.BytesIO(render_pdf(view))).pages
    return " ".join(page.extract_text().replace("\u202f", " ").replace("\xa0", " ").split())


def test_a_deposit_invoice_is_titled_as_one_and_says_which_estimate_it_is_a_deposit_on():
    view = shown(deposit_invoice("300.00"))

    assert view["title"] == "Facture d'acompte"
    assert view["references"] == [("Objet", "Acompte sur devis D-1")]
    assert "Facture d'acompte N° F-1" in pdf_text(view)
    assert "Objet : Acompte sur devis D-1" in pdf_text(view)
    assert "<dt>Objet</dt><dd>Acompte sur devis D-1</dd>" in render_html(view)


def test_a_final_invoice_is_the_balance_of_its_estimate_with_its_deductions_as_lines():
    first = deposit_invoice("300.00")
    view = shown(final_invoice(first))

    assert view["title"] == "Facture"
    assert view["references"] == [("Objet", "Solde du devis D-1")]
    text = pdf_text(view)
    assert "Objet : Solde du devis D-1" in text
    assert "Acompte F-1 du 01/11/2026" in text


def test_in_english_a_deposit_invoice_and_the_balance_of_an_estimate():
    first = deposit_invoice("300.00")

    deposit, final = shown(first, "en"), shown(final_invoice(first), "en")

    assert (deposit["title"], deposit["references"]) == ("Deposit invoice", [("Subject", "Deposit on estimate D-1")])
    assert (final["title"], final["references"]) == ("Invoice", [("Subject", "Balance of estimate D-1")])


def test_a_standard_invoice_refers_to_its_purchase_order_only():
    first = deposit_invoice("300.00")
    plain = {**final_invoice(first), "kind": "standard", "purchase_order": "PO-42"}

    assert shown(plain)["references"] == [("Bon de commande", "PO-42")]
