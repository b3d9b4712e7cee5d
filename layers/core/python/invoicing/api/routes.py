"""The API's routes: parse (pydantic, by Powertools), call a use case, answer.

No `from __future__ import annotations` here: Powertools reads the route
functions' annotations at runtime, and the CRUD routes are built in a loop.
"""

import json
import os
from functools import cache
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from invoicing.api.http import if_match, json_response, public_url, responses, tenant_of
from invoicing.domain.errors import InvalidInput
from invoicing.logic import catalog, invoices
from invoicing.logic.common import Deps
from invoicing.models.common import Id, Page
from invoicing.models.credit_notes import CreditNote, CreditNoteDeliveries, CreditNoteIn
from invoicing.models.delivery import Sender, SenderCode, SenderIn, SendRequest
from invoicing.models.invoices import (
    Attachment,
    AttachmentIn,
    AttachmentLink,
    AttachmentUpload,
    Invoice,
    InvoiceIn,
    InvoicePatch,
    InvoiceSummary,
    PdfLink,
    TotalsOut,
    TotalsRequest,
    VersionIn,
)
from invoicing.models.payments import PaymentIn, PaymentList, PaymentRecorded
from invoicing.models.resources import (
    Business,
    BusinessIn,
    Customer,
    CustomerIn,
    CustomerPatch,
    LogoConfirm,
    LogoIn,
    LogoUpload,
    Product,
    ProductIn,
    ProductPatch,
)
from invoicing.models.templates import FromInvoice, InvoiceFromTemplate, Template, TemplateIn, TemplatePatch
from invoicing.store.ports import PageOf

logger = Logger(service="invoicing")

Limit = Annotated[int, Query(ge=1, le=200, description="at most 200")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]


@cache
def deps() -> Deps:
    """One store per Lambda container, created on first use."""
    from invoicing.store.dynamodb import DynamoStore
    from invoicing.store.eventbridge import EVENT_BUS_ENV, EventBridgeEvents
    from invoicing.store.s3 import S3Blobs
    from invoicing.store.secrets import PAY_LINK_SECRET_ENV, pay_link_key

    events = EventBridgeEvents() if os.environ.get(EVENT_BUS_ENV) else None  # only publishers have a bus
    link_key = pay_link_key if os.environ.get(PAY_LINK_SECRET_ENV) else None  # only who shows links
    return Deps(store=DynamoStore(), blobs=S3Blobs(), events=events, link_key=link_key)


@cache
def messenger() -> Any:
    """E-mail and SMS, for the functions that send them."""
    from invoicing.store.messaging import AwsMessenger

    return AwsMessenger()


def idempotency_store() -> Any:
    from invoicing.store.dynamodb import DynamoIdempotencyStore, DynamoStore

    store = deps().store
    assert isinstance(store, DynamoStore)
    return DynamoIdempotencyStore(store)


def page(result: PageOf) -> dict[str, Any]:
    return {"items": result.items, "next_cursor": result.cursor}


def created(router: Router, doc: dict[str, Any], path: str) -> Response:
    """201 with the new object's absolute URL (the deployed stage included)."""
    return json_response(201, doc, {"Location": f"{public_url(router)}{path}"})


def no_content():
    return Response(status_code=204, body=None)


# -- business profile ------------------------------------------------------------------------

business = Router()


@business.get("/business", summary="The business profile", responses=responses(200, "The profile", Business))
def get_business():
    return json_response(200, catalog.get_business(deps(), tenant_of(business)))


@business.put(
    "/business",
    summary="Create or replace the business profile",
    responses=responses(200, "The saved profile", Business, 409),
)
def put_business(body: Annotated[BusinessIn, Body()]):
    return json_response(200, catalog.put_business(deps(), tenant_of(business), body, if_match(business)))


# -- customers and products --------------------------------------------------------------


def _crud(kind: str, create_model: type[BaseModel], patch_model: type[BaseModel], out: type[BaseModel]) -> Router:
    router = Router()
    plural, id_name = f"/{kind}s", f"{kind}_id"
    item = f"{plural}/<{id_name}>"
    ItemId = Annotated[str, Path(alias=id_name, max_length=64)]

    @router.post(
        plural,
        summary=f"Create a {kind}",
        operation_id=f"create_{kind}",
        responses=responses(201, f"The {kind}", out, 409),
    )
    def create(body: Annotated[create_model, Body()]):  # type: ignore[valid-type]
        doc = catalog.create(deps(), tenant_of(router), kind, body)
        return created(router, doc, f"{plural}/{doc['id']}")

    @router.get(
        plural,
        summary=f"List {kind}s",
        operation_id=f"list_{kind}s",
        responses=responses(200, f"A page of {kind}s", Page[out]),
    )
    def list_all(limit: Limit = 50, cursor: Cursor = None):
        return json_response(200, page(catalog.list_page(deps(), tenant_of(router), kind, limit, cursor)))

    @router.get(
        item, summary=f"Get a {kind}", operation_id=f"get_{kind}", responses=responses(200, f"The {kind}", out, 404)
    )
    def get_one(id: ItemId):
        return json_response(200, catalog.get(deps(), tenant_of(router), kind, id))

    @router.patch(
        item,
        summary=f"Change a {kind}",
        operation_id=f"update_{kind}",
        responses=responses(200, f"The {kind}", out, 404, 409),
    )
    def update(id: ItemId, body: Annotated[patch_model, Body()]):  # type: ignore[valid-type]
        return json_response(200, catalog.update(deps(), tenant_of(router), kind, id, body, if_match(router)))

    @router.delete(
        item,
        summary=f"Delete a {kind}",
        operation_id=f"delete_{kind}",
        responses=responses(204, "Deleted", None, 404, 409),
    )
    def delete(id: ItemId):
        catalog.delete(deps(), tenant_of(router), kind, id, if_match(router))
        return no_content()

    return router


customers = _crud("customer", CustomerIn, CustomerPatch, Customer)
products = _crud("product", ProductIn, ProductPatch, Product)
templates = _crud("template", TemplateIn, TemplatePatch, Template)


@templates.post(
    "/templates/<template_id>/invoices",
    summary="A draft invoice from the template, for a customer and dates",
    responses=responses(201, "The draft", Invoice, 404, 409),
)
def invoice_from_template(
    template_id: Annotated[str, Path(alias="template_id", max_length=64)],
    body: Annotated[InvoiceFromTemplate, Body()],
):
    from invoicing.logic import templates as use_cases

    doc = use_cases.new_invoice(deps(), tenant_of(templates), template_id, body)
    return created(templates, {**doc, "deliveries": []}, f"/invoices/{doc['id']}")


# -- invoices ------------------------------------------------------------------------------

invoice_routes = Router()


def with_deliveries(tenant: str, invoice: dict[str, Any]) -> dict[str, Any]:
    """An invoice as every route answers it: with its deliveries (a draft has none)."""
    if invoice["status"] == "draft":
        return {**invoice, "deliveries": []}
    from invoicing.logic import delivery

    sent = [delivery.shown(item) for item in delivery.deliveries_of(deps(), tenant, invoice["id"])]
    return {**invoice, "deliveries": sent}


InvoiceId = Annotated[str, Path(alias="invoice_id", max_length=64)]
OptionalVersion = Annotated[VersionIn | None, Body()]


@invoice_routes.post("/invoices", summary="Create a draft invoice", responses=responses(201, "The draft", Invoice, 409))
def create_invoice(body: Annotated[InvoiceIn, Body()]):
    doc = invoices.create_invoice(deps(), tenant_of(invoice_routes), body)
    return created(invoice_routes, with_deliveries("", doc), f"/invoices/{doc['id']}")


@invoice_routes.get(
    "/invoices",
    summary="List invoices, newest first (overdue: oldest due first)",
    responses=responses(200, "A page of invoice summaries", Page[InvoiceSummary]),
)
def list_invoices(
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[Literal["draft", "open", "partially_paid", "paid", "void"] | None, Query()] = None,
    customer_id: Annotated[Id | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
):
    result = invoices.list_invoices(
        deps(),
        tenant_of(invoice_routes),
        limit=limit,
        cursor=cursor,
        status=status,
        customer_id=customer_id,
        overdue=overdue,
    )
    return json_response(200, page(result))


@invoice_routes.get(
    "/invoices/<invoice_id>", summary="Get an invoice", responses=responses(200, "The invoice", Invoice, 404)
)
def get_invoice(invoice_id: InvoiceId):
    tenant = tenant_of(invoice_routes)
    return json_response(200, with_deliveries(tenant, invoices.get_invoice(deps(), tenant, invoice_id)))


@invoice_routes.patch(
    "/invoices/<invoice_id>",
    summary="Change a draft (send its version)",
    responses=responses(200, "The draft", Invoice, 404, 409),
)
def update_invoice(invoice_id: InvoiceId, body: Annotated[InvoicePatch, Body()]):
    doc = invoices.update_invoice(deps(), tenant_of(invoice_routes), invoice_id, body, if_match(invoice_routes))
    return json_response(200, with_deliveries("", doc))


@invoice_routes.delete(
    "/invoices/<invoice_id>", summary="Delete a draft", responses=responses(204, "Deleted", None, 404, 409)
)
def delete_invoice(invoice_id: InvoiceId):
    invoices.delete_invoice(deps(), tenant_of(invoice_routes), invoice_id, if_match(invoice_routes))
    return no_content()


@invoice_routes.post(
    "/invoices/<invoice_id>/mark-sent",
    summary="Finalize without delivery: number it, snapshot business and customer",
    responses=responses(200, "The issued invoice, with its payment_link", Invoice, 404, 409, 503),
)
def mark_sent(invoice_id: InvoiceId, body: OptionalVersion = None):
    version = _version(body)
    tenant, url = tenant_of(invoice_routes), public_url(invoice_routes)
    invoice, issued = invoices.finalize_invoice(deps(), tenant, invoice_id, version, url)
    if issued:
        Metrics().add_metric(name="InvoicesIssued", unit=MetricUnit.Count, value=1)
    return json_response(200, with_deliveries(tenant, invoice))


@invoice_routes.post(
    "/invoices/<invoice_id>/void",
    summary="Void an issued invoice (kept, never deleted)",
    responses=responses(200, "The void invoice", Invoice, 404, 409),
)
def void(invoice_id: InvoiceId, body: OptionalVersion = None):
    version, tenant = _version(body), tenant_of(invoice_routes)
    return json_response(200, with_deliveries(tenant, invoices.void_invoice(deps(), tenant, invoice_id, version)))


@invoice_routes.post(
    "/invoices/<invoice_id>/credit-notes",
    summary="Issue a credit note (avoir) on an issued invoice: lines credited, or an amount tax included",
    responses=responses(201, "The credit note; the invoice lists it and asks that much less", CreditNote, 404, 409),
)
def issue_credit_note(invoice_id: InvoiceId, body: Annotated[CreditNoteIn, Body()]):
    from invoicing.logic import credit_notes

    note = credit_notes.issue(deps(), tenant_of(invoice_routes), invoice_id, body)
    Metrics().add_metric(name="CreditNotesIssued", unit=MetricUnit.Count, value=1)
    return created(invoice_routes, note, f"/credit-notes/{note['id']}")


CreditNoteId = Annotated[str, Path(alias="credit_note_id", max_length=64)]


@invoice_routes.post(
    "/credit-notes/<credit_note_id>/send",
    summary="Send the credit note by e-mail and/or SMS (to the invoice's client unless named); sent next",
    responses=responses(202, "The credit note's deliveries", CreditNoteDeliveries, 404),
)
def send_credit_note(credit_note_id: CreditNoteId, body: Annotated[SendRequest | None, Body()] = None):
    from invoicing.logic import delivery

    tenant = tenant_of(invoice_routes)
    sent = delivery.request_credit_note_send(deps(), tenant, credit_note_id, body or SendRequest())
    return json_response(202, {"deliveries": sent})


@invoice_routes.get(
    "/credit-notes/<credit_note_id>",
    summary="A credit note",
    responses=responses(200, "The credit note", CreditNote, 404),
)
def get_credit_note(credit_note_id: CreditNoteId):
    from invoicing.logic import credit_notes

    return json_response(200, credit_notes.get(deps(), tenant_of(invoice_routes), credit_note_id))


@invoice_routes.post(
    "/invoices/<invoice_id>/duplicate",
    summary="A new draft copy (new name, no number)",
    responses=responses(201, "The new draft", Invoice, 404, 409),
)
def duplicate(invoice_id: InvoiceId):
    doc = invoices.duplicate_invoice(deps(), tenant_of(invoice_routes), invoice_id)
    return created(invoice_routes, with_deliveries("", doc), f"/invoices/{doc['id']}")


@invoice_routes.post(
    "/invoices/<invoice_id>/template",
    summary="A template from the invoice: its content, without customer, dates, number or payments",
    responses=responses(201, "The template", Template, 404, 409),
)
def template_from_invoice(invoice_id: InvoiceId, body: Annotated[FromInvoice | None, Body()] = None):
    from invoicing.logic import templates as use_cases

    doc = use_cases.from_invoice(deps(), tenant_of(invoice_routes), invoice_id, body or FromInvoice())
    return created(invoice_routes, doc, f"/templates/{doc['id']}")


@invoice_routes.post(
    "/invoices/<invoice_id>/send",
    summary="Send the invoice by e-mail and/or SMS (a draft is finalized first); the sending happens next",
    responses=responses(202, "The invoice, with its deliveries", Invoice, 404, 409, 503),
)
def send_invoice(invoice_id: InvoiceId, body: Annotated[SendRequest | None, Body()] = None):
    from invoicing.logic import delivery

    tenant = tenant_of(invoice_routes)
    request = body or SendRequest()
    invoice, deliveries, issued = delivery.request_send(deps(), tenant, invoice_id, request, public_url(invoice_routes))
    if issued:
        Metrics().add_metric(name="InvoicesIssued", unit=MetricUnit.Count, value=1)
    return json_response(202, {**invoice, "deliveries": deliveries})


@invoice_routes.post(
    "/invoices/<invoice_id>/payments",
    summary="Record a payment received (cash, transfer, cheque, card charged elsewhere), "
    "or charge a card the client saved (card with payment_method_id)",
    responses=responses(201, "The payment, and where the invoice stands after it", PaymentRecorded, 402, 404, 409, 503),
)
def record_payment(invoice_id: InvoiceId, body: Annotated[PaymentIn, Body()]):
    from invoicing.logic import payments

    tenant = tenant_of(invoice_routes)
    if getattr(body, "payment_method_id", None):
        from invoicing.logic import card_charges
        from invoicing.store.stripe_api import StripeApi

        request = invoice_routes.current_event.headers
        key = request.get("Idempotency-Key") or request.get("idempotency-key")
        payment = card_charges.charge(deps(), StripeApi(), tenant, invoice_id, body, key)
    else:
        payment = payments.record(deps(), tenant, invoice_id, body)
    Metrics().add_metric(name="PaymentsRecorded", unit=MetricUnit.Count, value=1)
    return created(invoice_routes, payment, f"/invoices/{invoice_id}/payments")


@invoice_routes.get(
    "/invoices/<invoice_id>/payments",
    summary="The invoice's payments, oldest first",
    responses=responses(200, "A page of payments", PaymentList, 404),
)
def list_payments(invoice_id: InvoiceId, limit: Limit = 50, cursor: Cursor = None):
    from invoicing.logic import payments

    return json_response(200, payments.listed(deps(), tenant_of(invoice_routes), invoice_id, limit, cursor))


def _version(body: VersionIn | None) -> int | None:
    header = if_match(invoice_routes)
    in_body = body.version if body else None
    return catalog.expected_version(in_body, header)


# -- documents (their own Lambda: the only one loading Jinja2, Babel and, later, fpdf2) ---

document_routes = Router()


@document_routes.get(
    "/invoices/<invoice_id>/preview",
    summary="The invoice as HTML, as the client will see it (drafts too)",
    responses={
        **responses(200, "", None, 404),
        200: {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}},
    },
)
def preview_invoice(invoice_id: InvoiceId):
    from invoicing.logic import documents

    html = documents.preview(deps(), tenant_of(document_routes), invoice_id)
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=html)


@document_routes.get(
    "/invoices/<invoice_id>/pdf",
    summary="A link to the PDF, valid a few minutes (rendered now if need be)",
    responses=responses(200, "A pre-signed URL of the PDF", PdfLink, 404),
)
def invoice_pdf(invoice_id: InvoiceId):
    from invoicing.logic import documents

    return json_response(200, documents.pdf_link(deps(), tenant_of(document_routes), invoice_id))


@document_routes.get(
    "/credit-notes/<credit_note_id>/pdf",
    summary="A link to the credit note's PDF (Factur-X), valid a few minutes",
    responses=responses(200, "A pre-signed URL of the PDF", PdfLink, 404),
)
def credit_note_pdf(credit_note_id: CreditNoteId):
    from invoicing.logic import documents

    return json_response(200, documents.credit_note_link(deps(), tenant_of(document_routes), credit_note_id))


# -- attachments (their own Lambda: the table and the bucket's uploads) -------------------

attachment_routes = Router()
AttachmentId = Annotated[str, Path(alias="attachment_id", max_length=64)]


class AttachmentList(BaseModel):
    items: list[Attachment]


@attachment_routes.post(
    "/invoices/<invoice_id>/attachments",
    summary="Reserve an attachment on a draft: upload the file with the form, then confirm",
    responses=responses(201, "The upload form (a pre-signed S3 POST)", AttachmentUpload, 404, 409, 415, 503),
)
def request_attachment(invoice_id: InvoiceId, body: Annotated[AttachmentIn, Body()]):
    from invoicing.logic import attachments

    doc = attachments.request_upload(deps(), tenant_of(attachment_routes), invoice_id, body)
    return created(attachment_routes, doc, f"/invoices/{invoice_id}/attachments/{doc['id']}")


@attachment_routes.post(
    "/invoices/<invoice_id>/attachments/<attachment_id>/confirm",
    summary="Check the uploaded file (size, type from its bytes) and list it on the invoice",
    responses=responses(200, "The attachment", Attachment, 404, 409, 415, 503),
)
def confirm_attachment(invoice_id: InvoiceId, attachment_id: AttachmentId):
    from invoicing.logic import attachments

    doc = attachments.confirm(deps(), tenant_of(attachment_routes), invoice_id, attachment_id)
    return json_response(200, doc)


@attachment_routes.get(
    "/invoices/<invoice_id>/attachments",
    summary="The invoice's confirmed attachments",
    responses=responses(200, "The attachments, in upload order", AttachmentList, 404),
)
def list_attachments(invoice_id: InvoiceId):
    from invoicing.logic import attachments

    return json_response(200, {"items": attachments.list_attachments(deps(), tenant_of(attachment_routes), invoice_id)})


@attachment_routes.get(
    "/invoices/<invoice_id>/attachments/<attachment_id>",
    summary="An attachment and a link that downloads it, valid a few minutes",
    responses=responses(200, "The attachment and its link", AttachmentLink, 404),
)
def get_attachment(invoice_id: InvoiceId, attachment_id: AttachmentId):
    from invoicing.logic import attachments

    return json_response(200, attachments.link(deps(), tenant_of(attachment_routes), invoice_id, attachment_id))


@attachment_routes.delete(
    "/invoices/<invoice_id>/attachments/<attachment_id>",
    summary="Remove an attachment from a draft",
    responses=responses(204, "Removed", None, 404, 409, 503),
)
def delete_attachment(invoice_id: InvoiceId, attachment_id: AttachmentId):
    from invoicing.logic import attachments

    attachments.delete(deps(), tenant_of(attachment_routes), invoice_id, attachment_id)
    return no_content()


# The business's logo, on the same function: an upload to the bucket, like attachments.


@attachment_routes.post(
    "/business/logo",
    summary="The form that uploads the business's logo (PNG or JPEG, 512 KiB at most)",
    responses=responses(201, "The upload form (a pre-signed S3 POST)", LogoUpload),
)
def request_logo(body: Annotated[LogoIn, Body()]):
    from invoicing.logic import logo

    doc = logo.request_upload(deps(), tenant_of(attachment_routes), body)
    return json_response(201, doc)


@attachment_routes.post(
    "/business/logo/confirm",
    summary="Check the uploaded logo and put it on the documents issued from now on",
    responses=responses(200, "The business profile", Business, 409, 415, 503),
)
def confirm_logo(body: Annotated[LogoConfirm, Body()]):
    from invoicing.logic import logo

    return json_response(200, logo.confirm(deps(), tenant_of(attachment_routes), body.id))


@attachment_routes.delete(
    "/business/logo",
    summary="No logo on the documents issued from now on (issued ones keep theirs)",
    responses=responses(204, "Removed", None, 503),
)
def delete_logo():
    from invoicing.logic import logo

    logo.remove(deps(), tenant_of(attachment_routes))
    return no_content()


# -- the sender address (on the delivery function: it talks to SES) -----------------------

sender_routes = Router()


@sender_routes.get(
    "/business/sender",
    summary="The address the invoices' e-mails come from",
    responses=responses(200, "The sender address", Sender),
)
def get_sender():
    from invoicing.logic import sender

    return json_response(200, sender.status(deps(), messenger(), tenant_of(sender_routes)))


@sender_routes.post(
    "/business/sender",
    summary="E-mail a code to the address the invoices should come from",
    responses=responses(202, "The code is on its way; confirm it", Sender, 409, 429, 503),
)
def request_sender_code(body: Annotated[SenderIn, Body()]):
    from invoicing.logic import sender

    return json_response(202, sender.request_code(deps(), messenger(), tenant_of(sender_routes), body.email))


@sender_routes.post(
    "/business/sender/confirm",
    summary="The code received: the invoices' e-mails come from the address from now on",
    responses=responses(200, "The sender address", Sender, 409, 503),
)
def confirm_sender(body: Annotated[SenderCode, Body()]):
    from invoicing.logic import sender

    return json_response(200, sender.confirm(deps(), messenger(), tenant_of(sender_routes), body.code))


@sender_routes.delete(
    "/business/sender",
    summary="The invoices' e-mails come from the platform's address again",
    responses=responses(204, "Removed", None, 409),
)
def delete_sender():
    from invoicing.logic import sender

    sender.remove(deps(), tenant_of(sender_routes))
    return no_content()


# -- Stripe's webhook (its own Lambda, public: the signature is the authentication) ----------

webhook_routes = Router()


class WebhookReceipt(BaseModel):
    received: bool
    outcome: str


@webhook_routes.post(
    "/webhooks/stripe",
    summary="Stripe's events, signed (Stripe-Signature over the raw body, 300 s tolerance)",
    responses=responses(200, "Taken (recorded, already processed, or not about an invoice of ours)", WebhookReceipt),
)
def stripe_webhook():
    import time

    from invoicing.logic import stripe_events
    from invoicing.store.secrets import stripe_secrets

    request = webhook_routes.current_event
    payload = (request.decoded_body or "").encode()  # the bytes Stripe signed (API Gateway may have encoded them)
    signature = request.headers.get("Stripe-Signature") or request.headers.get("stripe-signature")
    stripe_events.verify(payload, signature, stripe_secrets()["webhook_secret"], time.time())
    try:
        event = json.loads(payload)
        event_id = str(event["id"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput.of("body", "not a Stripe event") from None
    store = deps()
    if stripe_events.seen(store, event_id):
        return json_response(200, {"received": True, "outcome": "already processed"})
    outcome = stripe_events.handle(store, event)
    stripe_events.done(store, event_id)
    if outcome == "recorded":  # a new payment (not an update of one, nor a refund)
        Metrics().add_metric(name="PaymentsRecorded", unit=MetricUnit.Count, value=1)
    logger.info("stripe event", extra={"event_id": event_id, "type": event.get("type"), "outcome": outcome})
    return json_response(200, {"received": True, "outcome": outcome})


# -- the hosted invoice page (public: the token is the credential) --------------------

pay_routes = Router()

HTML = "text/html; charset=utf-8"
_HTML_PAGE = {200: {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}
_HTML_ERROR = {"description": "An HTML page that says why", "content": {"text/html": {"schema": {"type": "string"}}}}
# Unbounded here, so that a mangled link gets the page that says so, not a JSON error: a
# token longer than any we issue is simply not found.
PayToken = Annotated[str, Path(description="the payment link's token")]
MAX_TOKEN = 64


def _page_headers() -> dict[str, str]:
    """No script at all; the form may post here and be sent on to Stripe's
    Checkout (or the local stand-in); the token in the URL never leaves in a
    Referer; nothing cached, nothing framed."""
    checkout = "https://checkout.stripe.com"
    local = os.environ.get("STRIPE_API_BASE")
    form_action = f"'self' {checkout}" + (f" {local.rstrip('/')}" if local else "")
    return {
        "Content-Security-Policy": f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"form-action {form_action}; base-uri 'none'; frame-ancestors 'none'",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


def _html(status: int, body: str) -> Response:
    return Response(status_code=status, content_type=HTML, body=body, headers=_page_headers())


def _missing() -> Response:
    from invoicing.documents.html import render_missing_page

    return _html(404, render_missing_page())


def _page_url(token: str) -> str:
    return f"{public_url(pay_routes)}/pay/{token}"


@pay_routes.get(
    "/pay/<token>",
    summary="The hosted invoice page: the invoice, its PDF, and the Pay button (no token needed)",
    responses={**_HTML_PAGE, 404: _HTML_ERROR},
)
def pay_page(token: PayToken, paid: Annotated[str | None, Query()] = None):
    if len(token) > MAX_TOKEN:
        return _missing()
    from invoicing.domain.errors import NotFound
    from invoicing.logic import paypage

    try:
        return _html(200, paypage.page(deps(), token, _page_url(token), returned=paid is not None))
    except NotFound:
        return _missing()


@pay_routes.get(
    "/pay/<token>/pdf",
    summary="The invoice's PDF: a redirection to a link valid a few minutes",
    responses={302: {"description": "To the PDF"}, 404: _HTML_ERROR},
)
def pay_pdf(token: PayToken):
    if len(token) > MAX_TOKEN:
        return _missing()
    from invoicing.domain.errors import NotFound
    from invoicing.logic import paypage

    try:
        url = paypage.pdf_url(deps(), token)
    except NotFound:
        return _missing()
    return Response(status_code=302, body="", headers={"Location": url, **_page_headers()})


@pay_routes.post(
    "/pay/<token>/checkout",
    summary="The Pay button (a form: target = balance or an instalment id, tip = a percentage offered): "
    "to Stripe's Checkout",
    responses={
        303: {"description": "To Stripe's Checkout page"},
        404: _HTML_ERROR,
        409: _HTML_ERROR,
        422: _HTML_ERROR,
        502: _HTML_ERROR,
        503: _HTML_ERROR,
    },
)
def pay_checkout(token: PayToken):
    if len(token) > MAX_TOKEN:
        return _missing()
    from urllib.parse import parse_qsl

    from invoicing.domain.errors import Conflict, InvalidInput, NotFound
    from invoicing.logic import paypage
    from invoicing.store.stripe_api import StripeApi, StripeRefused, StripeUnavailable

    body = pay_routes.current_event.decoded_body or ""
    form = {key: value[:64] for key, value in parse_qsl(body, keep_blank_values=True)}
    url = _page_url(token)
    try:
        checkout = paypage.checkout(deps(), StripeApi(), token, url, form)
    except NotFound:
        return _missing()
    except Conflict:  # paid, or the instalment chosen is, since the page was shown
        status, problem = 409, "pay_stale"
    except InvalidInput as error:
        status, problem = 422, str(error)
    except StripeRefused as error:  # the business's Stripe set-up: for the operator's eyes
        logger.error("stripe refused a checkout session", extra={"code": error.code, "status": error.status})
        status, problem = 502, "pay_refused"
    except StripeUnavailable:
        status, problem = 503, "pay_unavailable"
    else:
        return Response(status_code=303, body="", headers={"Location": checkout, **_page_headers()})
    try:
        return _html(status, paypage.page(deps(), token, url, problem=problem))
    except NotFound:
        return _missing()


# -- totals (its own Lambda; registered here for the OpenAPI document too) -------------

totals = Router()


@totals.post(
    "/totals", summary="Totals for the live preview (nothing stored)", responses=responses(200, "The totals", TotalsOut)
)
def preview_totals(body: Annotated[TotalsRequest, Body()]):
    tenant_of(totals)
    return json_response(200, invoices.preview(body))


ALL = (
    business,
    customers,
    products,
    templates,
    invoice_routes,
    document_routes,
    attachment_routes,
    sender_routes,
    webhook_routes,
    pay_routes,
    totals,
)
