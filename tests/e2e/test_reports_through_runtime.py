"""Reports and exports through the local runtime (SPEC §14): payments
reach the VAT report by the table's stream, the bus and the reports
function; an export is written by its queue's steps into the emulated
bucket and fetched through its link, as a browser would."""

from __future__ import annotations

import csv
import io
import time
from datetime import date
from typing import Any

import pytest
import requests

from tests.fec_audit import audit

pytestmark = pytest.mark.e2e


def _issued(client: Any, ready: dict[str, Any], name: str, price: str) -> dict[str, Any]:
    body = {"name": name, "customer_id": ready["customer"]["id"],
            "lines": [{"name": "Conseil", "unit_price": price, "taxes": [{"name": "TVA", "rate": "20"}]}]}  # fmt: skip
    draft = client.post("/invoices", body)
    assert draft.status == 201, draft.body
    issued = client.post(f"/invoices/{draft.body['id']}/mark-sent")
    assert issued.status == 200, issued.body
    return issued.body


def _ready(client: Any, export_id: str, timeout_s: float = 60) -> dict[str, Any]:
    """The export once its queue's steps have run (the runtime polls the queue)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = client.get(f"/exports/{export_id}").body
        if found["status"] != "pending":
            return found
        time.sleep(0.2)
    raise AssertionError(f"export {export_id} still pending after {timeout_s} s")


def test_payments_reach_the_vat_report_and_the_fec_through_the_runtime(runtime, client, ready):
    paid = _issued(client, ready, "Payée", "100")
    half = _issued(client, ready, "À moitié", "50")
    assert client.post(f"/invoices/{paid['id']}/payments", {"method": "bank_transfer", "amount": "120.00",
                                                             "reference": "VIR-1"}).status == 201  # fmt: skip
    assert client.post(f"/invoices/{half['id']}/payments", {"method": "cash", "amount": "30.00"}).status == 201
    assert runtime.drain(timeout_s=60)

    vat = client.get("/reports/vat?basis=collected")
    assert vat.status == 200, vat.body
    (eur,) = vat.body["currencies"]
    assert (eur["base"], eur["tax"]) == ("125.00", "25.00")  # 120 + 30 paid, 20 % VAT included
    summary = client.get("/reports/summary").body["currencies"][0]
    assert (summary["issued"], summary["total"], summary["collected"], summary["outstanding"]) == (
        2, "180.00", "150.00", "30.00")  # fmt: skip

    asked = client.post("/exports", {"kind": "fec"})
    assert asked.status == 202, asked.body
    done = _ready(client, asked.body["id"])
    assert done["status"] == "ready", done
    assert done["filename"] == f"732829320FEC{done['to'].replace('-', '')}.txt"  # the business's SIREN
    download = requests.get(done["url"], timeout=30)
    assert download.status_code == 200
    period = date.fromisoformat(done["from"]), date.fromisoformat(done["to"])
    assert audit(download.content, done["filename"], start=period[0], end=period[1]) == []
    text = download.content.decode("iso8859_15")
    journals = {line.split("\t")[0] for line in text.splitlines()[1:]}
    assert journals == {"VT", "BQ"}


def test_a_french_csv_export_opens_as_excel_would_read_it(runtime, client, ready):
    _issued(client, ready, '=HYPERLINK("http://x")', "10")
    asked = client.post("/exports", {"kind": "invoices", "format": "csv-fr"}, headers={"Idempotency-Key": "exp-1"})
    again = client.post("/exports", {"kind": "invoices", "format": "csv-fr"}, headers={"Idempotency-Key": "exp-1"})
    assert again.body["id"] == asked.body["id"]
    done = _ready(client, asked.body["id"])
    data = requests.get(done["url"], timeout=30).content
    assert data.startswith(b"\xef\xbb\xbf")
    header, row = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))[:2]
    assert header[:3] == ["number", "name", "issue_date"]
    assert row[1] == '\'=HYPERLINK("http://x")'  # shown as text, never run by the spreadsheet
    assert row[header.index("total")] == "12,00"  # 10 + 20 % VAT, a comma decimal
    assert runtime.drain(timeout_s=30)
