"""The delivery function: sends the e-mails and SMS an "Invoice Sent" event
names (a target of the invoicing bus, `infra/wiring.py` EVENT_RULES)."""

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing.api import routes

logger = Logger()


@cache
def messenger() -> Any:
    from invoicing.store.messaging import AwsMessenger

    return AwsMessenger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return on_bus_event(event)


def on_bus_event(event: dict[str, Any]) -> dict[str, Any]:
    """Throttling or an unexpected error fails the invocation: Lambda retries
    it, then the event waits in the rule's dead-letter queue. Recipients are
    personal data: the log names the invoice and the counts only."""
    from invoicing.logic import delivery

    detail = event["detail"]
    outcome = delivery.deliver(routes.deps(), messenger(), detail)
    logger.info("delivered", extra={"invoice_id": detail["invoice_id"], **outcome})
    return outcome
