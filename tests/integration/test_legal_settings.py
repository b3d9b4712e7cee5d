"""The settings the law and the e-invoicing reform ask for (issue 7): the
payee's IBAN and BIC, what the business sells, the client's order
reference; printed on the PDF and carried in its Factur-X data."""

from __future__ import annotations

import io

import facturx
import pypdf
import pytest
from lxml import etree

from tests.conftest import BUSINESS, CLIENT_ADDRESS, SPEC_INVOICE
from tests.einvoice_rules import schematron_failures

pytestmark = pytest.mark.integration

IBAN = "FR7630006000011234567890189"


def issued_with(api, business: dict, **invoice) -> tuple[dict, str, bytes]:
    from invoicing.adapters.live import deps
    from invoicing.logic import documents

    assert api.patch("/business", business).status == 200  # created, or changed
    customer = (
        next(iter(api.get("/customers").body["items"]), None)
        or api.post("/customers", {"name": "Dupont & Fils", "siren": "552100554", "address": CLIENT_ADDRESS}).body
    )
    draft = api.post("/invoices", {**SPEC_INVOICE, **invoice, "customer_id": customer["id"]}).body
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body
    data = documents.pdf(deps(), "acme", issued["id"])
    text = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages).split())
    _, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
    return issued, text.replace("\u202f", " ").replace("\xa0", " "), xml


def cii(xml: bytes, path: str) -> list[str]:
    ns = {
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
        "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    }
    return [node.text for node in etree.fromstring(xml).xpath(path, namespaces=ns)]


def test_the_iban_bic_operations_and_order_reference_are_printed_and_carried(api):
    business = {**BUSINESS, "iban": "fr76 3000 6000 0112 3456 7890 189", "bic": "agrifrppxxx", "operations": "mixed"}

    invoice, text, xml = issued_with(api, business, purchase_order="BC-2026-118")

    assert api.get("/business").body["iban"] == IBAN  # kept compact and upper-case
    assert invoice["purchase_order"] == "BC-2026-118"
    assert "Règlement par virement : IBAN FR76 3000 6000 0112 3456 7890 189 — BIC AGRIFRPPXXX." in text
    assert "Catégorie de l'opération : livraison de biens et prestation de services." in text
    assert "Bon de commande : BC-2026-118" in text
    assert cii(xml, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == [IBAN]
    assert cii(xml, "//ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID") == ["AGRIFRPPXXX"]
    assert cii(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == ["58"]
    assert cii(xml, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == ["BC-2026-118"]
    assert cii(xml, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == ["M1"]
    assert schematron_failures(xml) == []


def test_the_issued_invoice_keeps_the_iban_it_was_issued_with(api):
    invoice, _, _ = issued_with(api, {**BUSINESS, "iban": IBAN})

    assert api.patch("/business", {"iban": "DE89370400440532013000"}).status == 200

    assert api.get(f"/invoices/{invoice['id']}").body["business"]["iban"] == IBAN


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("iban", "FR7630006000011234567890188"),  # a check digit off
        ("iban", "FR76 3000"),
        ("bic", "AGRI FR"),
        ("operations", "software"),
        ("credit_note_prefix", "AV1"),
        ("invoice_number_prefix", "F.2026-"),  # BR-FR-02: a number of letters, digits and + - _ / only
        ("credit_note_prefix", "AV 2026-"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(api, field, value):
    reply = api.put("/business", {**BUSINESS, field: value})

    assert reply.status == 422
    assert reply.error_fields == [field]


def test_a_number_with_every_separator_the_reform_allows_passes_its_rules(api):
    from tests.einvoice_rules import french_ctc_failures

    issued, _, xml = issued_with(api, {**BUSINESS, "invoice_number_prefix": "F+2026/A_B-"})

    assert issued["number"] == "F+2026/A_B-1"
    assert cii(xml, "//rsm:ExchangedDocument/ram:ID") == ["F+2026/A_B-1"]
    assert [f.rule for f in french_ctc_failures(xml) if f.rule.startswith(("BR-FR-01", "BR-FR-02"))] == []
    dotted = xml.replace(b">F+2026/A_B-1<", b">F.2026/A_B-1<")  # what the prefixes allowed before
    assert [f.rule for f in french_ctc_failures(dotted) if f.rule.startswith("BR-FR-02")]


# -- the issuer's legal identity, the client's, the delivery address (SPEC §6.2) ---------------------------

IDENTITY = {"legal_form": "SAS", "share_capital": "10000", "trade_register": {"kind": "RCS", "city": "Paris"}}


def test_the_issuer_block_and_the_footer_say_form_capital_registration_and_vat_number(api):
    _, text, xml = issued_with(api, {**BUSINESS, **IDENTITY})

    assert (
        "Émetteur Acme SAS 1 rue de la Paix 75002 Paris France SAS au capital de 10 000 € RCS Paris 732 829 320" in text
    )
    assert "Acme SAS au capital de 10 000 € · RCS Paris 732 829 320 · TVA FR44732829320" in text
    assert cii(xml, "//ram:SellerTradeParty/ram:Description") == ["SAS au capital de 10 000 EUR, RCS Paris 732829320"]
    assert schematron_failures(xml) == []


def test_the_html_preview_says_the_same_identity_and_names_the_countries(api):
    invoice, _, _ = issued_with(api, {**BUSINESS, **IDENTITY, "legal_name": "Acme"})

    page = " ".join(api.get(f"/invoices/{invoice['id']}/preview").body.replace("\u202f", " ").split())

    assert "Acme SAS au capital de 10 000 € · RCS Paris 732 829 320 · TVA FR44732829320" in page
    assert "69006 Lyon<br>France<br>" in page
    assert ">FR<" not in page


def test_an_individual_entrepreneurs_name_carries_ei_and_no_capital(api):
    business = {**BUSINESS, "legal_name": "Jeanne Martin", "legal_form": "EI", "vat_number": None,
                "vat_franchise": True, "trade_register": {"kind": "RM", "city": "Lyon"}}  # fmt: skip

    _, text, _ = issued_with(api, business, lines=[{"name": "Réparation", "unit_price": "80"}], discount=None)

    assert "Jeanne Martin EI · RM Lyon 732 829 320" in text
    assert "capital" not in text


def test_vat_on_debits_is_said_on_services_invoices_only(api):
    _, services, _ = issued_with(api, {**BUSINESS, "vat_on_debits": True})
    api.patch("/business", {"operations": "goods"})
    customer = api.get("/customers").body["items"][0]
    draft = api.post("/invoices", {**SPEC_INVOICE, "name": "Biens", "customer_id": customer["id"]}).body
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body
    goods = api.get(f"/invoices/{issued['id']}/preview").body

    assert "Option pour le paiement de la taxe d'après les débits." in services
    assert "d'après les débits" not in goods


def test_a_delivery_address_is_printed_and_carried_when_it_differs_from_the_clients(api):
    site = {"line1": "Chantier Part-Dieu", "postal_code": "69003", "city": "Lyon", "country": "FR"}

    invoice, text, xml = issued_with(api, BUSINESS, delivery_address=site)
    same, same_text, same_xml = issued_with(api, BUSINESS, name="Même adresse", delivery_address=CLIENT_ADDRESS)

    assert invoice["delivery_address"] == {**site, "line2": None}
    assert "Adresse de livraison Chantier Part-Dieu 69003 Lyon France" in text
    assert cii(xml, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:LineOne") == ["Chantier Part-Dieu"]
    assert schematron_failures(xml) == []
    assert "Adresse de livraison" not in same_text
    assert cii(same_xml, "//ram:ShipToTradeParty") == []
