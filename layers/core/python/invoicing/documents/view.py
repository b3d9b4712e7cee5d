"""One view-model for every rendering of an invoice: the HTML preview and the
PDF both show exactly what this pure function returns — amounts and dates
formatted for the locale (Babel), labels from the locale files, and the
French mandatory mentions (CGI ann. II art. 242 nonies A, C. com. L441-9,
L441-10, D441-5)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal

from invoicing.domain import einvoice, schedule
from invoicing.domain.document import buyer_of, seller_of
from invoicing.domain.estimate import expires_on
from invoicing.domain.lifecycle import BUSINESS_TIMEZONE

LOCALES = Path(__file__).parent / "locales"
BABEL_LOCALES = {"fr-FR": "fr_FR", "en": "en"}


@cache
def labels(locale: str) -> dict[str, str]:
    name = "fr" if locale.startswith("fr") else "en"
    text: dict[str, str] = json.loads((LOCALES / f"{name}.json").read_text(encoding="utf-8"))
    return text


@dataclass(frozen=True)
class Formats:
    """Amounts, numbers, dates and rates as the document's locale writes them."""

    currency: str
    babel_locale: str

    def money(self, amount: str | Decimal) -> str:
        return format_currency(Decimal(amount), self.currency, locale=self.babel_locale)

    def number(self, value: str | Decimal) -> str:
        return format_decimal(Decimal(value), locale=self.babel_locale, decimal_quantization=False)

    def day(self, value: str | None) -> str | None:
        return format_date(date.fromisoformat(value), format="short", locale=self.babel_locale) if value else None

    def percent(self, rate: str | Decimal) -> str:
        return f"{self.number(rate)} %"


def invoice_view(
    invoice: dict[str, Any],
    business: dict[str, Any],
    customer: dict[str, Any] | None,
    logo: bytes | None = None,
) -> dict[str, Any]:
    """The document of `invoice`. An issued invoice shows its own snapshots
    of the business and the customer; a draft shows them as they are now.
    `logo` is the image of the seller's logo, when it has one. Long because
    it is one dictionary: every field the templates read, in the page's order."""
    seller = invoice.get("business") or business
    buyer = invoice.get("customer") or customer or {}
    locale = seller.get("locale") or "fr-FR"
    text = labels(locale)
    babel_locale = BABEL_LOCALES.get(locale, "fr_FR")
    fmt = Formats(invoice["currency"], babel_locale)
    money, day = fmt.money, fmt.day
    franchise = bool(seller.get("vat_franchise"))
    mentions = _mentions(invoice, seller, buyer, franchise, text, day, fmt.number)
    return {
        "lang": "fr" if locale.startswith("fr") else "en",
        "logo": _logo(logo, (seller.get("logo") or {}).get("content_type")),
        "text": text,
        "title": text["deposit_invoice"] if invoice.get("kind") == "deposit" else text["invoice"],
        "banner": {"draft": text["draft"], "void": text["void"]}.get(invoice["status"]),
        "number": invoice.get("number"),
        "issue_date": day(invoice.get("issue_date")),
        "due_date": day(invoice.get("due_date")),
        # Shown when it differs from the issue date (then the issue date says it).
        "service_date": day(invoice.get("service_date"))
        if invoice.get("service_date") and invoice.get("service_date") != invoice.get("issue_date")
        else None,
        # "Période du 01/01/2027 au 31/01/2027": what a recurring invoice bills (SPEC §12)
        "service_period": _service_period(invoice.get("service_period"), text, day),
        # What the document refers to: the client's order, the invoice a credit note credits.
        "references": _references(invoice, text),
        "seller": _seller(seller, text, babel_locale),
        "buyer": _buyer(buyer, text, babel_locale),
        # where the goods go or the service is done, when it is not the client's address
        "delivery_address": _address(invoice["delivery_address"], babel_locale)
        if invoice.get("delivery_address")
        and not einvoice.same_address(invoice["delivery_address"], buyer.get("address"))
        else None,
        "footer": _footer(seller, text, babel_locale),
        "lines": _line_rows(invoice["lines"], fmt),
        "vat_breakdown": [
            {
                "label": entry["name"],
                "rate": fmt.percent(entry["rate"]),
                "base": money(entry["base"]),
                "tax": money(entry["tax"]),
            }
            for entry in invoice["totals"]["tax_breakdown"]
        ],  # fmt: skip
        "totals": _total_rows(invoice, text, fmt),
        "schedule": _schedule(invoice, money, fmt.percent, day),
        "amount_due": money(invoice["amount_due"]),
        "amount_paid": money(invoice.get("amount_paid") or 0),
        "status": invoice["status"],
        "notes": invoice.get("notes"),
        "terms": invoice.get("terms"),
        "attachments": [_file_label(item, text, babel_locale) for item in invoice.get("attachments") or []],
        "mentions": [mention for _, mention in mentions],
        # when it is due, as the e-invoice's payment terms say it (BT-20)
        "payment_terms": text["mention_due"].format(date=day(invoice["due_date"])) if invoice.get("due_date") else None,
        "legal_notes": [(subject, mention) for subject, mention in mentions if subject],
    }


def _service_period(period: dict[str, str] | None, text: dict[str, str], day: Any) -> str | None:
    """The period billed, both days included; beside an explicit service
    date when the invoice has one, and in its place when it has none."""
    if not period:
        return None
    return str(text["service_period"].format(start=day(period["start"]), end=day(period["end"])))


def _references(invoice: dict[str, Any], text: dict[str, str]) -> list[tuple[str, str]]:
    """The client's order; the estimate a deposit or a final invoice is made
    from (SPEC §11): "Acompte sur devis D-1", "Solde du devis D-1"."""
    references = [(text["purchase_order"], invoice["purchase_order"])] if invoice.get("purchase_order") else []
    made_from = {"deposit": "deposit_of_estimate", "final": "balance_of_estimate"}.get(invoice.get("kind") or "")
    if made_from and invoice.get("estimate_number"):
        references.append((text["made_from_estimate"], text[made_from].format(number=invoice["estimate_number"])))
    return references


def _line_rows(lines: list[dict[str, Any]], fmt: Formats) -> list[dict[str, Any]]:
    return [
        {
            "name": line["name"],
            "description": line.get("description"),
            "quantity": fmt.number(line.get("quantity", 1)),
            "unit": line.get("unit"),
            "unit_price": fmt.money(line["unit_price"]),
            "discount": _discount(line.get("discount"), fmt.money, fmt.percent),
            "vat": ", ".join(fmt.percent(tax["rate"]) for tax in line.get("taxes") or []) or None,
            "net": fmt.money(line["net"]),
        }
        for line in lines
    ]


def _total_rows(invoice: dict[str, Any], text: dict[str, str], fmt: Formats) -> list[dict[str, Any]]:
    """From the lines to what is due: the discount and the tax base, each
    tax, the total, then late fees, credit notes and payments."""
    money, totals = fmt.money, invoice["totals"]
    # a final invoice: the work, its discount, then the deposits it deducts, then the tax base
    deducted = sum((Decimal(line["net"]) for line in invoice["lines"] if line.get("deposit_invoice_id")), Decimal(0))
    rows = [{"label": text["subtotal"], "amount": money(Decimal(totals["subtotal"]) - deducted)}]
    if Decimal(totals["discount"]):
        rows.append({"label": text["invoice_discount"], "amount": "−" + money(totals["discount"])})
    if deducted:
        rows.append({"label": text["deposits_deducted"], "amount": "−" + money(-deducted)})
    if Decimal(totals["discount"]) or deducted:  # then the tax base: the lines less the discount and deposits
        net = Decimal(totals["subtotal"]) - Decimal(totals["discount"])
        rows.append({"label": text["net_subtotal"], "amount": money(net)})
    rows += [
        {"label": text["tax_line"].format(name=entry["name"], rate=fmt.number(entry["rate"])),
         "amount": money(entry["tax"])}
        for entry in totals["tax_breakdown"]
    ]  # fmt: skip
    rows.append({"label": text["total"], "amount": money(totals["total"]), "strong": True})
    if Decimal(invoice.get("late_fees_total") or 0):
        rows.append({"label": text["late_fees"], "amount": money(invoice["late_fees_total"])})
    rows += [
        {"label": text["credit_note_row"].format(number=note["number"]), "amount": "−" + money(note["total"])}
        for note in invoice.get("credit_notes") or []
    ]
    if Decimal(invoice.get("amount_paid") or 0):
        rows.append({"label": text["amount_paid"], "amount": "−" + money(invoice["amount_paid"])})
    rows.append({"label": text["amount_due"], "amount": money(invoice["amount_due"]), "strong": True})
    return rows


def _file_label(item: dict[str, Any], text: dict[str, str], babel_locale: str) -> str:
    """ "bon-de-commande.pdf (12 Ko)": its name and its size, in KB rounded up."""
    size = format_decimal(max(1, -(-item["size"] // 1024)), locale=babel_locale)
    return text["file_size"].format(name=item["filename"], size=size)


def _logo(image: bytes | None, content_type: str | None) -> dict[str, Any] | None:
    """The image for the PDF, and as a data URI for the HTML (no link to expire)."""
    if not image or content_type not in ("image/png", "image/jpeg"):
        return None
    return {"image": image, "data_uri": f"data:{content_type};base64,{base64.b64encode(image).decode()}"}


def _address(address: dict[str, Any], babel_locale: str) -> list[str]:
    """An address's lines, its country by name ("France", not FR)."""
    country = address.get("country")
    lines = [
        address.get("line1"),
        address.get("line2"),
        " ".join(filter(None, [address.get("postal_code"), address.get("city")])),
        Locale.parse(babel_locale).territories.get(country, country) if country else None,
    ]
    return [line for line in lines if line]


def display_name(name: str, legal_form: str | None) -> str:
    """The name as the law wants it printed: with its legal form ("Acme
    SAS"), an individual entrepreneur's with "EI" (C. com. R123-237); an
    association's as it is. Unchanged when the name already says it."""
    if not legal_form or legal_form == "association":
        return name
    said = rf"\b{re.escape(legal_form)}\b" + (r"|entrepreneur individuel" if legal_form == "EI" else "")
    return name if re.search(said, name, re.IGNORECASE) else f"{name} {legal_form}"


def _seller(seller: dict[str, Any], text: dict[str, str], babel_locale: str) -> dict[str, Any]:
    """The issuer block: the name with its legal form, the address, the
    share capital, the registration (RCS Paris 732 829 320, or the SIREN
    alone), the VAT number."""
    siren = seller.get("siren")
    register = seller.get("trade_register")
    details = []
    if seller.get("share_capital") is not None and seller.get("legal_form"):
        details.append(text["capital_line"].format(name=seller["legal_form"], capital=_capital(seller, babel_locale)))
    if register and siren:
        details.append(f"{register['kind']} {register['city']} {_grouped_siren(siren)}")
    elif siren:
        details.append(f"{text['siren']} {_grouped_siren(siren)}")
    if seller.get("vat_number"):
        details.append(f"{text['vat_number']} {seller['vat_number']}")
    return {
        "name": display_name(seller.get("legal_name") or seller.get("name") or "", seller.get("legal_form")) or None,
        "address": _address(seller.get("address") or {}, babel_locale),
        "details": details,
        "siren": siren,
        "vat_number": seller.get("vat_number"),
        "email": seller.get("email"),
        "phone": seller.get("phone"),
    }


def _buyer(buyer: dict[str, Any], text: dict[str, str], babel_locale: str) -> dict[str, Any]:
    details = []
    if buyer.get("siren"):
        details.append(f"{text['siren']} {_grouped_siren(buyer['siren'])}")
    if buyer.get("vat_number"):
        details.append(f"{text['vat_number']} {buyer['vat_number']}")
    return {
        "name": buyer.get("name"),
        "address": _address(buyer.get("address") or {}, babel_locale),
        "details": details,
        "siren": buyer.get("siren"),
        "vat_number": buyer.get("vat_number"),
        "email": buyer.get("email"),
        "phone": buyer.get("phone"),
    }


def _capital(seller: dict[str, Any], babel_locale: str) -> str:
    """A share capital as printed: 10 000 € (whole euros without cents)."""
    capital = Decimal(seller["share_capital"])
    whole = capital == capital.to_integral_value()
    return format_currency(capital, "EUR", locale=babel_locale, format="#,##0\u00a0¤" if whole else None,
                           currency_digits=not whole)  # fmt: skip


def _footer(seller: dict[str, Any], text: dict[str, str], babel_locale: str) -> str:
    """One line at the foot of every page: "Acme SAS au capital de 10 000 €
    · RCS Paris 732 829 320 · TVA FR44732829320"."""
    name = display_name(seller.get("legal_name") or seller.get("name") or "", seller.get("legal_form"))
    if seller.get("share_capital") is not None and seller.get("legal_form"):
        name = text["capital_line"].format(name=name, capital=_capital(seller, babel_locale))
    siren, register = seller.get("siren"), seller.get("trade_register")
    registration = (
        f"{register['kind']} {register['city']} {_grouped_siren(siren)}"
        if register and siren
        else f"{text['siren']} {_grouped_siren(siren)}"
        if siren
        else None
    )
    vat = text["vat_short"].format(number=seller["vat_number"]) if seller.get("vat_number") else None
    return " · ".join(part for part in (name, registration, vat) if part)


def _grouped_siren(siren: str) -> str:
    """A SIREN as it is printed: 732 829 320."""
    return " ".join(siren[i : i + 3] for i in range(0, len(siren), 3))


def _discount(discount: dict[str, Any] | None, money: Any, percent: Any) -> str | None:
    if not discount or not Decimal(discount["value"]):
        return None
    return percent(discount["value"]) if discount["type"] == "percentage" else money(discount["value"])


def _schedule(invoice: dict[str, Any], money: Any, percent: Any, day: Any) -> list[dict[str, Any]]:
    """Each instalment's due date and amount (with its share, for a percentage schedule)."""
    plan = invoice.get("payment_schedule") or {}
    instalments = [
        schedule.Instalment(date.fromisoformat(item["due_date"]), Decimal(item["value"]))
        for item in plan.get("instalments", [])
    ]
    due = schedule.amounts(
        plan.get("type", "fixed"), instalments, Decimal(invoice["totals"]["total"]), invoice["currency"]
    )
    rows = []
    for item, instalment, amount in zip(plan.get("instalments", []), instalments, due, strict=True):
        row = {
            "due_date": day(instalment.due_date.isoformat()),
            "amount": f"{percent(instalment.value)} — {money(amount)}"
            if plan.get("type") == "percentage"
            else money(amount),
        }
        if "status" in item:  # an issued invoice's: what each has received (logic.payments.instalments)
            row |= {"id": item["id"], "paid": item["status"] == "paid", "remaining": money(item["amount_due"])}
        rows.append(row)
    return rows


def _mentions(
    invoice: dict[str, Any],
    seller: dict[str, Any],
    buyer: dict[str, Any],
    franchise: bool,
    text: dict[str, str],
    day: Any,
    number: Any,
) -> list[tuple[str, str]]:
    """The mentions French law requires on every invoice between businesses,
    each with its subject in the invoice's data (UNTDID 4451: PMD penalties,
    PMT recovery indemnity, AAB early-payment discount; "" for the others)."""
    mentions = []
    if invoice.get("due_date"):
        mentions.append(("", text["mention_due"].format(date=day(invoice["due_date"]))))
    late_fees = invoice.get("late_fees") or {}
    if late_fees.get("enabled") and late_fees.get("type") == "percentage":
        frequency = text[f"frequency_{(late_fees.get('frequency') or {}).get('interval', 'month')}"]
        mentions.append(
            ("PMD", text["mention_penalty_rate"].format(rate=number(late_fees["value"]), frequency=frequency))
        )
    else:
        mentions.append(("PMD", text["mention_penalty_legal"]))
    if buyer.get("kind", "business") == "business":
        mentions.append(("PMT", text["mention_indemnity"]))
    mentions.append(("AAB", seller.get("early_payment_terms") or text["mention_no_discount"]))
    if seller.get("operations"):
        mentions.append(("", text["mention_operations"].format(kind=text[f"operations_{seller['operations']}"])))
    if seller.get("vat_on_debits") and not franchise and seller.get("operations") in ("services", "mixed"):
        mentions.append(("", text["mention_vat_on_debits"]))
    if seller.get("iban"):
        bic = f" — BIC {seller['bic']}" if seller.get("bic") else ""
        mentions.append(("", text["mention_iban"].format(iban=_grouped(seller["iban"]), bic=bic)))
    return mentions + [("", mention) for mention in _vat_mentions(invoice, seller, buyer, franchise, text)]


def _vat_mentions(
    document: dict[str, Any], seller: dict[str, Any], buyer: dict[str, Any], franchise: bool, text: dict[str, str]
) -> list[str]:
    """Why a line bears no VAT, as the law wants it said: franchise en base,
    reverse charge (autoliquidation), export."""
    if franchise:
        return [text["mention_franchise"]]
    untaxed = any(not any(Decimal(str(tax["rate"])) for tax in line.get("taxes") or []) for line in document["lines"])
    codes = {einvoice.category(Decimal(0), seller_of(seller), buyer_of(buyer)).code} if untaxed else set()
    return [text[key] for code, key in (("AE", "mention_reverse_charge"), ("G", "mention_export")) if code in codes]


def _grouped(iban: str) -> str:
    """An IBAN as people read it: in groups of four."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def credit_note_view(note: dict[str, Any], logo: bytes | None = None) -> dict[str, Any]:
    """The document of a credit note: the invoice's layout, titled Avoir,
    naming the invoice it credits; its amounts, and no terms of payment."""
    seller = note["business"]
    view = invoice_view(
        {
            **note,
            "due_date": None,
            "late_fees_total": "0",
            "amount_paid": "0",
            "amount_due": note["total"],
            "credit_notes": [],
            "payment_schedule": None,
            "late_fees": note.get("late_fees"),  # its legal notes (PMD) repeat the invoice's terms
            "notes": note.get("reason"),
        },
        seller,
        note["customer"],
        logo,
    )
    text = view["text"]
    babel_locale = BABEL_LOCALES.get(seller.get("locale") or "fr-FR", "fr_FR")
    issued = format_date(date.fromisoformat(note["invoice_issue_date"]), format="short", locale=babel_locale)
    return {
        **view,
        "title": text["credit_note"],
        "invoice_number": note["invoice_number"],
        "banner": None,
        "references": [
            (text["credit_note_of"], text["credit_note_of_value"].format(number=note["invoice_number"], date=issued))
        ],
        "totals": [row for row in view["totals"] if row["label"] != text["amount_due"]],
        "mentions": [
            text["mention_credit_note"].format(number=note["invoice_number"]),
            *_vat_mentions(note, seller, note["customer"], bool(seller.get("vat_franchise")), text),
        ],
    }


def pay_view(
    invoice: dict[str, Any],
    business: dict[str, Any],
    customer: dict[str, Any] | None,
    logo: bytes | None,
    offer: dict[str, Any],
) -> dict[str, Any]:
    """The hosted page: the invoice's view-model, and above it what the
    client can pay online (`offer`, from logic.paypage: the balance and the
    unpaid instalments, the tips, the payment methods, a notice)."""
    view = invoice_view(invoice, business, customer, logo)
    text = view["text"]
    babel_locale = BABEL_LOCALES.get((invoice.get("business") or business).get("locale") or "fr-FR", "fr_FR")

    def money(amount: Decimal) -> str:
        return format_currency(amount, invoice["currency"], locale=babel_locale)

    def day(value: str) -> str:
        return format_date(date.fromisoformat(value), format="short", locale=babel_locale)

    targets = [
        {
            "value": target["value"],
            "label": text["pay_balance"].format(amount=money(target["amount"]))
            if target["value"] == "balance"
            else text["pay_instalment"].format(date=day(target["due_date"]), amount=money(target["amount"])),
        }
        for target in offer["targets"]
    ]
    tips = [
        {"value": str(rate), "label": text["pay_tip_choice"].format(rate=format_decimal(rate, locale=babel_locale))}
        for rate in offer["tips"]
    ]
    methods = text["pay_or"].join(text[f"method_{method}"] for method in offer["methods"])
    return {
        **view,
        "pay": {
            "targets": targets,
            "tips": tips,
            "save_card": text["pay_save_card"] if offer.get("save_card") else None,
            "methods": text["pay_by"].format(methods=methods) if methods else None,
            "notice": text[offer["notice"]] if offer.get("notice") else None,
            "problem": text["pay_problem"].format(reason=text.get(offer["problem"], offer["problem"]))
            if offer.get("problem")
            else None,
            "action": offer["action"],
            "pdf": offer["pdf"],
            "attachments": [
                {"label": _file_label(item, text, babel_locale), "url": item["url"]}
                for item in offer.get("attachments") or []
            ],
        },
    }


def estimate_view(
    estimate: dict[str, Any],
    logo: bytes | None = None,
    business: dict[str, Any] | None = None,
    customer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The document of an estimate (devis, SPEC §11): the invoice's layout
    and totals, titled Devis, with its validity, the deposit it asks and the
    "Bon pour accord" block its client signs, or, once accepted online, who
    accepted it and when. A numbered estimate shows its own snapshots of the
    business and the customer; a draft, `business` and `customer` as they
    are now (as an invoice's draft). Nothing is owed yet: no payment terms,
    no late-fee mentions (C. com. L441-9 asks them of invoices), no Factur-X;
    only why a line bears no VAT, which the client must know before agreeing."""
    seller = estimate.get("business") or business or {}
    buyer = estimate.get("customer") or customer or {}
    view = invoice_view(
        {
            **estimate,
            "due_date": None,
            "service_date": None,
            "service_period": None,
            "purchase_order": None,
            "late_fees_total": "0",
            "amount_paid": "0",
            "amount_due": estimate["totals"]["total"],
            "credit_notes": [],
            "payment_schedule": None,
        },
        seller,
        buyer,
        logo,
    )
    text = view["text"]
    fmt = Formats(estimate["currency"], BABEL_LOCALES.get(seller.get("locale") or "fr-FR", "fr_FR"))
    valid_until = fmt.day(estimate.get("valid_until"))
    acceptance, decline = _acceptance(estimate, fmt), _decline(estimate, fmt)
    return {
        **view,
        "title": text["estimate"] if estimate.get("number") else text["estimate_draft"],
        "banner": {"declined": text["estimate_declined"], "expired": text["estimate_expired"]}.get(estimate["status"]),
        "valid_until": valid_until,
        "validity": text["valid_until"].format(date=valid_until) if valid_until else None,
        "totals": [row for row in view["totals"] if row["label"] != text["amount_due"]],
        "deposit_asked": _deposit_asked(estimate, text, fmt),
        "acceptance": acceptance,
        "decline": decline,
        "approval": _approval(estimate["status"], acceptance, decline, valid_until, text),
        "mentions": _vat_mentions(estimate, seller, buyer, bool(seller.get("vat_franchise")), text),
        "legal_notes": [],
        "payment_terms": None,
    }


def _deposit_asked(estimate: dict[str, Any], text: dict[str, str], fmt: Formats) -> str | None:
    """ "Acompte demandé à la commande : 30 %, soit 1 234,00 € TTC": the
    share asked, and always the amount, tax included, that the deposit
    invoice will bear (`deposit_amount`, computed with the estimate)."""
    deposit, amount = estimate.get("deposit"), estimate.get("deposit_amount")
    if not deposit or amount is None:
        return None
    if deposit["type"] == "percentage":
        return text["deposit_asked_percentage"].format(rate=fmt.percent(deposit["value"]), amount=fmt.money(amount))
    return text["deposit_asked_fixed"].format(amount=fmt.money(amount))


def _moment(value: str, fmt: Formats) -> tuple[str, str]:
    """A recorded instant as its day and its time in Paris, where the
    businesses are (an instant without a zone is UTC, as stored)."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(BUSINESS_TIMEZONE)
    return fmt.day(local.date().isoformat()) or "", format_time(local, format="short", locale=fmt.babel_locale)


def _acceptance(estimate: dict[str, Any], fmt: Formats) -> dict[str, str] | None:
    """Who accepted the estimate online, on what day, at what time."""
    accepted = estimate.get("acceptance")
    if not accepted:
        return None
    day, time = _moment(accepted["accepted_at"], fmt)
    return {"name": " ".join(accepted["name"].split()), "date": day, "time": time}


def _decline(estimate: dict[str, Any], fmt: Formats) -> dict[str, str | None] | None:
    """When the client declined the estimate, and the reason it gave, if any."""
    declined = estimate.get("decline")
    if not declined:
        return None
    return {"date": _moment(declined["declined_at"], fmt)[0], "reason": (declined.get("reason") or "").strip() or None}


def _approval(
    status: str,
    acceptance: dict[str, str] | None,
    decline: dict[str, str | None] | None,
    valid_until: str | None,
    text: dict[str, str],
) -> dict[str, Any]:
    """The "Bon pour accord" block. Open: a box each for the date, the
    name and the signature, and the words the client writes by hand to
    agree on paper. Accepted online: the record of the acceptance in
    their place. Declined or expired: that it was, instead of boxes that
    would invite a signature the estimate no longer takes."""
    lines: list[str] = []
    if acceptance:
        lines.append(text["approval_accepted"].format(**acceptance))
    elif status == "declined":
        lines.append(text["approval_declined"].format(date=decline["date"] if decline else ""))
        if decline and decline["reason"]:
            lines.append(text["decline_reason"].format(reason=decline["reason"]))
    elif status == "expired":
        lines.append(text["approval_expired"].format(date=valid_until or ""))
    else:
        return {
            "title": text["approval"],
            "boxes": [text["approval_date"], text["approval_name"], text["approval_signature"]],
            "lines": [text["approval_handwritten"]],
        }
    return {"title": text["approval"], "boxes": [], "lines": lines}


def quote_view(estimate: dict[str, Any], logo: bytes | None, answer: dict[str, Any]) -> dict[str, Any]:
    """The estimate's public page (logic.quotes): the estimate's view-model,
    and above it the client's answer — the Accept and Decline forms while
    it is open to one, else what became of it and when. `answer` holds the
    forms' addresses, whether an answer was `refused` (it came too late:
    what became of the estimate is the page's problem, not its notice),
    the fields to correct (`problems`) and what was `typed` in them."""
    view = estimate_view(estimate, logo)
    text = view["text"]
    babel_locale = BABEL_LOCALES.get(estimate["business"].get("locale") or "fr-FR", "fr_FR")
    fmt = Formats(estimate["currency"], babel_locale)
    refused, typed = bool(answer.get("refused")), answer.get("typed") or {}
    outcome = _outcome(estimate, view, text, fmt, already=refused)
    total, seller = fmt.money(estimate["totals"]["total"]), view["seller"]["name"]
    return {
        **view,
        "quote": {
            "total": total,
            "open": estimate["status"] == "sent",
            "notice": None if refused else outcome,
            "problem": outcome if refused else None,
            "problems": {field: text[f"quote_problem_{field}"] for field in answer.get("problems") or []},
            "agree": text["quote_agree"].format(number=estimate["number"], business=seller, total=total),
            "name": typed.get("name", ""),
            "reason": typed.get("reason", ""),
            "accept": answer["accept"],
            "decline": answer["decline"],
            "pdf": answer["pdf"],
        },
    }


def _outcome(
    estimate: dict[str, Any], view: dict[str, Any], text: dict[str, str], fmt: Formats, *, already: bool
) -> str | None:
    """What became of the estimate, in a sentence for its client: accepted
    (when, by whom: "already" when it was answered again), declined (when),
    expired (since the day after its last valid day); None while open."""
    if view["acceptance"]:
        return text["quote_already_accepted" if already else "quote_accepted"].format(**view["acceptance"])
    if view["decline"]:
        return text["quote_declined"].format(date=view["decline"]["date"])
    if estimate["status"] == "expired" and estimate.get("valid_until"):
        ended = expires_on(date.fromisoformat(estimate["valid_until"])).isoformat()
        return text["quote_expired"].format(date=fmt.day(ended), valid_until=view["valid_until"])
    return None


STATEMENT_TYPES = {
    "fr": {"invoice": "Facture", "late_fee": "Pénalités", "credit_note": "Avoir", "late_fees_voided": "Annulation",
           "payment": "Règlement"},
    "en": {"invoice": "Invoice", "late_fee": "Late fees", "credit_note": "Credit note",
           "late_fees_voided": "Cancelled", "payment": "Payment"},
}  # fmt: skip
STATEMENT_TEXT = {
    "fr": {"title": "Relevé de compte", "period": "Du {start} au {end}", "opening": "Solde au {day}",
           "closing": "Solde au {day}", "date": "Date", "label": "Libellé", "debit": "Débit", "credit": "Crédit",
           "balance": "Solde", "totals": "Totaux de la période", "owed": "Solde dû par le client",
           "credit_balance": "Solde en faveur du client", "page": "Page {page}/{pages}"},
    "en": {"title": "Statement of account", "period": "From {start} to {end}", "opening": "Balance on {day}",
           "closing": "Balance on {day}", "date": "Date", "label": "Description", "debit": "Debit",
           "credit": "Credit", "balance": "Balance", "totals": "Period totals", "owed": "Balance owed by the client",
           "credit_balance": "Balance in the client's favour", "page": "Page {page}/{pages}"},
}  # fmt: skip


def statement_view(found: dict[str, Any], business: dict[str, Any]) -> dict[str, Any]:
    """A customer's statement (logic.statements) as the PDF shows it: the
    business's locale, each currency's account with its amounts and days
    formatted."""
    locale = business.get("locale") or "fr-FR"
    lang = "fr" if locale.startswith("fr") else "en"
    babel_locale = BABEL_LOCALES.get(locale, "fr_FR")
    text = STATEMENT_TEXT[lang]
    days = Formats("EUR", babel_locale).day
    customer = found["customer"]
    accounts = []
    for account in found["currencies"]:
        money = Formats(account["currency"], babel_locale).money
        closing = Decimal(account["closing_balance"])
        accounts.append({
            "currency": account["currency"],
            "opening": (text["opening"].format(day=days(found["from"])), money(account["opening_balance"])),
            "lines": [
                [line["label"], days(line["date"]) or "", money(line["debit"]) if Decimal(line["debit"]) else "",
                 money(line["credit"]) if Decimal(line["credit"]) else "", money(line["balance"])]
                for line in account["lines"]
            ],
            "totals": (text["totals"], money(account["total_debit"]), money(account["total_credit"])),
            "closing": (text["closing"].format(day=days(found["to"])), money(account["closing_balance"])),
            "standing": text["owed"] if closing >= 0 else text["credit_balance"],
        })  # fmt: skip
    address = _address(customer["address"], babel_locale) if customer.get("address") else []
    return {
        "lang": lang,
        "title": text["title"],
        "text": text,
        "seller": {"name": business.get("legal_name") or ""},
        "customer": [customer.get("name") or "", *address],
        "period": text["period"].format(start=days(found["from"]), end=days(found["to"])),
        "accounts": accounts,
        "footer": _footer(business, labels(locale), babel_locale),
    }
