"""Our CII writer (documents/facturx.py) against the `factur-x` library,
which writes the same XML from the same EN 16931 terms: the two must give
the same canonical XML (C14N, blank text between elements left out) for
every kind of document we issue, and for generated ones."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import facturx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from invoicing.documents.facturx import NAMESPACES, cii_xml
from invoicing.domain import einvoice
from tests.unit.test_einvoice import BUYER, GERMAN_BUYER, NOTES, SELLER, deposit_invoice, document, final_invoice, vat

TERMS = "Paiement à régler au plus tard le 27/12/2026."
RICH_SELLER = {**SELLER, "legal_form": "SAS", "share_capital": 10000, "phone": "+33 1 23 45 67 89",
               "trade_register": {"kind": "RCS", "city": "Paris"}}  # fmt: skip
RICH_BUYER = {**BUYER, "email": "compta@client.example", "address": {**BUYER["address"], "line2": "Bât. B"}}
FRANCHISE_SELLER = {**SELLER, "vat_number": None, "vat_franchise": True}


def canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n")


def by_the_library(data: dict[str, Any]) -> bytes:
    written: bytes = facturx.generate_xml(
        copy.deepcopy(data), flavor="factur-x", level="en16931", check_xsd=True, check_schematron=False
    )
    return written


def assert_written_as_the_library_writes(data: dict[str, Any]) -> None:
    assert canonical(cii_xml(data)) == canonical(by_the_library(data))


def rich() -> dict[str, Any]:
    doc = document(
        [
            {
                "name": "Dév <&> \"x\" 'y'",
                "description": "Longue\ndescription\r\n\tindentée",
                "quantity": "3",
                "unit_price": "450.00",
                "unit": "jour",
                "taxes": vat("20"),
                "discount": {"type": "percentage", "value": "10"},
            },
            {"name": "Livre", "quantity": "2", "unit_price": "12.00", "taxes": vat("5.5", inclusive=True)},
            {"name": "Hébergement", "quantity": "12", "unit_price": "9.99", "unit": "mois", "taxes": vat("20")},
            {"name": "Geste", "quantity": "0", "unit_price": "10.00", "taxes": vat("20")},
        ],  # fmt: skip
        {"type": "fixed", "value": "50.00"},
        seller=RICH_SELLER,
        buyer=RICH_BUYER,
    )
    delivery = {"line1": "9 quai", "postal_code": "13002", "city": "Marseille", "country": "FR"}
    return {**doc, "purchase_order": "PO-42 & co", "notes": "Merci <3", "service_date": "2026-11-20",
            "delivery_address": delivery}  # fmt: skip


def final_after_two_deposits() -> dict[str, Any]:
    first = deposit_invoice("300.00")
    return final_invoice(first, deposit_invoice("150.00", first))


ONE_LINE = [{"name": "Conseil", "quantity": "1", "unit_price": "100.00", "taxes": vat("20")}]
CASES = {
    "every term we write": lambda: einvoice.cii_data(rich(), payment_terms=TERMS, notes=NOTES),
    "a credit note": lambda: einvoice.cii_data(
        document(ONE_LINE, number="AV-1"), credit_note_of={"number": "INV-7", "issue_date": "2026-11-20"}
    ),
    "franchise en base": lambda: einvoice.cii_data(
        document([{**ONE_LINE[0], "taxes": []}], seller=FRANCHISE_SELLER), notes=NOTES
    ),
    "reverse charge": lambda: einvoice.cii_data(
        document([{**ONE_LINE[0], "taxes": vat("0")}], buyer=GERMAN_BUYER), payment_terms=TERMS
    ),
    "an export": lambda: einvoice.cii_data(
        document(
            [{**ONE_LINE[0], "taxes": vat("0")}],
            buyer={**GERMAN_BUYER, "vat_number": None, "address": {**GERMAN_BUYER["address"], "country": "CH"}},
        )
    ),  # fmt: skip
    "no bank account, no due date": lambda: einvoice.cii_data(
        {**document(ONE_LINE, seller={**SELLER, "iban": None, "bic": None}), "due_date": None}
    ),
    "an account that is no IBAN": lambda: einvoice.cii_data(
        document(ONE_LINE, seller={**SELLER, "iban": "FR7630006000011234567890180", "bic": None})
    ),
    "Japanese yen": lambda: einvoice.cii_data(
        document([{**ONE_LINE[0], "unit_price": "12000"}], currency="JPY"), payment_terms=TERMS
    ),
    "a deposit invoice": lambda: einvoice.cii_data(deposit_invoice("300.00"), payment_terms=TERMS),
    "a final invoice after two deposit invoices": lambda: einvoice.cii_data(final_after_two_deposits(), notes=NOTES),
}


@pytest.mark.parametrize("case", CASES)
def test_each_kind_of_document_is_written_as_the_library_writes_it(case):
    assert_written_as_the_library_writes(CASES[case]())


def test_the_written_xml_says_the_document_s_terms():
    xml = cii_xml(CASES["every term we write"]())
    ns = {"ram": NAMESPACES["ram"]}
    tree = etree.fromstring(xml)

    assert tree.xpath("//ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedTradeProduct/ram:Name/text()",
                      namespaces=ns)[0] == 'Dév <&> "x" \'y\''  # fmt: skip
    assert tree.xpath("//ram:SpecifiedTradeProduct/ram:Description/text()", namespaces=ns) == [
        "Longue\ndescription\r\n\tindentée"]  # fmt: skip
    assert tree.xpath("//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID/text()", namespaces=ns) == ["PO-42 & co"]


def test_a_term_the_writer_does_not_know_is_refused_not_dropped():
    data = CASES["a credit note"]()

    with pytest.raises(ValueError, match="BT-10"):
        cii_xml({**data, "BT-10": "buyer reference"})
    with pytest.raises(ValueError, match="BT-155"):
        cii_xml({**data, "BG-25": [{**data["BG-25"][0], "BT-155": "SKU-1"}]})


def test_a_character_xml_cannot_hold_raises_and_nothing_is_written():
    data = CASES["a credit note"]()

    with pytest.raises(ValueError, match="not well-formed"):
        cii_xml({**data, "BG-25": [{**data["BG-25"][0], "BT-153": "bell \x07"}]})


def test_an_xml_the_schema_refuses_raises():
    data = CASES["a credit note"]()

    with pytest.raises(ValueError, match="schema"):
        cii_xml({**data, "BT-106": "cent euros"})


# Generated documents: names with markup and line breaks, any quantities,
# prices, discounts and rates, inclusive or not, the parties of each case.

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("&<>\"'\n\t"),
               min_size=1, max_size=30).filter(str.strip)  # fmt: skip
AMOUNT = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
LINES = st.lists(
    st.fixed_dictionaries(
        {"name": TEXT, "quantity": st.decimals(min_value=Decimal("0.001"), max_value=Decimal(500), places=3),
         "unit_price": AMOUNT, "taxes": st.sampled_from(["20", "10", "5.5", "2.1"]).flatmap(
             lambda rate: st.sampled_from([vat(rate), vat(rate, inclusive=True)]))},
        optional={"description": TEXT, "unit": st.sampled_from(["jour", "h", "mois", "kg", "licence"]),
                  "discount": st.fixed_dictionaries({"type": st.just("percentage"),
                                                     "value": st.decimals(min_value=1, max_value=50, places=0)})},
    ),
    min_size=1,
    max_size=6,
)  # fmt: skip
PARTIES = st.sampled_from([(SELLER, BUYER), (RICH_SELLER, RICH_BUYER), (SELLER, GERMAN_BUYER)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=LINES, parties=PARTIES, discount=st.none() | st.decimals(min_value=1, max_value=30, places=0),
       credit_note=st.booleans())  # fmt: skip
def test_generated_documents_are_written_as_the_library_writes_them(lines, parties, discount, credit_note):
    seller, buyer = parties
    if buyer is GERMAN_BUYER:
        lines = [{**line, "taxes": vat("0")} for line in lines]
    lines = [{**line, "quantity": str(line["quantity"]), "unit_price": str(line["unit_price"])} for line in lines]
    doc = document(lines, {"type": "percentage", "value": str(discount)} if discount else None, seller=seller,
                   buyer=buyer)  # fmt: skip
    assume(Decimal(doc["totals"]["total"]) > 0)
    data = einvoice.cii_data(
        doc,
        credit_note_of={"number": "INV-1", "issue_date": "2026-11-01"} if credit_note else None,
        payment_terms=TERMS,
        notes=NOTES,
    )

    assert_written_as_the_library_writes(data)
