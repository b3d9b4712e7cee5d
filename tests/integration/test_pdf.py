"""The PDF (SPEC §7): the text a reader extracts carries every mandatory
mention, every line, each VAT rate and the totals — from the same
view-model as the preview."""

from __future__ import annotations

import io
import re

import pypdf
import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE

pytestmark = pytest.mark.integration


def render(api, invoice_id: str) -> list[str]:
    from invoicing.adapters.live import deps
    from invoicing.logic import documents

    data = documents.pdf(deps(), "acme", invoice_id)
    assert data.startswith(b"%PDF-")
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    return [" ".join(page.extract_text().replace("\u202f", " ").replace("\xa0", " ").split()) for page in pages]


def issue(api, body: dict, customer: dict | None = None, business: dict | None = None) -> dict:
    assert api.patch("/business", business or BUSINESS).status == 200  # created, or changed
    customer = api.post(
        "/customers",
        {"address": CLIENT_ADDRESS, "siren": "552100554", **(customer or {"name": "Dupont & Fils"})},
    ).body
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
        "Acme SAS", "SIREN 732 829 320", "N° TVA intracommunautaire FR44732829320", "SIREN 552 100 554",
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
    # the lines, the discount, the tax base, then the VAT by rate (SPEC §6.2)
    assert "Total HT 1 540,00 € Remise −154,00 € Total HT net 1 386,00 € TVA 20 % 180,00 €" in page
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


def test_the_early_payment_terms_of_the_business_replace_the_no_discount_mention(api):
    terms = "Escompte de 2 % pour paiement sous 10 jours."
    invoice = issue(api, SPEC_INVOICE, business={**BUSINESS, "early_payment_terms": terms})

    (page,) = render(api, invoice["id"])

    assert terms in page
    assert "Pas d'escompte" not in page
    assert invoice["business"]["early_payment_terms"] == terms  # frozen with the invoice


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


# -- GET /invoices/{id}/pdf: stored in S3 per version, reached by a pre-signed URL ---------


def stored_versions(key: str) -> list[dict]:
    import boto3

    listing = boto3.client("s3").list_object_versions(Bucket="invoicing-local-documents", Prefix=key)
    return listing.get("Versions", [])


@pytest.mark.on_aws
def test_the_pdf_link_points_at_the_rendered_version_in_the_tenants_prefix(api):
    import boto3

    invoice = issue(api, SPEC_INVOICE)

    reply = api.get(f"/invoices/{invoice['id']}/pdf")

    assert reply.status == 200, reply.body
    assert (reply.body["expires_in"], reply.body["version"]) == (300, invoice["version"])
    key = f"acme/invoices/{invoice['id']}/v{invoice['version']}.pdf"
    assert key in reply.body["url"]
    assert "X-Amz-Signature=" in reply.body["url"]
    obj = boto3.client("s3").get_object(Bucket="invoicing-local-documents", Key=key)
    assert obj["ContentType"] == "application/pdf"
    assert obj["Body"].read().startswith(b"%PDF-")


@pytest.mark.on_aws
def test_asking_again_reuses_the_stored_pdf_and_a_new_version_gets_its_own(api):
    draft = api.post("/invoices", {"name": "Brouillon", "lines": [{"name": "Cours", "unit_price": "40"}]}).body
    first_key = f"acme/invoices/{draft['id']}/v1-draft-b0-c0.pdf"  # no profile, no customer yet

    api.get(f"/invoices/{draft['id']}/pdf")
    api.get(f"/invoices/{draft['id']}/pdf")
    assert len(stored_versions(first_key)) == 1  # rendered once

    assert api.patch(f"/invoices/{draft['id']}", {"version": 1, "notes": "modifié"}).status == 200
    reply = api.get(f"/invoices/{draft['id']}/pdf")
    assert reply.body["version"] == 2
    assert len(stored_versions(f"acme/invoices/{draft['id']}/v2-draft-b0-c0.pdf")) == 1


@pytest.mark.on_aws
def test_a_draft_pdf_follows_the_business_and_customer_it_shows(api):
    """A draft shows today's profile and customer: a change to either is a new PDF."""
    customer = api.post("/customers", {"name": "Dupont & Fils", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body
    api.put("/business", BUSINESS)
    before = api.get(f"/invoices/{draft['id']}/pdf").body

    api.patch("/business", {"legal_name": "Acme Renommée SAS"})
    after = api.get(f"/invoices/{draft['id']}/pdf").body

    assert before["url"].split("?")[0] != after["url"].split("?")[0]
    assert "Acme Renommée SAS" in render(api, draft["id"])[0]
    assert len(stored_versions(f"acme/invoices/{draft['id']}/v1-draft-b2-c1.pdf")) == 1


def test_documents_rendered_one_after_another_each_keep_their_own_glyphs(api):
    """The renderer parses the font once per process and gives each document
    its own font tables: a document must not lose glyphs another one used."""
    greek = issue(api, {**SPEC_INVOICE, "name": "G"}, customer={"name": "Δημήτρης Παπαδόπουλος"})
    cyrillic = issue(api, {**SPEC_INVOICE, "name": "C", "issue_date": None}, customer={"name": "Ольга Смирнова"})

    pages = [render(api, invoice["id"])[0] for invoice in (greek, cyrillic, greek, cyrillic)]

    assert all("Δημήτρης Παπαδόπουλος" in page for page in pages[0::2])
    assert all("Ольга Смирнова" in page for page in pages[1::2])


def test_a_percentage_schedule_shows_each_instalment_amount_the_last_taking_the_rounding_cent(api):
    thirds = [
        {"due_date": f"2026-12-{day}", "value": value} for day, value in ((10, "33.33"), (20, "33.33"), (27, "33.34"))
    ]
    invoice = issue(api, {**SPEC_INVOICE, "payment_schedule": {"type": "percentage", "instalments": thirds}})

    (page,) = render(api, invoice["id"])

    # date and amount sit in two columns, which the extracted text runs together
    assert "10/12/202633,33 % — 465,95 €" in page
    assert "27/12/202633,34 % — 466,10 €" in page


def test_the_date_of_the_service_shows_when_it_differs_from_the_issue_date(api):
    invoice = issue(api, {**SPEC_INVOICE, "service_date": "2026-11-20"})
    same_day = issue(api, {**SPEC_INVOICE, "name": "Même jour", "service_date": "2026-11-27"}, customer={"name": "B"})

    (page,) = render(api, invoice["id"])
    (other,) = render(api, same_day["id"])

    assert "Date de la vente ou de la prestation : 20/11/2026" in page
    assert "Date de la vente ou de la prestation" not in other  # the issue date says it


@pytest.mark.on_aws
def test_an_issued_invoices_pdf_is_locked_ten_years_past_its_year_and_a_drafts_is_not(api):
    """French law keeps issued invoices ten years (Code de commerce L123-22):
    the stored PDF is under S3 Object Lock (governance) until 1 January of
    the issue year + 11; a draft's preview stays deletable."""
    import boto3

    s3 = boto3.client("s3")
    draft = api.post("/invoices", {"name": "Brouillon", "lines": [{"name": "Cours", "unit_price": "40"}]}).body
    api.get(f"/invoices/{draft['id']}/pdf")
    invoice = issue(api, SPEC_INVOICE)  # issued on 2026-11-27
    api.get(f"/invoices/{invoice['id']}/pdf")

    locked = s3.head_object(
        Bucket="invoicing-local-documents", Key=f"acme/invoices/{invoice['id']}/v{invoice['version']}.pdf"
    )
    preview = s3.head_object(Bucket="invoicing-local-documents", Key=f"acme/invoices/{draft['id']}/v1-draft-b0-c0.pdf")

    assert locked["ObjectLockMode"] == "GOVERNANCE"
    assert locked["ObjectLockRetainUntilDate"].date().isoformat() == "2037-01-01"
    assert "ObjectLockMode" not in preview


def test_a_credit_notes_pdf_is_locked_as_long_a_future_one_as_the_stack_allows_an_old_one_not(fakes):
    from datetime import date

    from invoicing.logic import documents

    deps = fakes.installed().deps
    note = documents._Pdf("credit_note", {"issue_date": "2026-12-03", "status": "issued"}, "t/credit-notes/cn.pdf",
                          lambda: b"%PDF")  # fmt: skip
    later = documents._Pdf("invoice", {"issue_date": "2040-06-01", "status": "open"}, "t/invoices/i/v2.pdf",
                           lambda: b"%PDF")  # fmt: skip

    assert documents._put_pdf(deps, note, b"%PDF")
    assert documents._put_pdf(deps, later, b"%PDF")

    assert fakes.blobs.objects["t/credit-notes/cn.pdf"].retain_until == date(2037, 1, 1)
    assert fakes.blobs.objects["t/invoices/i/v2.pdf"].retain_until == deps.now().date() + documents.MAX_RETENTION
    old = documents._Pdf("invoice", {"issue_date": "2014-03-01", "status": "paid"}, "t/invoices/old/v3.pdf",
                         lambda: b"%PDF")  # fmt: skip
    assert documents._put_pdf(deps, old, b"%PDF")
    assert fakes.blobs.objects["t/invoices/old/v3.pdf"].retain_until is None  # its ten years are over
