"""The estimate's public page, `/quote/{token}` (public: the token is the
credential): the estimate as HTML, its PDF, and its client's Accept and
Decline (invoicing.logic.quotes)."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.api.http import build_resolver, guarded
from invoicing.api.routes import quote
from invoicing.tracing import tracer

logger = Logger()
app = build_resolver(quote.router, forms=True)  # Accept and Decline post forms


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return guarded(app, event, context)


coldstart.done()
