"""What an operator sees (SPEC §10): structured JSON logs with correlation
ids and no personal data, and metrics for what the business cares about.

The whole system runs as `make dev` runs it, its output in a file; a
walk-through drives it as a client would: a profile, a customer, an
invoice sent by e-mail and SMS, a payment, a credit note, a void, the
hosted page and a payment through Checkout (Stripe's signed events), the
scheduled sweeps, the sender address, and a few refused requests. Then the
output is read: every log line of a function is JSON, the requests' lines
carry their correlation id, and none names the people or the addresses the
walk-through used."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PERSONAL = {
    "business e-mail": "compta@zephyr-conseil.example",
    "business phone": "+33145678912",
    "client name": "Zéphyrine Beaumarchais",
    "client e-mail": "zephyrine.beaumarchais@client.example",
    "client phone": "+33698765432",
    "client street": "17 rue des Tanneurs",
    "sender address": "factures.zephyr@zephyr-conseil.example",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`python -m infra.local.runtime`, as `make dev` starts it, its output in a file."""
    output = tmp_path_factory.mktemp("observability") / "runtime.log"
    port = free_port()
    env = {**os.environ, "PORT": str(port), "MOTO_PORT": str(free_port()), "TENANT": "zephyr", "LOG_LEVEL": "INFO"}
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "infra.local.runtime"], cwd=ROOT, env=env,
                                   stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if "Invoicing API on" in output.read_text(errors="replace"):
                break
            assert process.poll() is None, output.read_text(errors="replace")
            time.sleep(0.1)
        yield {"url": url, "output": output, "process": process}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def walked(system: dict[str, Any]) -> list[dict[str, Any]]:
    """The walk-through; the function log lines it left, parsed."""
    from infra.local.runtime import mint_token

    url, session = system["url"], requests.Session()
    session.headers["Authorization"] = f"Bearer {mint_token('zephyr')}"

    def call(method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        reply = session.request(method, f"{url}{path}", json=body, timeout=30)
        assert reply.status_code == expect, (path, reply.status_code, reply.text)
        return reply.json() if reply.content else None

    address = {"line1": PERSONAL["client street"], "postal_code": "69006", "city": "Lyon", "country": "FR"}
    call("PUT", "/business", {
        "legal_name": "Zephyr Conseil SAS", "siren": "732829320", "vat_number": "FR44732829320",
        "email": PERSONAL["business e-mail"], "phone": PERSONAL["business phone"],
        "address": {"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"},
        "late_fees": {"enabled": True, "type": "fixed", "value": "40", "frequency": {"interval": "once"}},
    })  # fmt: skip
    # its Stripe account, through Stripe's onboarding (the stand-in's page, Finish: its signed account.updated)
    onboarding = call("POST", "/business/stripe/onboarding")
    finished = requests.post(f"{onboarding['url']}/complete", allow_redirects=False, timeout=30)
    assert finished.status_code == 303
    customer = call("POST", "/customers", {"name": PERSONAL["client name"], "kind": "individual",
                                           "email": PERSONAL["client e-mail"], "phone": PERSONAL["client phone"],
                                           "address": address}, 201)  # fmt: skip
    line = {"name": "Conseil", "quantity": "2", "unit_price": "500.00", "taxes": [{"name": "TVA", "rate": "20"}]}
    invoice = call("POST", "/invoices", {"name": "Mission", "customer_id": customer["id"], "lines": [line],
                                         "issue_date": "2026-11-02", "due_date": "2026-11-12"}, 201)  # fmt: skip
    call("POST", f"/invoices/{invoice['id']}/send", {"channels": ["email", "sms"]}, 202)
    call("POST", f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "100.00"}, 201)
    call("POST", f"/invoices/{invoice['id']}/credit-notes", {"amount": "120.00"}, 201)
    call("POST", "/_local/tick", {"date": "2026-12-20"})
    assert requests.get(call("GET", f"/invoices/{invoice['id']}")["payment_link"], timeout=30).status_code == 200
    # refused requests: their bodies name people too
    call("POST", "/customers", {"name": PERSONAL["client name"], "email": "not-an-address"}, 422)
    other = call("POST", "/invoices", {"name": "Seconde", "customer_id": customer["id"], "lines": [line]}, 201)
    call("POST", f"/invoices/{other['id']}/send", {"channels": ["sms"], "to": {"phones": ["+3312"]}}, 422)
    call("POST", f"/invoices/{invoice['id']}/void")
    # the sender address, a code e-mailed to it, a wrong one refused
    call("POST", "/business/sender", {"email": PERSONAL["sender address"]}, 202)
    call("POST", "/business/sender/confirm", {"code": "000000"}, 422)
    # the rest paid on the hosted page, through Checkout: Stripe's signed events reach the webhook
    third = call("POST", "/invoices", {"name": "Troisième", "customer_id": customer["id"], "lines": [line]}, 201)
    link = call("POST", f"/invoices/{third['id']}/mark-sent")["payment_link"]
    checkout = requests.post(f"{link}/checkout", data={"target": "balance"}, allow_redirects=False, timeout=30)
    assert checkout.status_code == 303, checkout.text
    paid = requests.post(f"{checkout.headers['Location']}/pay", data={"method": "card"}, allow_redirects=False,
                         timeout=30)  # fmt: skip
    assert paid.status_code == 303
    assert call("GET", f"/invoices/{third['id']}")["status"] == "paid"
    outbox = call("GET", "/_local/outbox")
    assert len(outbox["emails"]) >= 2  # the invoice and a reminder
    assert outbox["sms"]

    time.sleep(1)  # the workers' last lines
    lines = system["output"].read_text(errors="replace").splitlines()
    return [json.loads(text) for text in lines if text.startswith("{")]


def test_the_function_logs_are_structured_and_carry_correlation_ids(walked):
    logs = [entry for entry in walked if "level" in entry]
    by_function = {entry["function_name"] for entry in logs}
    requests_logged = [entry for entry in logs if entry["message"] == "request"]

    assert all({"level", "message", "timestamp", "service", "function_name"} <= set(entry) for entry in logs)
    assert {entry["service"] for entry in logs} == {"invoicing"}
    assert {"invoicing-api", "invoicing-documents", "invoicing-delivery", "invoicing-sweeps", "invoicing-pay",
            "invoicing-webhooks"} <= by_function  # fmt: skip
    # one line a request, by its route's template (never a path or a query)
    assert {(entry["method"], entry["route"], entry["status"]) for entry in requests_logged} >= {
        ("POST", "/customers", 201),
        ("POST", "/customers", 422),
        ("POST", "/invoices/{invoice_id}/void", 200),
        ("POST", "/business/sender", 202),
        ("POST", "/business/sender/confirm", 422),
        ("POST", "/business/stripe/onboarding", 200),
        ("POST", "/pay/{token}/checkout", 303),
        ("POST", "/webhooks/stripe", 200),
    }
    missing = [entry["message"] for entry in logs if not entry.get("correlation_id")]
    assert missing == []  # a request's id, a bus event's, a queue message's


def test_no_log_line_names_a_person_an_address_or_a_phone(walked):
    text = "\n".join(json.dumps(entry, ensure_ascii=False) for entry in walked)

    found = {label: value for label, value in PERSONAL.items() if value in text}
    assert found == {}, [line for line in text.splitlines() if any(value in line for value in found.values())][:3]


def test_the_metrics_count_what_happened(walked):
    counted: dict[str, float] = {}
    for entry in walked:
        for metric in (entry.get("_aws") or {}).get("CloudWatchMetrics", [{}])[0].get("Metrics", []):
            value = entry[metric["Name"]]
            counted[metric["Name"]] = counted.get(metric["Name"], 0) + sum(
                value if isinstance(value, list) else [value]
            )

    assert counted.get("InvoicesIssued", 0) >= 1
    assert counted.get("PaymentsRecorded", 0) >= 2  # by the API, and from Stripe's event
    assert counted.get("CreditNotesIssued", 0) >= 1
    assert counted.get("DeliveriesSent", 0) >= 3  # the e-mail, the SMS, the reminder
    assert counted.get("LateFeesApplied", 0) >= 1
    assert "DeliveriesFailed" in counted  # zero here: counted, nothing failed
