"""The preview and the PDF links (the documents function: the only one loading Jinja2, Babel and fpdf2)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from invoicing.adapters.live import deps
from invoicing.api.http import json_response, responses, tenant_of
from invoicing.api.routes.common import CreditNoteId, InvoiceId
from invoicing.models.invoices import PdfLink

router = Router()


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

    html = documents.preview(deps(), tenant_of(router), invoice_id)
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=html)


@router.get(
    "/invoices/<invoice_id>/pdf",
    operation_id="getInvoicePdf",
    tags=["Documents"],
    summary="A link to the PDF, valid a few minutes (rendered now if need be)",
    responses=responses(200, "A pre-signed URL of the PDF", PdfLink, 404),
)
def invoice_pdf(invoice_id: InvoiceId):
    from invoicing.logic import documents

    return json_response(200, documents.pdf_link(deps(), tenant_of(router), invoice_id))


@router.get(
    "/credit-notes/<credit_note_id>/pdf",
    operation_id="getCreditNotePdf",
    tags=["Documents"],
    summary="A link to the credit note's PDF (Factur-X), valid a few minutes",
    responses=responses(200, "A pre-signed URL of the PDF", PdfLink, 404),
)
def credit_note_pdf(credit_note_id: CreditNoteId):
    from invoicing.logic import documents

    return json_response(200, documents.credit_note_link(deps(), tenant_of(router), credit_note_id))
