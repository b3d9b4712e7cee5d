"""GET /invoices/{id}/preview: the invoice as HTML, from the same
view-model as the PDF, with the French mandatory mentions (SPEC §7)."""

from __future__ import annotations

import html
import re

import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, SPEC_INVOICE

pytestmark = pytest.mark.integration


def text_of(page: str) -> str:
    """What a reader sees: tags dropped, entities decoded, spaces unified."""
    visible = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S)))
    return " ".join(visible.replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.fixture
def issued(api):
    assert api.put("/business", BUSINESS).status == 200
    customer = api.post("/customers", {"name": "Dupont & Fils", "siren": "552100554", "address": CLIENT_ADDRESS}).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body
    reply = api.post(f"/invoices/{draft['id']}/mark-sent")
    assert reply.status == 200, reply.body
    return reply.body


def test_an_issued_invoice_shows_number_dates_parties_lines_vat_and_totals_in_french(api, issued):
    reply = api.get(f"/invoices/{issued['id']}/preview")

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    page = text_of(reply.body)
    for expected in (
        "Facture N° INV-1",
        "Date d'émission 27/11/2026",
        "Date d'échéance 27/12/2026",
        "Acme SAS", "SIREN 732 829 320", "N° TVA intracommunautaire FR44732829320",
        "Dupont & Fils", "SIREN 552 100 554", "France",
        "Développement 3 jour 450,00 € 10 % 20 % 1 215,00 €",
        "Total HT 1 215,00 € Remise −50,00 € Total HT net 1 165,00 € TVA 20 % 233,00 € Total TTC 1 398,00 €",
        "TVA 20 % 1 165,00 € 233,00 €",
        "Total TTC 1 398,00 €",
        "Net à payer 1 398,00 €",
    ):  # fmt: skip
        assert expected in page, expected


def test_the_mandatory_mentions_are_there(api, issued):
    page = text_of(api.get(f"/invoices/{issued['id']}/preview").body)

    assert "Paiement à régler au plus tard le 27/12/2026." in page
    assert "pénalités de 1,5 % par mois du montant restant dû" in page
    assert "Indemnité forfaitaire pour frais de recouvrement : 40 €" in page
    assert "Pas d'escompte pour paiement anticipé." in page
    assert "293 B" not in page


def test_a_draft_is_marked_as_such_and_previews_with_todays_business(api):
    api.put("/business", {**BUSINESS, "vat_franchise": True})
    draft = api.post("/invoices", {"name": "Brouillon", "lines": [{"name": "Cours", "unit_price": "40"}]}).body

    page = text_of(api.get(f"/invoices/{draft['id']}/preview").body)

    assert "Brouillon — sans valeur légale" in page
    assert "TVA non applicable, art. 293 B du CGI." in page
    assert "N° INV" not in page


def test_an_individual_client_gets_no_recovery_indemnity_and_english_businesses_english(api):
    api.put("/business", {**BUSINESS, "locale": "en"})
    customer = api.post("/customers", {"name": "Jane", "kind": "individual"}).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body

    page = text_of(api.get(f"/invoices/{draft['id']}/preview").body)

    assert "Amount due €1,398.00" in page
    assert "recovery indemnity" not in page
    assert "Late payment: penalties of 1.5 % per month" in page


def test_hostile_text_is_escaped_never_markup_nor_template(api):
    hostile = '<script>alert("x")</script> {{ 7*7 }} {% raw %} ' + "W" * 150 + " 🧾"
    customer = api.post("/customers", {"name": "<b>Evil</b> & {{ config }}"}).body
    draft = api.post(
        "/invoices",
        {
            "name": "Hostile",
            "customer_id": customer["id"],
            "notes": hostile,
            "lines": [{"name": hostile, "unit_price": "1"}],
        },
    ).body

    reply = api.get(f"/invoices/{draft['id']}/preview")

    assert reply.status == 200
    assert "<script>" not in reply.body
    assert "<b>Evil</b>" not in reply.body
    assert "&lt;script&gt;" in reply.body
    assert "{{ 7*7 }}" in html.unescape(reply.body)
    assert "49" not in text_of(reply.body).replace("1,00", "")
    assert "🧾" in reply.body


def test_a_greek_client_name_comes_through(api):
    customer = api.post("/customers", {"name": "Δημήτρης Παπαδόπουλος"}).body
    draft = api.post("/invoices", {"name": "Ελλάδα", "customer_id": customer["id"]}).body

    assert "Δημήτρης Παπαδόπουλος" in api.get(f"/invoices/{draft['id']}/preview").body


def test_the_preview_sends_the_pay_pages_security_headers(api, issued):
    """Business text (notes, names) is shown there too: no script, no frame,
    no sniffing, no cache, no Referer (issue 19 §6, SPEC §15)."""
    pay_page = api.call("GET", issued["payment_link"].removeprefix("http://127.0.0.1:3000"), tenant=None)

    preview = api.get(f"/invoices/{issued['id']}/preview")

    assert preview.status == 200
    policy = preview.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert preview.headers["X-Content-Type-Options"] == "nosniff"
    security = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control")
    assert {name: preview.headers.get(name) for name in security} == {
        name: pay_page.headers.get(name) for name in security
    }
