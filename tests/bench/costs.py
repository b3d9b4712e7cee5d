"""What 1,000 invoices cost on AWS, issued, rendered with Factur-X, e-mailed
and paid, from what the handlers do, counted (`make bench`).

The flow runs in-process on moto, once per invoice: a draft with three
lines, `POST /invoices/{id}/send` (the finalization, a delivery), the
events of each commit (the pipe's enrichment, then each rule's function:
the PDF with its Factur-X XML, the e-mail with the PDF attached), a bank
transfer recorded for the whole amount, and its events (the receipt, the
PDF of the paid version). Counted on the way:

- each function's invocations and their duration, warm, on this machine
  (x86; Lambda runs arm64), billed at the function's memory;
- DynamoDB's request units by its published sizing rules, from every
  request's items: a write of an item takes one WRU per started KB, in the
  table and again in each index holding it (two in a transaction), a read
  one RRU per started 4 KB (half when eventually consistent, two in a
  transaction); a missing item read still costs its unit. Low, knowingly:
  an item is sized after a write, where DynamoDB takes the larger of
  before and after; a delete counts one unit; a query is sized by what it
  returned; an index write whose key changed counts once, not twice;
- S3 requests (PUT/COPY/POST/LIST, and GET/HEAD), SES messages and their
  bytes, the bus's events, the records through the pipe, API requests.
  Not counted: CloudWatch Logs, X-Ray traces, the stream's reads.

Prices are `PRICES`: list prices of US East (N. Virginia), the region
AWS's pricing pages print; eu-west-3 (Paris) differs by region (replace
them from AWS's price list to price Paris). Stripe Invoicing is what the
same invoices would pay Stripe on top (0.4 % of each paid invoice).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from infra import wiring

INVOICES = 20  # measured; scaled to 1,000
PRICES = {  # USD, US East (N. Virginia) list prices
    "lambda_gb_s": 0.0000133334,  # arm64, first tier
    "lambda_request": 0.20 / 1e6,
    "api_request": 3.50 / 1e6,  # API Gateway REST API, first tier
    "dynamodb_wru": 0.625 / 1e6,  # on-demand
    "dynamodb_rru": 0.125 / 1e6,
    "s3_put": 0.005 / 1000,  # PUT, COPY, POST, LIST
    "s3_get": 0.0004 / 1000,  # GET, HEAD and the rest
    "ses_message": 0.10 / 1000,
    "ses_attachment_gb": 0.12,
    "eventbridge_event": 1.00 / 1e6,  # custom events put on a bus
    "pipes_request": 0.40 / 1e6,  # an event through a pipe, per 64 KB
}
STRIPE_FEE = Decimal("0.004")  # Stripe Invoicing, per paid invoice
LINES = [
    {"name": "Développement", "quantity": "2", "unit": "jour", "unit_price": "450.00",
     "taxes": [{"name": "TVA", "rate": "20"}]},
    {"name": "Recette", "quantity": "4", "unit": "h", "unit_price": "60.00", "taxes": [{"name": "TVA", "rate": "20"}]},
    {"name": "Hébergement", "quantity": "1", "unit_price": "25.00", "taxes": [{"name": "TVA", "rate": "20"}]},
]  # fmt: skip


class Usage:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.invocations: Counter[str] = Counter()
        self.milliseconds: Counter[str] = Counter()
        self.wru = 0.0
        self.rru = 0.0
        self.s3: Counter[str] = Counter()
        self.emails = 0
        self.email_bytes = 0
        self.events = 0
        self.piped = 0
        self.api = 0


def size(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + size(item) + 1 for name, item in inner.items())
    if kind == "L":
        return 3 + sum(size(item) + 1 for item in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(size({kind[0]: item}) for item in inner)
    raise ValueError(kind)


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + size(value) for name, value in (item or {}).items())


def write_units(item: dict[str, Any] | None) -> int:
    """A write of `item` to the table and to each index that holds it (the
    indexes project every attribute; an item is in an index when it has the
    index's keys)."""
    units = max(1, math.ceil(item_size(item) / 1024))
    indexed = sum(1 for index in wiring.TABLE.indexes if index.partition_key in (item or {}))
    return units * (1 + indexed)


def read_units(total: int, consistent: bool) -> float:
    return max(1, math.ceil(total / 4096)) * (1.0 if consistent else 0.5)


@contextlib.contextmanager
def counting(usage: Usage) -> Iterator[None]:
    """Every AWS call of this process counted into `usage`, and every
    function's handler timed."""
    import boto3

    plain = boto3.session.Session().client("dynamodb")  # reads items after writes, uncounted

    def after_update(params: dict[str, Any]) -> dict[str, Any] | None:
        got: dict[str, Any] | None = plain.get_item(TableName=params["TableName"], Key=params["Key"]).get("Item")
        return got

    def dynamodb(params: dict[str, Any], model: Any, parsed: dict[str, Any], **_: Any) -> None:
        op = model.name
        if op == "PutItem":
            usage.wru += write_units(params["Item"])
        elif op == "UpdateItem":
            usage.wru += write_units(after_update(params))
        elif op == "DeleteItem":
            usage.wru += 1
        elif op == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (kind, action), *_rest = entry.items()
                item = action.get("Item") if kind == "Put" else after_update(action) if kind == "Update" else None
                usage.wru += 2 * write_units(item)
        elif op == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                usage.wru += sum(write_units(request.get("PutRequest", {}).get("Item")) for request in requests)
        elif op == "GetItem":
            usage.rru += read_units(item_size(parsed.get("Item")), bool(params.get("ConsistentRead")))
        elif op == "Query":
            total = sum(item_size(item) for item in parsed.get("Items", []))
            usage.rru += read_units(total, bool(params.get("ConsistentRead")))
        elif op == "TransactGetItems":
            usage.rru += sum(2 * read_units(item_size(got.get("Item")), True) for got in parsed.get("Responses", []))
        elif op == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                usage.rru += sum(read_units(item_size(item), bool(params.get("ConsistentRead"))) for item in items)

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["counted_params"] = params

    def after(model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        params = context.get("counted_params", {})
        service = model.service_model.service_name
        if service == "dynamodb":
            dynamodb(params, model, parsed)
        elif service == "s3":
            usage.s3["put" if model.name in ("PutObject", "CopyObject", "ListObjectsV2", "ListObjects") else "get"] += 1
        elif service == "sesv2" and model.name == "SendEmail":
            usage.emails += 1
            usage.email_bytes += len(params.get("Content", {}).get("Raw", {}).get("Data", b""))

    events = boto3.DEFAULT_SESSION.events if boto3.DEFAULT_SESSION else boto3._get_default_session().events
    events.register("before-parameter-build", remember)
    events.register("after-call", after)
    originals = {}
    for fn in wiring.FUNCTIONS:
        module = importlib.import_module(fn.module)
        originals[fn.name] = handler = module.lambda_handler

        def timed(event: Any, context: Any, _handler: Any = handler, _name: str = fn.name) -> Any:
            start = time.perf_counter()
            try:
                return _handler(event, context)
            finally:
                usage.invocations[_name] += 1
                usage.milliseconds[_name] += (time.perf_counter() - start) * 1000

        module.lambda_handler = timed
    try:
        yield
    finally:
        for fn in wiring.FUNCTIONS:
            importlib.import_module(fn.module).lambda_handler = originals[fn.name]
        events.unregister("before-parameter-build", remember)
        events.unregister("after-call", after)


def run_flow(usage: Usage) -> Decimal:
    """The invoices' lives, counted; what they totalled."""
    import os

    from invoicing import settings
    from tests import conftest
    from tests.conftest import BUSINESS, CUSTOMER, InProcessApi

    # One customer receives every invoice and receipt of the flow: more than a day's messages to one
    # recipient (SPEC §15), which the flow is not about. Its counting is still paid for, as in a month.
    os.environ["SENDING_LIMITS"] = json.dumps({"per_recipient_per_day": 10 * INVOICES, "emails_per_day": 10 * INVOICES})
    settings.reread()
    api = InProcessApi()
    assert api.patch("/business", BUSINESS).status == 200
    customer = api.post("/customers", CUSTOMER).body
    api.deliver_events()
    usage.reset()  # the business and its customer exist already: the invoices alone
    published = conftest.published_events

    def counted_events() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = published()
        usage.events += len(found)
        return found

    total = Decimal(0)
    conftest.published_events = counted_events  # what deliver_events reads, wave after wave
    try:
        for n in range(INVOICES):
            with _counting_api(api, usage):
                body = {"name": f"Cost {n}", "customer_id": customer["id"], "lines": LINES}
                draft = api.post("/invoices", body).body
                sent = api.post(f"/invoices/{draft['id']}/send", {"channels": ["email"]})
                assert sent.status == 202, sent.body
                api.deliver_events()
                invoice = api.get(f"/invoices/{draft['id']}").body
                paid = api.post(f"/invoices/{draft['id']}/payments",
                                {"method": "bank_transfer", "amount": invoice["amount_due"]})  # fmt: skip
                assert paid.status == 201, paid.body
                api.deliver_events()
            total += Decimal(invoice["totals"]["total"])
    finally:
        conftest.published_events = published
        os.environ.pop("SENDING_LIMITS")
        settings.reread()
    return total


@contextlib.contextmanager
def _counting_api(api: Any, usage: Usage) -> Iterator[None]:
    call = api.call

    def counted(*args: Any, **kwargs: Any) -> Any:
        usage.api += 1
        return call(*args, **kwargs)

    api.call = counted
    try:
        yield
    finally:
        api.call = call


def cost_table() -> tuple[list[tuple[str, str, float]], dict[str, Any]]:
    """Rows (component, units per 1,000 invoices, USD per 1,000 invoices)."""
    from tests.conftest import emulated_aws

    usage = Usage()
    with emulated_aws(), counting(usage):
        from tests import piped

        read = piped.stream.read if piped.stream is not None else None
        records = 0

        def counted_read() -> list[dict[str, Any]]:
            nonlocal records
            found = read() if read else []
            records += sum(1 for record in found if wiring.PIPE.passes(record["dynamodb"]["Keys"]))
            return found

        assert piped.stream is not None
        piped.stream.read = counted_read  # type: ignore[method-assign]
        total = run_flow(usage)
        usage.piped = records
    scale = 1000 / INVOICES
    memory = {fn.name: fn.memory_mb for fn in wiring.FUNCTIONS}
    rows: list[tuple[str, str, float]] = []
    for name in sorted(usage.invocations):
        count, ms = usage.invocations[name] * scale, usage.milliseconds[name] * scale
        gb_s = memory[name] / 1024 * ms / 1000
        price = count * PRICES["lambda_request"] + gb_s * PRICES["lambda_gb_s"]
        rows.append((f"Lambda {name} ({memory[name]} MB)", f"{count:,.0f} invocations, {gb_s:,.1f} GB-s", price))
    rows.append(("API Gateway (REST)", f"{usage.api * scale:,.0f} requests", usage.api * scale * PRICES["api_request"]))
    rows.append(("DynamoDB writes", f"{usage.wru * scale:,.0f} WRU", usage.wru * scale * PRICES["dynamodb_wru"]))
    rows.append(("DynamoDB reads", f"{usage.rru * scale:,.0f} RRU", usage.rru * scale * PRICES["dynamodb_rru"]))
    puts, gets = usage.s3["put"] * scale, usage.s3["get"] * scale
    rows.append(("S3 requests", f"{puts:,.0f} PUT/LIST, {gets:,.0f} GET/HEAD",
                 puts * PRICES["s3_put"] + gets * PRICES["s3_get"]))  # fmt: skip
    gb = usage.email_bytes * scale / 1e9
    rows.append(("SES e-mail", f"{usage.emails * scale:,.0f} messages, {gb:.3f} GB",
                 usage.emails * scale * PRICES["ses_message"] + gb * PRICES["ses_attachment_gb"]))  # fmt: skip
    events, piped = usage.events * scale, usage.piped * scale
    rows.append(("EventBridge", f"{events:,.0f} events", events * PRICES["eventbridge_event"]))
    rows.append(("EventBridge Pipes", f"{piped:,.0f} records", piped * PRICES["pipes_request"]))
    aws = sum(price for *_, price in rows)
    paid = total * Decimal(1000) / INVOICES
    rows.append(("total on AWS", f"{INVOICES} measured, x {scale:g}", aws))
    rows.append(("Stripe Invoicing (EUR), the same invoices", f"0.4 % of {paid:,.0f} EUR", float(paid * STRIPE_FEE)))
    raw = {"invoices": INVOICES, "invocations": dict(usage.invocations), "ms": dict(usage.milliseconds),
           "wru": usage.wru, "rru": usage.rru, "s3": dict(usage.s3), "emails": usage.emails,
           "email_bytes": usage.email_bytes, "events": usage.events, "piped": usage.piped, "api": usage.api,
           "prices": PRICES}  # fmt: skip
    return rows, json.loads(json.dumps(raw))


def print_costs(rows: list[tuple[str, str, float]]) -> None:
    width = max(len(name) for name, *_ in rows)
    units = max(len(unit) for _, unit, _ in rows)
    print(f"\n{'1,000 invoices: issued, rendered, e-mailed, paid':<{width}}  {'units':<{units}}  USD")
    for name, unit, price in rows:
        print(f"{name:<{width}}  {unit:<{units}}  {price:8.4f}")
    print("(AWS: US East list prices in USD, tests/bench/costs.py PRICES; Stripe's fee in EUR)")
