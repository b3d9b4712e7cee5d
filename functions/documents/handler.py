"""The documents function: an invoice, a credit note or an estimate as the
client will see it. The only function that loads the rendering libraries.

Three kinds of events reach it: API Gateway requests (the preview, the PDF
link); from the invoicing bus, the events that call for a new PDF
(`infra/wiring.py` EVENT_RULES); and from the render queue, the PDFs too
large to render while a request waited (`logic.documents`)."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.adapters.live import deps
from invoicing.api.http import build_resolver, guarded
from invoicing.api.routes import documents
from invoicing.tracing import tracer

logger = Logger()
app = build_resolver(documents.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "detail-type" in event:
        return on_bus_event(event)
    if "Records" in event:
        return on_queued_renders(event)
    return guarded(app, event, context)


def on_bus_event(event: dict[str, Any]) -> dict[str, Any]:
    """Store the PDF the event calls for. An exception fails the invocation,
    and EventBridge retries it (then the rule's dead-letter queue keeps it)."""
    logger.set_correlation_id(event.get("id"))  # the bus event's id: its retries share it
    from invoicing.logic.documents import on_event

    detail = event["detail"]
    outcome = on_event(deps(), detail)
    named = {key: detail[key] for key in ("invoice_id", "estimate_id") if key in detail}
    logger.info("pdf", extra={"detail_type": event["detail-type"], **named, "outcome": outcome})
    return {"outcome": outcome}


def on_queued_renders(event: dict[str, Any]) -> dict[str, Any]:
    """Render the PDFs queued by requests. A render that fails is recorded
    (`render_queued`), not retried; a message that raises (AWS busy)
    comes back (`batchItemFailures`)."""
    from invoicing.logic.documents import render_queued

    failures = []
    for record in event["Records"]:
        message = json.loads(record["body"])
        try:
            outcome = render_queued(deps(), message)
        except Exception:
            logger.exception("queued render", extra={"render": message})
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        logger.info("queued pdf", extra={**message, "outcome": outcome})
    return {"batchItemFailures": failures}


coldstart.done()
