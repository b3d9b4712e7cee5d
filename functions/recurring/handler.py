"""The recurring function: recurring invoices and their schedules (SPEC §12);
their invoices are issued by the sweeps function. Apart from the API
function, whose every cold start would otherwise load them. Thin: parse →
use case → respond."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.adapters.live import idempotency_store
from invoicing.api import idempotency
from invoicing.api.http import build_resolver, guarded
from invoicing.api.routes import recurring
from invoicing.tracing import tracer

logger = Logger()
metrics = Metrics()
warnings.filterwarnings("ignore", "No application metrics to publish")

app = build_resolver(recurring.router)
app.use([idempotency.middleware(idempotency_store)])  # a retried POST creates one


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return guarded(app, event, context)


coldstart.done()
