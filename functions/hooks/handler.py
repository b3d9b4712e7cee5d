"""The hooks function: outgoing webhooks (SPEC §13). Three triggers:

- the routes of `/webhook-endpoints` (API Gateway): endpoints, their
  secrets, their deliveries, a test ping, a retry now;
- the bus's "Webhook Event" (the events of the table's stream, SPEC §16):
  one delivery per endpoint that takes it, each queued;
- the deliveries' queue (SQS): one attempt per message, a batch's in
  parallel (each waits 10 s at most on its endpoint); a failed attempt's
  message is reported failed, hidden until its next attempt
  (logic.webhook_delivery), so SQS keeps it until then.

Thin: parse → use case → respond."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

import json
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.adapters.live import deps, idempotency_store, messenger
from invoicing.api import idempotency
from invoicing.api.http import build_resolver, guarded
from invoicing.api.routes import webhook_endpoints
from invoicing.events import WEBHOOK_EVENT
from invoicing.logic import webhook_delivery
from invoicing.logic.retry import time_budget
from invoicing.tracing import tracer

logger = Logger()
metrics = Metrics()
warnings.filterwarnings("ignore", "No application metrics to publish")

app = build_resolver(webhook_endpoints.router)
app.use([idempotency.middleware(idempotency_store)])  # a retried POST creates one endpoint
PARALLEL = 10  # a batch's attempts at once: the queue's batch size


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        return deliver(event["Records"], context)
    if event.get("detail-type") == WEBHOOK_EVENT:
        with time_budget(context.get_remaining_time_in_millis):
            return on_bus_event(event)
    return guarded(app, event, context)


def on_bus_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event of the table's stream for the endpoints: a failure here fails
    the invocation, which Lambda retries (then the rule's dead-letter queue);
    the deliveries already made are not made twice."""
    logger.set_correlation_id(event.get("id"))
    queued = webhook_delivery.fan_out(deps(), event["detail"])
    logger.info("webhook event fanned out", extra={"type": event["detail"]["type"], "queued": queued})
    metrics.add_metric(name="WebhookDeliveriesQueued", unit=MetricUnit.Count, value=queued)
    return {"queued": queued}


def deliver(records: list[dict[str, Any]], context: LambdaContext) -> dict[str, Any]:
    """One attempt per message; those to try again later (or that failed
    here) reported, the others deleted."""
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(records)) or 1) as pool:
        outcomes = list(pool.map(lambda record: _attempt(record, context), records))
    done: dict[str, int] = {}
    for outcome in outcomes:
        done[outcome] = done.get(outcome, 0) + 1
    metrics.add_metric(name="WebhookDeliveries", unit=MetricUnit.Count, value=done.get("delivered", 0))
    metrics.add_metric(name="WebhookDeliveriesGivenUp", unit=MetricUnit.Count, value=done.get("failed", 0))
    kept = [record["messageId"] for record, outcome in zip(records, outcomes, strict=True) if outcome in _KEPT]
    return {"batchItemFailures": [{"itemIdentifier": id} for id in kept], "done": done}


_KEPT = ("kept", "error")


def _attempt(record: dict[str, Any], context: LambdaContext) -> str:
    try:
        with time_budget(context.get_remaining_time_in_millis):
            message = json.loads(record["body"])
            return webhook_delivery.work(deps(), messenger(), message, record["receiptHandle"], record["messageId"])
    except Exception:  # back after the queue's visibility timeout; its dead-letter queue after max receives
        logger.exception("webhook delivery failed here", extra={"message_id": record["messageId"]})
        return "error"


coldstart.done()
