"""The address the e-mails come from (the delivery function: it talks to SES)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from invoicing.adapters.live import deps, messenger
from invoicing.api.http import json_response, responses, tenant_of
from invoicing.api.routes.common import no_content
from invoicing.models.delivery import SenderCode, SenderIn

router = Router()


@router.get(
    "/business/sender",
    operation_id="getSender",
    tags=["Business"],
    summary="The address the invoices' e-mails come from",
    responses=responses(200, "The sender address", "Sender"),
)
def get_sender():
    from invoicing.logic import sender

    return json_response(200, sender.status(deps(), messenger(), tenant_of(router)))


@router.post(
    "/business/sender",
    operation_id="requestSenderCode",
    tags=["Business"],
    summary="E-mail a code to the address the invoices should come from",
    responses=responses(202, "The code is on its way; confirm it", "Sender", 403, 409, 429, 503),
)
def request_sender_code(body: Annotated[SenderIn, Body()]):
    from invoicing.logic import sender

    return json_response(202, sender.request_code(deps(), messenger(), tenant_of(router), body.email))


@router.post(
    "/business/sender/confirm",
    operation_id="confirmSender",
    tags=["Business"],
    summary="The code received: the invoices' e-mails come from the address from now on",
    responses=responses(200, "The sender address", "Sender", 409, 503),
)
def confirm_sender(body: Annotated[SenderCode, Body()]):
    from invoicing.logic import sender

    return json_response(200, sender.confirm(deps(), messenger(), tenant_of(router), body.code))


@router.delete(
    "/business/sender",
    operation_id="deleteSender",
    tags=["Business"],
    summary="The invoices' e-mails come from the platform's address again",
    responses=responses(204, "Removed", None, 409),
)
def delete_sender():
    from invoicing.logic import sender

    sender.remove(deps(), tenant_of(router))
    return no_content()
