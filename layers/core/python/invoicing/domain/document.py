"""What every numbered document is made of: an invoice, a credit note, and
the estimates and deposit invoices to come (SPEC §5, §7, §11). Its
parties, the business and the client as they were when it was issued; its lines,
each with its net; its totals, as the totals function computed them when
it was issued; and its groups — its lines by taxes, each with its share of
the discount and of the VAT — which credit notes take from and e-invoices
break VAT down by.

`Document.of` is the one place that reads these from a stored document
(`seller_of`, `buyer_of`, `line_of` and `totals_of` one of them alone; a
business profile and a customer read as the parties they will be). A
stored document's parties, lines and totals are read only when asked: the sweeps and the payment
writes read an invoice's amounts, not its thousand lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any, NamedTuple

from invoicing.domain import credits
from invoicing.domain.money import exact
from invoicing.domain.totals import Discount, Tax, TaxAmount, Totals, taxes_key

Item = dict[str, Any]  # a document as stored and shown: JSON values, amounts as decimal strings


class Address(NamedTuple):
    line1: str | None
    line2: str | None
    postal_code: str | None
    city: str | None
    country: str  # ISO 3166-1 alpha-2; FR when not given


@dataclass(frozen=True)
class Party:
    """The client as a document names it (the business too, `Seller`)."""

    name: str
    address: Address | None
    siren: str | None
    vat_number: str | None
    email: str | None
    phone: str | None
    kind: str | None  # "business" | "individual" (a client stored without one: "business")

    @property
    def country(self) -> str:
        return self.address.country if self.address else "FR"


class TradeRegister(NamedTuple):
    kind: str  # RCS | RM
    city: str


@dataclass(frozen=True)
class Seller(Party):
    """The business that issues the document, with what French law has it print."""

    legal_form: str | None
    share_capital: Decimal | None
    trade_register: TradeRegister | None
    vat_franchise: bool  # franchise en base (CGI art. 293 B): no VAT on any line
    operations: str | None  # services | goods | mixed
    iban: str | None
    bic: str | None


def buyer_of(snapshot: Mapping[str, Any] | None) -> Party:
    """A customer, or the snapshot of it a document keeps."""
    data = snapshot or {}
    return Party(**_party_fields(data, data.get("name") or ""), kind=data.get("kind", "business"))


def seller_of(snapshot: Mapping[str, Any] | None) -> Seller:
    """A business profile, or the snapshot of it a document keeps."""
    data = snapshot or {}
    register = data.get("trade_register")
    capital = data.get("share_capital")
    return Seller(
        **_party_fields(data, data.get("legal_name") or data.get("name") or ""),
        kind="business",
        legal_form=data.get("legal_form"),
        share_capital=None if capital is None else exact(capital),
        trade_register=TradeRegister(register["kind"], register["city"]) if register else None,
        vat_franchise=bool(data.get("vat_franchise")),
        operations=data.get("operations"),
        iban=data.get("iban"),
        bic=data.get("bic"),
    )


def address_of(data: Mapping[str, Any] | None) -> Address | None:
    """An address; None when it has no field filled."""
    if not data or not any(data.values()):
        return None
    # a field sent empty is a field left out: the same place either way
    return Address(data.get("line1") or None, data.get("line2") or None, data.get("postal_code") or None,
                   data.get("city") or None, data.get("country") or "FR")  # fmt: skip


def _party_fields(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    return {
        "name": name,
        "address": address_of(data.get("address")),
        "siren": data.get("siren"),
        "vat_number": data.get("vat_number"),
        "email": data.get("email"),
        "phone": data.get("phone"),
    }


class DocumentLine(NamedTuple):
    """A line as a document was issued with it: what was sold, and its net
    (its quantity × price less its discount, taxes excluded)."""

    name: str
    quantity: Decimal
    unit_price: Decimal
    taxes: tuple[Tax, ...]
    net: Decimal
    discount: Discount | None = None
    description: str | None = None
    unit: str | None = None
    deducts: bool = False  # a final invoice's deposit deduction: outside the discount (domain.totals)

    @property
    def tax_key(self) -> credits.Taxes:
        """Its taxes as (name, rate), sorted: lines with the same key form one group."""
        return taxes_key(self.taxes)

    @property
    def price_includes_taxes(self) -> bool:
        return any(tax.inclusive for tax in self.taxes)


def line_of(stored: Mapping[str, Any]) -> DocumentLine:
    """A stored line (a credit note's asked lines too, once they have a net)."""
    discount = stored.get("discount")
    return DocumentLine(
        name=stored.get("name") or "",
        quantity=exact(stored.get("quantity", 1)),
        unit_price=exact(stored.get("unit_price", 0)),
        taxes=tuple(
            Tax(tax["name"], exact(tax["rate"]), bool(tax.get("inclusive"))) for tax in stored.get("taxes") or ()
        ),
        net=exact(stored["net"]),
        discount=Discount(discount["type"], exact(discount["value"])) if discount else None,
        description=stored.get("description"),
        unit=stored.get("unit"),
        deducts=bool(stored.get("deposit_invoice_id")),
    )


def totals_of(stored: Mapping[str, Any], line_nets: tuple[Decimal, ...], currency: str) -> Totals:
    """A document's stored totals (decimal strings) as the totals function gave them."""
    return Totals(
        currency=currency,
        line_nets=line_nets,
        subtotal=Decimal(stored["subtotal"]),
        discount=Decimal(stored["discount"]),
        tax_breakdown=tuple(
            TaxAmount(entry["name"], Decimal(entry["rate"]), Decimal(entry["base"]), Decimal(entry["tax"]))
            for entry in stored["tax_breakdown"]
        ),
        tax_total=Decimal(stored["tax_total"]),
        total=Decimal(stored["total"]),
    )


@dataclass(frozen=True)
class Document:
    """What every numbered document shares: its currency, what it charges,
    its number and day once issued, and, read when asked, its parties, lines
    and totals."""

    id: str
    currency: str
    total: Decimal  # its lines less discounts, taxes included (domain.totals)
    number: str | None  # None while a draft
    issue_date: date | None
    stored: Mapping[str, Any] = field(repr=False, compare=False)  # the item its lines and totals are read from

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Document:
        return cls(**document_fields(item))

    @cached_property
    def seller(self) -> Seller:
        return seller_of(self.stored.get("business"))

    @cached_property
    def buyer(self) -> Party:
        return buyer_of(self.stored.get("customer"))

    @cached_property
    def lines(self) -> tuple[DocumentLine, ...]:
        return tuple(line_of(line) for line in self.stored.get("lines") or ())

    @cached_property
    def totals(self) -> Totals:
        return totals_of(self.stored["totals"], tuple(line.net for line in self.lines), self.currency)

    def groups(self) -> list[credits.Group]:
        """Its lines by taxes, each with its share of the discount and of the
        VAT, adding up to its totals to the cent (domain.credits)."""
        totals = self.totals
        parts = [(line.tax_key, line.net) for line in self.lines if not line.deducts]
        deducted = [(line.tax_key, line.net) for line in self.lines if line.deducts]
        return credits.groups(parts, totals.discount, totals.tax_breakdown, self.currency, deducted)


def document_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every document reads from its stored item (its subclasses add theirs)."""
    totals = item.get("totals")
    return {
        "id": item["id"],
        "currency": item["currency"],
        "total": Decimal(totals["total"] if totals else item["total"]),
        "number": item.get("number"),
        "issue_date": date.fromisoformat(item["issue_date"]) if item.get("issue_date") else None,
        "stored": item,
    }
