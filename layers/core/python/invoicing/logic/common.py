"""What every use case gets: the store, the clock and the id generator —
passed in, so tests choose them."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from invoicing.domain.errors import FieldError, InvalidInput
from invoicing.domain.lifecycle import BUSINESS_TIMEZONE  # noqa: F401  (the use cases and handlers read it here)
from invoicing.ports import BlobStore, DeliveryQueue, Doc, PageOf, PaymentGateway, Queue, Store, WebhookSender

logger = logging.getLogger(__name__)

PLATFORM = "platform"  # the table's partition of what belongs to no tenant (a reserved tenant name)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    """`{prefix}_` + 26 characters: 48 bits of milliseconds then 80 random
    bits, Crockford base32 — sortable by creation time, unguessable."""
    return f"{prefix}_{_base32((int(time.time() * 1000) << 80) | secrets.randbits(80))}"


def keyed_id(prefix: str, *parts: str) -> str:
    """`{prefix}_` + 26 characters that only these parts give: the id of
    what a request with an Idempotency-Key writes, the same at every retry."""
    digest = hashlib.sha256("\n".join(parts).encode()).digest()
    return f"{prefix}_{_base32(int.from_bytes(digest[:17]) >> 6)}"


def _base32(value: int) -> str:
    """The low 130 bits of `value`, as 26 Crockford base32 characters."""
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    store: Store
    blobs: BlobStore | None = None  # only the documents function has a bucket
    now: Callable[[], datetime] = _utc_now
    new_id: Callable[[str], str] = new_id
    # The platform's key for payment links (adapters.secrets.pay_link_key), in
    # the functions that show or issue invoices: logic.paylinks.
    link_key: Callable[[], bytes] | None = None
    # PDFs too large to render while a request waits (logic.documents): the
    # documents and pay functions queue them, the documents function renders them.
    renders: Queue | None = None
    # Stripe, in the functions that charge a saved payment method on their own
    # (the recurring sweep): adapters.live.payment_gateway.
    gateway: Callable[[], PaymentGateway] | None = None
    # Outgoing webhooks (the hooks function): their HTTP client and the deliveries' queue.
    webhooks: WebhookSender | None = None
    deliveries: DeliveryQueue | None = None
    # Exports' steps (the reports function: SPEC §14), each a message.
    exports: Queue | None = None

    def today(self) -> date:
        """The date in France, where the businesses are."""
        return self.now().astimezone(BUSINESS_TIMEZONE).date()

    def timestamp(self) -> str:
        return self.now().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_delivery(
    id: str, invoice_id: str, invoice_version: int, channel: str, recipient: str, now: str, **about: Any
) -> dict[str, Any]:
    """A delivery waiting to be sent: one message to one recipient on one
    channel; `about` says what it carries when it is not the invoice itself
    (kind: receipt, reminder, credit_note, and theirs)."""
    return {
        "id": id,
        **about,
        "invoice_id": invoice_id,
        "invoice_version": invoice_version,
        "channel": channel,
        "recipient": recipient,
        "status": "pending",
        "attempts": 0,
        "provider_message_id": None,
        "error": None,
        "requested_at": now,
        "sent_at": None,
        "updated_at": now,
        "version": 1,
    }


def validated(model: Any, data: dict[str, Any]) -> Any:
    """`data`, built by a use case (a merge, a template's), through the wire
    model: what it cannot take is a 422 naming the field, as a request's is."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput([
            FieldError(".".join(str(part) for part in problem["loc"]) or "body",
                       str(problem["msg"]).removeprefix("Value error, "))
            for problem in error.errors()
        ]) from None  # fmt: skip


def jsonable(value: Any) -> Any:
    """Plain JSON values: Decimals as plain strings (never 1E+3), dates ISO."""
    if isinstance(value, Decimal):
        return f"{value + 0:f}"  # + 0 turns -0 into 0
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def every_page(read: Callable[[str | None], PageOf], cursor: str | None = None) -> Iterator[Doc]:
    """Every item of a paged read, a page at a time: `read(cursor)` from
    `cursor` (the start: None) until a page says there is no more."""
    while True:
        page = read(cursor)
        yield from page.items
        if page.cursor is None:
            return
        cursor = page.cursor
