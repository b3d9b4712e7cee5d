"""Estimates (devis) and the invoices made from them (the estimates function, SPEC §11)."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.adapters.live import deps
from invoicing.api.http import if_match, json_response, public_url, responses, tenant_of
from invoicing.api.routes.common import Cursor, Day, EstimateId, Limit, Q, Sort, created, no_content, page
from invoicing.logic import catalog, estimates
from invoicing.logic.listing import Search
from invoicing.models.common import Id
from invoicing.models.delivery import SendRequest
from invoicing.models.estimates import EstimateIn, EstimateInvoiceIn, EstimatePatch
from invoicing.models.invoices import VersionIn

router = Router()

OptionalVersion = Annotated[VersionIn | None, Body()]


def with_deliveries(tenant: str, estimate: dict[str, Any]) -> dict[str, Any]:
    """An estimate as every route answers it: with its deliveries (a draft has none)."""
    if estimate["status"] == "draft":
        return {**estimate, "deliveries": []}
    from invoicing.logic import delivery

    sent = [delivery.shown(item) for item in delivery.deliveries_of(deps(), tenant, estimate["id"])]
    return {**estimate, "deliveries": sent}


@router.post(
    "/estimates",
    operation_id="createEstimate",
    tags=["Estimates"],
    summary="Create a draft estimate (devis)",
    responses=responses(201, "The draft", "Estimate", 409),
)
def create_estimate(body: Annotated[EstimateIn, Body()]):
    doc = estimates.create_estimate(deps(), tenant_of(router), body)
    return created(router, with_deliveries("", doc), f"/estimates/{doc['id']}")


@router.get(
    "/estimates",
    operation_id="listEstimates",
    tags=["Estimates"],
    summary="List and search estimates, newest first or in the order asked (due date: last valid day)",
    responses=responses(200, "A page of estimate summaries", "EstimatePage"),
)
def list_estimates(
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[Literal["draft", "sent", "accepted", "declined", "expired", "invoiced"] | None, Query()] = None,
    customer_id: Annotated[Id | None, Query()] = None,
    q: Q = None,
    issued_from: Day = None,
    issued_to: Day = None,
    valid_from: Day = None,
    valid_to: Day = None,
    sort: Sort = None,
):
    search = Search(q, issued_from, issued_to, valid_from, valid_to, sort, due_name="valid")
    result = estimates.list_estimates(
        deps(), tenant_of(router), limit=limit, cursor=cursor, status=status, customer_id=customer_id, search=search
    )
    return json_response(200, page(result))


@router.get(
    "/estimates/<estimate_id>",
    operation_id="getEstimate",
    tags=["Estimates"],
    summary="Get an estimate",
    responses=responses(200, "The estimate", "Estimate", 404),
)
def get_estimate(estimate_id: EstimateId):
    tenant = tenant_of(router)
    return json_response(200, with_deliveries(tenant, estimates.get_estimate(deps(), tenant, estimate_id)))


@router.patch(
    "/estimates/<estimate_id>",
    operation_id="updateEstimate",
    tags=["Estimates"],
    summary="Change a draft estimate (send its version)",
    responses=responses(200, "The draft", "Estimate", 404, 409),
)
def update_estimate(estimate_id: EstimateId, body: Annotated[EstimatePatch, Body()]):
    doc = estimates.update_estimate(deps(), tenant_of(router), estimate_id, body, if_match(router))
    return json_response(200, with_deliveries("", doc))


@router.delete(
    "/estimates/<estimate_id>",
    operation_id="deleteEstimate",
    tags=["Estimates"],
    summary="Delete a draft estimate",
    responses=responses(204, "Deleted", None, 404, 409),
)
def delete_estimate(estimate_id: EstimateId):
    estimates.delete_estimate(deps(), tenant_of(router), estimate_id, if_match(router))
    return no_content()


@router.post(
    "/estimates/<estimate_id>/mark-sent",
    operation_id="markEstimateSent",
    tags=["Estimates"],
    summary="Number the estimate without sending it (its public page link to copy)",
    responses=responses(200, "The estimate, numbered, with its quote_link", "Estimate", 404, 409, 503),
)
def mark_sent(estimate_id: EstimateId, body: OptionalVersion = None):
    tenant = tenant_of(router)
    version = catalog.expected_version(body.version if body else None, if_match(router))
    estimate, numbered = estimates.issue_estimate(deps(), tenant, estimate_id, version, public_url(router))
    if numbered:
        Metrics().add_metric(name="EstimatesSent", unit=MetricUnit.Count, value=1)
    return json_response(200, with_deliveries(tenant, estimate))


@router.post(
    "/estimates/<estimate_id>/send",
    operation_id="sendEstimate",
    tags=["Estimates"],
    summary="Send the estimate by e-mail and/or SMS (a draft is numbered first); the sending happens next",
    responses=responses(202, "The estimate, with its deliveries", "Estimate", 403, 404, 409, 503),
)
def send_estimate(estimate_id: EstimateId, body: Annotated[SendRequest | None, Body()] = None):
    from invoicing.logic import delivery

    tenant = tenant_of(router)
    request = body or SendRequest()
    estimate, deliveries, numbered = delivery.request_estimate_send(
        deps(), tenant, estimate_id, request, public_url(router)
    )
    if numbered:
        Metrics().add_metric(name="EstimatesSent", unit=MetricUnit.Count, value=1)
    return json_response(202, {**estimate, "deliveries": deliveries})


@router.post(
    "/estimates/<estimate_id>/duplicate",
    operation_id="duplicateEstimate",
    tags=["Estimates"],
    summary="A new draft copy (new name, no number)",
    responses=responses(201, "The new draft", "Estimate", 404, 409),
)
def duplicate(estimate_id: EstimateId):
    doc = estimates.duplicate_estimate(deps(), tenant_of(router), estimate_id)
    return created(router, with_deliveries("", doc), f"/estimates/{doc['id']}")


@router.post(
    "/estimates/<estimate_id>/invoices",
    operation_id="createInvoiceFromEstimate",
    tags=["Estimates"],
    summary="Invoice an accepted estimate: a deposit invoice (issued), the final invoice or the whole (drafts)",
    responses=responses(201, "The invoice made", "Invoice", 404, 409, 503),
)
def invoice_estimate(estimate_id: EstimateId, body: Annotated[EstimateInvoiceIn, Body()]):
    from invoicing.api.routes.invoices import with_deliveries as invoice_with_deliveries

    tenant = tenant_of(router)
    invoice = estimates.make_invoice(deps(), tenant, estimate_id, body, public_url(router))
    return created(router, invoice_with_deliveries(tenant, invoice), f"/invoices/{invoice['id']}")
