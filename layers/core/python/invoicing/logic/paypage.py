"""The hosted invoice page, `/pay/{token}` (SPEC §5, §8): the client's view
of an issued invoice, its PDF, and a Pay button that opens a Stripe Checkout
Session on the business's connected account.

Nothing here writes to the table: a payment is recorded when Stripe's
signed event says it was made (logic.stripe_events). A second click, a
reload or a retry asks Stripe again with the same idempotency key, and gets
the same session back."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicing.domain import stripe_money
from invoicing.domain.errors import Conflict, InvalidInput, NotFound
from invoicing.domain.payments import InstalmentPosition, OnlineCharge, online_charge
from invoicing.logic import catalog, documents, invoices, paylinks, stripe_accounts
from invoicing.logic.common import Deps
from invoicing.ports import Doc, PaymentGateway

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, base64url (logic.paylinks)
BANK_TRANSFER_CURRENCIES = {"EUR"}  # Stripe's EU bank transfers (customer_balance) are in euros
STRIPE_LOCALES = {"fr": "fr", "en": "en"}


def open_invoice(deps: Deps, token: str) -> tuple[str, Doc]:
    """The tenant and invoice of a payment link: unknown, malformed, draft
    or void (a voided invoice's link is revoked) are all the same 404."""
    if not TOKEN.match(token):
        raise NotFound("invoice")
    found = deps.store.payment_token(paylinks.token_hash(token))
    if found is None:
        raise NotFound("invoice")
    tenant, invoice_id = found
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    if invoice["status"] in ("draft", "void"):
        raise NotFound("invoice")
    return tenant, invoice


def page(deps: Deps, token: str, page_url: str, *, returned: bool = False, problem: str | None = None) -> str:
    """The page's HTML. `returned`: the client is back from Stripe's page
    (the payment shows once Stripe's event has come)."""
    from invoicing.documents.html import render_pay_page
    from invoicing.documents.view import pay_view
    from invoicing.logic.logo import logo_bytes

    tenant, invoice = open_invoice(deps, token)
    if invoice.get("viewed_version") != invoice["version"]:  # the first opening of this version (SPEC §13)
        deps.store.mark_viewed(tenant, invoice["id"], invoice["version"], deps.timestamp())
    business, customer = documents.parties(deps, tenant, invoice)
    notice = (
        "paid_notice" if invoice["status"] == "paid"
        else "debit_notice" if invoice.get("payment_processing")
        else "processing_notice" if returned
        else None
    )  # fmt: skip
    offered = offer(invoice, stripe_accounts.chargeable(deps, tenant))
    offered = {
        **offered,
        "save_card": saves_card(catalog.get_business(deps, tenant), invoice, offered),
        "notice": notice,
        "problem": problem,
        "action": f"{page_url}/checkout",
        "pdf": f"{page_url}/pdf",
        "attachments": [
            {**item, "url": f"{page_url}/attachments/{item['id']}"} for item in invoice.get("attachments") or []
        ],
    }
    seller = invoice.get("business") or business
    logo = logo_bytes(deps, tenant, seller.get("logo"))
    return render_pay_page(pay_view(invoice, business, customer, logo, offered))


def pdf_url(deps: Deps, token: str) -> str | documents.Pending:
    """A short-lived link to the invoice's PDF (rendered now if need be, or
    queued if large: Pending)."""
    tenant, invoice = open_invoice(deps, token)
    found = documents.pdf_link(deps, tenant, invoice["id"])
    return found if isinstance(found, documents.Pending) else str(found["url"])


def attachment_url(deps: Deps, token: str, attachment_id: str) -> str:
    """A short-lived link to one of the invoice's confirmed attachments."""
    from invoicing.logic import attachments

    tenant, invoice = open_invoice(deps, token)
    return str(attachments.link(deps, tenant, invoice["id"], attachment_id)["url"])


def offer(invoice: Doc, account: str | None) -> dict[str, Any]:
    """What the client can pay online: the next unpaid instalment (when
    there is a schedule) and the whole balance, the tips, and the ways to
    pay. Nothing without a connected Stripe account taking payments
    (`account`, logic.stripe_accounts.chargeable), once paid, while a
    payment is on its way (a SEPA Direct Debit: paying now would pay
    twice), or for an amount Stripe cannot charge exactly (1398.50 in a
    currency Stripe takes in whole units)."""
    due = Decimal(invoice["amount_due"])
    currency = invoice["currency"]
    methods = _methods(invoice) if account else []
    on_its_way = bool(invoice.get("payment_processing"))
    if due <= 0 or not methods or on_its_way or not stripe_money.chargeable(due, currency):
        return {"targets": [], "tips": [], "methods": methods}
    targets: list[dict[str, Any]] = []
    unpaid = [item for item in _instalments(invoice) if item["status"] != "paid"]
    if (
        unpaid
        and Decimal(unpaid[0]["amount_due"]) < due
        and stripe_money.chargeable(Decimal(unpaid[0]["amount_due"]), currency)
    ):
        nearest = unpaid[0]
        targets.append(
            {"value": nearest["id"], "amount": Decimal(nearest["amount_due"]), "due_date": nearest["due_date"]}
        )
    targets.append({"value": "balance", "amount": due})
    tips = invoice.get("tips") or {}
    rates = [Decimal(str(rate)) for rate in tips.get("percentages") or []] if tips.get("enabled") else []
    return {"targets": targets, "tips": [rate for rate in rates if rate > 0], "methods": methods}


def saves_card(business: Doc, invoice: Doc, offered: dict[str, Any]) -> bool:
    """Whether the page offers the client to save its card for the
    business's later invoices (SPEC §12): when the business allows it
    (`save_payment_methods`), the invoice is paid by card online, and is
    a customer's (the card is saved to it)."""
    return bool(
        business.get("save_payment_methods")
        and "card" in offered["methods"]
        and offered["targets"]
        and invoice.get("customer_id")
    )


def checkout(deps: Deps, stripe: PaymentGateway, token: str, page_url: str, form: dict[str, str]) -> str:
    """Open a Checkout Session for what the form chose; its URL. The
    amounts are the invoice's as it stands now, never the form's. With the
    box ticked (`save_card`, when offered), the session saves the card."""
    tenant, invoice = open_invoice(deps, token)
    business = catalog.get_business(deps, tenant)
    account = stripe_accounts.chargeable(deps, tenant)
    offered = offer(invoice, account)
    if not offered["targets"] or account is None:
        raise Conflict("nothing to pay online on this invoice")
    currency = invoice["currency"]
    target = form.get("target") or "balance"
    rate = _tip_rate(form.get("tip"), offered["tips"])
    positions = [
        InstalmentPosition(item["id"], Decimal(item["amount"]), Decimal(item["amount_paid"]))
        for item in _instalments(invoice)
    ]
    step = stripe_money.step(currency)
    charge = online_charge(Decimal(invoice["amount_due"]), positions, target, rate, step)
    customer = _customer(deps, tenant, invoice)
    save = form.get("save_card") == "1" and saves_card(business, invoice, offered)
    params = session_params(tenant, invoice, business, customer, charge, offered["methods"], page_url,
                            save_card=save, account=account)  # fmt: skip
    key = idempotency_key(account, params)
    session = stripe.create_checkout_session(account, params, key)
    return str(session["url"])


def session_params(
    tenant: str,
    invoice: Doc,
    business: Doc,
    customer: Doc | None,
    charge: OnlineCharge,
    methods: list[str],
    page_url: str,
    *, save_card: bool = False, account: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The Checkout Session: the invoice's part and the tip as two lines (the
    tip is never part of the invoice), the invoice's payment methods, and
    metadata naming the invoice, on the session and on its PaymentIntent
    (the events about either find the invoice: SPEC §8). `save_card`: by
    card, saved to the client for later invoices (logic.payment_methods)."""
    from invoicing.documents.view import labels

    currency = invoice["currency"]
    locale = (invoice.get("business") or business).get("locale") or "fr-FR"
    text = labels(locale)
    instalment = next((item for item in _instalments(invoice) if item["id"] == charge.instalment_id), None)
    name = (
        text["checkout_line_instalment"].format(number=invoice["number"], date=instalment["due_date"])
        if instalment
        else text["checkout_line"].format(number=invoice["number"])
    )
    lines = [_line(name, charge.toward, currency)]
    if charge.tip > 0:
        lines.append(_line(text["checkout_tip"], charge.tip, currency))
    metadata = {"tenant_id": tenant, "invoice_id": invoice["id"], "invoice_number": invoice["number"]}
    if charge.instalment_id:
        metadata["instalment_id"] = charge.instalment_id
    if charge.tip > 0:
        metadata["tip"] = str(stripe_money.to_stripe(charge.tip, currency, "tip"))
    types = [{"card": "card", "bank_transfer": "customer_balance"}[method] for method in methods]
    if save_card:  # a bank transfer saves nothing (Stripe refuses setup_future_usage with it)
        types, metadata["customer_id"] = ["card"], invoice["customer_id"]
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": lines,
        "payment_method_types": types,
        "success_url": f"{page_url}?paid=1",
        "cancel_url": page_url,
        "client_reference_id": invoice["id"],
        "locale": STRIPE_LOCALES["fr" if locale.startswith("fr") else "en"],
        "metadata": dict(metadata),
        "payment_intent_data": {"metadata": dict(metadata), "description": name},
    }
    if save_card:  # the client, a Stripe customer of `account` (made by Checkout if need be), keeps it
        params["payment_intent_data"]["setup_future_usage"] = "off_session"
    params.update(_paying_customer(invoice, customer, account, needs_one="customer_balance" in types or save_card))
    if "customer_balance" in types:
        params["payment_method_options"] = {
            "customer_balance": {
                "funding_type": "bank_transfer",
                "bank_transfer": {"type": "eu_bank_transfer", "eu_bank_transfer": {"country": "FR"}},
            }
        }
    return params


def _paying_customer(invoice: Doc, customer: Doc | None, account: str | None, *, needs_one: bool) -> dict[str, Any]:
    """Who pays, as Checkout takes it: the client's Stripe customer when it
    has one on `account`; else one made by Checkout when the payment needs
    one (a bank transfer's virtual IBAN, a card to save), and the e-mail."""
    stripe_customer = (customer or {}).get("stripe_customer_id")
    if stripe_customer and account and (customer or {}).get("stripe_customer_account", account) != account:
        stripe_customer = None  # a Stripe customer of the business's earlier account: not one of this
    if stripe_customer:
        return {"customer": stripe_customer}
    email = (invoice.get("customer") or customer or {}).get("email")
    return {**({"customer_creation": "always"} if needs_one else {}), **({"customer_email": email} if email else {})}


def idempotency_key(account: str, params: dict[str, Any]) -> str:
    """The same session asked again (a second click, a reload, a retry) is
    the same request: Stripe answers it with the session it already made.
    Anything different — an amount, the tip, the customer — is another."""
    seed = json.dumps([account, params], sort_keys=True, separators=(",", ":"))
    return "checkout-" + hashlib.sha256(seed.encode()).hexdigest()[:48]


def _line(name: str, amount: Decimal, currency: str) -> dict[str, Any]:
    return {
        "price_data": {
            "currency": currency.lower(),
            "unit_amount": stripe_money.to_stripe(amount, currency),
            "product_data": {"name": name},
        },
        "quantity": 1,
    }


def _methods(invoice: Doc) -> list[str]:
    allowed = invoice.get("payment_methods") or {"card": True, "bank_transfer": True}
    methods = ["card"] if allowed.get("card") else []
    if allowed.get("bank_transfer") and invoice["currency"] in BANK_TRANSFER_CURRENCIES:
        methods.append("bank_transfer")
    return methods


def _instalments(invoice: Doc) -> list[Doc]:
    return list((invoice.get("payment_schedule") or {}).get("instalments") or [])


def _customer(deps: Deps, tenant: str, invoice: Doc) -> Doc | None:
    customer_id = invoice.get("customer_id")
    return deps.store.get(tenant, "customer", customer_id) if customer_id else None


def _tip_rate(raw: str | None, offered: list[Decimal]) -> Decimal:
    if raw in (None, "", "0"):
        return Decimal(0)
    try:
        rate = Decimal(raw)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or rate not in offered:
        raise InvalidInput.of("tip", "choose one of the tips offered")
    return rate
