"""Reports and exports (SPEC §14): summary, aging, VAT, and the
accountant's files (the reports function)."""

from datetime import date
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from invoicing.adapters.live import deps
from invoicing.api.http import json_response, public_url, responses, tenant_of
from invoicing.logic import exports, reports
from invoicing.models.exports import ExportIn

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


ExportId = Annotated[str, Path(alias="export_id", max_length=64)]


@router.post(
    "/exports",
    operation_id="createExport",
    tags=["Exports"],
    summary="Export invoices, payments or credit notes of a period (CSV), or the FEC: written in the background",
    responses=responses(202, "Pending: GET /exports/{id} until it is ready", "Export"),
)
def create_export(body: Annotated[ExportIn, Body()]):
    doc = exports.create(deps(), tenant_of(router), body.kind, body.from_, body.to, body.format)
    return json_response(202, doc, {"Location": f"{public_url(router)}/exports/{doc['id']}"})


@router.get(
    "/exports/<export_id>",
    operation_id="getExport",
    tags=["Exports"],
    summary="An export: pending, failed, or ready with a 5-minute link to its file",
    responses=responses(200, "The export", "Export", 404),
)
def get_export(export_id: ExportId):
    return json_response(200, exports.get(deps(), tenant_of(router), export_id))
