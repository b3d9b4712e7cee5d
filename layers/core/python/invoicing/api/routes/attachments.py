"""Files joined to a draft, and the business's logo (the attachments function: the table and the bucket's uploads)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from invoicing.adapters.live import deps
from invoicing.api.http import json_response, responses, tenant_of
from invoicing.api.routes.common import InvoiceId, created, no_content
from invoicing.models.invoices import AttachmentIn
from invoicing.models.resources import LogoConfirm, LogoIn

router = Router()
AttachmentId = Annotated[str, Path(alias="attachment_id", max_length=64)]


@router.post(
    "/invoices/<invoice_id>/attachments",
    operation_id="requestAttachmentUpload",
    tags=["Attachments"],
    summary="Reserve an attachment on a draft: upload the file with the form, then confirm",
    responses=responses(201, "The upload form (a pre-signed S3 POST)", "AttachmentUpload", 404, 409, 415, 503),
)
def request_attachment(invoice_id: InvoiceId, body: Annotated[AttachmentIn, Body()]):
    from invoicing.logic import attachments

    doc = attachments.request_upload(deps(), tenant_of(router), invoice_id, body)
    return created(router, doc, f"/invoices/{invoice_id}/attachments/{doc['id']}")


@router.post(
    "/invoices/<invoice_id>/attachments/<attachment_id>/confirm",
    operation_id="confirmAttachment",
    tags=["Attachments"],
    summary="Check the uploaded file (size, type from its bytes) and list it on the invoice",
    responses=responses(200, "The attachment", "Attachment", 404, 409, 415, 503),
)
def confirm_attachment(invoice_id: InvoiceId, attachment_id: AttachmentId):
    from invoicing.logic import attachments

    doc = attachments.confirm(deps(), tenant_of(router), invoice_id, attachment_id)
    return json_response(200, doc)


@router.get(
    "/invoices/<invoice_id>/attachments",
    operation_id="listAttachments",
    tags=["Attachments"],
    summary="The invoice's confirmed attachments",
    responses=responses(200, "The attachments, in upload order", "AttachmentList", 404),
)
def list_attachments(invoice_id: InvoiceId):
    from invoicing.logic import attachments

    return json_response(200, {"items": attachments.list_attachments(deps(), tenant_of(router), invoice_id)})


@router.get(
    "/invoices/<invoice_id>/attachments/<attachment_id>",
    operation_id="getAttachment",
    tags=["Attachments"],
    summary="An attachment and a link that downloads it, valid a few minutes",
    responses=responses(200, "The attachment and its link", "AttachmentLink", 404),
)
def get_attachment(invoice_id: InvoiceId, attachment_id: AttachmentId):
    from invoicing.logic import attachments

    return json_response(200, attachments.link(deps(), tenant_of(router), invoice_id, attachment_id))


@router.delete(
    "/invoices/<invoice_id>/attachments/<attachment_id>",
    operation_id="deleteAttachment",
    tags=["Attachments"],
    summary="Remove an attachment from a draft",
    responses=responses(204, "Removed", None, 404, 409, 503),
)
def delete_attachment(invoice_id: InvoiceId, attachment_id: AttachmentId):
    from invoicing.logic import attachments

    attachments.delete(deps(), tenant_of(router), invoice_id, attachment_id)
    return no_content()


# The business's logo, on the same function: an upload to the bucket, like attachments.


@router.post(
    "/business/logo",
    operation_id="requestLogoUpload",
    tags=["Business"],
    summary="The form that uploads the business's logo (PNG or JPEG, 512 KiB at most)",
    responses=responses(201, "The upload form (a pre-signed S3 POST)", "LogoUpload"),
)
def request_logo(body: Annotated[LogoIn, Body()]):
    from invoicing.logic import logo

    doc = logo.request_upload(deps(), tenant_of(router), body)
    return json_response(201, doc)


@router.post(
    "/business/logo/confirm",
    operation_id="confirmLogo",
    tags=["Business"],
    summary="Check the uploaded logo and put it on the documents issued from now on",
    responses=responses(200, "The business profile", "Business", 409, 415, 503),
)
def confirm_logo(body: Annotated[LogoConfirm, Body()]):
    from invoicing.logic import logo

    return json_response(200, logo.confirm(deps(), tenant_of(router), body.id))


@router.delete(
    "/business/logo",
    operation_id="deleteLogo",
    tags=["Business"],
    summary="No logo on the documents issued from now on (issued ones keep theirs)",
    responses=responses(204, "Removed", None, 503),
)
def delete_logo():
    from invoicing.logic import logo

    logo.remove(deps(), tenant_of(router))
    return no_content()
