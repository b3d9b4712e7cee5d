"""The OpenAPI document is the contract a generated client relies on (SPEC
§6.2): committed and held to the code, every operation named, tagged and
with its errors and headers declared, and every response the API sends
described whole — a field the document does not name is a failure here."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
import pytest

from infra import wiring
from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE
from tests.integration.conftest import attach

pytestmark = pytest.mark.integration


def generated() -> str:
    from invoicing.api.http import build_resolver, openapi_document
    from invoicing.api.routes import every

    return openapi_document(build_resolver(*every()))


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from invoicing.api.openapi import committed

    return json.loads(committed())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_the_committed_document_is_the_one_the_code_gives():
    from invoicing.api.openapi import committed

    assert committed() == generated(), "the routes or models changed: run make openapi and commit openapi.json"


def test_the_api_serves_the_committed_document(api, document):
    reply = api.get("/openapi.json", tenant=None)

    assert (reply.status, reply.body) == (200, document)


def test_every_operation_is_a_tagged_camel_case_verb_and_documents_every_route(document):
    ids = [op["operationId"] for _, _, op in operations(document)]
    tags = {tag["name"] for tag in document["tags"]}

    assert len(ids) == len(set(ids))
    assert [i for i in ids if not re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", i)] == []  # camelCase: verb, then nouns
    assert all(op["tags"] and set(op["tags"]) <= tags for _, _, op in operations(document))
    routes = {(route.method, route.path) for route in wiring.ROUTES if route.path != "/openapi.json"}
    assert {(method.upper(), path) for method, path, _ in operations(document)} == routes


def test_one_schema_per_name_and_one_error_shape(document):
    schemas = document["components"]["schemas"]

    assert [name for name in schemas if re.search(r"-(Input|Output)$|^HTTPValidationError$", name)] == []
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if status[0] in "45" and "application/json" in (response.get("content") or {}):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, status)


def test_public_routes_need_no_token_and_the_others_name_their_401(document):
    public = {(route.method, route.path) for route in wiring.ROUTES if route.public and route.path != "/openapi.json"}

    for method, path, op in operations(document):
        if (method.upper(), path) in public:
            assert op["security"] == [], path
            assert "401" not in op["responses"], path
        else:
            assert "security" not in op, path  # the document's bearerAuth
            assert "401" in op["responses"], path


def test_headers_are_declared_where_they_are_sent_and_read(document):
    for method, path, op in operations(document):
        headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        keyed = method == "post" and op.get("security") != [] and op["operationId"] != "computeTotals"
        assert ("Idempotency-Key" in headers) == keyed, path
        for status, response in op["responses"].items():
            sent = set(response.get("headers") or {})
            if status == "201":
                assert "Location" in sent, path
            if status in ("429", "503"):
                assert "Retry-After" in sent, path
            if keyed and status.startswith("2"):
                assert "Idempotent-Replayed" in sent, path
        if op["operationId"] in ("updateInvoice", "replaceBusiness", "markInvoiceSent", "deleteCustomer"):
            assert "If-Match" in headers, path
        if "requestBody" in op and "application/json" in op["requestBody"]["content"]:
            assert {"413", "415", "422"} <= set(op["responses"]), path


def test_amounts_in_responses_are_decimal_strings(document):
    schemas = document["components"]["schemas"]

    for name, field in [("Invoice", "amount_due"), ("InvoiceTotals", "total"), ("LateFeesOut", "value"),
                        ("Payment", "amount"), ("LineOut", "unit_price"), ("Business", "share_capital")]:  # fmt: skip
        schema = schemas[name]["properties"][field]
        options = schema.get("anyOf", [schema])
        assert {option.get("type") for option in options} <= {"string", "null"}, (name, field)
        assert any(option.get("pattern") for option in options), (name, field)


# -- every response the API sends, against the document, unknown fields forbidden --------------------


def strict(document: dict[str, Any]) -> dict[str, Any]:
    """The document's schemas as one JSON Schema, every object closed to fields it does not name."""
    schemas = copy.deepcopy(document["components"]["schemas"])

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schemas)
    return json.loads(json.dumps({"$defs": schemas}).replace("#/components/schemas/", "#/$defs/"))


def check(document: dict[str, Any], method: str, path: str, reply: Any) -> None:
    operation = document["paths"][path][method]
    response = operation["responses"].get(str(reply.status))
    assert response is not None, f"{method.upper()} {path} answered {reply.status}, which it does not declare"
    content = response.get("content") or {}
    if not content:
        assert reply.body in (None, ""), (path, reply.status)
        return
    media = next(iter(content))
    assert reply.headers["Content-Type"].startswith(media), (path, reply.headers["Content-Type"])
    if media == "application/json":
        root = strict(document)
        schema = json.loads(json.dumps(content[media]["schema"]).replace("#/components/schemas/", "#/$defs/"))
        errors = sorted(jsonschema.Draft202012Validator({**root, **schema}).iter_errors(reply.body), key=str)
        assert errors == [], f"{method.upper()} {path} {reply.status}: " + "; ".join(
            f"{list(error.absolute_path)}: {error.message[:200]}" for error in errors[:5]
        )
    for header in response.get("headers") or {}:
        if header == "Location":
            assert header in reply.headers, (path, header)


def test_every_response_of_an_invoices_life_is_described_whole(api, document, stripe_standin):
    def call(method: str, path: str, template: str, body: Any = None, **kw: Any) -> Any:
        reply = api.call(method.upper(), path, body, **kw)
        check(document, method, template, reply)
        return reply

    identity = {"legal_form": "SAS", "share_capital": "10000", "trade_register": {"kind": "RCS", "city": "Paris"}}
    call("get", "/business", "/business")  # never saved: its defaults
    call("put", "/business", "/business", {**BUSINESS, **identity, "late_fees": SPEC_INVOICE["late_fees"]})
    call("patch", "/business", "/business", {"iban": "FR7630006000011234567890189"})
    customer = call("post", "/customers", "/customers", {"name": "Dupont", "email": "a@b.fr", "address": CLIENT_ADDRESS,
                                                         "siren": CLIENT_SIREN}).body  # fmt: skip
    call("get", "/customers", "/customers")
    product = call("post", "/products", "/products", {"name": "Audit", "unit_price": "750",
                                                      "taxes": [{"name": "TVA", "rate": "20"}]}).body  # fmt: skip
    call("get", f"/products/{product['id']}", "/products/{product_id}")
    template = call("post", "/templates", "/templates", {
        "name": "Mensuel", "tips": {"enabled": True}, "late_fees": SPEC_INVOICE["late_fees"],
        "lines": [{"name": "x", "unit_price": "1", "discount": {"type": "percentage", "value": "5"}}],
        "payment_schedule": {"type": "percentage", "instalments": [{"days_after_issue": 0, "value": "100"}]},
    }).body  # fmt: skip
    call("get", "/templates", "/templates")
    schedule = {"type": "percentage", "instalments": [{"due_date": "2026-12-10", "value": "30"},
                                                      {"due_date": "2026-12-27", "value": "70"}]}  # fmt: skip
    draft = call("post", "/invoices", "/invoices", {
        **SPEC_INVOICE, "customer_id": customer["id"], "payment_schedule": schedule, "purchase_order": "BC-1",
        "tips": {"enabled": True}, "delivery_address": {**CLIENT_ADDRESS, "line1": "Chantier"},
        "lines": [*SPEC_INVOICE["lines"], {"product_id": product["id"], "quantity": "2"}],
    }).body  # fmt: skip
    invoice_path = f"/invoices/{draft['id']}"
    call("post", f"/templates/{template['id']}/invoices", "/templates/{template_id}/invoices",
         {"customer_id": customer["id"], "name": "Depuis le modèle"})  # fmt: skip
    attached = attach(api, draft["id"]).body
    call("get", f"{invoice_path}/attachments", "/invoices/{invoice_id}/attachments")
    call("get", f"{invoice_path}/attachments/{attached['id']}", "/invoices/{invoice_id}/attachments/{attachment_id}")
    call("post", f"{invoice_path}/send", "/invoices/{invoice_id}/send", {"channels": ["email"]})
    api.deliver_events()
    payment = call("post", f"{invoice_path}/payments", "/invoices/{invoice_id}/payments",
                   {"method": "cheque", "amount": "100", "cheque_number": "0042"}).body  # fmt: skip
    cancel = "/invoices/{invoice_id}/payments/{payment_id}/cancel"
    call("post", f"{invoice_path}/payments/{payment['id']}/cancel", cancel, {"reason": "chèque impayé"})
    call("post", f"{invoice_path}/payments", "/invoices/{invoice_id}/payments",
         {"method": "bank_transfer", "amount": "50", "instalment_id": "ins_1", "reference": "VIR-1"})  # fmt: skip
    note = call("post", f"{invoice_path}/credit-notes", "/invoices/{invoice_id}/credit-notes",
                {"amount": "12.00", "reason": "geste commercial"}).body  # fmt: skip
    call("post", f"/credit-notes/{note['id']}/send", "/credit-notes/{credit_note_id}/send")
    api.deliver_events()  # the receipt and the credit note go out: deliveries of every kind
    call("get", f"/credit-notes/{note['id']}", "/credit-notes/{credit_note_id}")
    call("get", f"/credit-notes/{note['id']}/pdf", "/credit-notes/{credit_note_id}/pdf")
    call("get", invoice_path, "/invoices/{invoice_id}")
    call("get", f"{invoice_path}/pdf", "/invoices/{invoice_id}/pdf")
    call("get", f"{invoice_path}/payments", "/invoices/{invoice_id}/payments")
    call("get", "/invoices", "/invoices")
    call("get", "/invoices?overdue=true", "/invoices")
    call("get", "/business/sender", "/business/sender")
    call("post", "/totals", "/totals", SPEC_INVOICE)
    other = call("post", "/invoices", "/invoices", {**SPEC_INVOICE, "name": "Annulée", "customer_id": customer["id"]})
    call("post", f"/invoices/{other.body['id']}/mark-sent", "/invoices/{invoice_id}/mark-sent")
    call("post", f"/invoices/{other.body['id']}/void", "/invoices/{invoice_id}/void")
    call("post", f"/invoices/{other.body['id']}/duplicate", "/invoices/{invoice_id}/duplicate")
    # late: its fees, its reminders, a payment through Stripe (with a tip), a failed one, on acme's account
    from tests.integration.test_stripe_webhooks import deliver, event, metadata, succeeded

    call("post", "/business/stripe/onboarding", "/business/stripe/onboarding")
    for stripe_event in stripe_standin.complete_onboarding(api.get("/business").body["stripe_account_id"]):
        deliver(api, stripe_event)
    call("get", "/business", "/business")  # its account, active

    late = call("post", "/invoices", "/invoices", {**SPEC_INVOICE, "name": "En retard", "customer_id": customer["id"],
                                                   "tips": {"enabled": True}}).body  # fmt: skip
    call("post", f"/invoices/{late['id']}/mark-sent", "/invoices/{invoice_id}/mark-sent")
    api.run_sweep("late_fees", "2027-01-15")
    api.run_sweep("reminders", "2027-01-05")
    api.deliver_events()
    deliver(api, succeeded(late, 50_000, tip="2500"))
    failed = {"id": "pi_2", "object": "payment_intent", "metadata": metadata(late),
              "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"}}  # fmt: skip
    deliver(api, event("payment_intent.payment_failed", failed, id="evt_2"))
    api.deliver_events()
    shown = call("get", f"/invoices/{late['id']}", "/invoices/{invoice_id}").body
    assert {"late_fee_entries", "payment_failures"} <= set(shown)
    assert {d["kind"] for d in shown["deliveries"]} >= {"reminder", "receipt"}
    assert [p["source"] for p in shown["payments"]] == ["stripe"]
    # errors: one shape
    call("get", "/invoices/inv_missing", "/invoices/{invoice_id}")
    call("post", "/invoices", "/invoices", {"name": ""})
    call("post", "/customers", "/customers", {"name": "Dupont"})  # taken
    call("patch", invoice_path, "/invoices/{invoice_id}", {"notes": "issued", "version": 1})
    call("post", "/customers", "/customers", raw="name=x", headers={"Content-Type": "text/plain"})
    call("get", "/invoices?cursor=nope", "/invoices")


def test_every_response_of_an_estimates_life_is_described_whole(api, document, business, customer):
    from tests.integration.test_estimates import accept, estimate_body

    def call(method: str, path: str, template: str, body: Any = None, **kw: Any) -> Any:
        reply = api.call(method.upper(), path, body, **kw)
        check(document, method, template, reply)
        return reply

    one = "/estimates/{estimate_id}"
    body = estimate_body(customer, deposit={"type": "percentage", "value": "30"},
                         discount={"type": "fixed", "value": "20.00"}, notes="Délai : 3 semaines")  # fmt: skip
    draft = call("post", "/estimates", "/estimates", body).body
    path = f"/estimates/{draft['id']}"
    call("patch", path, one, {"terms": "Valable 30 jours", "version": draft["version"]})
    call("get", "/estimates", "/estimates")
    call("post", f"{path}/duplicate", f"{one}/duplicate")
    call("post", f"{path}/send", f"{one}/send", {"channels": ["email"]})
    api.deliver_events()
    call("post", f"{path}/mark-sent", f"{one}/mark-sent")
    call("get", path, one)
    accept(api, draft)
    deposit = call("post", f"{path}/invoices", f"{one}/invoices", {"kind": "deposit"}).body
    assert deposit["kind"] == "deposit"
    call("post", f"{path}/invoices", f"{one}/invoices", {"kind": "final"})
    call("get", path, one)
    call("get", "/estimates?status=invoiced", "/estimates")
    call("post", f"{path}/invoices", f"{one}/invoices", {"kind": "final"})  # 409
    call("delete", path, one)  # 409: not a draft
