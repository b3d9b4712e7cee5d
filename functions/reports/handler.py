"""The reports function (SPEC §14). Three triggers:

- the routes of `/reports` and `/exports` (API Gateway): summary, aging,
  VAT; an export asked for, and fetched;
- the exports' queue (SQS): a step of an export, a part of its file each
  (logic.exports);
- the bus's events of invoices whose payments, credits or amounts changed
  (the table's stream, SPEC §16): the invoice's payment entries brought
  to where it stands (logic.ledger), which the reports and exports of
  payments read by the day they were received.

Thin: parse → use case → respond."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

import json
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.adapters.live import deps, idempotency_store
from invoicing.api import idempotency
from invoicing.api.http import build_resolver, guarded
from invoicing.api.routes import reports
from invoicing.logic import exports, ledger
from invoicing.logic.retry import time_budget
from invoicing.tracing import tracer

logger = Logger()
metrics = Metrics()
warnings.filterwarnings("ignore", "No application metrics to publish")

app = build_resolver(reports.router)
app.use([idempotency.middleware(idempotency_store)])  # a retried POST /exports makes one export


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        with time_budget(context.get_remaining_time_in_millis):
            return export_steps(event["Records"])
    if "detail-type" in event:
        with time_budget(context.get_remaining_time_in_millis):
            return on_bus_event(event)
    return guarded(app, event, context)


def on_bus_event(event: dict[str, Any]) -> dict[str, Any]:
    """An invoice's payments, credits or amounts changed: its payment entries
    follow. A failure fails the invocation, which Lambda retries (then the
    rule's dead-letter queue); an event taken twice writes nothing more."""
    logger.set_correlation_id(event.get("id"))
    detail = event["detail"]
    written = ledger.project(deps(), detail["tenant_id"], detail["invoice_id"])
    logger.info("payment entries projected", extra={"invoice": detail["invoice_id"], "written": written})
    metrics.add_metric(name="PaymentEntriesWritten", unit=MetricUnit.Count, value=written)
    return {"written": written}


def export_steps(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One step of an export a message (the queue's batch is one); a step
    that failed is reported, and comes back after the visibility timeout."""
    failed, done = [], {}
    for record in records:
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        try:
            outcome = exports.work(deps(), json.loads(record["body"]), receives)
        except Exception:
            logger.exception("export step failed", extra={"message_id": record["messageId"]})
            failed.append({"itemIdentifier": record["messageId"]})
            continue
        done[outcome] = done.get(outcome, 0) + 1
    metrics.add_metric(name="ExportSteps", unit=MetricUnit.Count, value=sum(done.values()))
    return {"batchItemFailures": failed, "done": done}


coldstart.done()
