"""`make bench`: the figures users wait on, measured here, never asserted in
unit tests. Prints a table and writes it to bench-results/bench.json.

- PDF rendering of an issued invoice (20 and 200 lines), alone and with
  its Factur-X data (the EN 16931 XML, checked against its XSD, embedded),
  and their ratio; the render's curve from 20 to 1,000 lines, short and
  with 600-character descriptions, per line;
- the totals function for 1, 100 and 1,000 lines; the whole /totals
  handler on an API Gateway event (100 and 1,000 lines) next to pydantic's
  parsing of the same body alone (its floor);
- each layer's size, zipped and not, and each function's with its layers;
- cold import of each function's handler in a fresh interpreter, next to
  the import of boto3 + Powertools + pydantic alone (the floor);
- POST /totals (100 lines) and GET /invoices/{id} through the local
  runtime, next to a bare DynamoDB GetItem on the same emulation;
- from an issue's commit to its PDF in the bucket, through the local
  stream, pipe and bus (p50, p95);
- the late-fee sweep over 1,000 and 10,000 invoices of which 10 % are
  overdue: candidates per second through the tick (the rule, the page
  queue, the function, the emulation), and items read per candidate;
- the recurring invoices' sweep over active schedules of which a tenth are
  due: occurrences issued per second through the tick, and per occurrence
  the index's items read (target <= 1.1) and all items read;
- outgoing webhooks' fan-out: 1,000 invoice.created events to 5 endpoints
  on a loopback receiver, through the stream, pipe, bus, hooks function
  and its queue: deliveries per second, commit to receipt (p50, p95), and
  the duplicates received;
- what 1,000 invoices cost on AWS, issued, rendered, e-mailed and paid,
  next to Stripe Invoicing's fee (tests/bench/costs.py).

`bench.py SECTION ...` runs only those sections (`make bench SECTIONS=webhooks`),
written to bench-results/bench-SECTION-....json; without, every one, into
bench-results/bench.json. The sections: see SECTIONS below.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script: infra/ and functions/ (the package is installed)

from infra import wiring  # noqa: E402
from tests.samples import issued_invoice  # noqa: E402

# As Lambda runs a function: the X-Ray SDK in its Lambda mode (no sampling
# clients), the Tracer on, its segments sent to the daemon's UDP port
# (nobody reads them here; on Lambda, the daemon does).
AS_ON_LAMBDA = {
    "LAMBDA_TASK_ROOT": str(ROOT),
    "AWS_LAMBDA_FUNCTION_NAME": "invoicing-bench",
    "_X_AMZN_TRACE_ID": "Root=1-6930a1f0-5c1e2d3f4a5b6c7d8e9f0a1b;Parent=53995c3f42cd8ad8;Sampled=1",
}
RUNS = 7
IMPORT_RUNS = 15  # a fresh interpreter varies by ±30 % here: more runs for a steady median


def cold_import_ms(*statements: str, bytecode: bool = True, setup: str = "pass") -> list[list[float]]:
    """A fresh interpreter each run, the statements taking turns (so that
    what the machine is doing meanwhile weighs on each alike). With
    bytecode, as the built layers ship it (compiled once, by a first run
    that is not counted); without, as Lambda ran a layer that shipped none:
    every module compiled each time."""
    env = {**os.environ, **wiring.FUNCTION_ENVIRONMENT, **AS_ON_LAMBDA, "AWS_DEFAULT_REGION": "eu-west-3"}
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the Makefile's, for the tests' sake
    env["PYTHONPYCACHEPREFIX"] = str(ROOT / "bench-results" / ("pycache" if bytecode else "no-pycache"))
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # and an empty cache folder: nothing is read, nothing kept

    def run(statement: str) -> float:
        code = f"import time\n{setup}\nt = time.perf_counter()\n{statement}\nprint((time.perf_counter() - t) * 1000)"
        command = [sys.executable, "-c", code]
        output = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        return float(output.stdout.splitlines()[-1])  # after what the handler logged

    if bytecode:
        for statement in statements:
            run(statement)
    samples: list[list[float]] = [[] for _ in statements]
    for _ in range(IMPORT_RUNS):
        for taken, statement in zip(samples, statements, strict=True):
            taken.append(run(statement))
    return samples


def _totals_event() -> str:
    """Code that sets `event` (POST /totals, 100 lines) and a Lambda context, untimed."""
    from infra.local.gateway import build_event, find_route

    found = find_route("POST", "/totals")
    assert found is not None
    line = {"name": "Jour", "quantity": "3", "unit_price": "450.00", "taxes": [{"name": "TVA", "rate": "20"}]}
    body = json.dumps({"currency": "EUR", "lines": [line] * 100}).encode()
    claims = {"sub": "bench", "custom:tenant_id": "bench"}
    headers = [("Content-Type", "application/json")]
    event = build_event(*found, "POST", "/totals", headers, body, claims, "localhost", "127.0.0.1")
    return (
        f"import json\nevent = json.loads({json.dumps(event)!r})\n"
        "class Context:\n function_name = 'totals'; memory_limit_in_mb = 1024; aws_request_id = 'bench'\n"
        " invoked_function_arn = 'arn:aws:lambda:eu-west-3:123456789012:function:totals'"
    )


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
        "min": round(ordered[0], 2),
        "max": round(ordered[-1], 2),
        "n": len(ordered),
    }


def timed(call: Any, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _layer_fonts() -> None:
    """The fonts the Lambda layer ships (with its cuts), read afresh:
    the settings were read before, by the handlers timed in this process."""
    from invoicing.settings import reread

    layer_fonts = ROOT / "build" / "layers" / "pdf" / "fonts"
    if layer_fonts.is_dir():
        os.environ["FONTS_DIR"] = str(layer_fonts)
        reread()


def render_times() -> dict[str, dict[str, float]]:
    """PDF rendering in-process, warm, from the view-model of an issued
    invoice with short line names (the common case), alone and with its
    Factur-X data (the EN 16931 XML, checked against its XSD, embedded):
    the two taking turns, and their ratio run by run."""
    _layer_fonts()
    from invoicing.documents.pdf import render_pdf
    from invoicing.logic.documents import facturx_of

    figures = {}
    for count in (20, 200):
        invoice, view = issued_invoice(count)
        size = len(render_pdf(view))
        facturx = len(render_pdf(view, facturx_of(invoice, view, notes=view["legal_notes"])))
        alone, both = [], []
        for _ in range(15):
            alone += timed(lambda v=view: render_pdf(v), 1)
            both += timed(lambda v=view, i=invoice: render_pdf(v, facturx_of(i, v, notes=v["legal_notes"])), 1)
        target = 20 if count == 20 else 150
        figures[f"PDF render, {count} lines ({size // 1024} KB; target <= {target})"] = summary(alone)
        figures[f"PDF + Factur-X, {count} lines ({facturx // 1024} KB)"] = summary(both)
        figures[f"  PDF + Factur-X: ratio to the render alone, {count} lines (target <= 1.3)"] = summary(
            [b / a for a, b in zip(alone, both, strict=True)]
        )
    return figures


def render_curve() -> dict[str, dict[str, float]]:
    """The PDF at 20 to 1,000 lines, with short names and with
    600-character descriptions: its time, and its time per line (flat when
    the layout is linear; 1,000 long lines: target <= 3 s)."""
    _layer_fonts()
    from invoicing.documents.pdf import render_pdf

    long = "Intégration de l'API de facturation électronique, contrôle des données et reprise de l'historique. " * 7
    figures = {}
    for label, description in (("short", None), ("600 characters", long[:600])):
        for count in (20, 100, 200, 500, 1000):
            _, view = issued_invoice(count, description)
            runs = timed(lambda v=view: render_pdf(v), 3 if description and count >= 500 else 7)
            figures[f"PDF curve, {count:,} lines, {label}"] = summary(runs)
            figures[f"  per line, {count:,} lines, {label}"] = summary([run / count for run in runs])
    return figures


def event_latency(runtime: Any, session: Any, count: int = 30) -> dict[str, dict[str, float]]:
    """From an issue's commit (its 200) to its PDF in the bucket, through
    the local stream: the pipe's read (4 polls a second), the enrichment,
    the bus, the documents function's render and its S3 write."""
    from infra.local.resources import BUCKET_NAME

    s3 = runtime.emulation.client("s3")
    line = {"name": "Jour", "unit_price": "450.00", "taxes": [{"name": "TVA", "rate": "20"}]}
    session.patch(f"{runtime.url}/business", json={"legal_name": "Bench SAS", "siren": "732829320",
                "vat_number": "FR44732829320", "address": {"line1": "1 rue", "postal_code": "75002", "city": "Paris",
                "country": "FR"}})  # fmt: skip
    customer = session.post(f"{runtime.url}/customers", json={"name": "Client", "siren": "812345676", "address": {
        "line1": "2 rue", "postal_code": "69006", "city": "Lyon", "country": "FR"}}).json()  # fmt: skip
    latencies = []
    for n in range(count):
        draft = session.post(f"{runtime.url}/invoices", json={"name": f"latency {n}", "customer_id": customer["id"],
                                                               "lines": [line]}).json()  # fmt: skip
        issued = session.post(f"{runtime.url}/invoices/{draft['id']}/mark-sent")
        committed = time.perf_counter()
        assert issued.status_code == 200, issued.text
        key = f"bench/invoices/{draft['id']}/v{issued.json()['version']}.pdf"
        while "Contents" not in s3.list_objects_v2(Bucket=BUCKET_NAME, Prefix=key):
            assert time.perf_counter() - committed < 30, "no PDF 30 s after the commit"
            time.sleep(0.005)
        latencies.append((time.perf_counter() - committed) * 1000)
    return {"commit -> PDF stored, through stream, pipe, bus, documents (local)": summary(latencies)}


def webhook_fanout(runtime: Any, session: Any, events: int = 1_000, endpoints: int = 5) -> dict[str, dict[str, float]]:
    """Issue 22's fan-out: `events` drafts created through the API (each
    commit an invoice.created) by a few threads, each event to `endpoints`
    endpoints of a loopback receiver, through the stream, the pipe, the
    bus, the hooks function's fan-out and its deliveries' queue. From a
    commit (its 201 back here) to each request's arrival there. Each
    endpoint has its own path, so that a duplicate (the same webhook-id
    twice at one endpoint: delivery is at least once) is told apart from
    the event's other endpoints."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from infra.local.runtime import mint_token
    from tests.receiver import Received, Receiver

    url, headers = runtime.url, {"Authorization": f"Bearer {mint_token('hooks')}"}
    expected = events * endpoints
    seen: set[tuple[str, str]] = set()
    duplicates = 0
    every = threading.Event()
    lock = threading.Lock()

    def arrived(item: Received) -> None:
        nonlocal duplicates
        with lock:
            key = (item.path, item.headers.get("webhook-id", ""))
            duplicates += key in seen
            seen.add(key)
            if len(seen) == expected:
                every.set()

    receiver = Receiver()
    receiver.on_receive = arrived
    receiver.start()
    try:
        session.put(f"{url}/business", json={"legal_name": "Hooks SAS"}, headers=headers)
        for n in range(endpoints):
            made = session.post(f"{url}/webhook-endpoints", headers=headers,
                                json={"url": f"{receiver.url}/{n}", "events": ["invoice.created"]})  # fmt: skip
            assert made.status_code == 201, made.text  # http to loopback: LOCAL_WEBHOOKS_ALLOW_LOOPBACK=1
        line = {"name": "Jour", "unit_price": "450.00", "taxes": [{"name": "TVA", "rate": "20"}]}
        local = threading.local()

        def commit(n: int) -> tuple[str, float]:
            if not hasattr(local, "session"):
                local.session = requests.Session()
                local.session.headers.update(headers)
            made = local.session.post(f"{url}/invoices", json={"name": f"hook {n}", "lines": [line]})
            committed = time.monotonic()  # the receiver's clock
            assert made.status_code == 201, made.text
            return made.json()["id"], committed

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            commits = dict(pool.map(commit, range(events)))
        created = time.monotonic() - start
        deadline_s = 1500.0  # the emulation delivers about 10 a second on 2 cores (one moto thread)
        if not every.wait(max(0.0, deadline_s - (time.monotonic() - start))):
            with lock:
                got = len(seen)
            raise AssertionError(f"fan-out: {got:,} of {expected:,} webhooks received {deadline_s:.0f} s after the "
                                 f"first commit ({got / deadline_s:.1f}/s; invoices committed in {created:.0f} s): "
                                 "the hooks function's queue, its dead letters?")  # fmt: skip
        wall = time.monotonic() - start
        received = list(receiver.received)
    finally:
        receiver.stop()
    firsts: dict[tuple[str, str], tuple[float, float]] = {}  # each delivery's first (arrival, commit)
    for item in received:
        body = json.loads(item.body)
        assert body["type"] == "invoice.created", body["type"]
        key = (item.path, item.headers.get("webhook-id", ""))
        firsts.setdefault(key, (item.at, commits[body["data"]["object"]["id"]]))
    latencies = [(at - committed) * 1000 for at, committed in firsts.values()]
    first_commit = min(commits.values())
    last_arrival = max(at for at, _ in firsts.values())
    label = f"fan-out, {events:,} events x {endpoints} endpoints"
    return {
        f"{label}: invoices committed/s (4 threads)": summary([events / created]),
        f"{label}: deliveries/s, first commit to last receipt": summary([expected / (last_arrival - first_commit)]),
        f"{label}: commit -> receipt (ms)": summary(latencies),
        f"{label}: duplicates received": summary([duplicates]),
        f"{label}: section wall time (s)": summary([wall]),
    }


def model_invoice(runtime: Any, session: Any, tenant: str) -> dict[str, Any]:
    """A real issued invoice of `tenant`, with late fees, due after the
    sweeps' day (not a candidate itself), to copy: made while the table is small (moto copies the whole table for each
    transaction, so a finalization on a table of 20,000 items can take
    longer than the function's timeout)."""
    from infra.local.runtime import mint_token
    from invoicing.adapters.dynamodb import _decode

    url, headers = runtime.url, {"Authorization": f"Bearer {mint_token(tenant)}"}
    customer = _business_and_customer(runtime, session, tenant)
    fees = {"enabled": True, "type": "percentage", "value": "1.5", "frequency": {"interval": "month"}}
    draft = session.post(f"{url}/invoices", headers=headers, json={
        "name": "model", "customer_id": customer["id"], "issue_date": "2026-11-27", "due_date": "2027-06-30",
        "late_fees": fees, "lines": [{"name": "Jour", "unit_price": "450", "taxes": [{"name": "TVA", "rate": "20"}]}],
    }).json()  # fmt: skip
    issued = session.post(f"{url}/invoices/{draft['id']}/mark-sent", headers=headers)
    assert issued.status_code == 200, issued.text  # a French business client's SIREN is a mandatory mention
    dynamodb, table = runtime.emulation.client("dynamodb"), runtime.emulation.table_name
    key = {"pk": {"S": f"T#{tenant}"}, "sk": {"S": f"INV#{draft['id']}"}}
    return dict(_decode(dynamodb.get_item(TableName=table, Key=key)["Item"]))


def _business_and_customer(runtime: Any, session: Any, tenant: str) -> dict[str, Any]:
    """`tenant`'s business profile (French, with the mandatory mentions) and a business client of it."""
    from infra.local.runtime import mint_token

    url, headers = runtime.url, {"Authorization": f"Bearer {mint_token(tenant)}"}
    session.put(f"{url}/business", json={"legal_name": "Bench SAS", "siren": "732829320", "vat_number": "FR44732829320",
                "address": {"line1": "1 rue", "postal_code": "75002", "city": "Paris", "country": "FR"}},
                headers=headers)  # fmt: skip
    customer: dict[str, Any] = session.post(f"{url}/customers", headers=headers, json={"name": "Client",
        "siren": "812345676", "address": {"line1": "2 rue", "postal_code": "69006", "city": "Lyon", "country": "FR"}},
    ).json()  # fmt: skip
    return customer


def seed(runtime: Any, tenant: str, model: dict[str, Any], total: int) -> int:
    """`total` issued invoices of `tenant`, a tenth of them overdue with a
    fee owed on 2027-01-15: the model and copies of it, written straight
    to the emulated table. How many are candidates (copies all)."""
    from invoicing.adapters.dynamodb import _encode
    from invoicing.domain.invoice import planned

    dynamodb, table = runtime.emulation.client("dynamodb"), runtime.emulation.table_name
    candidates = total // 10
    items = []
    for n in range(total - 1):
        late = {"due_date": "2026-12-27"} if n < candidates else {}
        doc = {**model, "id": f"inv_{tenant}_{n:06d}", **late}
        items.append(_encode(tenant, "invoice", planned(doc)))
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: batch})
    return candidates


def sweep_figures(runtime: Any, session: Any, totals: tuple[int, ...] = (1_000, 10_000)) -> dict[str, dict[str, float]]:
    """Throughput through the tick; reads counted by running the same sweep
    in this process on a second, identical seed."""

    from invoicing.adapters.dynamodb import DynamoStore
    from invoicing.logic import sweeps
    from invoicing.logic.common import Deps

    figures: dict[str, dict[str, float]] = {}
    models = {
        f"sweep{total}{run}": model_invoice(runtime, session, f"sweep{total}{run}") for total in totals for run in "ab"
    }
    for total in totals:
        candidates = seed(runtime, f"sweep{total}a", models[f"sweep{total}a"], total)
        start = time.perf_counter()
        done = session.post(f"{runtime.url}/_local/tick", json={"date": "2027-01-15"}, timeout=900).json()
        elapsed = time.perf_counter() - start
        assert done["late-fees"]["done"] == candidates, done
        # the whole tick: both rules, the queue, the function, and the PDFs the new fees re-render
        figures[f"tick, {total:,} invoices (10 % overdue): candidates/s"] = summary([candidates / elapsed])

        candidates = seed(runtime, f"sweep{total}b", models[f"sweep{total}b"], total)
        store = DynamoStore(runtime.emulation.client("dynamodb"), runtime.emulation.table_name)
        queue = _ListQueue()
        start = time.perf_counter()
        sweeps.fan_out(queue, "late_fees", date(2027, 1, 15))
        while queue.messages:
            sweeps.work_page(Deps(store=store), queue, queue.messages.pop())
        elapsed = time.perf_counter() - start
        figures[f"late-fee sweep alone, {total:,} invoices: candidates/s"] = summary([candidates / elapsed])
        figures[f"late-fee sweep, {total:,} invoices: items read per candidate"] = summary(
            [store.items_read / candidates]
        )
    return figures


def model_recurring(runtime: Any, session: Any, tenant: str, start: date) -> dict[str, Any]:
    """A real recurring invoice of `tenant`, monthly from `start`, marked
    sent when issued, as the table stores it: made while the table is small."""
    from infra.local.runtime import mint_token
    from invoicing.adapters.dynamodb import _decode, doc_sk

    url, headers = runtime.url, {"Authorization": f"Bearer {mint_token(tenant)}"}
    customer = _business_and_customer(runtime, session, tenant)
    made = session.post(f"{url}/recurring-invoices", headers=headers, json={
        "name": "Abonnement", "customer_id": customer["id"], "on_issue": "mark_sent",
        "schedule": {"frequency": "month", "start_date": start.isoformat()},
        "lines": [{"name": "Maintenance", "unit_price": "450", "taxes": [{"name": "TVA", "rate": "20"}]}],
    })  # fmt: skip
    assert made.status_code == 201, made.text
    dynamodb, table = runtime.emulation.client("dynamodb"), runtime.emulation.table_name
    key = {"pk": {"S": f"T#{tenant}"}, "sk": {"S": doc_sk("recurring", made.json()["id"])}}
    return dict(_decode(dynamodb.get_item(TableName=table, Key=key)["Item"]))


def seed_recurring(runtime: Any, tenant: str, model: dict[str, Any], total: int, due: int, today: date) -> None:
    """`total` active monthly recurring invoices of `tenant`, `due` of them
    starting `today` (the model among them), the others on one of the next
    27 days: the model rewritten and copies of it, each named apart (so
    are the invoices they make), their index day set as the API sets it."""
    from datetime import timedelta

    from invoicing.adapters.dynamodb import _encode
    from invoicing.domain.recurrence import Frequency, default_day
    from invoicing.logic.recurring import _planned

    dynamodb, table = runtime.emulation.client("dynamodb"), runtime.emulation.table_name
    items = []
    for n in range(total):
        start = today if n < due else today + timedelta(days=1 + n % 27)
        schedule = {**model["schedule"], "start_date": start.isoformat(), "day": default_day(Frequency.MONTH, start)}
        doc = {**model, "id": model["id"] if n == 0 else f"rec_{tenant}_{n:06d}", "name": f"Abonnement {n:06d}",
               "schedule": schedule, "next_index": 0}  # fmt: skip
        items.append(_encode(tenant, "recurring", _planned(doc, today)))
    for start_at in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start_at : start_at + 25]]
        dynamodb.batch_write_item(RequestItems={table: batch})


def recurring_figures(
    runtime: Any, session: Any, ticked: tuple[int, int] = (1_000, 100), counted: tuple[int, int] = (10_000, 1_000)
) -> dict[str, dict[str, float]]:
    """The recurring sweep: occurrences issued per second through the tick
    over `ticked` (schedules, of which due); reads counted by running the
    same sweep in this process over `counted`, on another tenant: the
    index's (the candidates) and all the store's (issuing reads the draft,
    the business, the customer, the sequence). The tick runs on the smaller
    seed: it waits 120 s for a rule's queue, and here 1,000 occurrences take
    longer (pages of 100 outlast the function's 60 s and defer their rest)."""
    from invoicing.adapters.dynamodb import DynamoStore
    from invoicing.logic import sweeps
    from invoicing.logic.common import BUSINESS_TIMEZONE, Deps

    today = datetime.now(BUSINESS_TIMEZONE).date()  # the day the functions issue on (a schedule starts no earlier)
    later = date.fromordinal(today.toordinal() + 1)  # not due before it is seeded
    figures: dict[str, dict[str, float]] = {}
    (total, due), tenant = ticked, f"rec{ticked[0]}a"
    model = model_recurring(runtime, session, tenant, today)
    other = model_recurring(runtime, session, f"rec{counted[0]}b", later)
    seed_recurring(runtime, tenant, model, total, due, today)
    start = time.perf_counter()
    done = session.post(f"{runtime.url}/_local/tick", json={"date": today.isoformat()}, timeout=1800).json()
    elapsed = time.perf_counter() - start
    assert done["recurring-invoices"]["done"] == due, done
    # the whole tick: every rule, the queue, the function, the PDFs of the invoices issued
    figures[f"tick, {total:,} recurring ({due:,} due): occurrences issued/s"] = summary([due / elapsed])

    (total, due), tenant = counted, f"rec{counted[0]}b"
    seed_recurring(runtime, tenant, other, total, due, today)
    store = DynamoStore(runtime.emulation.client("dynamodb"), runtime.emulation.table_name)
    deps = Deps(store=store, link_key=lambda: bytes(32))  # an invoice issued has its payment link
    queue = _ListQueue()
    start = time.perf_counter()
    sweeps.fan_out(queue, "recurring", today)
    issued = 0
    while queue.messages:
        issued += sweeps.work_page(deps, queue, queue.messages.pop())["done"]
    elapsed = time.perf_counter() - start
    assert issued == due, issued
    figures[f"recurring sweep alone, {total:,} recurring ({due:,} due): occurrences issued/s"] = summary(
        [due / elapsed]
    )
    figures[f"recurring sweep, {total:,} recurring: index items read per occurrence (target <= 1.1)"] = summary(
        [store.candidates_read / due]
    )
    figures[f"recurring sweep, {total:,} recurring: all items read per occurrence"] = summary([store.items_read / due])
    return figures


def totals_times() -> dict[str, dict[str, float]]:
    """The one totals function, in-process, for 1, 100 and 1,000 lines (two
    rates, a line discount, an invoice discount)."""
    from invoicing.logic.invoices import totals_of

    figures = {}
    for count in (1, 100, 1000):
        lines = [
            {"quantity": "3", "unit_price": "450.00", "discount": {"type": "percentage", "value": "10"},
             "taxes": [{"name": "TVA", "rate": "20" if n % 2 else "5.5"}]}
            for n in range(count)
        ]  # fmt: skip
        discount = {"type": "fixed", "value": "50.00"}
        figures[f"totals, {count:,} lines"] = summary(timed(lambda ls=lines, d=discount: totals_of(ls, d, "EUR"), 50))
    return figures


def handler_times() -> dict[str, dict[str, float]]:
    """POST /totals as the editor calls it on every keystroke: the whole
    Lambda handler on an API Gateway event, warm, in-process; next to its
    floor, pydantic's model_validate_json of the same body alone."""
    from functions.totals.handler import lambda_handler
    from infra.local.gateway import build_event, find_route
    from infra.local.lambdas import Context
    from invoicing.models.invoices import TotalsRequest

    found = find_route("POST", "/totals")
    assert found is not None
    route, params = found
    context = Context(wiring.function(route.function), "bench")
    claims = {"sub": "bench", "custom:tenant_id": "bench"}
    figures = {}
    for count in (100, 1000):
        line = {"name": "Jour", "quantity": "3", "unit_price": "450.00", "taxes": [{"name": "TVA", "rate": "20"}]}
        body = json.dumps({"currency": "EUR", "lines": [line] * count}).encode()
        event = build_event(route, params, "POST", "/totals", [("Content-Type", "application/json")], body, claims,
                            "localhost", "127.0.0.1")  # fmt: skip
        assert lambda_handler(event, context)["statusCode"] == 200
        handled, parsed = [], []
        for _ in range(100):  # taking turns, as the cold imports do
            handled += timed(lambda e=event: lambda_handler(e, context), 1)
            parsed += timed(lambda b=body: TotalsRequest.model_validate_json(b), 1)
        figures[f"/totals handler, {count:,} lines, in-process"] = summary(handled)
        figures[f"floor: model_validate_json, {count:,} lines"] = summary(parsed)
        figures[f"  ratio to the floor, run by run (target <= 2), {count:,} lines"] = summary(
            [handler / floor for handler, floor in zip(handled, parsed, strict=True)]
        )
    return figures


def artifact_sizes() -> dict[str, dict[str, float]]:
    """Each layer's size (MB) unzipped and zipped, and each function's
    unzipped total (its code and its layers), next to Lambda's 250 MB."""
    import io
    import zipfile

    def unzipped(folder: Path) -> int:
        return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())

    def zipped(folder: Path) -> int:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in folder.rglob("*"):
                if path.is_file():
                    archive.write(path, path.relative_to(folder))
        return buffer.tell()

    mb = 1024 * 1024
    figures: dict[str, dict[str, float]] = {}
    layer_sizes = {}
    for name, folder in wiring.LAYERS.items():
        path = ROOT / folder
        if not path.is_dir():
            continue  # not built: make build
        layer_sizes[name] = unzipped(path)
        figures[f"size (MB): layer {name}, unzipped / zipped"] = _sizes(layer_sizes[name] / mb, zipped(path) / mb)
    for fn in wiring.FUNCTIONS:
        code = unzipped(ROOT / "functions" / fn.name)
        total = code + sum(layer_sizes.get(layer, 0) for layer in fn.layers)
        figures[f"size (MB): function {fn.name} with its layers, unzipped (limit 250)"] = _sizes(total / mb)
    return figures


def _sizes(*values: float) -> dict[str, float]:
    """A size in the table's columns: unzipped as the median, zipped as the p95's place."""
    first, *rest = (round(value, 2) for value in values)
    second = rest[0] if rest else first
    return {"median": first, "p95": second, "min": first, "max": second, "n": 1}


class _ListQueue:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    def poison(self, message: dict[str, Any]) -> None:
        raise RuntimeError(f"a poison invoice in the bench: {message}")


def import_figures() -> dict[str, dict[str, float]]:
    """Each handler's cold import next to the floor, the import without
    bytecode, and a cold start of the totals function."""
    results: dict[str, dict[str, float]] = {}
    floor = "import boto3, aws_lambda_powertools, pydantic"
    floors: list[float] = []
    imports: dict[str, dict[str, float]] = {}
    for fn in wiring.FUNCTIONS:
        below, taken = cold_import_ms(floor, f"import {fn.module}")
        floors += below
        imports[f"cold import {fn.module}"] = summary(taken)
        ratios = [handler / base for handler, base in zip(taken, below, strict=True)]
        imports[f"  {fn.name}: ratio to the floor, run by run (target <= 1.3)"] = summary(ratios)
    results["import floor (boto3, powertools, pydantic)"] = summary(floors)
    results.update(imports)
    (without,) = cold_import_ms("import functions.api.handler", bytecode=False)
    results["cold import functions.api.handler, no bytecode anywhere"] = summary(without)
    (started,) = cold_import_ms(
        "from functions.totals import handler; handler.lambda_handler(event, Context())", setup=_totals_event()
    )
    results["cold start functions.totals.handler: import + first POST /totals (100 lines)"] = summary(started)
    return results


def runtime_latencies(runtime: Any, session: Any) -> dict[str, dict[str, float]]:
    """POST /totals and GET /invoices/{id} through the local runtime, next
    to a bare GetItem; then from an issue's commit to its PDF."""
    results: dict[str, dict[str, float]] = {}
    line = {"name": "Jour", "quantity": "3", "unit_price": "450.00", "taxes": [{"name": "TVA", "rate": "20"}]}
    body = {"currency": "EUR", "lines": [line] * 100, "discount": {"type": "percentage", "value": "5"}}
    url = runtime.url
    timed(lambda: session.post(f"{url}/totals", json=body), 20)  # warm every worker
    results["POST /totals, 100 lines, local runtime"] = summary(
        timed(lambda: session.post(f"{url}/totals", json=body), 200)
    )
    session.put(f"{url}/business", json={"legal_name": "Bench SAS"})
    invoice = session.post(f"{url}/invoices", json={"name": "bench", **body}).json()
    results["GET /invoices/{id}, local runtime"] = summary(
        timed(lambda: session.get(f"{url}/invoices/{invoice['id']}"), 200)
    )
    dynamodb = runtime.emulation.client("dynamodb")
    key = {"pk": {"S": "T#bench"}, "sk": {"S": f"INV#{invoice['id']}"}}
    results["floor: DynamoDB GetItem on the emulation"] = summary(
        timed(lambda: dynamodb.get_item(TableName=runtime.emulation.table_name, Key=key), 200)
    )
    results.update(event_latency(runtime, session))
    return results


def webhook_section(runtime: Any, session: Any) -> dict[str, dict[str, float]]:
    """The fan-out, then what it queued let through (so that the sweeps
    after it find the runtime idle)."""
    figures = webhook_fanout(runtime, session)
    assert runtime.drain(timeout_s=120), "the fan-out's work still under way 120 s after its last delivery"
    return figures


def seed_reports(runtime: Any, tenant: str, model: dict[str, Any], total: int, paid_every: int = 2) -> int:
    """`total` issued invoices of `tenant` spread over 2026 (one in
    `paid_every` paid in full, with its payment entry, as the reports
    function projects it), written straight to the emulated table; how many
    payment entries."""
    from invoicing.adapters.dynamodb import _encode
    from invoicing.domain.invoice import planned, settled
    from invoicing.logic.ledger import entries_of

    dynamodb, table = runtime.emulation.client("dynamodb"), runtime.emulation.table_name
    items, entries = [], 0
    for n in range(total):
        day = date(2026, 1, 1) + timedelta(days=n * 364 // total)
        doc = planned({**model, "id": f"inv_{tenant}_{n:06d}", "number": f"INV-{n + 1}", "issue_date": day.isoformat(),
                       "due_date": (day + timedelta(days=30)).isoformat()})  # fmt: skip
        if n % paid_every == 0:
            payment = {"id": f"pay_{n:06d}", "method": "bank_transfer", "amount": doc["amount_due"],
                       "paid_at": (day + timedelta(days=10)).isoformat(), "status": "succeeded"}  # fmt: skip
            doc = settled({**doc, "payments": [payment]}, f"{day.isoformat()}T12:00:00.000Z")
            for entry in entries_of(doc):
                items.append(_encode(tenant, "payment_entry", {**entry, "version": 1}))
                entries += 1
        items.append(_encode(tenant, "invoice", doc))
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: batch})
    return entries


REPORTS = {
    "summary": "/reports/summary?from=2026-01-01&to=2026-12-31",
    "aging": "/reports/aging?as_of=2027-06-30",
    "VAT invoiced": "/reports/vat?from=2026-01-01&to=2026-12-31&basis=invoiced",
    "VAT collected": "/reports/vat?from=2026-01-01&to=2026-12-31&basis=collected",
}


def report_figures(
    runtime: Any, session: Any, sizes: tuple[int, ...] = (1_000, 10_000), others: int = 100_000, runs: int = 5
) -> dict[str, dict[str, float]]:
    """Issue 23's reports and exports: tenants of 1,000 and 10,000 invoices
    in a table holding `others` invoices of 100 other tenants. Each
    report's latency through the local runtime (HTTP, the reports
    function, moto), and the items it read per invoice of its period,
    counted by the same use case run in this process on the same table;
    then an export's rows per second, through its queue's steps."""
    from infra.local.runtime import mint_token

    figures: dict[str, dict[str, float]] = {}
    model = model_invoice(runtime, session, "reportmodel")
    with runtime.pipe.unheard():  # rows written as a migration would: no PDF, no webhook for them
        for n in range(100):
            seed_reports(runtime, f"other{n:03d}", model, others // 100)
    for total in sizes:
        tenant = f"reports{total}"
        _business_and_customer(runtime, session, tenant)
        with runtime.pipe.unheard():
            entries = seed_reports(runtime, tenant, model, total)
        headers = {"Authorization": f"Bearer {mint_token(tenant)}"}
        for name, path in REPORTS.items():
            samples = []
            for _ in range(runs):
                start = time.perf_counter()
                reply = session.get(f"{runtime.url}{path}", headers=headers, timeout=300)
                samples.append((time.perf_counter() - start) * 1000)
                assert reply.status_code == 200, reply.text
            figures[f"{name}, {total:,} invoices (in {total + others:,}): latency"] = summary(samples)
        figures.update(_items_read(runtime, tenant, total, entries))
        figures.update(_export_rate(runtime, session, headers, total))
    return figures


def _items_read(runtime: Any, tenant: str, total: int, entries: int) -> dict[str, dict[str, float]]:
    """What each report reads, per document of its period: the same use
    case, in this process, on the runtime's table (the store counts)."""
    from invoicing.adapters.dynamodb import DynamoStore
    from invoicing.logic import reports
    from invoicing.logic.common import Deps

    store = DynamoStore(runtime.emulation.client("dynamodb"), runtime.emulation.table_name)
    deps = Deps(store=store, now=lambda: datetime(2027, 6, 30, 12, tzinfo=UTC))
    year = date(2026, 1, 1), date(2026, 12, 31)
    counted = {  # the report, and how many documents its period holds: invoices, unpaid ones, payments
        "summary": (lambda: reports.summary(deps, tenant, *year), total),
        "aging": (lambda: reports.aging(deps, tenant, None), total - entries),
        "VAT invoiced": (lambda: reports.vat(deps, tenant, *year, "invoiced"), total),
        "VAT collected": (lambda: reports.vat(deps, tenant, *year, "collected"), entries),
    }
    figures = {}
    for name, (run, in_range) in counted.items():
        store.items_read = 0
        run()
        figures[f"{name}, {total:,} invoices: items read per document in range"] = summary(
            [store.items_read / in_range]
        )
    return figures


def _export_rate(runtime: Any, session: Any, headers: dict[str, str], total: int) -> dict[str, dict[str, float]]:
    """An export of the year's invoices (csv) and its FEC, through the queue's steps: rows per second."""
    figures = {}
    for kind in ("invoices", "fec"):
        start = time.perf_counter()
        asked = session.post(f"{runtime.url}/exports", headers=headers, timeout=60,
                             json={"kind": kind, "from": "2026-01-01", "to": "2026-12-31"}).json()  # fmt: skip
        while (found := session.get(f"{runtime.url}/exports/{asked['id']}", headers=headers).json())[
            "status"
        ] == "pending":
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        assert found["status"] == "ready", found
        assert found["documents"] >= total, found
        figures[f"export {kind}, {total:,} invoices: rows/s"] = summary([found["rows"] / elapsed])
        figures[f"export {kind}, {total:,} invoices: seconds to ready"] = summary([elapsed])
    return figures


def export_100k(runtime: Any, session: Any, total: int = 100_000) -> dict[str, dict[str, float]]:
    """SPEC §14's scale: a tenant's 100,000 invoices exported, a step of
    5,000 documents a message of the exports' queue, to its end."""
    from infra.local.runtime import mint_token

    tenant = "export100k"
    model = model_invoice(runtime, session, tenant)
    with runtime.pipe.unheard():
        seed_reports(runtime, tenant, model, total, paid_every=10)
    return _export_rate(runtime, session, {"Authorization": f"Bearer {mint_token(tenant)}"}, total)


# In their order in the table. In-process first; then those through one local runtime,
# the table growing from one to the next (the sweeps' seeds last).
IN_PROCESS = {
    "imports": import_figures,
    "totals": totals_times,
    "handler": handler_times,
    "render": render_times,
    "curve": render_curve,
    "sizes": artifact_sizes,
}
THROUGH_RUNTIME = {
    "runtime": runtime_latencies,
    "webhooks": webhook_section,
    "sweeps": sweep_figures,
    "recurring": recurring_figures,
    "reports": report_figures,  # it adds 110,000 invoices to the table
    "export100k": export_100k,  # last: 100,000 more
}
SECTIONS = (*IN_PROCESS, *THROUGH_RUNTIME, "costs")


def main(chosen: list[str]) -> None:
    import requests

    from infra.local.runtime import LocalRuntime, mint_token

    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        raise SystemExit(f"no bench section {', '.join(unknown)}: choose among {', '.join(SECTIONS)}")
    selected = chosen or list(SECTIONS)
    os.environ.update(AS_ON_LAMBDA)  # the in-process handlers traced as on Lambda (the local runtime's are not)
    # the fan-out's receiver is on loopback: the runtime's functions may call it (as `make dev`)
    os.environ["LOCAL_WEBHOOKS_ALLOW_LOOPBACK"] = "1"
    results: dict[str, dict[str, float]] = {}
    for name, section in IN_PROCESS.items():
        if name in selected:
            results.update(section())

    if any(name in selected for name in THROUGH_RUNTIME):
        runtime = LocalRuntime.start()
        try:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {mint_token('bench')}"
            for name, through in THROUGH_RUNTIME.items():
                if name in selected:
                    results.update(through(runtime, session))
        finally:
            runtime.stop()
    written: dict[str, Any] = dict(results)
    costs: list[tuple[str, str, float]] = []
    if "costs" in selected:
        import tests.conftest  # noqa: F401  (the emulation's names, as the tests set them)
        from tests.bench.costs import cost_table

        costs, counted = cost_table()  # in-process moto: after the runtime's server is gone
        written["costs"] = {"rows": costs, "counted": counted}

    if results:
        width = max(len(name) for name in results)
        print(f"\n{'measure (ms)':<{width}}  median     p95     min     max")
        for name, figures in results.items():
            columns = "  ".join(f"{figures[column]:>6}" for column in ("median", "p95", "min", "max"))
            print(f"{name:<{width}}  {columns}")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    if costs:
        from tests.bench.costs import print_costs

        print_costs(costs)
    file = "bench.json" if not chosen else f"bench-{'-'.join(chosen)}.json"  # a part never overwrites the whole
    (out / file).write_text(json.dumps(written, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
