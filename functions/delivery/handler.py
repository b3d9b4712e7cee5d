"""The delivery function: sends the e-mails and SMS an "Invoice Sent" event
names and the receipts of "Payment Recorded" and "Invoice Paid", and tells
the business of "Estimate Accepted" and "Estimate Declined" (targets of the
invoicing bus, `infra/wiring.py` EVENT_RULES), and
answers the routes of the business's sender address, which talk to SES too."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.adapters.live import deps, idempotency_store, messenger
from invoicing.api import idempotency
from invoicing.api.http import build_resolver, guarded
from invoicing.api.routes import sender
from invoicing.logic.retry import time_budget
from invoicing.tracing import tracer

logger = Logger()
metrics = Metrics()  # DeliveriesSent, DeliveriesFailed, DeliveriesMisconfigured
warnings.filterwarnings("ignore", "No application metrics to publish")  # a call that counted nothing
app = build_resolver(sender.router)
app.use([idempotency.middleware(idempotency_store)])  # a retried request e-mails no second code


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "detail-type" in event:
        with time_budget(context.get_remaining_time_in_millis):
            return on_bus_event(event)
    return guarded(app, event, context)


def on_bus_event(event: dict[str, Any]) -> dict[str, Any]:
    """Throttling or an unexpected error fails the invocation: Lambda retries
    it, then the event waits in the rule's dead-letter queue. Recipients are
    personal data: the log names the invoice and the counts only."""
    logger.set_correlation_id(event.get("id"))  # the bus event's id: its retries share it
    from invoicing.logic import delivery

    detail = event["detail"]
    if event.get("source") == "aws.ses":  # a bounce or a complaint (the configuration set's events)
        from invoicing.logic import limits

        outcome = limits.record_feedback(deps(), detail)
        logger.info("SES feedback", extra={"detail_type": event["detail-type"], "outcome": outcome})
        return {"outcome": outcome}
    if event["detail-type"] in ("Payment Recorded", "Invoice Paid"):
        outcome = delivery.send_receipt(deps(), messenger(), detail, event["detail-type"])
    elif event["detail-type"] in ("Estimate Accepted", "Estimate Declined"):
        outcome = delivery.send_answer_notice(deps(), messenger(), detail)
    else:
        outcome = delivery.deliver(deps(), messenger(), detail)
    about = {key: detail[key] for key in ("invoice_id", "estimate_id") if key in detail}
    logger.info("delivered", extra={"detail_type": event["detail-type"], **about, **outcome})
    metrics.add_metric(name="DeliveriesSent", unit=MetricUnit.Count, value=outcome["sent"])
    metrics.add_metric(name="DeliveriesFailed", unit=MetricUnit.Count, value=outcome["failed"])
    # failed for the platform's set-up (sender unverified, SES sandbox): an operator must act (an alarm)
    metrics.add_metric(name="DeliveriesMisconfigured", unit=MetricUnit.Count, value=outcome.get("misconfigured", 0))
    return outcome


coldstart.done()
