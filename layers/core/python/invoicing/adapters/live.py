"""The outside world of a running function: its store, bucket, bus,
messenger, work queue, secrets and Stripe — each made on first use, one per
Lambda container, and only in the functions that reach for it.

Tests and drills hand every function fakes of the same ports instead
(`install`): the handlers then run as deployed, on in-memory adapters."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from invoicing.logic.common import Deps
from invoicing.settings import reread, settings

if TYPE_CHECKING:
    from invoicing.api.idempotency import IdempotencyStore
    from invoicing.ports import Messenger, PaymentGateway, WorkQueue


@dataclass
class Installed:
    """Adapters that replace AWS's and Stripe's in this process."""

    deps: Deps
    messenger: Messenger
    idempotency: IdempotencyStore
    work: WorkQueue
    stripe_secrets: dict[str, str]
    gateway: PaymentGateway | None = None  # None: Stripe's API (or its local stand-in) still answers


_installed: Installed | None = None


def install(adapters: Installed | None) -> None:
    """Every function of this process uses `adapters` from now on (None:
    AWS's again)."""
    global _installed
    _installed = adapters


def installed() -> Installed | None:
    return _installed


def deps() -> Deps:
    """The store, the bucket, the bus and the payment-link key."""
    return _installed.deps if _installed is not None else _aws_deps()


@cache
def _aws_deps() -> Deps:
    from invoicing.adapters.dynamodb import DynamoStore
    from invoicing.adapters.s3 import S3Blobs
    from invoicing.adapters.secrets import pay_link_key

    link_key = pay_link_key if settings().pay_link_secret_name else None  # only who shows links
    renders = None
    if settings().render_queue_url:  # the functions that queue large PDFs
        from invoicing.adapters.queues import SqsQueue

        renders = SqsQueue("render_queue_url")
    deps = Deps(store=DynamoStore(), blobs=S3Blobs(), link_key=link_key, renders=renders, gateway=payment_gateway)
    if settings().export_queue_url:  # the reports function: exports, a step a message
        from invoicing.adapters.queues import SqsQueue

        deps.exports = SqsQueue("export_queue_url")
    if settings().webhook_queue_url:  # the hooks function: outgoing webhooks
        from invoicing.adapters.queues import SqsDeliveries
        from invoicing.adapters.webhook_http import HttpWebhooks

        deps.webhooks = HttpWebhooks(allow_loopback=settings().webhooks_allow_loopback)
        deps.deliveries = SqsDeliveries()
    return deps


def messenger() -> Messenger:
    """E-mail and SMS, for the functions that send them."""
    return _installed.messenger if _installed is not None else _aws_messenger()


@cache
def _aws_messenger() -> Messenger:
    from invoicing.adapters.messaging import AwsMessenger

    return AwsMessenger()


def idempotency_store() -> IdempotencyStore:
    if _installed is not None:
        return _installed.idempotency
    from invoicing.adapters.dynamodb import DynamoIdempotencyStore, DynamoStore

    store = deps().store
    assert isinstance(store, DynamoStore)
    return DynamoIdempotencyStore(store)


def work_queue() -> WorkQueue:
    """The sweeps' pages of work (SQS)."""
    return _installed.work if _installed is not None else _sqs_work()


@cache
def _sqs_work() -> WorkQueue:
    from invoicing.adapters.queues import SqsQueue

    return SqsQueue("sweep_queue_url", dead_letters="sweep_dead_letters_url")


def stripe_secrets() -> dict[str, str]:
    """Stripe's API key and webhook signing secret."""
    if _installed is not None:
        return _installed.stripe_secrets
    from invoicing.adapters.secrets import stripe_secrets as from_secrets_manager

    return from_secrets_manager()


def stripe_secret(name: str) -> str:
    """One of Stripe's secrets (secret_key, webhook_secret), or
    PaymentsNotConfigured (503) while it is not filled in."""
    value = stripe_secrets().get(name) or ""
    if not value.strip():
        from invoicing.adapters.secrets import not_configured

        raise not_configured(f"the Stripe secret's {name} is empty")
    return value


def payment_gateway() -> PaymentGateway:
    """Stripe: Checkout Sessions and off-session PaymentIntents. Its key is
    checked now, before a route writes anything (PaymentsNotConfigured),
    and read again at each call (a rolled key is taken up)."""
    stripe_secret("secret_key")
    if _installed is not None and _installed.gateway is not None:
        return _installed.gateway
    from invoicing.adapters.stripe_api import StripeApi

    return StripeApi(lambda: stripe_secret("secret_key"))


def forget() -> None:
    """Drop the AWS adapters made so far and read the environment again (a
    test's emulation is gone, or its settings changed)."""
    reread()
    _aws_deps.cache_clear()
    _aws_messenger.cache_clear()
    _sqs_work.cache_clear()
