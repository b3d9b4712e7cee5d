"""Stripe's webhook (its own function, public: the signature is the authentication)."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from invoicing.adapters.live import deps
from invoicing.api.http import ERRORS, json_response, logger, responses

router = Router()


@router.post(
    "/webhooks/stripe",
    operation_id="receiveStripeEvent",
    tags=["Webhooks"],
    summary="Stripe's events, signed (Stripe-Signature over the raw body, 300 s tolerance)",
    responses={
        **responses(
            200,
            "Taken (recorded, already processed, not about an invoice of ours, or parked: kept with why it "
            "could not be applied, for an operator to replay)",
            "WebhookReceipt",
            413,
            422,
        ),
        400: {**ERRORS[400], "description": "The signature does not verify (or there is none): nothing recorded"},
    },
)
def stripe_webhook():
    import time

    from invoicing.adapters.live import payment_gateway, stripe_secret
    from invoicing.logic import stripe_events

    request = router.current_event
    payload = (request.decoded_body or "").encode()  # the bytes Stripe signed (API Gateway may have encoded them)
    signature = request.headers.get("Stripe-Signature") or request.headers.get("stripe-signature")
    secret = stripe_secret("webhook_secret")  # 503 payments_not_configured until it is filled in: Stripe retries
    # Stripe's API is asked only for what an event does not say (a saved card's details)
    outcome, event = stripe_events.receive(deps(), payload, signature, secret, time.time(), payment_gateway)
    if outcome == "recorded":  # a new payment (not an update of one, nor a refund)
        Metrics().add_metric(name="PaymentsRecorded", unit=MetricUnit.Count, value=1)
    # signed, yet not applicable: kept for an operator to replay (its alarm). Found parked already, it
    # was parked by a delivery that failed before it was done, which may not have counted it: counted
    # again (a false alarm at worst, never a silent park)
    if outcome.startswith(("parked", "already parked")):
        Metrics().add_metric(name=stripe_events.PARKED_METRIC, unit=MetricUnit.Count, value=1)
    logger.info("stripe event", extra={"event_id": event.get("id"), "type": event.get("type"), "outcome": outcome})
    return json_response(200, {"received": True, "outcome": outcome})
