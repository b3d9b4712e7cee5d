"""An issued invoice or credit note as EN 16931 data: the business terms
(BT-…) and groups (BG-…) of the European standard, keyed by their ids, for
documents.facturx to write as CII XML. Pure: the
amounts are the stored ones, which the totals function computed.

How our invoices map onto the standard:

- Every tax on a line is VAT, and a line carries one rate (EN 16931 allows
  one VAT category per line; a line with two taxes cannot be said).
- The VAT category of a line follows from its rate and the parties: S when
  it has a rate; otherwise E with VATEX-FR-FRANCHISE when the seller is
  under franchise en base (art. 293 B du CGI), AE (reverse charge) for a
  business client in another EU country with a VAT number, G for a client
  outside the EU, and Z otherwise.
- The invoice discount is a document-level allowance (BG-20) per category
  and rate: the part of the discount the totals function gave each group.
  Only its amount is written (BT-92), no base nor percentage (BT-93/94):
  on a final invoice the discount's base is its lines without their
  deductions, which no sum of the standard states.
- A deposit invoice (factures d'acompte, SPEC §11) is a prepayment invoice
  (386). A final invoice names the deposit invoices it deducts as
  preceding invoices (BG-3), and its deductions are lines like any other:
  negative, at their rates, so the sums of the standard hold as they are.
  A price is never negative (BR-27): a line that takes off is written as
  a negative quantity at a positive price.
- The data says what the document said on the day it was issued: payments,
  late fees and credit notes come later and are not in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from invoicing.domain.document import (
    Address,
    DocumentLine,
    Party,
    Seller,
    address_of,
    buyer_of,
    line_of,
    seller_of,
    totals_of,
)
from invoicing.domain.money import ZERO, format_amount
from invoicing.domain.totals import Totals

INVOICE, CREDIT_NOTE, PREPAYMENT_INVOICE = "380", "381", "386"  # UNTDID 1001
EN16931 = "urn:cen.eu:en16931:2017"  # BT-24: the profile (Factur-X EN 16931, "Comfort")
SIREN_SCHEME = "0002"  # ISO 6523 ICD of the French SIREN
EU = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)  # fmt: skip
FRANCHISE = ("VATEX-FR-FRANCHISE", "TVA non applicable, art. 293 B du CGI")
REVERSE_CHARGE = ("VATEX-EU-AE", "Autoliquidation, art. 283-2 du CGI")
EXPORT = ("VATEX-EU-G", "Exonération de TVA, art. 262 I du CGI (exportation)")
DISCOUNT_REASON = ("95", "Remise")  # UNTDID 5189: discount
# BT-23, the business process, as the French e-invoicing rules (BR-FR-08) name them
PROCESSES = {"goods": "B1", "services": "S1", "mixed": "M1"}
ELECTRONIC_ADDRESS_SCHEME = "0225"  # the French directory's SIREN-based addresses
# UN/ECE recommendation 20 codes for the units people type; anything else is a unit (C62).
UNITS = {
    "C62": ("unité", "unités", "unit", "units", "u", "pièce", "pièces", "pce", "pc", "piece", "pieces", "forfait"),
    "HUR": ("heure", "heures", "h", "hour", "hours", "hr"),
    "DAY": ("jour", "jours", "j", "day", "days"),
    "WEE": ("semaine", "semaines", "week", "weeks"),
    "MON": ("mois", "month", "months"),
    "ANN": ("an", "ans", "année", "années", "year", "years"),
    "MIN": ("minute", "minutes", "min"),
    "KGM": ("kg", "kilo", "kilos", "kilogramme", "kilogrammes"),
    "GRM": ("g", "gramme", "grammes"),
    "MTR": ("m", "mètre", "mètres", "metre", "metres", "meter", "meters"),
    "KMT": ("km",),
    "MTK": ("m2", "m²"),
    "MTQ": ("m3", "m³"),
    "LTR": ("l", "litre", "litres", "liter", "liters"),
}
_UNIT_CODES = {word: code for code, words in UNITS.items() for word in words}


class NotRepresentable(Exception):
    """The document says something EN 16931 cannot (the reason is the message)."""


class Category(NamedTuple):
    code: str  # UNTDID 5305: S, Z, E, AE, G
    rate: Decimal
    exemption: tuple[str, str] | None = None  # (VATEX code, text)


def unit_code(unit: str | None) -> str:
    return _UNIT_CODES.get((unit or "").strip().casefold().rstrip("."), "C62")


def category(rate: Decimal, seller: Seller, buyer: Party) -> Category:
    """The VAT category of a line at `rate` between these parties."""
    if seller.vat_franchise:
        if rate:
            raise NotRepresentable("a seller under franchise en base charges no VAT")
        return Category("E", ZERO, FRANCHISE)
    if rate:
        return Category("S", rate)
    seller_country, buyer_country = seller.country, buyer.country
    cross_border = buyer_country != seller_country and {buyer_country, seller_country} <= EU
    if cross_border and buyer.kind == "business" and buyer.vat_number:
        return Category("AE", ZERO, REVERSE_CHARGE)
    if buyer_country not in EU:
        return Category("G", ZERO, EXPORT)
    return Category("Z", ZERO)


def cii_data(
    document: Mapping[str, Any],
    *,
    credit_note_of: Mapping[str, Any] | None = None,
    payment_terms: str | None = None,
    notes: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The EN 16931 data of an issued invoice, or of a credit note when
    `credit_note_of` is the invoice it credits (its number and issue date).
    A deposit invoice (`kind` "deposit") is a prepayment invoice; a final
    one names its `deposit_invoices` as the invoices it follows.
    Long on purpose: one mapping of the business terms, in the standard's
    order (BT-1 to BG-25), so that each can be checked against it.
    `document` is as stored: its business and customer snapshots, its lines
    with their nets, its totals. `payment_terms` say when it is due, and
    `notes` are the legal mentions with their subjects (PMD, PMT, AAB), as
    the document words them."""
    seller, buyer = seller_of(document["business"]), buyer_of(document["customer"])
    currency = document["currency"]
    lines = tuple(line_of(line) for line in document["lines"])
    totals = totals_of(document["totals"], tuple(line.net for line in lines), currency)

    def money(value: Decimal) -> str:
        return format_amount(value, currency)

    line_categories = [_line_category(i, line, seller, buyer) for i, line in enumerate(lines)]
    groups = _groups(lines, totals, line_categories)
    data: dict[str, Any] = {
        "BT-1": document["number"],
        "BT-2": date.fromisoformat(document["issue_date"]),
        "BT-3": _type_code(document, credit_note_of),
        "BT-5": currency,
        "BT-24": EN16931,
        "BG-4": _seller(seller),
        "BG-7": _buyer(buyer),
        "BG-1": [{"BT-21": subject, "BT-22": text} for subject, text in [*_notes(document), *notes]],
        "BG-20": [
            {
                "amount": money(group.allowance),
                "reason": DISCOUNT_REASON[1],
                "reason_code": DISCOUNT_REASON[0],
                "vat_category_code": key.code,
                "vat_rate": _percent(key.rate),
            }
            for key, group in groups.items()
            if group.allowance
        ],
        "BG-23": [
            {
                "BT-116": money(group.base),
                "BT-117": money(group.tax),
                "BT-118": key.code,
                "BT-119": _percent(key.rate),
                **({"BT-120": key.exemption[1], "BT-121": key.exemption[0]} if key.exemption else {}),
            }
            for key, group in groups.items()
        ],
        "BG-25": [
            _line(i, line, line_category, currency)
            for i, (line, line_category) in enumerate(zip(lines, line_categories, strict=True), 1)
        ],
        "BT-106": money(totals.subtotal),
        "BT-107": money(totals.discount),
        "BT-109": money(totals.subtotal - totals.discount),
        "BT-110": money(totals.tax_total),
        "BT-112": money(totals.total),
        "BT-113": money(ZERO),
        "BT-115": money(totals.total),
    }
    preceding = [credit_note_of] if credit_note_of else document.get("deposit_invoices") or []
    if preceding:
        data["BG-3"] = [
            {"BT-25": invoice["number"], "BT-26": date.fromisoformat(invoice["issue_date"])} for invoice in preceding
        ]
    if document.get("due_date"):
        data["BT-9"] = date.fromisoformat(document["due_date"])
    data.update(_service_dates(document))
    if seller.operations in PROCESSES:
        data["BT-23"] = PROCESSES[seller.operations]
    if document.get("purchase_order"):
        data["BT-13"] = document["purchase_order"]
    if credit_note_of:
        data["BT-20"] = f"Avoir sur la facture {credit_note_of['number']}"
    elif payment_terms:
        data["BT-20"] = payment_terms
    delivery = address_of(document.get("delivery_address"))
    if delivery and delivery != buyer.address:  # BG-13: where the goods go, the service is done
        data["BG-13"] = {key: value for key, value in _address(delivery).items() if value} | {"name": buyer.name}
    if seller.iban and not credit_note_of:
        data["BT-81"] = "58"  # SEPA credit transfer
        data["BT-84"] = seller.iban
        if seller.bic:
            data["BT-86"] = seller.bic
    return data


def _service_dates(document: Mapping[str, Any]) -> dict[str, date]:
    """When the goods went or the service was done: the invoicing period
    (BG-14: BT-73 its first day, BT-74 its last, in that order as BR-29
    asks) when the invoice bills one, and the date of the sale or service
    (BT-72) when it names one. Without either, that date is the issue date
    (the invoice says no other). With a period alone, no one day is the
    service's (the issue date, after the period, is not) and BT-72 is left
    out: EN 16931 asks for neither, only that a period says one of its days
    at least (BR-CO-19); ours says both."""
    dates: dict[str, date] = {}
    period = document.get("service_period")
    if period:
        dates["BT-73"] = date.fromisoformat(period["start"])
        dates["BT-74"] = date.fromisoformat(period["end"])
    if document.get("service_date") or not period:
        dates["BT-72"] = date.fromisoformat(document.get("service_date") or document["issue_date"])
    return dates


def _type_code(document: Mapping[str, Any], credit_note_of: Mapping[str, Any] | None) -> str:
    if credit_note_of:
        return CREDIT_NOTE
    return PREPAYMENT_INVOICE if document.get("kind") == "deposit" else INVOICE


@dataclass
class _Group:
    base: Decimal = ZERO
    tax: Decimal = ZERO
    allowance: Decimal = ZERO


def _line_category(index: int, line: DocumentLine, seller: Seller, buyer: Party) -> Category:
    taxes = line.taxes
    if len(taxes) > 1:
        raise NotRepresentable(f"line {index + 1} carries {len(taxes)} taxes; EN 16931 allows one VAT rate a line")
    return category(taxes[0].rate if taxes else ZERO, seller, buyer)


def _groups(lines: Sequence[DocumentLine], totals: Totals, categories: list[Category]) -> dict[Category, _Group]:
    """The VAT breakdown per category and rate: each tax of the totals'
    breakdown lands in its lines' category; lines without a tax form a base
    of their own, the rest of the discount theirs."""
    by_tax: dict[tuple[str, Decimal], Category] = {}
    nets_by_tax: dict[tuple[str, Decimal], Decimal] = {}
    untaxed_nets, untaxed = ZERO, None
    for line, line_category in zip(lines, categories, strict=True):
        if line.taxes:
            key = line.taxes[0].key
            by_tax[key] = line_category
            nets_by_tax[key] = nets_by_tax.get(key, ZERO) + line.net
        else:
            untaxed_nets, untaxed = untaxed_nets + line.net, line_category
    groups: dict[Category, _Group] = {}
    allowances = ZERO
    for entry in totals.tax_breakdown:
        key = (entry.name, entry.rate)
        group = groups.setdefault(by_tax[key], _Group())
        group.base += entry.base
        group.tax += entry.tax
        group.allowance += nets_by_tax[key] - entry.base
        allowances += nets_by_tax[key] - entry.base
    if untaxed is not None:
        group = groups.setdefault(untaxed, _Group())
        allowance = totals.discount - allowances
        group.base += untaxed_nets - allowance
        group.allowance += allowance
    return groups


def _line(number: int, line: DocumentLine, line_category: Category, currency: str) -> dict[str, Any]:
    quantity, price, net = line.quantity, line.unit_price, line.net
    if price < 0:  # a deduction: a negative quantity at a positive price (BR-27), the same net
        quantity, price = -quantity, -price
    data: dict[str, Any] = {
        "BT-126": str(number),
        "BT-129": _decimal(quantity),
        "BT-130": unit_code(line.unit),
        "BT-131": format_amount(net, currency),
        "BT-151": line_category.code,
        "BT-152": _percent(line_category.rate),
        "BT-153": line.name[:1000],
    }
    if line.description:
        data["BT-154"] = line.description
    if line.price_includes_taxes or not quantity:
        # The price includes VAT (or there is no quantity to divide by): the
        # net price is the net a unit, as the net was computed.
        data["BT-146"] = _decimal(net / quantity if quantity else net, places=6)
        return data
    data["BT-146"] = _decimal(price)
    gross = Decimal(format_amount(quantity * price, currency))
    if gross != net:  # the line discount, as an allowance on the line (BG-27)
        data["BG-27"] = [{"amount": format_amount(gross - net, currency), "reason": DISCOUNT_REASON[1]}]
    return data


def _seller(party: Seller) -> dict[str, Any]:
    data = _party(party)
    legal = legal_information(party)
    if legal:
        data["legal_info"] = legal  # BT-33
    if party.vat_franchise and not party.vat_number and party.siren:
        # BR-E-02: an exempt invoice names the seller's VAT number or tax
        # registration; a business under franchise has none but its SIREN.
        data["tax_identifier"] = party.siren
    return data


def same_address(one: Mapping[str, Any] | None, other: Mapping[str, Any] | None) -> bool:
    """The same place, whatever fields were left out or sent empty."""
    return address_of(one) == address_of(other)


def legal_information(seller: Seller) -> str | None:
    """BT-33, the seller's additional legal information, as French
    invoices print it: "SAS au capital de 10 000 EUR, RCS Paris 732 829 320"."""
    parts = []
    form, capital, register = seller.legal_form, seller.share_capital, seller.trade_register
    if form and capital is not None:
        shown = f"{capital:,.0f}" if capital == capital.to_integral_value() else f"{capital:,.2f}"
        parts.append(f"{form} au capital de {shown.replace(',', ' ')} EUR")
    elif form:
        parts.append(form)
    if register and seller.siren:
        parts.append(f"{register.kind} {register.city} {seller.siren}")
    return ", ".join(parts) or None


def _buyer(party: Party) -> dict[str, Any]:
    return _party(party)


def _address(address: Address | None) -> dict[str, Any]:
    if address is None:
        return {"country_code": "FR"}
    return {"country_code": address.country, "postcode": address.postal_code, "city": address.city,
            "addr_l1": address.line1, "addr_l2": address.line2}  # fmt: skip


def _party(party: Party) -> dict[str, Any]:
    data: dict[str, Any] = {"name": party.name, **_address(party.address)}
    if party.siren:
        data["legal_identifier"] = party.siren
        data["legal_identifier_schemeid"] = SIREN_SCHEME
        # BT-34 / BT-49: where the party receives e-invoices; in France, its SIREN in the directory
        data["einvoicing_addr"] = party.siren
        data["einvoicing_addr_schemeid"] = ELECTRONIC_ADDRESS_SCHEME
    if party.vat_number:
        data["vat_identifier"] = party.vat_number
    if party.email or party.phone:
        data["contacts"] = [{"email": party.email, "phone": party.phone}]
    return {key: value for key, value in data.items() if value}


def _notes(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Free texts, with their UNTDID 4451 subject: the invoice's notes and
    terms are general information (AAI); AAB is the early-payment discount's
    mention, which comes once, with the legal notes."""
    notes = []
    if document.get("notes"):
        notes.append(("AAI", document["notes"]))
    if document.get("reason"):
        notes.append(("AAI", document["reason"]))
    if document.get("terms"):
        notes.append(("AAI", document["terms"]))
    return notes


def _percent(rate: Decimal) -> str:
    """A rate with at least two decimals: 20.00, 5.50, 2.10, 0.00."""
    two = rate.quantize(Decimal("0.01"))
    return format(two if two == rate else rate.normalize(), "f")


def _decimal(value: Decimal, places: int | None = None) -> str:
    """A quantity or a price as the XML writes it: no exponent, no trailing zeros."""
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    return format(value.normalize(), "f")
