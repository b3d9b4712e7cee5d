"""The adapters the API functions use, one per Lambda container, created
on first use: what each route hands its use case."""

import os
from functools import cache
from typing import Any

from invoicing.logic.common import Deps


@cache
def deps() -> Deps:
    """One store per Lambda container, created on first use."""
    from invoicing.store.dynamodb import DynamoStore
    from invoicing.store.eventbridge import EVENT_BUS_ENV, EventBridgeEvents
    from invoicing.store.s3 import S3Blobs
    from invoicing.store.secrets import PAY_LINK_SECRET_ENV, pay_link_key

    events = EventBridgeEvents() if os.environ.get(EVENT_BUS_ENV) else None  # only publishers have a bus
    link_key = pay_link_key if os.environ.get(PAY_LINK_SECRET_ENV) else None  # only who shows links
    return Deps(store=DynamoStore(), blobs=S3Blobs(), events=events, link_key=link_key)


@cache
def messenger() -> Any:
    """E-mail and SMS, for the functions that send them."""
    from invoicing.store.messaging import AwsMessenger

    return AwsMessenger()


def idempotency_store() -> Any:
    from invoicing.store.dynamodb import DynamoIdempotencyStore, DynamoStore

    store = deps().store
    assert isinstance(store, DynamoStore)
    return DynamoIdempotencyStore(store)
