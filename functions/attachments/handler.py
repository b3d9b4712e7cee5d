"""The attachments function: files joined to a draft and the business
logo, uploaded straight to S3 with a pre-signed POST and checked when
confirmed. From the bus, it removes a deleted draft's files."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.adapters.live import deps, idempotency_store
from invoicing.api import idempotency
from invoicing.api.http import build_resolver, guarded
from invoicing.api.routes import attachments
from invoicing.tracing import tracer

logger = Logger()
app = build_resolver(attachments.router)
app.use([idempotency.middleware(idempotency_store)])  # a retried reservation takes no second place


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "detail-type" in event:
        return on_bus_event(event)
    return guarded(app, event, context)


def on_bus_event(event: dict[str, Any]) -> dict[str, Any]:
    """A draft was deleted: its files go. An exception fails the invocation,
    and it is retried (then kept in the rule's dead-letter queue)."""
    logger.set_correlation_id(event.get("id"))  # the bus event's id: its retries share it
    from invoicing.logic import attachments

    detail = event["detail"]
    deleted = attachments.purge(deps(), detail["tenant_id"], detail["invoice_id"])
    logger.info("purged", extra={"invoice_id": detail["invoice_id"], "files": deleted})
    return {"deleted": deleted}


coldstart.done()
