"""The scheduled sweeps (SPEC §9, §11, §12, §13): late fees, reminders,
invoices newly overdue (`overdue_at`, the webhooks' invoice.overdue),
estimates' expiry, recurring invoices.

Two kinds of events reach it. A scheduled rule's (`{"sweep", "time"}`,
infra/wiring.py SCHEDULES): the event's time is the clock, and the sweep
fans out one message per shard of its index. Then its queue's messages,
each a page of one shard: Powertools' batch processing reports the pages
that failed one by one, so SQS retries those only (and after
`max_receives`, keeps them in the dead-letter queue)."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

import json
import warnings
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.adapters.live import deps, work_queue
from invoicing.logic.common import BUSINESS_TIMEZONE
from invoicing.logic.retry import time_budget
from invoicing.tracing import tracer

logger = Logger()
metrics = Metrics()  # one of DONE's per page, and SweepFailures
warnings.filterwarnings("ignore", "No application metrics to publish")  # a call that counted nothing
processor = BatchProcessor(event_type=EventType.SQS)
pages: list[dict[str, int]] = []
DONE = {"late_fees": "LateFeesApplied", "reminders": "RemindersQueued", "expiry": "EstimatesExpired",
        "recurring": "RecurringInvoicesIssued", "overdue": "InvoicesMarkedOverdue"}  # fmt: skip


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        pages.clear()
        response = process_partial_response(event=event, record_handler=work, processor=processor, context=context)
        # what the pages did, beside the failures SQS reads (the local runtime's tick sums it)
        totals = {key: sum(page[key] for page in pages) for key in ("candidates", "done", "failed", "deferred")}
        return {**response, "done": totals}
    return start(event)


def start(event: dict[str, Any]) -> dict[str, Any]:
    """The rule fired: the day, in France, of the event's time."""
    logger.set_correlation_id(event.get("id"))
    from invoicing.logic import sweeps

    fired = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).astimezone(UTC)
    today = fired.astimezone(BUSINESS_TIMEZONE).date()
    shards = sweeps.fan_out(work_queue(), event["sweep"], today)
    logger.info("sweep started", extra={"sweep": event["sweep"], "today": today.isoformat(), "shards": shards})
    return {"sweep": event["sweep"], "today": today.isoformat(), "shards": shards}


def work(record: SQSRecord, lambda_context: LambdaContext) -> dict[str, int]:
    from invoicing.logic import sweeps

    logger.set_correlation_id(record.message_id)
    message = json.loads(record.body)
    with time_budget(lambda_context.get_remaining_time_in_millis):
        done = sweeps.work_page(deps(), work_queue(), message, lambda_context.get_remaining_time_in_millis)
    pages.append(done)
    logger.info("sweep page", extra={"sweep": message["sweep"], "shard": message["shard"], **done})
    metrics.add_metric(name=DONE[message["sweep"]], unit=MetricUnit.Count, value=done["done"])
    metrics.add_metric(name="SweepFailures", unit=MetricUnit.Count, value=done["failed"])
    return done


coldstart.done()
