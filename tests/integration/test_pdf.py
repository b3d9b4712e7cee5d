"""The PDF (SPEC §7): the text a reader extracts carries every mandatory
mention, every line, each VAT rate and the totals — from the same
view-model as the preview."""

from __future__ import annotations

import io
import re

import pypdf
import pytest

from tests.conftest import BUSINESS, SPEC_INVOICE

pytestmark = pytest.mark.integration


def render(api, invoice_id: str) -> list[str]:
    from invoicing.api.routes import deps
    from invoicing.logic import documents

    data = documents.pdf(deps(), "acme", invoice_id)
    assert data.startswith(b"%PDF-")
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    return [" ".join(page.extract_text().replace("\u202f", " ").replace("\xa0", " ").split()) for page in pages]


def issue(api, body: dict, customer: dict | None = None, business: dict | None = None) -> dict:
    assert api.put("/business", business or BUSINESS).status == 200
    customer = api.post("/customers", customer or {"name": "Dupont & Fils", "siren": "552100554"}).body
    draft = api.post("/invoices", {**body, "customer_id": customer["id"]})
    assert draft.status == 201, draft.body
    draft = draft.body
    issued = api.post(f"/invoices/{draft['id']}/mark-sent")
    assert issued.status == 200, issued.body
    return issued.body


MENTIONS = (
    "Paiement à régler au plus tard le 27/12/2026.",
    "pénalités de 1,5 % par mois du montant restant dû",
    "Indemnité forfaitaire pour frais de recouvrement : 40 €",
    "Pas d'escompte pour paiement anticipé.",
)


def test_a_single_rate_invoice_carries_every_mention_line_rate_and_total(api):
    invoice = issue(api, SPEC_INVOICE)

    (page,) = render(api, invoice["id"])

    for expected in (
        "Facture N° INV-1", "Date d'émission : 27/11/2026", "Date d'échéance : 27/12/2026",
        "Acme SAS", "SIREN 732829320", "N° TVA intracommunautaire FR44732829320", "SIREN 552100554",
        "Développement", "450,00 €", "1 215,00 €",
        "TVA 20 % — Base HT 1 165,00 € 233,00 €", "Total TTC 1 398,00 €", "Net à payer 1 398,00 €",
        "Page 1/1", *MENTIONS,
    ):  # fmt: skip
        assert expected in page, expected


def test_three_rates_and_a_discount_each_get_their_vat_line(api):
    lines = [
        {"name": "Conseil", "unit_price": "1000.00", "taxes": [{"name": "TVA", "rate": "20"}]},
        {"name": "Formation", "unit_price": "500.00", "taxes": [{"name": "TVA", "rate": "10"}]},
        {"name": "Livre", "unit_price": "40.00", "taxes": [{"name": "TVA", "rate": "5.5"}]},
    ]
    body = {**SPEC_INVOICE, "lines": lines, "discount": {"type": "percentage", "value": "10"}}
    invoice = issue(api, body)

    (page,) = render(api, invoice["id"])

    assert invoice["totals"]["total"] == "1612.98"  # 1386.00 + 180.00 + 45.00 + 1.98
    for entry in invoice["totals"]["tax_breakdown"]:
        rate = entry["rate"].replace(".", ",")
        assert f"TVA {rate} %" in page
    assert "Remise globale −154,00 €" in page
    assert "Total TTC 1 612,98 €" in page


def test_a_120_line_invoice_flows_over_pages_with_the_header_repeated(api):
    lines = [{"name": f"Prestation n°{n}", "unit_price": "10.00", "taxes": [{"name": "TVA", "rate": "20"}]}
             for n in range(120)]  # fmt: skip
    invoice = issue(api, {**SPEC_INVOICE, "lines": lines, "discount": None})

    pages = render(api, invoice["id"])

    assert len(pages) >= 3
    assert f"Page 3/{len(pages)}" in pages[2]
    assert all("Désignation Qté Unité Prix unitaire HT" in page for page in pages[1:] if "Prestation" in page)
    found = {int(n) for page in pages for n in re.findall(r"Prestation n°(\d+)", page)}
    assert found == set(range(120))
    assert "Total TTC 1 440,00 €" in pages[-1]


def test_a_franchise_en_base_business_says_so(api):
    body = {**SPEC_INVOICE, "lines": [{"name": "Cours", "unit_price": "40.00"}], "discount": None}
    invoice = issue(api, body, business={**BUSINESS, "vat_franchise": True})

    (page,) = render(api, invoice["id"])

    assert "TVA non applicable, art. 293 B du CGI." in page
    assert "Total TTC 40,00 €" in page


def test_a_greek_client_name_is_embedded_in_the_font(api):
    invoice = issue(api, SPEC_INVOICE, customer={"name": "Δημήτρης Παπαδόπουλος"})

    (page,) = render(api, invoice["id"])

    assert "Δημήτρης Παπαδόπουλος" in page


def test_hostile_text_neither_crashes_nor_overflows(api):
    hostile = "<script>{{ 7*7 }}</script> " + "W" * 150 + " 🧾 " + "é" * 40
    lines = [{"name": hostile[:200], "description": hostile * 20, "unit_price": "1.00"}]
    invoice = issue(api, {**SPEC_INVOICE, "lines": lines, "discount": None, "notes": hostile * 15})

    pages = render(api, invoice["id"])

    assert any("<script>{{ 7*7 }}</script>" in page for page in pages)
    assert all(page.endswith(f"Page {n}/{len(pages)}") for n, page in enumerate(pages, 1))
