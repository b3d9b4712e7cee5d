"""In-memory fakes of every port the functions reach outside themselves —
bucket, bus, messenger, work queue, idempotency records — and `fakes()`,
which installs them with the in-memory store for every handler of the
process (invoicing.adapters.live).

Each fake keeps what it was given, for the tests to read, and does what the
AWS adapter's contract says (conditional puts, versions, missing objects);
each call is atomic, as a linearizable AWS is, so the concurrency tests test
the code."""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email.utils import parseaddr
from typing import Any
from urllib.parse import quote, urlencode

from invoicing.adapters.live import Installed, payment_gateway
from invoicing.adapters.s3 import content_disposition
from invoicing.adapters.webhook_http import HttpWebhooks
from invoicing.events import SOURCE, events_of, webhook_events_of
from invoicing.logic.common import Deps
from invoicing.ports import BlobStat, MissingBlob, Record, SendRejected
from tests.fakes.store import InMemoryStore

PAY_LINK_KEY = b"a local key for payment links, 32+ characters long"
STRIPE_SECRETS = {"secret_key": "sk_test_local", "webhook_secret": "whsec_local_dev"}  # as the local stack's


def linearizable(target: Any, lock: threading.RLock) -> Any:
    """`target`, each of its public methods called under `lock`."""

    class Locked:
        def __getattr__(self, name: str) -> Any:
            value = getattr(target, name)
            if name.startswith("_") or not callable(value):
                return value

            def locked(*args: Any, **kwargs: Any) -> Any:
                with lock:
                    return value(*args, **kwargs)

            return locked

    return Locked()


@dataclass
class Blob:
    data: bytes
    content_type: str
    version: str
    retain_until: date | None = None  # S3 Object Lock: neither deleted nor overwritten before


class InMemoryBlobs:
    """The bucket (versioned, as the stack's is)."""

    URL = "https://documents.blobs.test"

    def __init__(self) -> None:
        self.objects: dict[str, Blob] = {}
        self.versions: dict[str, list[Blob]] = {}

    def exists(self, key: str) -> bool:
        return key in self.objects

    def put(
        self, key: str, data: bytes, content_type: str, *, if_absent: bool = False, retain_until: date | None = None
    ) -> bool:
        if if_absent and key in self.objects:
            return False
        blob = Blob(bytes(data), content_type, uuid.uuid4().hex, retain_until)
        self.objects[key] = blob
        self.versions.setdefault(key, []).append(blob)
        return True

    def stat(self, key: str) -> BlobStat | None:
        blob = self.objects.get(key)
        return BlobStat(len(blob.data), blob.version) if blob else None

    def read(self, key: str) -> bytes:
        return self._blob(key).data

    def head_bytes(self, key: str, count: int, version: str | None = None) -> bytes:
        return self._blob(key, version).data[:count]

    def copy(self, source: str, target: str, content_type: str, version: str | None = None) -> None:
        self.put(target, self._blob(source, version).data, content_type)

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self.objects if key.startswith(prefix))

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def upload_form(self, key: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
        return {"url": f"{self.URL}/", "fields": {"key": key, "Content-Type": content_type, "policy": "fake"}}

    def download_url(
        self, key: str, filename: str, expires_s: int, content_type: str = "application/pdf", inline: bool = True
    ) -> str:
        query = {
            "response-content-disposition": content_disposition("inline" if inline else "attachment", filename),
            "response-content-type": content_type,
            "X-Amz-Expires": str(expires_s),
        }
        return f"{self.URL}/{quote(key)}?{urlencode(query)}"

    def _blob(self, key: str, version: str | None = None) -> Blob:
        if version is not None:
            found = next((blob for blob in self.versions.get(key, []) if blob.version == version), None)
            if found is None:
                raise MissingBlob(key)
            return found
        if key not in self.objects:
            raise MissingBlob(key)
        return self.objects[key]


_event_ids = itertools.count(1)


def bus_event(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """An event as EventBridge hands it to a rule's target."""
    return {
        "version": "0", "id": f"evt-{next(_event_ids)}", "source": SOURCE, "detail-type": detail_type,
        "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "eu-west-3", "resources": [],
        "detail": json.loads(json.dumps(detail)),
    }  # fmt: skip


class FakePipe:
    """The table's change stream to the bus, as the stack's pipe runs it:
    the changes the in-memory store kept, read into the events they hold
    (invoicing.events), each as the bus hands it to a rule's target."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def take(self) -> list[dict[str, Any]]:
        """The events of the changes committed since the last take: each
        change's own, then its webhook events, as the enrichment answers them."""
        return [
            bus_event(*found)
            for change in self.store.take_changes()
            for found in (*events_of(change), *webhook_events_of(change))
        ]


@dataclass
class Email:
    sender: str
    recipient: str
    mime: bytes
    message_id: str
    tenant: str | None = None  # the tag SES's bounce and complaint events would carry


@dataclass
class Sms:
    phone: str
    text: str
    message_id: str


class FakeMessenger:
    """E-mail and SMS: kept, never sent. The platform's domain is verified,
    as the operator does in SES; `verify` plays the owner clicking SES's link."""

    def __init__(self, verified: tuple[str, ...] = ("invoicing.local",)) -> None:
        self.emails: list[Email] = []
        self.sms: list[Sms] = []
        self.registered: list[str] = []
        self.verified = set(verified)
        self.fail_next: Exception | None = None
        self.click_links = True

    def send_email(self, sender: str, recipient: str, mime: bytes, *, tenant: str | None = None) -> str:
        """Refused, as SES refuses it, from an address neither verified nor of a verified domain."""
        self._maybe_fail()
        address = parseaddr(sender)[1]
        if not self.sender_verified(address):
            raise SendRejected(f"MessageRejected: Email address is not verified: {address}", misconfigured=True)
        message_id = f"ses-{uuid.uuid4().hex}"
        self.emails.append(Email(sender, recipient, mime, message_id, tenant))
        return message_id

    def send_sms(self, phone: str, text: str) -> str:
        self._maybe_fail()
        message_id = f"sns-{uuid.uuid4().hex}"
        self.sms.append(Sms(phone, text, message_id))
        return message_id

    def register_sender(self, address: str) -> None:
        """The owner clicks SES's link at once (as moto has it), unless `click_links` is off."""
        self.registered.append(address)
        if self.click_links:
            self.verified.add(address)

    def sender_verified(self, address: str) -> bool:
        return address in self.verified or address.rpartition("@")[2] in self.verified

    def verify(self, address: str) -> None:
        self.verified.add(address)

    def _maybe_fail(self) -> None:
        failure, self.fail_next = self.fail_next, None
        if failure is not None:
            raise failure


class FakeQueue:
    """A queue: what was sent, in order, as JSON would carry it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.messages.append(json.loads(json.dumps(message)))

    def receive(self) -> dict[str, Any] | None:
        return self.messages.pop(0) if self.messages else None


class FakeDeliveries:
    """The webhook deliveries' queue: each message with an id and a receipt,
    as SQS hands them; a message postponed stays, hidden until `hidden_until`
    (in seconds of the test's own clock: the tests move it)."""

    def __init__(self) -> None:
        self.messages: dict[str, dict[str, Any]] = {}  # receipt → {"id", "body", "hidden_s"}
        self._ids = itertools.count(1)

    def send_all(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            number = next(self._ids)
            self.messages[f"r-{number}"] = {"id": f"m-{number}", "body": json.dumps(message), "hidden_s": 0}

    def postpone(self, receipt: str, seconds: int) -> None:
        assert 0 <= seconds <= 12 * 3600, seconds  # SQS's limits
        self.messages[receipt]["hidden_s"] = seconds

    def records(self) -> list[dict[str, Any]]:
        """Every message, as the event source hands it to the function."""
        return [{"messageId": held["id"], "receiptHandle": receipt, "body": held["body"],
                 "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                 "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:invoicing-webhook-deliveries",
                 "awsRegion": "eu-west-3"} for receipt, held in self.messages.items()]  # fmt: skip

    def delete(self, receipt: str) -> None:
        self.messages.pop(receipt, None)


class FakeWork(FakeQueue):
    """The sweeps' queue and its dead-letter queue."""

    def __init__(self) -> None:
        super().__init__()
        self.dead_letters: list[dict[str, Any]] = []

    def poison(self, message: dict[str, Any]) -> None:
        self.dead_letters.append(json.loads(json.dumps(message)))


class InMemoryIdempotency:
    """Idempotency records, with the DynamoDB adapter's conditions: a key is
    free, expired, or abandoned (no response, lease over) to be claimed."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    def claim(self, tenant: str, key: str, fingerprint: str, now: int, lease_s: int, retention_s: int) -> Record | None:
        held = self.records.get((tenant, key))
        free = held is None or held["expires_at"] < now or (held["response"] is None and held["lease_until"] < now)
        if free:
            self.records[(tenant, key)] = {
                "fingerprint": fingerprint, "lease_until": now + lease_s, "expires_at": now + retention_s,
                "response": None,
            }  # fmt: skip
            return None
        assert held is not None
        return Record(held["fingerprint"], held["response"])

    def complete(self, tenant: str, key: str, response: dict[str, Any]) -> None:
        if (tenant, key) in self.records:
            self.records[(tenant, key)]["response"] = json.loads(json.dumps(response))

    def release(self, tenant: str, key: str) -> None:
        self.records.pop((tenant, key), None)


@dataclass
class Fakes:
    """The in-memory outside world, and the handles tests read it through."""

    store: InMemoryStore = field(default_factory=InMemoryStore)
    blobs: InMemoryBlobs = field(default_factory=InMemoryBlobs)
    messenger: FakeMessenger = field(default_factory=FakeMessenger)
    work: FakeWork = field(default_factory=FakeWork)
    renders: FakeQueue = field(default_factory=FakeQueue)
    exports: FakeQueue = field(default_factory=FakeQueue)
    idempotency: InMemoryIdempotency = field(default_factory=InMemoryIdempotency)
    deliveries: FakeDeliveries = field(default_factory=FakeDeliveries)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def pipe(self) -> FakePipe:
        return FakePipe(linearizable(self.store, self.lock))

    def installed(self, now: Callable[[], Any] | None = None) -> Installed:
        """Every port under one lock: one call at a time, as a linearizable AWS answers."""
        lock = self.lock
        deps = Deps(
            store=linearizable(self.store, lock),
            blobs=linearizable(self.blobs, lock),
            link_key=lambda: PAY_LINK_KEY,
            renders=linearizable(self.renders, lock),
            gateway=payment_gateway,  # the stand-in, as the tests point Stripe's API at it
            # webhooks over real HTTP, to the tests' receivers on loopback
            webhooks=HttpWebhooks(allow_loopback=True),
            deliveries=linearizable(self.deliveries, lock),
            exports=linearizable(self.exports, lock),
        )
        if now is not None:
            deps.now = now
        return Installed(
            deps=deps,
            messenger=linearizable(self.messenger, lock),
            idempotency=linearizable(self.idempotency, lock),
            work=linearizable(self.work, lock),
            stripe_secrets=dict(STRIPE_SECRETS),
        )
