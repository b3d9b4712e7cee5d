"""The offline e-invoice checks (tests/einvoice_rules.py) pass a correct
EN 16931 invoice and name exactly the rules a broken one breaks.

The invoice, in EUR, totals as follows:

    line 1   3 × 450.00 = 1350.00   S 20 %
    line 2   2 × 125.50 =  251.00   S 20 %
    line 3  10 ×  12.30 =  123.00   S 5.5 %
    sum of line nets (BT-106)                          1724.00
    allowances, 5 % of each rate's lines:
      20 %: 5 % of 1601.00 = 80.05, 5.5 %: 5 % of 123.00 = 6.15
    sum of allowances (BT-107)                           86.20
    total without VAT (BT-109)                         1637.80
    VAT 20 %:  base 1601.00 − 80.05 = 1520.95, VAT 304.19
    VAT 5.5 %: base  123.00 −  6.15 =  116.85, VAT 6.42675 → 6.43
    VAT total (BT-110)                                  310.62
    grand total (BT-112)                               1948.42
    paid (BT-113)                                       500.00
    amount due (BT-115)                                1448.42
"""

from __future__ import annotations

import datetime
import functools
import operator
from decimal import Decimal
from typing import Any

import pytest
from facturx import generate_xml
from lxml import etree

from tests.einvoice_rules import schematron_failures, schematron_warnings, xsd_errors

pytestmark = pytest.mark.unit

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


def correct_invoice() -> dict[str, Any]:
    """A fresh dict each time: generate_xml rewrites the one it is given."""
    return {
        "BT-1": "F-2026-0042",
        "BT-2": datetime.date(2026, 11, 27),
        "BT-3": "380",
        "BT-5": "EUR",
        "BT-9": datetime.date(2026, 12, 27),
        "BT-20": "Paiement à 30 jours",
        "BT-24": "urn:cen.eu:en16931:2017",
        # without a delivery date the package writes an empty, nil delivery block the XSD refuses
        "BT-72": datetime.date(2026, 11, 20),
        "BG-4": {
            "name": "Acme SAS",
            "addr_l1": "1 rue de la Paix",
            "postcode": "75002",
            "city": "Paris",
            "country_code": "FR",
            "vat_identifier": "FR44732829320",
            "legal_identifier": "732829320",
            "legal_identifier_schemeid": "0002",
        },
        "BG-7": {
            "name": "Dupont & Fils",
            "addr_l1": "12 avenue Foch",
            "postcode": "69006",
            "city": "Lyon",
            "country_code": "FR",
            "vat_identifier": "FR96412345670",
            "legal_identifier": "412345670",
            "legal_identifier_schemeid": "0002",
        },
        "BT-81": "58",  # SEPA credit transfer
        "BT-84": "FR7630006000011234567890189",
        "BG-20": [allowance("80.05", of="1601.00", rate="20.00"), allowance("6.15", of="123.00", rate="5.50")],
        "BG-23": [
            {"BT-116": "1520.95", "BT-117": "304.19", "BT-118": "S", "BT-119": "20.00"},
            {"BT-116": "116.85", "BT-117": "6.43", "BT-118": "S", "BT-119": "5.50"},
        ],
        "BT-106": "1724.00",
        "BT-107": "86.20",
        "BT-109": "1637.80",
        "BT-110": "310.62",
        "BT-112": "1948.42",
        "BT-113": "500.00",
        "BT-115": "1448.42",
        "BG-25": [
            line("1", "3", "450.00", net="1350.00", rate="20.00", name="Développement"),
            line("2", "2", "125.50", net="251.00", rate="20.00", name="Hébergement"),
            line("3", "10", "12.30", net="123.00", rate="5.50", name="Livres"),
        ],
    }


def line(number: str, quantity: str, price: str, *, net: str, rate: str, name: str) -> dict[str, str]:
    return {"BT-126": number, "BT-129": quantity, "BT-130": "C62", "BT-146": price, "BT-131": net,
            "BT-151": "S", "BT-152": rate, "BT-153": name}  # fmt: skip


def allowance(amount: str, *, of: str, rate: str) -> dict[str, str]:
    """5 % off the lines at `rate`, which total `of`."""
    return {"amount": amount, "base_amount": of, "rate": "5.00", "reason": "Remise fidélité", "reason_code": "95",
            "vat_category_code": "S", "vat_rate": rate}  # fmt: skip


def cii(data: dict[str, Any]) -> bytes:
    # check_schematron=False: the package would POST the XML to a Saxon server
    return generate_xml(data, flavor="factur-x", level="en16931", check_xsd=True, check_schematron=False)


def shifted(*paths: tuple[str | int, ...], by: str = "0.01") -> bytes:
    """The correct invoice with the amount at each path (keys into its dict) `by` higher."""
    data = correct_invoice()
    for *parents, key in paths:
        holder = functools.reduce(operator.getitem, parents, data)
        holder[key] = str(Decimal(holder[key]) + Decimal(by))
    return cii(data)


def rules(xml: bytes) -> list[str]:
    return sorted(failure.rule for failure in schematron_failures(xml))


def test_a_correct_invoice_with_two_rates_and_an_allowance_passes_the_schema_and_every_rule():
    xml = cii(correct_invoice())

    assert xsd_errors(xml) == []
    assert schematron_failures(xml) == []
    assert schematron_warnings(xml) == []


VAT_20, VAT_5_5 = 0, 1


@pytest.mark.parametrize(
    ("paths", "broken"),
    [
        pytest.param([("BT-112",), ("BT-115",)], ["BR-CO-15"], id="grand total and amount due"),
        pytest.param([("BT-112",)], ["BR-CO-15", "BR-CO-16"], id="grand total alone"),
        pytest.param([("BT-115",)], ["BR-CO-16"], id="amount due"),
        pytest.param([("BG-23", VAT_20, "BT-116")], ["BR-S-08"], id="20 % taxable base"),
        pytest.param([("BG-23", VAT_5_5, "BT-116")], ["BR-S-08"], id="5.5 % taxable base"),
        pytest.param([("BG-25", 1, "BT-131")], ["BR-CO-10", "BR-S-08"], id="a line net"),
        pytest.param([("BG-23", VAT_20, "BT-117")], ["BR-CO-14"], id="20 % VAT amount"),
        pytest.param([("BT-110",)], ["BR-CO-14", "BR-CO-15"], id="VAT total"),
        pytest.param([("BT-109",)], ["BR-CO-13", "BR-CO-15"], id="total without VAT"),
        pytest.param([("BG-20", VAT_20, "amount")], ["BR-CO-11", "BR-S-08"], id="an allowance"),
    ],
)
def test_an_amount_a_cent_off_breaks_exactly_the_rules_tying_it_to_the_others(paths, broken):
    xml = shifted(*paths)

    assert xsd_errors(xml) == []
    assert rules(xml) == broken


@pytest.mark.parametrize(("rate", "position"), [(VAT_20, 1), (VAT_5_5, 2)])
def test_br_s_08_points_at_the_rate_whose_taxable_base_is_wrong(rate, position):
    (failure,) = schematron_failures(shifted(("BG-23", rate, "BT-116")))

    assert failure.rule == "BR-S-08"
    breakdown = f"/*:ApplicableHeaderTradeSettlement[1]/*:ApplicableTradeTax[{position}]"  # BG-23, not a line's
    assert failure.location.endswith(f"{breakdown}/*:CategoryCode[1]")


@pytest.mark.parametrize(
    ("by", "broken"),
    [("0.99", []), ("-0.99", []), ("1.00", ["BR-S-09"]), ("-1.00", ["BR-S-09"])],
)
def test_br_s_09_lets_a_rate_s_vat_be_anything_less_than_one_euro_off(by, broken):
    """Given the 20 % VAT amount wrong and every total agreeing with it, only
    BR-S-09 compares VAT to base × rate, and it allows a whole unit either
    way: VAT rounding must be proven by our own totals tests, not by this."""
    xml = shifted(("BG-23", VAT_20, "BT-117"), ("BT-110",), ("BT-112",), ("BT-115",), by=by)

    assert rules(xml) == broken


def test_the_code_lists_are_read_from_the_package_offline():
    data = correct_invoice()
    data["BG-7"]["country_code"] = "ZZ"

    (failure,) = schematron_failures(cii(data))

    assert failure.rule == "FX-SCH-A-000568"  # checked against FACTUR-X_EN16931_codedb.xml
    assert failure.location.endswith("/*:BuyerTradeParty[1]/*:PostalTradeAddress[1]/*:CountryID[1]")


def test_an_empty_element_is_a_warning_not_a_failure():
    document = etree.fromstring(cii(correct_invoice()))
    (agreement,) = document.xpath("//ram:ApplicableHeaderTradeAgreement", namespaces=NS)
    agreement.insert(0, etree.Element(f"{{{NS['ram']}}}BuyerReference"))
    xml = etree.tostring(document)

    assert xsd_errors(xml) == []
    assert schematron_failures(xml) == []
    assert [warning.rule for warning in schematron_warnings(xml)] == ["PEPPOL-EN16931-R008"]


def test_an_invoice_without_its_type_code_fails_the_schema():
    document = etree.fromstring(cii(correct_invoice()))
    (type_code,) = document.xpath("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode", namespaces=NS)
    type_code.getparent().remove(type_code)

    (error,) = xsd_errors(etree.tostring(document))

    assert "IssueDateTime': This element is not expected. Expected is ( {" in error
    assert error.endswith("}TypeCode )."), error


def test_xml_that_is_not_well_formed_fails_the_schema():
    (error,) = xsd_errors(b"<rsm:CrossIndustryInvoice")

    assert error.startswith("not well-formed: ")
