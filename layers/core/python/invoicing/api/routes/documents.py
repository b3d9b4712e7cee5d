"""The previews and the PDF links of invoices, credit notes and estimates
(the documents function: the only one loading Jinja2, Babel and fpdf2)."""

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from invoicing.adapters.live import deps
from invoicing.api.http import json_response, named, responses, tenant_of
from invoicing.api.openapi import RESPONSE_HEADERS
from invoicing.api.pages import html_page
from invoicing.api.routes.common import CreditNoteId, EstimateId, InvoiceId

router = Router()

PDF_RESPONSES = {
    **responses(200, "A pre-signed URL of the PDF", "PdfLink", 404),
    202: {
        "description": "Not stored yet, and too large to render while the request waits: it is being rendered; "
        "ask again after Retry-After",
        "headers": {"Retry-After": RESPONSE_HEADERS["Retry-After"]},
        "content": named("PdfRendering")},
    503: {
        "description": "Busy, or the PDF could not be rendered (pdf_render_failed): it is tried again after "
        "Retry-After",
        "content": named("ErrorResponse"),
    },
}  # fmt: skip


def _pdf(found: Any) -> Response:
    """The link (200), or the render under way (202, Retry-After)."""
    from invoicing.logic.documents import Pending

    if isinstance(found, Pending):
        body = {"status": "rendering", "version": found.version, "retry_after": found.retry_after_s}
        return json_response(202, body, headers={"Retry-After": str(found.retry_after_s)})
    return json_response(200, found)


@router.get(
    "/invoices/<invoice_id>/preview",
    operation_id="previewInvoice",
    tags=["Documents"],
    summary="The invoice as HTML, as the client will see it (drafts too)",
    responses={
        **responses(200, "", None, 404),
        200: {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}},
    },
)
def preview_invoice(invoice_id: InvoiceId):
    from invoicing.logic import documents

    return html_page(200, documents.preview(deps(), tenant_of(router), invoice_id))


@router.get(
    "/invoices/<invoice_id>/pdf",
    operation_id="getInvoicePdf",
    tags=["Documents"],
    summary="A link to the PDF, valid a few minutes (rendered now if need be, or queued if large)",
    responses=PDF_RESPONSES,
)
def invoice_pdf(invoice_id: InvoiceId):
    from invoicing.logic import documents

    return _pdf(documents.pdf_link(deps(), tenant_of(router), invoice_id))


@router.get(
    "/credit-notes/<credit_note_id>/pdf",
    operation_id="getCreditNotePdf",
    tags=["Documents"],
    summary="A link to the credit note's PDF (Factur-X), valid a few minutes",
    responses=PDF_RESPONSES,
)
def credit_note_pdf(credit_note_id: CreditNoteId):
    from invoicing.logic import documents

    return _pdf(documents.credit_note_link(deps(), tenant_of(router), credit_note_id))


@router.get(
    "/estimates/<estimate_id>/preview",
    operation_id="previewEstimate",
    tags=["Estimates"],
    summary="The estimate as HTML, as the client will see it (drafts too)",
    responses={
        **responses(200, "", None, 404),
        200: {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}},
    },
)
def preview_estimate(estimate_id: EstimateId):
    from invoicing.logic import documents

    return html_page(200, documents.estimate_preview(deps(), tenant_of(router), estimate_id))


@router.get(
    "/estimates/<estimate_id>/pdf",
    operation_id="getEstimatePdf",
    tags=["Estimates"],
    summary="A link to the estimate's PDF, valid a few minutes (rendered now if need be, or queued if large)",
    responses=PDF_RESPONSES,
)
def estimate_pdf(estimate_id: EstimateId):
    from invoicing.logic import documents

    return _pdf(documents.estimate_pdf_link(deps(), tenant_of(router), estimate_id))


CustomerId = Annotated[str, Path(alias="customer_id", max_length=64)]


@router.get(
    "/customers/<customer_id>/statement",
    operation_id="customerStatement",
    tags=["Reports"],
    summary="A customer's statement of account (relevé de compte): opening balance, invoices, credit notes and "
    "payments with the balance after each, closing balance; as JSON or a PDF",
    responses=responses(200, "The statement (format=pdf: a pre-signed URL of its PDF, `StatementPdf`)", "Statement",
                        404),
)  # fmt: skip
def customer_statement(
    customer_id: CustomerId,
    start: Annotated[date | None, Query(alias="from", description="included; the first day of `to`'s year")] = None,
    end: Annotated[date | None, Query(alias="to", description="included; today if left out")] = None,
    format: Annotated[Literal["json", "pdf"], Query()] = "json",
):
    from invoicing.logic import statements

    tenant = tenant_of(router)
    if format == "pdf":
        return json_response(200, statements.pdf_link(deps(), tenant, customer_id, start, end))
    return json_response(200, statements.of_customer(deps(), tenant, customer_id, start, end))
