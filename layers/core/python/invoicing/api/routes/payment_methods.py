"""The cards and IBANs a customer saved with Stripe (SPEC §12), under the
customer: a setup link, the list, removing one, choosing the default (the
API function, beside the customers)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from invoicing.adapters.live import deps
from invoicing.api.http import json_response, responses, tenant_of
from invoicing.api.routes.common import no_content
from invoicing.models.payment_methods import PaymentMethodSetupIn

router = Router()
CustomerId = Annotated[str, Path(alias="customer_id", max_length=64)]
PaymentMethodId = Annotated[str, Path(alias="payment_method_id", max_length=255, description="Stripe's pm_… id")]
TAGS = ["Payment methods"]


@router.post(
    "/customers/<customer_id>/payment-methods/setup",
    operation_id="createPaymentMethodSetup",
    tags=TAGS,
    summary="A link to Stripe's page where the client saves a card or an IBAN for the business's later invoices "
    "(the client becomes a Stripe customer of the business's account first)",
    responses=responses(201, "The link: send it to the client", "PaymentMethodSetup", 404, 409, 502, 503),
)
def create_setup(customer_id: CustomerId, body: Annotated[PaymentMethodSetupIn | None, Body()] = None):
    from invoicing.adapters.live import payment_gateway
    from invoicing.logic import payment_methods

    asked = body or PaymentMethodSetupIn()
    tenant = tenant_of(router)
    link = payment_methods.setup(deps(), payment_gateway(), tenant, customer_id, asked.types, asked.return_url)
    return json_response(201, link)


@router.get(
    "/customers/<customer_id>/payment-methods",
    operation_id="listPaymentMethods",
    tags=TAGS,
    summary="The cards and IBANs the client saved, oldest first; one is the default (the one charged)",
    responses=responses(200, "The saved methods", "SavedPaymentMethodList", 404),
)
def list_methods(customer_id: CustomerId):
    from invoicing.logic import payment_methods

    return json_response(200, {"items": payment_methods.list_methods(deps(), tenant_of(router), customer_id)})


@router.delete(
    "/customers/<customer_id>/payment-methods/<payment_method_id>",
    operation_id="deletePaymentMethod",
    tags=TAGS,
    summary="Detach the method at Stripe (it can never be charged again) and forget it; the newest remaining "
    "becomes the default if it was",
    responses=responses(204, "Detached", None, 404, 502, 503),
)
def delete_method(customer_id: CustomerId, payment_method_id: PaymentMethodId):
    from invoicing.adapters.live import payment_gateway
    from invoicing.logic import payment_methods

    tenant = tenant_of(router)
    payment_methods.detach(deps(), payment_gateway(), tenant, customer_id, payment_method_id)
    return no_content()


@router.post(
    "/customers/<customer_id>/payment-methods/<payment_method_id>/default",
    operation_id="choosePaymentMethodDefault",
    tags=TAGS,
    summary="Make the method the client's default: the one its automatic collections charge",
    responses=responses(200, "The method, now the default", "SavedPaymentMethod", 404),
)
def choose_default(customer_id: CustomerId, payment_method_id: PaymentMethodId):
    from invoicing.logic import payment_methods

    tenant = tenant_of(router)
    return json_response(200, payment_methods.choose_default(deps(), tenant, customer_id, payment_method_id))
