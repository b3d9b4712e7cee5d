"""POST /totals: the editor's live preview (the totals function)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from invoicing.api.http import json_response, responses, tenant_of
from invoicing.logic import totals
from invoicing.models.invoices import TotalsRequest

router = Router()


@router.post(
    "/totals",
    operation_id="computeTotals",
    tags=["Invoices"],
    summary="Totals for the live preview (nothing stored)",
    responses=responses(200, "The totals", "TotalsOut"),
)
def preview_totals(body: Annotated[TotalsRequest, Body()]):
    tenant_of(router)
    return json_response(200, totals.preview(body))
