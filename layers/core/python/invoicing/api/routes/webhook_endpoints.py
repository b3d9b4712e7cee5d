"""Outgoing webhooks' endpoints (the hooks function, SPEC §13): where the
tenant's events go, their secrets, their deliveries."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from invoicing.adapters.live import deps, messenger
from invoicing.api.http import json_response, responses, tenant_of
from invoicing.api.routes.common import Cursor, Limit, created, no_content
from invoicing.logic import webhook_delivery, webhooks
from invoicing.models.webhooks import WebhookEndpointIn, WebhookEndpointPatch

router = Router()

TAG = ["Webhook endpoints"]
EndpointId = Annotated[str, Path(alias="endpoint_id", max_length=64)]
DeliveryId = Annotated[str, Path(alias="delivery_id", max_length=128)]


@router.post(
    "/webhook-endpoints",
    operation_id="createWebhookEndpoint",
    tags=TAG,
    summary="Send events to a URL (https, a public address): its signing secret is in this response only",
    responses=responses(201, "The endpoint, with its secret", "WebhookEndpointWithSecret"),
)
def create_endpoint(body: Annotated[WebhookEndpointIn, Body()]):
    doc = webhooks.create(deps(), tenant_of(router), body)
    return created(router, doc, f"/webhook-endpoints/{doc['id']}")


@router.get(
    "/webhook-endpoints",
    operation_id="listWebhookEndpoints",
    tags=TAG,
    summary="List the webhook endpoints (ten at most), oldest first",
    responses=responses(200, "The endpoints", "WebhookEndpointList"),
)
def list_endpoints():
    return json_response(200, {"items": webhooks.list_endpoints(deps(), tenant_of(router)), "next_cursor": None})


@router.get(
    "/webhook-endpoints/<endpoint_id>",
    operation_id="getWebhookEndpoint",
    tags=TAG,
    summary="Get a webhook endpoint (never its secret)",
    responses=responses(200, "The endpoint", "WebhookEndpoint", 404),
)
def get_endpoint(endpoint_id: EndpointId):
    return json_response(200, webhooks.get(deps(), tenant_of(router), endpoint_id))


@router.patch(
    "/webhook-endpoints/<endpoint_id>",
    operation_id="updateWebhookEndpoint",
    tags=TAG,
    summary="Change its URL, events or description; enable it again after it was disabled",
    responses=responses(200, "The endpoint", "WebhookEndpoint", 404),
)
def update_endpoint(endpoint_id: EndpointId, body: Annotated[WebhookEndpointPatch, Body()]):
    return json_response(200, webhooks.update(deps(), tenant_of(router), endpoint_id, body))


@router.delete(
    "/webhook-endpoints/<endpoint_id>",
    operation_id="deleteWebhookEndpoint",
    tags=TAG,
    summary="Delete a webhook endpoint: nothing more is sent to it",
    responses=responses(204, "Deleted", None, 404),
)
def delete_endpoint(endpoint_id: EndpointId):
    webhooks.delete(deps(), tenant_of(router), endpoint_id)
    return no_content()


@router.post(
    "/webhook-endpoints/<endpoint_id>/rotate-secret",
    operation_id="rotateWebhookSecret",
    tags=TAG,
    summary="A new signing secret (in this response only); the old one also signs for 24 hours",
    responses=responses(200, "The endpoint, with its new secret", "WebhookEndpointWithSecret", 404),
)
def rotate_secret(endpoint_id: EndpointId):
    return json_response(200, webhooks.rotate_secret(deps(), tenant_of(router), endpoint_id))


@router.post(
    "/webhook-endpoints/<endpoint_id>/test",
    operation_id="testWebhookEndpoint",
    tags=TAG,
    summary="Send it a `ping` event now: the delivery, with the status code it got",
    responses=responses(200, "The ping's delivery", "WebhookDelivery", 404),
)
def test_endpoint(endpoint_id: EndpointId):
    return json_response(200, webhook_delivery.ping(deps(), tenant_of(router), endpoint_id))


@router.get(
    "/webhook-endpoints/<endpoint_id>/deliveries",
    operation_id="listWebhookDeliveries",
    tags=TAG,
    summary="The events sent to it, newest first: attempts, last status code, next attempt",
    responses=responses(200, "A page of deliveries", "WebhookDeliveryPage", 404),
)
def list_deliveries(endpoint_id: EndpointId, limit: Limit = 50, cursor: Cursor = None):
    page = webhook_delivery.deliveries(deps(), tenant_of(router), endpoint_id, limit, cursor)
    return json_response(200, page)


@router.post(
    "/webhook-endpoints/<endpoint_id>/deliveries/<delivery_id>/retry",
    operation_id="retryWebhookDelivery",
    tags=TAG,
    summary="Send a delivery again now (one given up too): the delivery, with the status code it got",
    responses=responses(200, "The delivery", "WebhookDelivery", 404),
)
def retry_delivery(endpoint_id: EndpointId, delivery_id: DeliveryId):
    doc = webhook_delivery.retry(deps(), tenant_of(router), endpoint_id, delivery_id, messenger())
    return json_response(200, doc)
