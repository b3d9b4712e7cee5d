"""Recurring invoices (the recurring function, SPEC §12): their schedules;
the daily sweep issues their invoices (logic.recurring.bill_due)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from invoicing.adapters.live import deps
from invoicing.api.http import if_match, json_response, public_url, responses, tenant_of
from invoicing.api.routes.common import Cursor, Limit, RecurringId, created, no_content, page
from invoicing.logic import catalog, recurring
from invoicing.models.common import Id
from invoicing.models.recurring import RecurringAction, RecurringIn, RecurringPatch

router = Router()

TAG = ["Recurring invoices"]
OptionalAction = Annotated[RecurringAction | None, Body()]


@router.post(
    "/recurring-invoices",
    operation_id="createRecurringInvoice",
    tags=TAG,
    summary="Create a recurring invoice: its content (or a template's), customer, schedule and what happens on issue",
    responses=responses(201, "The recurring invoice, active", "RecurringInvoice"),
)
def create_recurring(body: Annotated[RecurringIn, Body()]):
    doc = recurring.create(deps(), tenant_of(router), body, public_url(router))
    return created(router, doc, f"/recurring-invoices/{doc['id']}")


@router.get(
    "/recurring-invoices",
    operation_id="listRecurringInvoices",
    tags=TAG,
    summary="List recurring invoices, newest first",
    responses=responses(200, "A page of recurring invoice summaries", "RecurringInvoicePage"),
)
def list_recurring(
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[Literal["active", "paused", "cancelled", "completed"] | None, Query()] = None,
    customer_id: Annotated[Id | None, Query()] = None,
):
    result = recurring.list_recurring(
        deps(), tenant_of(router), limit=limit, cursor=cursor, status=status, customer_id=customer_id
    )
    return json_response(200, page(result))


@router.get(
    "/recurring-invoices/<recurring_id>",
    operation_id="getRecurringInvoice",
    tags=TAG,
    summary="Get a recurring invoice, its next dates and the invoices it made",
    responses=responses(200, "The recurring invoice", "RecurringInvoice", 404),
)
def get_recurring(recurring_id: RecurringId):
    return json_response(200, recurring.get(deps(), tenant_of(router), recurring_id))


@router.patch(
    "/recurring-invoices/<recurring_id>",
    operation_id="updateRecurringInvoice",
    tags=TAG,
    summary="Change what its next invoices are made of, or when (send its version)",
    responses=responses(200, "The recurring invoice", "RecurringInvoice", 404, 409),
)
def update_recurring(recurring_id: RecurringId, body: Annotated[RecurringPatch, Body()]):
    doc = recurring.update(deps(), tenant_of(router), recurring_id, body, if_match(router), public_url(router))
    return json_response(200, doc)


@router.delete(
    "/recurring-invoices/<recurring_id>",
    operation_id="deleteRecurringInvoice",
    tags=TAG,
    summary="Delete a recurring invoice (the invoices it made stay)",
    responses=responses(204, "Deleted", None, 404, 409),
)
def delete_recurring(recurring_id: RecurringId):
    recurring.delete(deps(), tenant_of(router), recurring_id, if_match(router))
    return no_content()


def _act(recurring_id: str, action: str, body: RecurringAction | None):
    version = catalog.expected_version(body.version if body else None, if_match(router))
    doc = recurring.act(deps(), tenant_of(router), recurring_id, action, version, public_url(router))
    return json_response(200, doc)


@router.post(
    "/recurring-invoices/<recurring_id>/pause",
    operation_id="pauseRecurringInvoice",
    tags=TAG,
    summary="Pause it: no invoice until resumed",
    responses=responses(200, "The recurring invoice, paused", "RecurringInvoice", 404, 409),
)
def pause(recurring_id: RecurringId, body: OptionalAction = None):
    return _act(recurring_id, "pause", body)


@router.post(
    "/recurring-invoices/<recurring_id>/resume",
    operation_id="resumeRecurringInvoice",
    tags=TAG,
    summary="Resume it from its next date today or later (the paused periods are not billed)",
    responses=responses(200, "The recurring invoice, active", "RecurringInvoice", 404, 409),
)
def resume(recurring_id: RecurringId, body: OptionalAction = None):
    return _act(recurring_id, "resume", body)


@router.post(
    "/recurring-invoices/<recurring_id>/cancel",
    operation_id="cancelRecurringInvoice",
    tags=TAG,
    summary="Cancel it for good (the invoices it made stay)",
    responses=responses(200, "The recurring invoice, cancelled", "RecurringInvoice", 404, 409),
)
def cancel(recurring_id: RecurringId, body: OptionalAction = None):
    return _act(recurring_id, "cancel", body)
