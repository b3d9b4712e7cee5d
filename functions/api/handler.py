"""The API function: business profile, customers (and the payment methods
they saved), products and invoices, plus the public OpenAPI document.
Thin: parse → use case → respond."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

import warnings
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.adapters.live import idempotency_store
from invoicing.api import idempotency
from invoicing.api.http import build_resolver, guarded
from invoicing.api.routes import catalog, invoices, payment_methods
from invoicing.tracing import tracer

logger = Logger()
metrics = Metrics()
warnings.filterwarnings("ignore", "No application metrics to publish")

app = build_resolver(
    catalog.business, catalog.customers, payment_methods.router, catalog.products, catalog.templates, invoices.router
)
app.use([idempotency.middleware(idempotency_store)])


@app.get("/openapi.json", include_in_schema=False)
def openapi():
    return Response(200, "application/json", document())


@cache
def document() -> str:
    """The document as committed (a test holds it to the code): no route
    loaded to serve it."""
    from invoicing.api.openapi import committed

    return committed()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return guarded(app, event, context)


coldstart.done()
