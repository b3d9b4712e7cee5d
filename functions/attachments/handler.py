"""The attachments function: files joined to a draft, uploaded straight to
S3 with a pre-signed POST and checked when confirmed."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.api import idempotency, routes
from invoicing.api.http import build_resolver, guarded

logger = Logger()
app = build_resolver(routes.attachment_routes)
app.use([idempotency.middleware(routes.idempotency_store)])  # a retried reservation takes no second place


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return guarded(app, event, context)
