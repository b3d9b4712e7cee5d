"""EventBridge Pipes' enrichment (SPEC §16): the pipe reads the table's
change stream, hands this function each batch of records its filter let
through (invoices, deliveries), and puts on the bus what it answers: the
events each committed change holds (invoicing.events), as
{"detail_type", "detail"}: its own events first, then the facts its
tenant's webhook endpoints hear (a "Webhook Event" each). Pure reading: no
AWS call, no clock. A batch that fails is retried by the pipe; a record
read twice gives the same events, ids included, which their consumers take
twice without doing anything twice."""

import gc

gc.disable()  # while the modules load: invoicing.coldstart.done() at the end

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from invoicing import coldstart
from invoicing.adapters.dynamodb import change_of
from invoicing.events import events_of, webhook_events_of
from invoicing.tracing import tracer

logger = Logger()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: list[dict[str, Any]], context: LambdaContext) -> list[dict[str, Any]]:
    # the first record's id: a retried batch logs under the same one
    logger.set_correlation_id(event[0].get("eventID") if event else context.aws_request_id)
    found = []
    for record in event:
        change = change_of(record)
        if change is None:
            continue
        for detail_type, detail in (*events_of(change), *webhook_events_of(change)):
            found.append({"detail_type": detail_type, "detail": detail})
    logger.info("changes read", extra={"records": len(event), "events": len(found)})
    return found


coldstart.done()
