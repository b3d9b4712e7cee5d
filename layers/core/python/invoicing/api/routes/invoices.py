"""Invoices, their payments and credit notes (the API function)."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.adapters.live import deps
from invoicing.api.http import if_match, json_response, public_url, responses, tenant_of
from invoicing.api.routes.common import (
    CreditNoteId,
    Cursor,
    Day,
    InvoiceId,
    Limit,
    PaymentId,
    Q,
    Sort,
    created,
    no_content,
    page,
)
from invoicing.logic import catalog, invoices
from invoicing.logic.listing import Search
from invoicing.models.common import Id
from invoicing.models.credit_notes import CreditNoteIn
from invoicing.models.delivery import SendRequest
from invoicing.models.invoices import InvoiceIn, InvoicePatch, VersionIn
from invoicing.models.payments import PaymentCancel, PaymentIn
from invoicing.models.templates import FromInvoice

router = Router()


def with_deliveries(tenant: str, invoice: dict[str, Any]) -> dict[str, Any]:
    """An invoice as every route answers it: with its deliveries (a draft has none)."""
    if invoice["status"] == "draft":
        return {**invoice, "deliveries": []}
    from invoicing.logic import delivery

    sent = [delivery.shown(item) for item in delivery.deliveries_of(deps(), tenant, invoice["id"])]
    return {**invoice, "deliveries": sent}


OptionalVersion = Annotated[VersionIn | None, Body()]


@router.post(
    "/invoices",
    operation_id="createInvoice",
    tags=["Invoices"],
    summary="Create a draft invoice",
    responses=responses(201, "The draft", "Invoice", 409),
)
def create_invoice(body: Annotated[InvoiceIn, Body()]):
    doc = invoices.create_invoice(deps(), tenant_of(router), body)
    return created(router, with_deliveries("", doc), f"/invoices/{doc['id']}")


@router.get(
    "/invoices",
    operation_id="listInvoices",
    tags=["Invoices"],
    summary="List and search invoices, newest first (overdue: oldest due first), or in the order asked",
    responses=responses(200, "A page of invoice summaries", "InvoicePage"),
)
def list_invoices(
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[Literal["draft", "open", "partially_paid", "paid", "void"] | None, Query()] = None,
    customer_id: Annotated[Id | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    q: Q = None,
    issued_from: Day = None,
    issued_to: Day = None,
    due_from: Day = None,
    due_to: Day = None,
    sort: Sort = None,
):
    result = invoices.list_invoices(
        deps(),
        tenant_of(router),
        limit=limit,
        cursor=cursor,
        status=status,
        customer_id=customer_id,
        overdue=overdue,
        search=Search(q, issued_from, issued_to, due_from, due_to, sort),
    )
    return json_response(200, page(result))


@router.get(
    "/invoices/<invoice_id>",
    operation_id="getInvoice",
    tags=["Invoices"],
    summary="Get an invoice",
    responses=responses(200, "The invoice", "Invoice", 404),
)
def get_invoice(invoice_id: InvoiceId):
    tenant = tenant_of(router)
    return json_response(200, with_deliveries(tenant, invoices.get_invoice(deps(), tenant, invoice_id)))


@router.patch(
    "/invoices/<invoice_id>",
    operation_id="updateInvoice",
    tags=["Invoices"],
    summary="Change a draft (send its version)",
    responses=responses(200, "The draft", "Invoice", 404, 409),
)
def update_invoice(invoice_id: InvoiceId, body: Annotated[InvoicePatch, Body()]):
    doc = invoices.update_invoice(deps(), tenant_of(router), invoice_id, body, if_match(router))
    return json_response(200, with_deliveries("", doc))


@router.delete(
    "/invoices/<invoice_id>",
    operation_id="deleteInvoice",
    tags=["Invoices"],
    summary="Delete a draft",
    responses=responses(204, "Deleted", None, 404, 409),
)
def delete_invoice(invoice_id: InvoiceId):
    invoices.delete_invoice(deps(), tenant_of(router), invoice_id, if_match(router))
    return no_content()


@router.post(
    "/invoices/<invoice_id>/mark-sent",
    operation_id="markInvoiceSent",
    tags=["Invoices"],
    summary="Finalize without delivery: number it, snapshot business and customer",
    responses=responses(200, "The issued invoice, with its payment_link", "Invoice", 404, 409, 503),
)
def mark_sent(invoice_id: InvoiceId, body: OptionalVersion = None):
    version = _version(body)
    tenant, url = tenant_of(router), public_url(router)
    invoice, issued = invoices.finalize_invoice(deps(), tenant, invoice_id, version, url)
    if issued:
        Metrics().add_metric(name="InvoicesIssued", unit=MetricUnit.Count, value=1)
    return json_response(200, with_deliveries(tenant, invoice))


@router.post(
    "/invoices/<invoice_id>/void",
    operation_id="voidInvoice",
    tags=["Invoices"],
    summary="Void an issued invoice (kept, never deleted)",
    responses=responses(200, "The void invoice", "Invoice", 404, 409),
)
def void(invoice_id: InvoiceId, body: OptionalVersion = None):
    """Voiding keeps the invoice: a credit note takes off what is left of it (logic.credit_notes)."""
    from invoicing.logic import credit_notes

    version, tenant = _version(body), tenant_of(router)
    invoice, _ = credit_notes.void(deps(), tenant, invoice_id, version)
    return json_response(200, with_deliveries(tenant, invoice))


@router.post(
    "/invoices/<invoice_id>/credit-notes",
    operation_id="issueCreditNote",
    tags=["Credit notes"],
    summary="Issue a credit note (avoir) on an issued invoice: lines credited, or an amount tax included",
    responses=responses(201, "The credit note; the invoice lists it and asks that much less", "CreditNote", 404, 409),
)
def issue_credit_note(invoice_id: InvoiceId, body: Annotated[CreditNoteIn, Body()]):
    from invoicing.logic import credit_notes

    note = credit_notes.issue(deps(), tenant_of(router), invoice_id, body)
    Metrics().add_metric(name="CreditNotesIssued", unit=MetricUnit.Count, value=1)
    return created(router, note, f"/credit-notes/{note['id']}")


@router.post(
    "/credit-notes/<credit_note_id>/send",
    operation_id="sendCreditNote",
    tags=["Credit notes"],
    summary="Send the credit note by e-mail and/or SMS (to the invoice's client unless named); sent next",
    responses=responses(202, "The credit note's deliveries", "CreditNoteDeliveries", 403, 404),
)
def send_credit_note(credit_note_id: CreditNoteId, body: Annotated[SendRequest | None, Body()] = None):
    from invoicing.logic import delivery

    tenant = tenant_of(router)
    sent = delivery.request_credit_note_send(deps(), tenant, credit_note_id, body or SendRequest())
    return json_response(202, {"deliveries": sent})


@router.get(
    "/credit-notes/<credit_note_id>",
    operation_id="getCreditNote",
    tags=["Credit notes"],
    summary="A credit note",
    responses=responses(200, "The credit note", "CreditNote", 404),
)
def get_credit_note(credit_note_id: CreditNoteId):
    from invoicing.logic import credit_notes

    return json_response(200, credit_notes.get(deps(), tenant_of(router), credit_note_id))


@router.post(
    "/invoices/<invoice_id>/duplicate",
    operation_id="duplicateInvoice",
    tags=["Invoices"],
    summary="A new draft copy (new name, no number)",
    responses=responses(201, "The new draft", "Invoice", 404, 409),
)
def duplicate(invoice_id: InvoiceId):
    doc = invoices.duplicate_invoice(deps(), tenant_of(router), invoice_id)
    return created(router, with_deliveries("", doc), f"/invoices/{doc['id']}")


@router.post(
    "/invoices/<invoice_id>/template",
    operation_id="createTemplateFromInvoice",
    tags=["Templates"],
    summary="A template from the invoice: its content, without customer, dates, number or payments",
    responses=responses(201, "The template", "Template", 404, 409),
)
def template_from_invoice(invoice_id: InvoiceId, body: Annotated[FromInvoice | None, Body()] = None):
    from invoicing.logic import templates as use_cases

    doc = use_cases.from_invoice(deps(), tenant_of(router), invoice_id, body or FromInvoice())
    return created(router, doc, f"/templates/{doc['id']}")


@router.post(
    "/invoices/<invoice_id>/send",
    operation_id="sendInvoice",
    tags=["Invoices"],
    summary="Send the invoice by e-mail and/or SMS (a draft is finalized first); the sending happens next",
    responses=responses(202, "The invoice, with its deliveries", "Invoice", 403, 404, 409, 503),
)
def send_invoice(invoice_id: InvoiceId, body: Annotated[SendRequest | None, Body()] = None):
    from invoicing.logic import delivery

    tenant = tenant_of(router)
    request = body or SendRequest()
    invoice, deliveries, issued = delivery.request_send(deps(), tenant, invoice_id, request, public_url(router))
    if issued:
        Metrics().add_metric(name="InvoicesIssued", unit=MetricUnit.Count, value=1)
    return json_response(202, {**invoice, "deliveries": deliveries})


@router.post(
    "/invoices/<invoice_id>/payments",
    operation_id="recordPayment",
    tags=["Payments"],
    summary="Record a payment received (cash, transfer, cheque, card charged elsewhere), "
    "or charge a card the client saved (card with payment_method_id)",
    responses=responses(
        201, "The payment, and where the invoice stands after it", "PaymentRecorded", 402, 404, 409, 503
    ),
)
def record_payment(invoice_id: InvoiceId, body: Annotated[PaymentIn, Body()]):
    from invoicing.logic import payments

    tenant = tenant_of(router)
    request = router.current_event.headers
    key = request.get("Idempotency-Key") or request.get("idempotency-key")
    if getattr(body, "payment_method_id", None):
        from invoicing.adapters.live import payment_gateway
        from invoicing.logic import card_charges

        payment, new = card_charges.charge(deps(), payment_gateway(), tenant, invoice_id, body, key), True
    else:
        payment, new = payments.record(deps(), tenant, invoice_id, body, key)
    answer = created(router, payment, f"/invoices/{invoice_id}/payments")
    if new:
        Metrics().add_metric(name="PaymentsRecorded", unit=MetricUnit.Count, value=1)
    else:  # recorded by an attempt whose answer was lost
        answer.headers["Idempotent-Replayed"] = "true"
    return answer


@router.post(
    "/invoices/<invoice_id>/payments/<payment_id>/cancel",
    operation_id="cancelPayment",
    tags=["Payments"],
    summary="Cancel a payment recorded by mistake: kept, marked cancelled, its amount owed again "
    "(a Stripe payment is refunded through Stripe instead: 409)",
    responses=responses(
        200, "The payment, cancelled, and where the invoice stands after it", "PaymentRecorded", 404, 409
    ),
)
def cancel_payment(invoice_id: InvoiceId, payment_id: PaymentId, body: Annotated[PaymentCancel, Body()]):
    from invoicing.logic import payments

    return json_response(200, payments.cancel(deps(), tenant_of(router), invoice_id, payment_id, body.reason))


@router.get(
    "/invoices/<invoice_id>/payments",
    operation_id="listPayments",
    tags=["Payments"],
    summary="The invoice's payments, oldest first",
    responses=responses(200, "A page of payments", "PaymentList", 404),
)
def list_payments(invoice_id: InvoiceId, limit: Limit = 50, cursor: Cursor = None):
    from invoicing.logic import payments

    return json_response(200, payments.listed(deps(), tenant_of(router), invoice_id, limit, cursor))


def _version(body: VersionIn | None) -> int | None:
    header = if_match(router)
    in_body = body.version if body else None
    return catalog.expected_version(in_body, header)
