"""The business profile, customers, products and templates (the API function)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel

from invoicing.adapters.live import deps
from invoicing.api.http import if_match, json_response, responses, tenant_of
from invoicing.api.routes.common import Cursor, Limit, Q, created, no_content, page
from invoicing.logic import catalog
from invoicing.models.resources import (
    BusinessIn,
    BusinessPatch,
    CustomerIn,
    CustomerPatch,
    ProductIn,
    ProductPatch,
    StripeOnboardingIn,
)
from invoicing.models.templates import InvoiceFromTemplate, TemplateIn, TemplatePatch

business = Router()
Model = type[BaseModel]


@business.get(
    "/business",
    operation_id="getBusiness",
    tags=["Business"],
    summary="The business profile",
    responses=responses(200, "The profile", "Business"),
)
def get_business():
    return json_response(200, catalog.get_business(deps(), tenant_of(business)))


@business.put(
    "/business",
    operation_id="replaceBusiness",
    tags=["Business"],
    summary="Create or replace the business profile (the version read is required once it exists)",
    responses=responses(200, "The saved profile", "Business", 409),
)
def put_business(body: Annotated[BusinessIn, Body()]):
    return json_response(200, catalog.put_business(deps(), tenant_of(business), body, if_match(business)))


@business.patch(
    "/business",
    operation_id="updateBusiness",
    tags=["Business"],
    summary="Change the fields sent of the business profile; the others stay as they are",
    responses=responses(200, "The saved profile", "Business", 409),
)
def patch_business(body: Annotated[BusinessPatch, Body()]):
    return json_response(200, catalog.patch_business(deps(), tenant_of(business), body, if_match(business)))


@business.post(
    "/business/stripe/onboarding",
    operation_id="startStripeOnboarding",
    tags=["Business"],
    summary="A link to Stripe's onboarding of the business's Stripe account, the account created the first time",
    responses=responses(
        200, "The link (send the business there now), and the account", "StripeOnboarding", 409, 502, 503
    ),
)
def start_stripe_onboarding(body: Annotated[StripeOnboardingIn | None, Body()] = None):
    from invoicing.adapters.live import payment_gateway
    from invoicing.logic import stripe_accounts

    back = body or StripeOnboardingIn()
    tenant = tenant_of(business)
    return json_response(
        200, stripe_accounts.onboard(deps(), payment_gateway(), tenant, back.return_url, back.refresh_url)
    )


# -- customers and products --------------------------------------------------------------


def _crud(
    kind: str,
    create_model: type[BaseModel],
    patch_model: type[BaseModel],
    out: str,
    listed: str,
) -> Router:
    """The five routes of a catalogue kind (list, create, read, update,
    delete), written once for customers and products. Long because each
    route's declaration (models, responses, summary) is the OpenAPI
    contract, and they read best side by side."""
    router = Router()
    plural, id_name = f"/{kind}s", f"{kind}_id"
    item = f"{plural}/<{id_name}>"
    ItemId = Annotated[str, Path(alias=id_name, max_length=64)]
    named, tags = kind.capitalize(), [f"{kind.capitalize()}s"]

    @router.post(
        plural,
        operation_id=f"create{named}",
        tags=tags,
        summary=f"Create a {kind}",
        responses=responses(201, f"The {kind}", out, 409),
    )
    def create(body: Annotated[create_model, Body()]):  # type: ignore[valid-type]
        doc = catalog.create(deps(), tenant_of(router), kind, body)
        return created(router, doc, f"{plural}/{doc['id']}")

    @router.get(
        plural,
        operation_id=f"list{named}s",
        tags=tags,
        summary=f"List {kind}s, newest first; q: those whose name has these words (any case or accents)",
        responses=responses(200, f"A page of {kind}s", listed),
    )
    def list_all(limit: Limit = 50, cursor: Cursor = None, q: Q = None):
        return json_response(200, page(catalog.list_page(deps(), tenant_of(router), kind, limit, cursor, q)))

    @router.get(
        item,
        operation_id=f"get{named}",
        tags=tags,
        summary=f"Get a {kind}",
        responses=responses(200, f"The {kind}", out, 404),
    )
    def get_one(id: ItemId):
        return json_response(200, catalog.get(deps(), tenant_of(router), kind, id))

    @router.patch(
        item,
        operation_id=f"update{named}",
        tags=tags,
        summary=f"Change a {kind}",
        responses=responses(200, f"The {kind}", out, 404, 409),
    )
    def update(id: ItemId, body: Annotated[patch_model, Body()]):  # type: ignore[valid-type]
        return json_response(200, catalog.update(deps(), tenant_of(router), kind, id, body, if_match(router)))

    @router.delete(
        item,
        operation_id=f"delete{named}",
        tags=tags,
        summary=f"Delete a {kind}",
        responses=responses(204, "Deleted", None, 404, 409),
    )
    def delete(id: ItemId):
        catalog.delete(deps(), tenant_of(router), kind, id, if_match(router))
        return no_content()

    return router


customers = _crud("customer", CustomerIn, CustomerPatch, "Customer", "CustomerPage")
products = _crud("product", ProductIn, ProductPatch, "Product", "ProductPage")
templates = _crud("template", TemplateIn, TemplatePatch, "Template", "TemplatePage")


@templates.post(
    "/templates/<template_id>/invoices",
    operation_id="createInvoiceFromTemplate",
    tags=["Templates"],
    summary="A draft invoice from the template, for a customer and dates",
    responses=responses(201, "The draft", "Invoice", 404, 409),
)
def invoice_from_template(
    template_id: Annotated[str, Path(alias="template_id", max_length=64)],
    body: Annotated[InvoiceFromTemplate, Body()],
):
    from invoicing.logic import templates as use_cases

    doc = use_cases.new_invoice(deps(), tenant_of(templates), template_id, body)
    return created(templates, {**doc, "deliveries": []}, f"/invoices/{doc['id']}")
