"""The OpenAPI document, as the contract a generated client relies on (SPEC
§6.2): what Powertools generates from the routes and their models, finished
with what holds for every route alike — the one error shape for every error
status a route can answer, the headers requests and responses carry, and no
security on the public routes.

Each route says its own operation id, tags, summary and responses where it
is declared (`invoicing.api.routes`); this module adds only the rules that
are the platform's, so that no route can forget one. The document is
committed (`openapi.json` beside this module), served as it is by the api
function, and a test fails when it drifts from the code.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

COMMITTED = Path(__file__).parent / "openapi.json"
JSON = "application/json"
ERROR = {"$ref": "#/components/schemas/ErrorResponse"}
GENERATED_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")

TAGS = [
    {"name": "Business", "description": "The issuer profile, its logo and the address its e-mails come from"},
    {"name": "Customers", "description": "The businesses and people invoiced"},
    {"name": "Payment methods", "description": "Cards and IBANs a customer saved with Stripe, for later invoices"},
    {"name": "Products", "description": "The catalogue lines come from"},
    {"name": "Templates", "description": "Reusable invoice content"},
    {"name": "Invoices", "description": "Drafts, issuing (numbers), sending, voiding, and the live totals"},
    {"name": "Payments", "description": "Payments received, recorded or cancelled"},
    {"name": "Credit notes", "description": "Avoirs: what an issued invoice no longer asks"},
    {"name": "Estimates", "description": "Devis: drafts, sending, the answer, the invoices made from them"},
    {"name": "Recurring invoices", "description": "Invoices issued on a schedule, sent or charged on their own"},
    {"name": "Webhook endpoints", "description": "Where the business's events go, signed (Standard Webhooks)"},
    {"name": "Reports", "description": "Summary, aging, VAT by rate, a customer's statement of account (SPEC §14)"},
    {"name": "Exports", "description": "Invoices, payments, credit notes as CSV, and the FEC, made in the background"},
    {"name": "Documents", "description": "The HTML preview and the PDFs (Factur-X)"},
    {"name": "Attachments", "description": "Files joined to a draft, sent with the invoice"},
    {"name": "Hosted page", "description": "The client's page: view, download, pay (public: the link is the key)"},
    {"name": "Quote page", "description": "The estimate's page: view, download, answer (public: the link is the key)"},
    {"name": "Webhooks", "description": "Stripe's signed events (public: the signature is the key)"},
]

# Operations that take the version read as If-Match (or in the body).
IF_MATCH = frozenset({
    "replaceBusiness", "updateBusiness", "updateCustomer", "deleteCustomer", "updateProduct", "deleteProduct",
    "updateTemplate", "deleteTemplate", "updateInvoice", "deleteInvoice", "markInvoiceSent", "voidInvoice",
    "updateEstimate", "deleteEstimate", "markEstimateSent", "updateRecurringInvoice", "deleteRecurringInvoice",
    "pauseRecurringInvoice", "resumeRecurringInvoice", "cancelRecurringInvoice",
})  # fmt: skip
# Public: the hosted page's and the estimate's page's links are their own keys, Stripe's events
# are signed (no bearer token).
PUBLIC_TAGS = frozenset({"Hosted page", "Quote page", "Webhooks"})
# POSTs that write nothing: an Idempotency-Key means nothing to them.
STATELESS = frozenset({"computeTotals"})

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any string of 1 to 255 printable characters, new for each write: a retry with the same key "
    "(after a timeout, a 503) answers the first response and does nothing twice; the same key with another "
    "body is a 422. Kept 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
IF_MATCH_HEADER = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'The version you read (3 or "3"), if the body does not carry it: a write on a newer version '
    "is a 409 stale_version.",
    "schema": {"type": "string", "pattern": '^(W/)?"?[0-9]{1,18}"?$'},
}
RESPONSE_HEADERS = {
    "Location": {"description": "The new object's URL", "schema": {"type": "string", "format": "uri"}},
    "Idempotent-Replayed": {
        "description": "true when this is the first response to the same Idempotency-Key, answered again",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 0}},
}
# What each error status means, wherever a route answers it (a route may say more of its own).
ERRORS = {
    "400": "Malformed request: the body is not JSON, or a cursor, a header is not one this API gave or takes",
    "401": "Missing or invalid token",
    "402": "A saved card was refused (card_declined, authentication_required…); nothing was recorded",
    "403": "Forbidden by the platform: sending suspended after too many bounces or complaints",
    "404": "Unknown, or another tenant's",
    "409": "Conflict: name taken, stale version, illegal state transition",
    "413": "Body over 1 MB, document too large, or a file over its size limit",
    "415": "The body is not application/json",
    "422": "Invalid field: the error names it",
    "429": "Too many requests, or asked again too soon: retry after Retry-After",
    "502": "Stripe refused the request for a reason of the set-up (the business's account, the platform's key)",
    "503": "Busy (contention, or a service that did not answer): nothing was written; retry after Retry-After, "
    "with the same Idempotency-Key",
}


def finish(generated: dict[str, Any]) -> dict[str, Any]:
    """The document Powertools generated, with the platform's rules on every operation."""
    document = copy.deepcopy(generated)
    document["tags"] = TAGS
    for operations in document["paths"].values():
        for method, operation in operations.items():
            _finish(method, operation)
    schemas = document.get("components", {}).get("schemas", {})
    for name in GENERATED_ERROR_SCHEMAS:  # every error is an ErrorResponse
        schemas.pop(name, None)
    return document


def _finish(method: str, operation: dict[str, Any]) -> None:
    public = bool(PUBLIC_TAGS & set(operation.get("tags") or ()))
    if public:
        operation["security"] = []  # no bearer token
    _optional_body(operation)
    responses = operation["responses"]
    page = public and any("text/html" in (response.get("content") or {}) for response in responses.values())
    body = (operation.get("requestBody") or {}).get("content") or {}
    keyed = method == "post" and operation["operationId"] not in STATELESS and not public
    if_match = operation["operationId"] in IF_MATCH
    parameters = operation.setdefault("parameters", [])
    if responses.get("422", {}).get("description") == "Validation Error":
        del responses["422"]  # Powertools' own, on every route: the rules below say which can answer one
    for status, response in responses.items():
        for media in (response.get("content") or {}).values():
            if media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1] in GENERATED_ERROR_SCHEMAS:
                media["schema"] = dict(ERROR)
        if status == "204":
            response.pop("content", None)  # Powertools gives every response a JSON body
    wanted = ["429", "503"]
    if not public:
        wanted.append("401")
    if not page:
        cursor = any(parameter["name"] == "cursor" for parameter in parameters)
        if JSON in body or cursor or keyed or if_match:
            wanted.append("400")  # a body that is not JSON, a cursor or a header this API did not give
        if JSON in body:
            wanted += ["413", "415"]
        if JSON in body or parameters:
            wanted.append("422")
    for status in wanted:
        responses.setdefault(status, {"description": ERRORS[status], "content": {JSON: {"schema": dict(ERROR)}}})
    for status in ("429", "503"):
        responses[status].setdefault("headers", {})["Retry-After"] = RESPONSE_HEADERS["Retry-After"]
    if "201" in responses:
        responses["201"].setdefault("headers", {})["Location"] = RESPONSE_HEADERS["Location"]
    if keyed:
        parameters.append(IDEMPOTENCY_KEY)
        for status in (s for s in responses if s.startswith("2")):
            responses[status].setdefault("headers", {})["Idempotent-Replayed"] = RESPONSE_HEADERS["Idempotent-Replayed"]
    if if_match:
        parameters.append(IF_MATCH_HEADER)
    if not parameters:
        operation.pop("parameters")
    operation["responses"] = dict(sorted(responses.items()))


def _optional_body(operation: dict[str, Any]) -> None:
    """A body the route may go without (mark-sent's version) is an optional
    body of its model, as OpenAPI says it — not a required body that may be
    null, which generators turn into a null or an unset value sent as JSON."""
    request = operation.get("requestBody")
    media = ((request or {}).get("content") or {}).get(JSON) or {}
    options = media.get("schema", {}).get("anyOf") or []
    if len(options) == 2 and {"type": "null"} in options:
        media["schema"] = next(option for option in options if option != {"type": "null"})
        request["required"] = False


def committed() -> str:
    """The document as committed, served as it is."""
    return COMMITTED.read_text(encoding="utf-8")


def dumps(document: dict[str, Any]) -> str:
    """As committed: indented, keys in the order generated, a newline at the end."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
