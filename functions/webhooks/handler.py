"""The Stripe webhook (SPEC §8), its own function: the signature checked on
the raw body before anything is read, a repeated event answered at once,
the rest recorded from the signed object (invoicing.logic.stripe_events).
A 2xx tells Stripe the event is taken; a 500 makes it retry."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.api.http import build_resolver, guarded
from invoicing.api.routes import webhooks
from invoicing.tracing import tracer

logger = Logger()
metrics = Metrics()  # PaymentsRecorded and StripeEventsParked, from Stripe's events
warnings.filterwarnings("ignore", "No application metrics to publish")  # a call that counted nothing
app = build_resolver(webhooks.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return guarded(app, event, context)


coldstart.done()
