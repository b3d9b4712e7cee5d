"""Reports (SPEC §14): summary, aging and VAT (the reports function)."""

from datetime import date
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from invoicing.adapters.live import deps
from invoicing.api.http import json_response, responses, tenant_of
from invoicing.logic import reports

router = Router()

From = Annotated[
    date | None, Query(alias="from", description="YYYY-MM-DD, included; the first day of `to`'s year if left out")
]
To = Annotated[date | None, Query(alias="to", description="YYYY-MM-DD, included; today if left out")]


@router.get(
    "/reports/summary",
    operation_id="reportSummary",
    tags=["Reports"],
    summary="The invoices issued in a period as they stand: totals, credited, collected, outstanding, overdue",
    responses=responses(200, "Per currency", "ReportSummary"),
)
def summary(start: From = None, end: To = None):
    return json_response(200, reports.summary(deps(), tenant_of(router), start, end))


@router.get(
    "/reports/aging",
    operation_id="reportAging",
    tags=["Reports"],
    summary="What is owed on a day by days past due, and the customers owing most",
    responses=responses(200, "Per currency", "AgingReport"),
)
def aging(as_of: Annotated[date | None, Query(description="YYYY-MM-DD; today if left out")] = None):
    return json_response(200, reports.aging(deps(), tenant_of(router), as_of))


@router.get(
    "/reports/vat",
    operation_id="reportVat",
    tags=["Reports"],
    summary="VAT by rate over a period: invoiced (credit notes deducted) or collected (payments split over rates)",
    responses=responses(200, "Per currency and rate", "VatReport"),
)
def vat(
    start: From = None,
    end: To = None,
    basis: Annotated[
        Literal["invoiced", "collected"] | None,
        Query(description="the business's own if left out: invoiced when it opted for VAT on debits or sells "
              "goods, else collected (services)"),
    ] = None,
):  # fmt: skip
    return json_response(200, reports.vat(deps(), tenant_of(router), start, end, basis))
