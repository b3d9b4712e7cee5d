"""Tenancy (SPEC §3): the tenant comes only from the token's claim, and another
tenant's object answers 404 exactly like a missing one.

Every non-public route of `infra.wiring.ROUTES` has a case below: a route
added without one fails `test_every_non_public_route_has_an_isolation_case`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from infra import wiring
from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE, published_events
from tests.connect import onboard
from tests.integration.conftest import attach
from tests.integration.test_logo import png, upload_logo
from tests.integration.test_sender import ADDRESS, confirm_sender, the_code

pytestmark = pytest.mark.integration

OTHER = "other"
TOMORROW = (date.today() + timedelta(days=1)).isoformat()


@pytest.fixture
def acme(api, stripe_standin, crm) -> dict[str, Any]:
    """acme's world: a profile and its Stripe account, a customer, a product, a draft and an issued invoice."""
    assert api.put("/business", {**BUSINESS, "email": "compta@acme.example"}).status == 200
    stripe_account = onboard(api, stripe_standin, complete=False)
    customer = api.post("/customers", {"name": "Dupont & Fils", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}).body
    product = api.post("/products", {"name": "Audit", "unit_price": "1000"}).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body
    issued = api.post("/invoices", {**SPEC_INVOICE, "name": "Émise", "customer_id": customer["id"]}).body
    logo = upload_logo(api, png()).body["logo"]
    template = api.post("/templates", {"name": "Mensuel", "lines": [{"name": "Abonnement", "unit_price": "30"}]}).body
    attachment = attach(api, draft["id"]).body
    pending = attach(api, draft["id"], confirm=False).body
    issued = api.post(f"/invoices/{issued['id']}/mark-sent").body
    assert issued["number"] == "INV-1"
    payment = api.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": "100"}).body
    credit_note = api.post(f"/invoices/{issued['id']}/credit-notes", {"amount": "120.00"}).body
    issued = api.get(f"/invoices/{issued['id']}").body
    confirm_sender(api)
    assert api.post("/business/sender", {"email": "nouvelle@acme.example"}).status == 202  # a code waiting
    lines = [{"name": "Pose", "unit_price": "500", "taxes": [{"name": "TVA", "rate": "10"}]}]
    estimate = api.post("/estimates", {"name": "Devis brouillon", "customer_id": customer["id"], "lines": lines}).body
    estimate_sent = api.post("/estimates", {"name": "Devis envoyé", "customer_id": customer["id"], "lines": lines,
                                            "deposit": {"type": "percentage", "value": "30"}}).body  # fmt: skip
    estimate_sent = api.post(f"/estimates/{estimate_sent['id']}/mark-sent").body
    assert estimate_sent["number"] == "D-1"
    monthly = {"frequency": "month", "start_date": TOMORROW}
    recurring = api.post("/recurring-invoices", {"name": "Maintenance", "customer_id": customer["id"],
                                                 "lines": lines, "schedule": monthly}).body  # fmt: skip
    webhook_endpoint = api.post("/webhook-endpoints", {"url": crm.url, "events": ["*"]}).body
    webhook_delivery = api.post(f"/webhook-endpoints/{webhook_endpoint['id']}/test").body
    assert webhook_delivery["status"] == "delivered"
    export = api.post("/exports", {"kind": "invoices"}).body
    api.run_exports()
    return {
        "export": export,
        "webhook_endpoint": webhook_endpoint,
        "webhook_delivery": webhook_delivery,
        "recurring": recurring,
        "estimate": estimate,
        "estimate_sent": estimate_sent,
        "customer": customer,
        "product": product,
        "draft": api.get(f"/invoices/{draft['id']}").body,
        "issued": issued,
        "payment": payment,
        "credit_note": credit_note,
        "attachment": attachment,
        "logo": logo,
        "template": template,
        "pending": pending,
        "stripe_account": stripe_account,
    }


def _snapshot(api) -> dict[str, Any]:
    """Everything acme can read, to prove the other tenant changed none of it."""
    return {
        "business": api.get("/business").body,
        "customers": api.get("/customers").body,
        "products": api.get("/products").body,
        "invoices": api.get("/invoices").body,
        "templates": api.get("/templates").body,
        "sender": api.get("/business/sender").body,
        "credit_notes": [
            api.get(f"/credit-notes/{ref['id']}").body
            for item in api.get("/invoices").body["items"]
            for ref in api.get(f"/invoices/{item['id']}").body["credit_notes"]
        ],
        "estimates": [api.get(f"/estimates/{item['id']}").body for item in api.get("/estimates").body["items"]],
        "recurring": [
            api.get(f"/recurring-invoices/{item['id']}").body for item in api.get("/recurring-invoices").body["items"]
        ],  # fmt: skip
        # acme's objects (those in "other"'s own folders, its exports say, are not acme's)
        "objects": sorted(
            (key, hashlib.md5(data).hexdigest()) for key, data in api.objects().items() if f"/{OTHER}/" not in f"/{key}"
        ),
        "webhook_endpoints": api.get("/webhook-endpoints").body,
        "webhook_deliveries": [
            api.get(f"/webhook-endpoints/{item['id']}/deliveries").body
            for item in api.get("/webhook-endpoints").body["items"]
        ],
    }


def _not_found(reply) -> None:
    assert reply.status == 404, (reply.status, reply.body)
    assert reply.body["error"]["code"] == "not_found"


# -- one case per route: what "other" does, and what it must see -------------------------


def _get_business(api, acme):
    reply = api.get("/business", tenant=OTHER)
    assert reply.status == 200
    assert reply.body["legal_name"] is None
    assert reply.body["version"] == 0


def _put_business(api, acme):
    reply = api.put("/business", {"legal_name": "Other SARL", "version": 0}, tenant=OTHER)
    assert reply.status == 200, reply.body
    assert reply.body["version"] == 1
    assert api.get("/business").body["legal_name"] == "Acme SAS"
    assert api.get("/business").body["version"] == 3  # saved, its Stripe account linked, then its logo set


def _patch_business(api, acme):
    reply = api.patch("/business", {"legal_name": "Other SARL", "email": "compta@other.example"}, tenant=OTHER)
    assert reply.status == 200, reply.body
    assert (reply.body["version"], reply.body["siren"]) == (1, None)  # nothing of acme's merged in
    assert api.get("/business").body["email"] == "compta@acme.example"


def _stripe_onboarding(api, acme):
    """Its own account, never acme's; acme's neither taken nor typed in."""
    assert api.put("/business", {**BUSINESS, "legal_name": "Other SAS"}, tenant=OTHER).status == 200
    reply = api.post("/business/stripe/onboarding", tenant=OTHER)
    assert reply.status == 200, reply.body
    assert reply.body["stripe_account_id"] != acme["stripe_account"]
    typed = api.patch("/business", {"stripe_account_id": acme["stripe_account"]}, tenant=OTHER)
    assert (typed.status, typed.error_fields) == (422, ["stripe_account_id"])
    assert api.get("/business", tenant=OTHER).body["stripe_account_id"] == reply.body["stripe_account_id"]


def _list(kind: str) -> Callable[..., None]:
    def case(api, acme):
        reply = api.get(f"/{kind}", tenant=OTHER)
        assert reply.body == {"items": [], "next_cursor": None}
        # a cursor taken from acme's list opens nothing of acme's
        cursor = api.get(f"/{kind}?limit=1").body["next_cursor"]
        if cursor:
            assert api.get(f"/{kind}?cursor={cursor}", tenant=OTHER).body["items"] == []

    return case


def _create(kind: str) -> Callable[..., None]:
    def case(api, acme):
        # names are unique per tenant only: acme's name is free for "other"
        body = {
            "customers": {"name": "Dupont & Fils"},
            "products": {"name": "Audit", "unit_price": "1"},
            "templates": {"name": "Mensuel", "lines": [{"name": "Abonnement", "unit_price": "30"}]},
        }[kind]
        reply = api.post(f"/{kind}", body, tenant=OTHER)
        assert reply.status == 201, reply.body
        assert [item["id"] for item in api.get(f"/{kind}", tenant=OTHER).body["items"]] == [reply.body["id"]]

    return case


def _item(method: str, kind: str, key: str) -> Callable[..., None]:
    def case(api, acme):
        path = f"/{kind}/{acme[key]['id']}"
        body = {"name": "Pwned", "version": acme[key]["version"]} if method == "PATCH" else None
        _not_found(api.call(method, path, body, tenant=OTHER))

    return case


def _create_invoice(api, acme):
    with_customer = api.post("/invoices", {"name": "X", "customer_id": acme["customer"]["id"]}, tenant=OTHER)
    assert with_customer.status == 422
    assert with_customer.error_fields == ["customer_id"]
    with_product = api.post("/invoices", {"name": "Y", "lines": [{"product_id": acme["product"]["id"]}]}, tenant=OTHER)
    assert with_product.status == 422
    assert with_product.error_fields == ["lines.0.product_id"]
    # acme's invoice name is free for "other"
    assert api.post("/invoices", {"name": SPEC_INVOICE["name"]}, tenant=OTHER).status == 201


def _list_invoices(api, acme):
    for query in ("", "?status=open", "?status=draft", f"?customer_id={acme['customer']['id']}", "?overdue=false"):
        reply = api.get(f"/invoices{query}", tenant=OTHER)
        assert reply.body == {"items": [], "next_cursor": None}, query


def _invoice_action(action: str, key: str) -> Callable[..., None]:
    def case(api, acme):
        _not_found(api.post(f"/invoices/{acme[key]['id']}/{action}", tenant=OTHER))

    return case


def _template_to_invoice(api, acme):
    """acme's template makes no draft for "other", nor with acme's customer."""
    theirs = api.post(
        "/customers", {"name": "Client", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}, tenant=OTHER
    ).body
    for customer in (theirs["id"], acme["customer"]["id"]):
        body = {"customer_id": customer}
        _not_found(api.post(f"/templates/{acme['template']['id']}/invoices", body, tenant=OTHER))
    assert api.get("/invoices", tenant=OTHER).body["items"] == []


def _invoice_to_template(api, acme):
    for key in ("draft", "issued"):
        _not_found(api.post(f"/invoices/{acme[key]['id']}/template", {"name": f"Vol {key}"}, tenant=OTHER))
    assert api.get("/templates", tenant=OTHER).body["items"] == []


def _send(api, acme):
    """Neither acme's draft nor its issued invoice can be sent by "other",
    even to "other"'s own address; nothing reaches the bus."""
    body = {"channels": ["email"], "to": {"emails": ["thief@other.example"]}}
    for key in ("draft", "issued"):
        _not_found(api.post(f"/invoices/{acme[key]['id']}/send", body, tenant=OTHER))
    assert not [event for event in published_events() if event["detail-type"] == "Invoice Sent"]


def _payments(api, acme):
    """ "other" can neither list acme's payments nor pay acme's invoice."""
    invoice = acme["issued"]["id"]
    _not_found(api.get(f"/invoices/{invoice}/payments", tenant=OTHER))
    _not_found(api.post(f"/invoices/{invoice}/payments", {"method": "cash", "amount": "1"}, tenant=OTHER))
    assert [p["id"] for p in api.get(f"/invoices/{invoice}/payments").body["items"]] == [acme["payment"]["id"]]


def _cancel_payment(api, acme):
    """ "other" cannot cancel acme's payment, even naming its invoice and its id."""
    invoice, payment = acme["issued"]["id"], acme["payment"]["id"]
    _not_found(api.post(f"/invoices/{invoice}/payments/{payment}/cancel", {"reason": "x"}, tenant=OTHER))
    assert [p["status"] for p in api.get(f"/invoices/{invoice}/payments").body["items"]] == ["succeeded"]


def _credit(api, acme):
    """ "other" cannot credit acme's invoices, even with a number of its own series."""
    assert api.put("/business", {**BUSINESS, "legal_name": "Other SAS"}, tenant=OTHER).status == 200
    for key in ("draft", "issued"):
        _not_found(api.post(f"/invoices/{acme[key]['id']}/credit-notes", {"amount": "12.00"}, tenant=OTHER))
    _not_found(api.post(f"/invoices/{acme['issued']['id']}/void", tenant=OTHER))


def _credit_note(suffix: str, method: str = "GET") -> Callable[..., None]:
    def case(api, acme):
        path = f"/credit-notes/{acme['credit_note']['id']}{suffix}"
        body = {"channels": ["email"], "to": {"emails": ["thief@other.example"]}} if method == "POST" else None
        _not_found(api.call(method, path, body, tenant=OTHER))

    return case


def _document(kind: str) -> Callable[..., None]:
    def case(api, acme):
        for key in ("draft", "issued"):
            _not_found(api.get(f"/invoices/{acme[key]['id']}/{kind}", tenant=OTHER))

    return case


def _list_estimates(api, acme):
    for query in ("", "?status=sent", "?status=draft", f"?customer_id={acme['customer']['id']}"):
        reply = api.get(f"/estimates{query}", tenant=OTHER)
        assert reply.body == {"items": [], "next_cursor": None}, query
    cursor = api.get("/estimates?limit=1").body["next_cursor"]
    assert api.get(f"/estimates?cursor={cursor}", tenant=OTHER).body["items"] == []


def _create_estimate(api, acme):
    with_customer = api.post("/estimates", {"name": "X", "customer_id": acme["customer"]["id"]}, tenant=OTHER)
    assert (with_customer.status, with_customer.error_fields) == (422, ["customer_id"])
    with_product = api.post("/estimates", {"name": "Y", "lines": [{"product_id": acme["product"]["id"]}]},
                            tenant=OTHER)  # fmt: skip
    assert (with_product.status, with_product.error_fields) == (422, ["lines.0.product_id"])
    assert api.post("/estimates", {"name": "Devis brouillon"}, tenant=OTHER).status == 201  # acme's name is free


def _estimate_action(action: str, body: dict[str, Any] | None = None) -> Callable[..., None]:
    """On acme's draft and on its sent estimate: the same 404 as a missing one, nothing numbered, sent or made."""

    def case(api, acme):
        for key in ("estimate", "estimate_sent"):
            _not_found(api.call("POST" if action else "GET", f"/estimates/{acme[key]['id']}{action}", body,
                                tenant=OTHER))  # fmt: skip
        assert api.get("/estimates", tenant=OTHER).body["items"] == []
        assert api.get("/invoices", tenant=OTHER).body["items"] == []

    return case


def _list_recurring(api, acme):
    for query in ("", "?status=active", f"?customer_id={acme['customer']['id']}"):
        reply = api.get(f"/recurring-invoices{query}", tenant=OTHER)
        assert reply.body == {"items": [], "next_cursor": None}, query


def _create_recurring(api, acme):
    schedule = {"frequency": "month", "start_date": TOMORROW}
    lines = [{"name": "A", "unit_price": "1"}]
    with_customer = api.post("/recurring-invoices", {"name": "X", "customer_id": acme["customer"]["id"],
                             "lines": lines, "schedule": schedule}, tenant=OTHER)  # fmt: skip
    assert (with_customer.status, with_customer.error_fields) == (422, ["customer_id"])
    theirs = api.post("/customers", {"name": "Client de other"}, tenant=OTHER).body
    with_template = api.post("/recurring-invoices", {"name": "Y", "customer_id": theirs["id"],
                             "template_id": acme["template"]["id"], "schedule": schedule}, tenant=OTHER)  # fmt: skip
    assert (with_template.status, with_template.error_fields) == (422, ["template_id"])
    with_product = api.post("/recurring-invoices", {"name": "Z", "customer_id": theirs["id"], "schedule": schedule,
                            "lines": [{"product_id": acme["product"]["id"]}]}, tenant=OTHER)  # fmt: skip
    assert (with_product.status, with_product.error_fields) == (422, ["lines.0.product_id"])


def _recurring_action(method: str, action: str = "", body: dict[str, Any] | None = None) -> Callable[..., None]:
    """On acme's recurring invoice: the same 404 as a missing one, nothing changed, no invoice made."""

    def case(api, acme):
        _not_found(api.call(method, f"/recurring-invoices/{acme['recurring']['id']}{action}", body, tenant=OTHER))
        assert api.get("/recurring-invoices", tenant=OTHER).body["items"] == []
        assert api.get("/invoices", tenant=OTHER).body["items"] == []

    return case


def _estimate_document(kind: str) -> Callable[..., None]:
    def case(api, acme):
        for key in ("estimate", "estimate_sent"):
            _not_found(api.get(f"/estimates/{acme[key]['id']}/{kind}", tenant=OTHER))

    return case


def _attachment(method: str, suffix: str = "") -> Callable[..., None]:
    """Every attachment route, on acme's draft and its confirmed and pending files."""

    def case(api, acme):
        invoice = acme["draft"]["id"]
        for attachment in (acme["attachment"], acme["pending"]):
            _not_found(api.call(method, f"/invoices/{invoice}/attachments/{attachment['id']}{suffix}", tenant=OTHER))

    return case


def _attachments_of_invoice(api, acme):
    invoice = acme["draft"]["id"]
    _not_found(api.get(f"/invoices/{invoice}/attachments", tenant=OTHER))
    body = {"filename": "x.pdf", "content_type": "application/pdf", "size": 10}
    _not_found(api.post(f"/invoices/{invoice}/attachments", body, tenant=OTHER))
    assert len(api.get(f"/invoices/{invoice}/attachments").body["items"]) == 1


def _logo(api, acme):
    """acme's logo id names nothing in "other"'s files (with a profile of its
    own, "other" is refused for want of an upload); "other" removing its own
    logo touches acme's not at all."""
    assert api.put("/business", {**BUSINESS, "legal_name": "Other SARL"}, tenant=OTHER).status == 200
    form = api.post("/business/logo", {"content_type": "image/png", "size": 100}, tenant=OTHER)
    assert form.status == 201
    assert form.body["upload"]["fields"]["key"].startswith(f"pending/{OTHER}/business/logo/")
    stolen = api.post("/business/logo/confirm", {"id": acme["logo"]["id"]}, tenant=OTHER)
    assert stolen.status == 409
    assert "nothing was uploaded" in stolen.body["error"]["message"]
    assert api.get("/business", tenant=OTHER).body["logo"] is None
    assert api.delete("/business/logo", tenant=OTHER).status == 204
    assert api.get("/business").body["logo"] == acme["logo"]


def _sender(api, acme):
    """acme's address and its waiting code are not "other"'s: it sees none,
    cannot confirm acme's code, removes only its own; asking for acme's
    address e-mails a code to acme's mailbox and gives "other" nothing."""
    reply = api.get("/business/sender", tenant=OTHER)
    assert reply.status == 200
    assert (reply.body["email"], reply.body["pending_email"]) == (None, None)
    assert api.post("/business/sender/confirm", {"code": the_code("nouvelle@acme.example")}, tenant=OTHER).status == 409
    assert api.delete("/business/sender", tenant=OTHER).status == 204
    asked = api.post("/business/sender", {"email": ADDRESS}, tenant=OTHER)
    assert asked.status == 202
    assert asked.body["email"] is None
    assert asked.body["sending_from"] != ADDRESS


def _payment_methods(api, acme):
    """A card saved by acme's customer: "other" can neither list it, ask a
    setup link for acme's customer, choose it nor detach it (the same 404
    as a customer that is not there); acme still has it, its default."""
    from invoicing.adapters import live
    from invoicing.logic import payment_methods

    customer = acme["customer"]["id"]
    card = {"id": "pm_AcmeCard1", "type": "card", "customer": "cus_AcmeStripe1",
            "card": {"brand": "visa", "last4": "4242", "exp_month": 1, "exp_year": 2030, "country": "FR"}}  # fmt: skip
    payment_methods.record(live.deps(), "acme", customer, card, acme["stripe_account"])
    base = f"/customers/{customer}/payment-methods"
    _not_found(api.post(f"{base}/setup", {"types": ["card", "sepa_debit"]}, tenant=OTHER))
    _not_found(api.get(base, tenant=OTHER))
    _not_found(api.post(f"{base}/pm_AcmeCard1/default", tenant=OTHER))
    _not_found(api.delete(f"{base}/pm_AcmeCard1", tenant=OTHER))
    assert [(item["id"], item["default"]) for item in api.get(base).body["items"]] == [("pm_AcmeCard1", True)]


def _reports(api, acme):
    """acme's figures (its issued invoice, its payment as an entry, its credit
    note): none of them in "other"'s summary, aging, or VAT on either basis."""
    from invoicing.adapters import live
    from invoicing.logic import ledger

    ledger.project(live.deps(), "acme", acme["issued"]["id"])  # its payment's entry, as the bus would write it
    period = f"from={acme['issued']['issue_date']}&to={date.today().isoformat()}"
    paths = (f"/reports/summary?{period}", "/reports/aging", f"/reports/aging?as_of={date.today() - timedelta(days=1)}",
             f"/reports/vat?{period}&basis=invoiced", f"/reports/vat?{period}&basis=collected")  # fmt: skip
    for path in paths:
        assert api.get(path).body["currencies"], path  # acme has figures there
        reply = api.get(path, tenant=OTHER)
        assert reply.status == 200, reply.body
        assert reply.body["currencies"] == [], path


def _statement(api, acme):
    """acme's customer's statement: a 404 like a missing customer, as JSON and as a PDF."""
    path = f"/customers/{acme['customer']['id']}/statement"
    assert api.get(path).body["currencies"]  # acme's has its invoice
    _not_found(api.get(path, tenant=OTHER))
    _not_found(api.get(f"{path}?format=pdf", tenant=OTHER))


def _create_export(api, acme):
    """ "other"'s own exports of the same period, each kind: none of acme's
    documents in them (its invoice, credit note and payment)."""
    from invoicing.adapters import live
    from invoicing.logic import ledger

    ledger.project(live.deps(), "acme", acme["issued"]["id"])
    api.put("/business", {"legal_name": "Other SARL", "siren": "552120222", "version": 0}, tenant=OTHER)
    written = []
    for kind in ("invoices", "payments", "credit_notes", "fec"):
        reply = api.post("/exports", {"kind": kind}, tenant=OTHER)
        assert reply.status == 202, reply.body
        written.append(reply.body["id"])
    api.run_exports()
    for export_id in written:
        done = api.get(f"/exports/{export_id}", tenant=OTHER).body
        assert (done["status"], done["documents"]) == ("ready", 0), done
        data = api.objects()[f"exports/{OTHER}/{export_id}/{done['filename']}"]
        for acmes in (acme["issued"]["number"], acme["credit_note"]["number"], acme["customer"]["name"]):
            assert acmes.encode() not in data


def _get_export(api, acme):
    """acme's export: a 404 like a missing one, and no link to its file."""
    assert api.get(f"/exports/{acme['export']['id']}").body["status"] == "ready"
    theirs = api.get(f"/exports/{acme['export']['id']}", tenant=OTHER)
    _not_found(theirs)
    assert "url" not in theirs.body


def _totals(api, acme):
    """Stateless: a line naming acme's product gets no price from acme's catalogue."""
    reply = api.post("/totals", {"lines": [{"product_id": acme["product"]["id"], "quantity": "1"}]}, tenant=OTHER)
    assert reply.status == 422
    assert reply.error_fields == ["lines.0.unit_price"]


CASES: dict[tuple[str, str], Callable[..., None]] = {
    ("GET", "/business"): _get_business,
    ("PUT", "/business"): _put_business,
    ("PATCH", "/business"): _patch_business,
    ("GET", "/customers"): _list("customers"),
    ("POST", "/customers"): _create("customers"),
    ("GET", "/customers/{customer_id}"): _item("GET", "customers", "customer"),
    ("PATCH", "/customers/{customer_id}"): _item("PATCH", "customers", "customer"),
    ("DELETE", "/customers/{customer_id}"): _item("DELETE", "customers", "customer"),
    ("POST", "/customers/{customer_id}/payment-methods/setup"): _payment_methods,
    ("GET", "/customers/{customer_id}/payment-methods"): _payment_methods,
    ("DELETE", "/customers/{customer_id}/payment-methods/{payment_method_id}"): _payment_methods,
    ("POST", "/customers/{customer_id}/payment-methods/{payment_method_id}/default"): _payment_methods,
    ("GET", "/products"): _list("products"),
    ("POST", "/products"): _create("products"),
    ("GET", "/products/{product_id}"): _item("GET", "products", "product"),
    ("PATCH", "/products/{product_id}"): _item("PATCH", "products", "product"),
    ("DELETE", "/products/{product_id}"): _item("DELETE", "products", "product"),
    ("GET", "/invoices"): _list_invoices,
    ("POST", "/invoices"): _create_invoice,
    ("GET", "/invoices/{invoice_id}"): _item("GET", "invoices", "issued"),
    ("PATCH", "/invoices/{invoice_id}"): _item("PATCH", "invoices", "draft"),
    ("DELETE", "/invoices/{invoice_id}"): _item("DELETE", "invoices", "draft"),
    ("POST", "/invoices/{invoice_id}/mark-sent"): _invoice_action("mark-sent", "draft"),
    ("POST", "/invoices/{invoice_id}/void"): _invoice_action("void", "issued"),
    ("POST", "/invoices/{invoice_id}/duplicate"): _invoice_action("duplicate", "issued"),
    ("POST", "/invoices/{invoice_id}/send"): _send,
    ("POST", "/invoices/{invoice_id}/credit-notes"): _credit,
    ("GET", "/credit-notes/{credit_note_id}"): _credit_note(""),
    ("GET", "/credit-notes/{credit_note_id}/pdf"): _credit_note("/pdf"),
    ("POST", "/credit-notes/{credit_note_id}/send"): _credit_note("/send", "POST"),
    ("POST", "/invoices/{invoice_id}/payments"): _payments,
    ("GET", "/invoices/{invoice_id}/payments"): _payments,
    ("POST", "/invoices/{invoice_id}/payments/{payment_id}/cancel"): _cancel_payment,
    ("POST", "/invoices/{invoice_id}/template"): _invoice_to_template,
    ("GET", "/templates"): _list("templates"),
    ("POST", "/templates"): _create("templates"),
    ("GET", "/templates/{template_id}"): _item("GET", "templates", "template"),
    ("PATCH", "/templates/{template_id}"): _item("PATCH", "templates", "template"),
    ("DELETE", "/templates/{template_id}"): _item("DELETE", "templates", "template"),
    ("POST", "/templates/{template_id}/invoices"): _template_to_invoice,
    ("GET", "/invoices/{invoice_id}/preview"): _document("preview"),
    ("GET", "/invoices/{invoice_id}/pdf"): _document("pdf"),
    ("GET", "/invoices/{invoice_id}/attachments"): _attachments_of_invoice,
    ("POST", "/invoices/{invoice_id}/attachments"): _attachments_of_invoice,
    ("GET", "/invoices/{invoice_id}/attachments/{attachment_id}"): _attachment("GET"),
    ("DELETE", "/invoices/{invoice_id}/attachments/{attachment_id}"): _attachment("DELETE"),
    ("POST", "/invoices/{invoice_id}/attachments/{attachment_id}/confirm"): _attachment("POST", "/confirm"),
    ("POST", "/totals"): _totals,
    ("POST", "/business/logo"): _logo,
    ("POST", "/business/logo/confirm"): _logo,
    ("DELETE", "/business/logo"): _logo,
    ("POST", "/business/stripe/onboarding"): _stripe_onboarding,
    ("GET", "/business/sender"): _sender,
    ("POST", "/business/sender"): _sender,
    ("POST", "/business/sender/confirm"): _sender,
    ("DELETE", "/business/sender"): _sender,
    ("GET", "/estimates"): _list_estimates,
    ("POST", "/estimates"): _create_estimate,
    ("GET", "/estimates/{estimate_id}"): _estimate_action(""),
    ("PATCH", "/estimates/{estimate_id}"): _item("PATCH", "estimates", "estimate"),
    ("DELETE", "/estimates/{estimate_id}"): _item("DELETE", "estimates", "estimate"),
    ("POST", "/estimates/{estimate_id}/mark-sent"): _estimate_action("/mark-sent"),
    ("POST", "/estimates/{estimate_id}/send"): _estimate_action("/send", {"channels": ["email"]}),
    ("POST", "/estimates/{estimate_id}/duplicate"): _estimate_action("/duplicate"),
    ("POST", "/estimates/{estimate_id}/invoices"): _estimate_action("/invoices", {"kind": "deposit"}),
    ("GET", "/estimates/{estimate_id}/preview"): _estimate_document("preview"),
    ("GET", "/estimates/{estimate_id}/pdf"): _estimate_document("pdf"),
    ("GET", "/recurring-invoices"): _list_recurring,
    ("POST", "/recurring-invoices"): _create_recurring,
    ("GET", "/recurring-invoices/{recurring_id}"): _recurring_action("GET"),
    ("PATCH", "/recurring-invoices/{recurring_id}"): _recurring_action("PATCH", "", {"notes": "x", "version": 1}),
    ("DELETE", "/recurring-invoices/{recurring_id}"): _recurring_action("DELETE"),
    ("POST", "/recurring-invoices/{recurring_id}/pause"): _recurring_action("POST", "/pause"),
    ("POST", "/recurring-invoices/{recurring_id}/resume"): _recurring_action("POST", "/resume"),
    ("POST", "/recurring-invoices/{recurring_id}/cancel"): _recurring_action("POST", "/cancel"),
    ("GET", "/reports/summary"): _reports,
    ("GET", "/reports/aging"): _reports,
    ("GET", "/reports/vat"): _reports,
    ("GET", "/customers/{customer_id}/statement"): _statement,
    ("POST", "/exports"): _create_export,
    ("GET", "/exports/{export_id}"): _get_export,
}


def _create_webhook_endpoint(api, acme):
    """Its own endpoint, even to the same URL; acme's neither listed nor counted."""
    url = acme["webhook_endpoint"]["url"]
    reply = api.post("/webhook-endpoints", {"url": url, "events": ["*"]}, tenant=OTHER)
    assert reply.status == 201, reply.body
    assert [item["id"] for item in api.get("/webhook-endpoints", tenant=OTHER).body["items"]] == [reply.body["id"]]
    assert api.get(f"/webhook-endpoints/{reply.body['id']}/deliveries", tenant=OTHER).body["items"] == []


def _webhook_action(method: str, action: str = "", body: dict[str, Any] | None = None) -> Callable[..., None]:
    """On acme's endpoint (or its delivery): the same 404 as a missing one; nothing sent, nothing changed."""

    def case(api, acme):
        path = f"/webhook-endpoints/{acme['webhook_endpoint']['id']}{action}"
        path = path.replace("{delivery_id}", acme["webhook_delivery"]["id"])
        _not_found(api.call(method, path, body, tenant=OTHER))
        assert api.get("/webhook-endpoints", tenant=OTHER).body["items"] == []

    return case


CASES.update({
    ("GET", "/webhook-endpoints"): _list("webhook-endpoints"),
    ("POST", "/webhook-endpoints"): _create_webhook_endpoint,
    ("GET", "/webhook-endpoints/{endpoint_id}"): _webhook_action("GET"),
    ("PATCH", "/webhook-endpoints/{endpoint_id}"): _webhook_action("PATCH", "", {"status": "disabled"}),
    ("DELETE", "/webhook-endpoints/{endpoint_id}"): _webhook_action("DELETE"),
    ("POST", "/webhook-endpoints/{endpoint_id}/rotate-secret"): _webhook_action("POST", "/rotate-secret"),
    ("POST", "/webhook-endpoints/{endpoint_id}/test"): _webhook_action("POST", "/test"),
    ("GET", "/webhook-endpoints/{endpoint_id}/deliveries"): _webhook_action("GET", "/deliveries"),
    ("POST", "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry"): _webhook_action(
        "POST", "/deliveries/{delivery_id}/retry"
    ),
})  # fmt: skip

NON_PUBLIC = sorted((route.method, route.path) for route in wiring.ROUTES if not route.public)


def test_every_non_public_route_has_an_isolation_case():
    assert set(CASES) == set(NON_PUBLIC)


@pytest.mark.parametrize("route", NON_PUBLIC, ids=" ".join)
def test_given_acmes_data_when_other_tenant_calls_the_route_then_it_sees_and_changes_nothing_of_acme(api, acme, route):
    before = _snapshot(api)

    CASES[route](api, acme)

    assert _snapshot(api) == before


def test_given_an_issued_invoice_when_other_tenant_gets_it_then_same_404_as_a_missing_one(api, acme):
    theirs = api.get(f"/invoices/{acme['issued']['id']}", tenant=OTHER)
    missing = api.get("/invoices/inv_00000000000000000000000000", tenant=OTHER)

    assert (theirs.status, theirs.body) == (missing.status, missing.body)


def test_given_two_tenants_when_each_lists_then_each_sees_only_its_own(api, acme):
    theirs = api.post("/customers", {"name": "Client de other"}, tenant=OTHER).body

    assert [item["id"] for item in api.get("/customers", tenant=OTHER).body["items"]] == [theirs["id"]]
    assert theirs["id"] not in {item["id"] for item in api.get("/customers").body["items"]}


def _example_path(path: str) -> str:
    for name, example in (
        ("customer_id", "cus_1"),
        ("product_id", "prd_1"),
        ("invoice_id", "inv_1"),
        ("attachment_id", "att_1"),
        ("credit_note_id", "cn_1"),
        ("payment_id", "pay_1"),
        ("estimate_id", "est_1"),
        ("recurring_id", "rec_1"),
        ("endpoint_id", "whe_1"),
        ("delivery_id", "whe_1.1"),
        ("export_id", "exp_1"),
    ):
        path = path.replace(f"{{{name}}}", example)
    return path


VALID_BODIES = {
    ("PUT", "/business"): BUSINESS,
    ("PATCH", "/business"): {"email": "a@b.example"},
    ("POST", "/customers"): {"name": "Dupont"},
    ("PATCH", "/customers/{customer_id}"): {"name": "Dupont"},
    ("POST", "/products"): {"name": "Audit", "unit_price": "1"},
    ("PATCH", "/products/{product_id}"): {"name": "Audit"},
    ("POST", "/invoices"): SPEC_INVOICE,
    ("PATCH", "/invoices/{invoice_id}"): {"version": 1},
    ("POST", "/totals"): SPEC_INVOICE,
    ("POST", "/invoices/{invoice_id}/attachments"): {"filename": "a.pdf", "content_type": "application/pdf", "size": 1},
    ("POST", "/business/logo"): {"content_type": "image/png", "size": 1},
    ("POST", "/templates"): {"name": "T"},
    ("PATCH", "/templates/{template_id}"): {"name": "T"},
    ("POST", "/templates/{template_id}/invoices"): {"customer_id": "cus_1"},
    ("POST", "/business/logo/confirm"): {"id": "logo_" + "0" * 26},
    ("POST", "/business/sender"): {"email": "a@b.example"},
    ("POST", "/business/sender/confirm"): {"code": "123456"},
    ("POST", "/invoices/{invoice_id}/payments"): {"method": "cash", "amount": "1"},
    ("POST", "/invoices/{invoice_id}/payments/{payment_id}/cancel"): {"reason": "x"},
    ("POST", "/invoices/{invoice_id}/credit-notes"): {"amount": "1.00"},
    ("POST", "/estimates"): {"name": "D"},
    ("PATCH", "/estimates/{estimate_id}"): {"version": 1},
    ("POST", "/estimates/{estimate_id}/invoices"): {"kind": "full"},
    ("POST", "/recurring-invoices"): {
        "name": "R",
        "customer_id": "cus_1",
        "lines": [{"name": "A", "unit_price": "1"}],
        "schedule": {"frequency": "month", "start_date": "2099-01-01"},
    },  # fmt: skip
    ("PATCH", "/recurring-invoices/{recurring_id}"): {"version": 1},
    ("POST", "/webhook-endpoints"): {"url": "https://crm.example.com/hooks", "events": ["*"]},
    ("PATCH", "/webhook-endpoints/{endpoint_id}"): {"description": "x"},
    ("POST", "/exports"): {"kind": "invoices"},
}


@pytest.mark.parametrize("route", NON_PUBLIC, ids=" ".join)
def test_given_no_tenant_claim_when_calling_any_route_then_401(api, route):
    method, path = route

    reply = api.call(method, _example_path(path), VALID_BODIES.get(route), tenant=None)

    assert reply.status == 401, reply.body
    assert reply.body["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "tenant",
    ["acme#INV#STATUS#open", "a" * 65, "../acme", "acme sas", "pending", "Attachments", "logos", "Platform"],
)  # then the bucket's own folders (an upload expiry rule would reach the tenant's PDFs), and the table's
# partition of what is no tenant's (who owns each sender address)
@pytest.mark.parametrize(
    "route", [("GET", "/invoices"), ("POST", "/customers"), ("GET", "/invoices/inv_1/pdf")], ids=" ".join
)
def test_given_a_tenant_claim_that_could_escape_its_partition_when_calling_then_401(api, route, tenant):
    method, path = route

    reply = api.call(method, path, VALID_BODIES.get(route), tenant=tenant)

    assert reply.status == 401, reply.body


def test_when_a_header_or_the_body_names_a_tenant_then_it_is_ignored(api, acme):
    reply = api.get("/customers", tenant=OTHER, headers={"X-Tenant-Id": "acme", "custom:tenant_id": "acme"})
    created = api.post("/customers", {"name": "Sneaky", "tenant_id": "acme"}, tenant=OTHER)

    assert reply.body["items"] == []
    assert created.status == 422  # unknown field, not a tenant switch
    assert "Sneaky" not in {item["name"] for item in api.get("/customers").body["items"]}
