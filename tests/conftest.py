"""Fixtures shared by every test level.

- `api`: the deployed handlers called in-process on the exact events the
  gateway builds, against moto in-process (integration tests).
- `runtime` / `http`: the local runtime — non-threaded moto server, Lambda
  worker processes, threaded gateway — and an HTTP client (end-to-end tests).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests import piped
from tests.piped import internal, not_hooks, published_events  # noqa: F401  (the tests import them from here)

# Handlers find AWS through the environment only; nothing here can reach AWS.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="eu-west-3",
    TABLE_NAME="invoicing-local",
    DOCUMENTS_BUCKET="invoicing-local-documents",
    DEFAULT_SENDER="factures@invoicing.local",
    STRIPE_SECRET_NAME="invoicing/stripe",
    PAY_LINK_SECRET_NAME="invoicing/pay-links",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="Invoicing",
    POWERTOOLS_SERVICE_NAME="invoicing",
    PUBLIC_BASE_URL="http://127.0.0.1:3000",
    LOG_LEVEL="WARNING",
)
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Coverage measures the package where it runs in the tests' own
    process: the unit and integration tests. An end-to-end test's handlers
    run in the runtime's processes and the infra tests synthesize the stack,
    so tracing their process measures nothing of the package and costs a
    third of its time (the CDK's jsii calls are Python); it is paused for
    them, setup and teardown included, as pytest-cov's `no_cover` pauses a
    test's call alone (the controller the `cov` fixture reads)."""
    controller = None
    if item.get_closest_marker("e2e") or item.get_closest_marker("infra"):
        plugin = item.config.pluginmanager.getplugin("_cov")
        controller = getattr(plugin, "cov_controller", None)
    if controller is None or not controller.started:
        yield
        return
    controller.pause()
    try:
        yield
    finally:
        controller.resume()


def _routing_context_per_thread() -> None:
    """Lambda hands an execution environment one request at a time; the
    in-process tests send several threads through one handler module at
    once (double clicks, concurrent charges). Powertools keeps the route
    being resolved in the resolver's `context`, which a request clears when
    it ends: one thread's end would clear another's route (KeyError
    '_route', a 500 seen once in 1,412). Here, each thread has its own."""
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

    local = threading.local()

    def get(resolver: Any) -> dict[str, Any]:
        contexts = local.__dict__.setdefault("contexts", {})
        return contexts.setdefault(id(resolver), {})  # type: ignore[no-any-return]

    def set_(resolver: Any, value: dict[str, Any]) -> None:
        local.__dict__.setdefault("contexts", {})[id(resolver)] = value

    ApiGatewayResolver.context = property(get, set_)  # type: ignore[assignment,method-assign]


_routing_context_per_thread()
# The tests' webhook receivers listen on loopback (SPEC §13: the local runtime alone may call it).
os.environ["LOCAL_WEBHOOKS_ALLOW_LOOPBACK"] = "1"
# The PDFs use the font the Lambda layer ships (`make build`), not the system's.
_LAYER_FONTS = os.path.join(os.path.dirname(__file__), "..", "build", "layers", "pdf", "fonts")
if os.path.isfile(os.path.join(_LAYER_FONTS, "DejaVuSans.ttf")):
    os.environ["FONTS_DIR"] = os.path.abspath(_LAYER_FONTS)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error_fields(self) -> list[str]:
        return [item["field"] for item in self.body.get("error", {}).get("fields", [])]


def patiently(call: Any, tries: int = 20, retry_on: tuple[int, ...] = (429, 503)) -> Reply:
    """`call()` again, as a real client would, while the platform answers
    that it is busy (503, 429): after the Retry-After it says, with some
    jitter. A 503 means nothing was written, so the same request is safe.
    A test whose 429 is an answer (a code rationed) retries 503 only."""
    import random
    import time

    for _ in range(tries):
        reply: Reply = call()
        if reply.status not in retry_on:
            return reply
        if reply.status == 503:
            assert reply.body["error"]["code"] == "busy", reply.body
            assert reply.headers.get("Retry-After"), "a 503 says when to retry"
        time.sleep(float(reply.headers.get("Retry-After") or 1) * random.uniform(0.5, 1.5))
    return reply


class Verbs:
    """get/post/put/patch/delete over a `call(method, path, body, **kw)`."""

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Reply:
        raise NotImplementedError

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.call("DELETE", path, **kw)


class InProcessApi(Verbs):
    """Calls the handlers the way the gateway does, without HTTP: on the
    in-memory fakes of every port (`fakes`), or on moto (tests marked
    `on_aws`, which hold the AWS adapters to what the handlers expect)."""

    def __init__(self, fakes: Any = None) -> None:
        from infra.local.lambdas import Context

        self._context = Context
        self.fakes = fakes

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        tenant: str | None = "acme",
        headers: dict[str, str] | None = None,
        raw: str | None = None,
        base64_body: bool = False,
    ) -> Reply:
        """`raw` is the body as sent; `base64_body` hands it to the handler
        base64-encoded, as API Gateway does for binary media types."""
        import base64
        import importlib

        from infra import wiring
        from infra.local.gateway import build_event, find_route

        found = find_route(method, path.split("?")[0])
        assert found is not None, f"no route for {method} {path}"
        route, params = found
        data = raw.encode() if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        header_list = [("Content-Type", "application/json"), *(headers or {}).items()]
        claims = {"sub": "user-1", "custom:tenant_id": tenant} if tenant and not route.public else None
        event = build_event(route, params, method, path, header_list, data, claims, "localhost", "127.0.0.1")
        if base64_body:
            event = {**event, "body": base64.b64encode(data).decode(), "isBase64Encoded": True}
        fn = wiring.function(route.function)
        handler = importlib.import_module(fn.module).lambda_handler
        response = handler(event, self._context(fn, "test-request"))
        return self._reply(response)

    def deliver_events(self, first: list[dict[str, Any]] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Hand the events of what was committed since the last look (the
        table's stream, read as the pipe reads it; `first`, when a test
        read them already) to the functions of the rules they match, as
        EventBridge would, until the changes those make hold no more:
        (function, the handler's result) for each."""
        from infra import wiring

        delivered = []
        published = first if first is not None else published_events()
        while published:
            for event in published:
                for rule in wiring.rules_for(event["detail-type"], event["source"]):
                    delivered.append((rule.function, self.invoke_function(rule.function, event)))
            published = published_events()
        return delivered

    def invoke_function(self, name: str, event: dict[str, Any]) -> Any:
        import importlib

        from infra import wiring

        fn = wiring.function(name)
        return importlib.import_module(fn.module).lambda_handler(event, self._context(fn, "test-event"))

    def run_sweep(self, sweep: str, day: str, hour: str = "05:00") -> dict[str, int]:
        """Fire a sweep's scheduled rule as of `day`, then hand its queue's
        messages to the function, as SQS would, until the queue is empty.
        What its pages did, summed."""

        started = self.invoke_function("sweeps", {"sweep": sweep, "time": f"{day}T{hour}:00Z"})
        assert started["shards"] == 8
        done = {"candidates": 0, "done": 0, "failed": 0, "deferred": 0, "pages": 0}
        for number, body in enumerate(self._sweep_pages(), 1):
            record = {"messageId": f"page-{number}", "receiptHandle": f"page-{number}", "body": body,
                      "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                      "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:q", "awsRegion": "eu-west-3"}  # fmt: skip
            response = self.invoke_function("sweeps", {"Records": [record]})
            assert response["batchItemFailures"] == [], response
            for key, value in response["done"].items():
                done[key] += value
            done["pages"] += 1
        return done

    def run_exports(self) -> list[dict[str, Any]]:
        """Hand the exports' queue's messages to the reports function, one at
        a time, as SQS would, until the queue is empty: each step's result."""
        import boto3

        from infra import wiring

        results = []
        for number in itertools.count(1):
            if self.fakes is not None:
                message = self.fakes.exports.receive()
                body = json.dumps(message) if message is not None else None
            else:
                sqs, url = boto3.client("sqs"), os.environ[wiring.EXPORT_QUEUE_ENV]
                received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
                body = received[0]["Body"] if received else None
                if received:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
            if body is None:
                return results
            record = {"messageId": f"step-{number}", "receiptHandle": f"step-{number}", "body": body,
                      "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs"}  # fmt: skip
            results.append(self.invoke_function("reports", {"Records": [record]}))
        return results

    def _sweep_pages(self) -> Iterator[str]:
        """The sweep queue's messages, one at a time, each taken off once handed over."""
        import boto3

        from infra import wiring

        if self.fakes is not None:
            while (message := self.fakes.work.receive()) is not None:
                yield json.dumps(message)
            return
        sqs, url = boto3.client("sqs"), os.environ[wiring.SWEEP_QUEUE_ENV]
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", []):
            (message,) = messages
            yield message["Body"]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def upload(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store an object where a browser's upload form would (moto in-process
        does not take browser POSTs; the e2e tests post the form)."""
        if self.fakes is not None:
            self.fakes.blobs.put(key, data, content_type or "binary/octet-stream")
            return
        import boto3

        typed = {"ContentType": content_type} if content_type else {}
        boto3.client("s3").put_object(Bucket=os.environ["DOCUMENTS_BUCKET"], Key=key, Body=data, **typed)

    def objects(self) -> dict[str, bytes]:
        """Every object in the bucket: key → content."""
        if self.fakes is not None:
            return {key: blob.data for key, blob in self.fakes.blobs.objects.items()}
        import boto3

        s3, bucket = boto3.client("s3"), os.environ["DOCUMENTS_BUCKET"]
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}

    def _reply(self, response: dict[str, Any]) -> Reply:
        text = response.get("body") or ""
        merged = {k: ", ".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()}
        merged.update(response.get("headers") or {})
        is_json = "json" in merged.get("Content-Type", "application/json")
        return Reply(response["statusCode"], (json.loads(text) if is_json else text) if text else None, merged)


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process with the stack's table, bucket and queues, fresh for
    each test; its table's stream is read as the pipe reads it, for
    `InProcessApi.deliver_events`."""
    pause_the_runtime()
    with emulated_aws():
        yield


def pause_the_runtime() -> None:
    """Before a test's in-process moto: this worker's e2e files are done
    (they come first), and what their events still do in the background
    would write into that moto, whose backends the runtime's server shares
    (a mock's start resets them under the runtime's feet)."""
    if piped.runtime is not None:
        piped.runtime.pause()


def _refuse_empty_maps(params: dict[str, Any], **_: Any) -> None:
    """What DynamoDB refuses and moto 5.2.5 takes: an empty map of
    expression attribute names or values ("must not be empty")."""
    for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        if name in params and not params[name]:
            raise ValueError(f"DynamoDB refuses an empty {name}: {params}")


@contextlib.contextmanager
def emulated_aws() -> Iterator[None]:
    """The `aws` fixture's emulation, for the bench too: moto in-process,
    the stack's resources, every adapter bound to them."""
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    from infra.local import gsi_queries
    from infra.local.resources import create_bucket, create_pay_link_secret, create_stripe_secret, create_table
    from invoicing.adapters import live

    gsi_queries.install()  # the emulation's index queries, held to moto's answers by every test on it
    with mock_aws(), _one_request_at_a_time():
        boto3._get_default_session().events.register(
            "provide-client-params.dynamodb", _refuse_empty_maps, unique_id="refuse-empty-maps"
        )
        parameters.clear_caches()  # this test's secrets, not the last one's
        create_stripe_secret(boto3.client("secretsmanager"))
        create_pay_link_secret(boto3.client("secretsmanager"))
        create_table(boto3.client("dynamodb"), os.environ["TABLE_NAME"])
        create_bucket(boto3.client("s3"), os.environ["DOCUMENTS_BUCKET"])
        _read_stream(os.environ["TABLE_NAME"])
        from infra import wiring
        from infra.local.queues import create_work_queues

        queues = create_work_queues(boto3.client("sqs"))
        for work in wiring.QUEUES:  # every function of the process is each queue's consumer and producer
            os.environ[work.url_env] = queues[work.name][0]
            if work.dead_letters_env:
                os.environ[work.dead_letters_env] = queues[work.name][1]
        # the platform sender's domain, verified as an operator would in SES
        boto3.client("sesv2").create_email_identity(EmailIdentity="invoicing.local")
        live.install(None)
        live.forget()  # adapters bound to this test's emulation
        try:
            yield
        finally:
            live.forget()
            piped.stream = None


@contextlib.contextmanager
def _one_request_at_a_time() -> Iterator[None]:
    """moto in-process answers each thread's request in that thread: two
    conditional writes could both read the item before either writes it, a
    race DynamoDB never has. One request at a time makes the emulation
    linearizable, as the non-threaded server is (../shared/EMULATION.md), so
    the concurrency tests test the code, not moto."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.RLock()
    original = BotocoreStubber.process_request

    def serialized(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return original(self, request)

    BotocoreStubber.process_request = serialized  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]


def _read_stream(table: str) -> None:
    """In-process, botocore sends stream calls to an account-based endpoint
    moto does not match: the regional one, named (../shared/EMULATION.md)."""
    import boto3

    from infra.local.pipe import StreamReader
    from infra.local.resources import table_stream_arn

    streams = boto3.client("dynamodbstreams", endpoint_url="https://streams.dynamodb.eu-west-3.amazonaws.com")
    piped.stream = StreamReader(streams, table_stream_arn(boto3.client("dynamodb"), table))


@pytest.fixture(autouse=True)
def environment_read_afresh() -> Iterator[None]:
    """Each test's functions read the environment as the test sets it, and
    none carries the last test's (invoicing.settings reads it once)."""
    from invoicing import settings

    settings.reread()
    yield
    settings.reread()  # after monkeypatch has put the environment back


@pytest.fixture
def one_flush_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """For handlers run from several threads of this process (never in
    Lambda, where an environment runs one invocation at a time): their
    metrics share one set, so one thread's flush must not empty it under
    another's (Powertools then raises "Must contain at least one metric")."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    lock = threading.Lock()
    flush = AmazonCloudWatchEMFProvider.flush_metrics

    def flush_alone(self: Any, *args: Any, **kwargs: Any) -> None:
        with lock:
            flush(self, *args, **kwargs)

    monkeypatch.setattr(AmazonCloudWatchEMFProvider, "flush_metrics", flush_alone)


@pytest.fixture
def fakes() -> Iterator[Any]:
    """The in-memory outside world (tests/fakes/adapters.py), installed for
    every handler of this process."""
    from invoicing.adapters import live
    from tests.fakes.adapters import Fakes

    world = Fakes()
    live.install(world.installed())
    piped.fakes = world.pipe
    try:
        yield world
    finally:
        piped.fakes = None
        live.install(None)


@pytest.fixture
def api(request: pytest.FixtureRequest, one_flush_at_a_time: None) -> InProcessApi:
    """The handlers in-process: on the fakes, or on moto for tests marked `on_aws`."""
    if request.node.get_closest_marker("on_aws") is not None:
        request.getfixturevalue("aws")
        return InProcessApi()
    return InProcessApi(request.getfixturevalue("fakes"))


@pytest.fixture
def crm() -> Iterator[Any]:
    """A CRM's webhook endpoint on loopback (tests/receiver.py): what it received, what it answers."""
    from tests.receiver import Receiver

    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def stripe_standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The local stand-in for Stripe's API, where the functions' Stripe
    client goes (STRIPE_API_BASE); it keeps what it received."""
    from infra.local.stripe_standin import StripeStandIn
    from invoicing import settings
    from invoicing.adapters import stripe_api

    standin = StripeStandIn().start()
    monkeypatch.setenv(settings.STRIPE_API_BASE_ENV, standin.url)
    settings.reread()
    stripe_api._client.cache_clear()
    yield standin
    stripe_api._client.cache_clear()
    standin.stop()


class HttpApi(Verbs):
    def __init__(self, base_url: str) -> None:
        import requests

        self.base_url = base_url
        self.session = requests.Session()

    def token(self, tenant: str) -> str:
        from infra.local.runtime import mint_token

        return mint_token(tenant)

    def call(
        self, method: str, path: str, body: Any = None, *, tenant: str | None = "acme",
        headers: dict[str, str] | None = None, raw: bytes | str | None = None,
    ) -> Reply:  # fmt: skip
        import requests

        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if tenant:
            all_headers["Authorization"] = f"Bearer {self.token(tenant)}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        # a session per thread is not needed: requests.request opens its own
        response = requests.request(method, self.base_url + path, data=data, headers=all_headers, timeout=60)
        content = (
            response.json()
            if response.content and "json" in response.headers.get("Content-Type", "")
            else response.text
        )
        return Reply(response.status_code, content, dict(response.headers))


# The invoice of SPEC §6.1, which totals to 1398.00.
SPEC_INVOICE: dict[str, Any] = {
    "name": "Site web — acompte",
    "currency": "EUR",
    "issue_date": "2026-11-27",
    "due_date": "2026-12-27",
    "lines": [
        {
            "name": "Développement",
            "quantity": "3",
            "unit_price": "450.00",
            "unit": "jour",
            "discount": {"type": "percentage", "value": "10"},
            "taxes": [{"name": "TVA", "rate": "20"}],
        }
    ],
    "discount": {"type": "fixed", "value": "50.00"},
    "late_fees": {
        "enabled": True,
        "type": "percentage",
        "value": "1.5",
        "frequency": {"interval": "month", "interval_count": 1},
        "grace_days": 0,
        "max_fees": 6,
    },
    "tips": {"enabled": False},
    "payment_schedule": None,
    "payment_methods": {"card": True, "bank_transfer": True},
    "notes": "Merci pour votre confiance",
    "terms": "Paiement à 30 jours",
}

# A client's address is a mandatory mention: an invoice is issued only to a customer who has one.
CLIENT_ADDRESS: dict[str, Any] = {"line1": "12 avenue Foch", "postal_code": "69006", "city": "Lyon", "country": "FR"}
# A French business client's SIREN is a mandatory mention since the e-invoicing reform.
CLIENT_SIREN = "812345676"
CUSTOMER: dict[str, Any] = {
    "name": "Dupont & Fils",
    "email": "compta@dupont.example",
    "address": CLIENT_ADDRESS,
    "siren": CLIENT_SIREN,
}

BUSINESS: dict[str, Any] = {
    "legal_name": "Acme SAS",
    "siren": "732829320",
    "vat_number": "FR44732829320",
    "address": {"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"},
}
