"""What the route modules share: path and query parameters, pages, 201 and 204."""

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from invoicing.api.http import json_response, public_url
from invoicing.ports import PageOf

Limit = Annotated[int, Query(ge=1, le=200, description="at most 200")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
Q = Annotated[
    str | None,
    Query(max_length=100, description="words of the number, the name or the customer's name, any case or accents"),
]
Day = Annotated[date | None, Query(description="YYYY-MM-DD, included")]
Sort = Annotated[
    Literal["issue_date", "-issue_date", "due_date", "-due_date", "amount_due", "-amount_due", "number", "-number"]
    | None,
    Query(description="the order; by due date or amount due, at most 2,000 matches (narrow them first)"),
]
InvoiceId = Annotated[str, Path(alias="invoice_id", max_length=64)]
CreditNoteId = Annotated[str, Path(alias="credit_note_id", max_length=64)]
PaymentId = Annotated[str, Path(alias="payment_id", max_length=64)]
EstimateId = Annotated[str, Path(alias="estimate_id", max_length=64)]
RecurringId = Annotated[str, Path(alias="recurring_id", max_length=64)]


def page(result: PageOf) -> dict[str, Any]:
    return {"items": result.items, "next_cursor": result.cursor}


def created(router: Router, doc: dict[str, Any], path: str) -> Response:
    """201 with the new object's absolute URL (the deployed stage included)."""
    return json_response(201, doc, {"Location": f"{public_url(router)}{path}"})


def no_content():
    return Response(status_code=204, body=None)
