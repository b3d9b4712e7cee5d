"""The README's walk-through runs as pasted (issue 16): its shell block,
taken from the README itself, runs in bash against the local runtime, as
a new tenant — every step must succeed, the invoice ends paid, and the
estimate invoiced: its deposit paid, deducted on the final invoice."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def readme_block(after: str, language: str = "sh") -> str:
    """The README's first `language` block after the words `after` (a regex)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(after + r".*?```" + language + r"\n(.*?)```", readme, re.DOTALL)
    assert found, f"the README has no {language} block after {after!r}"
    return found.group(1)


def walk_through() -> str:
    return readme_block(r"A walk-through against `make dev`")


def test_the_readme_walk_through_runs_as_pasted(runtime: Any, tenant: str) -> None:
    for tool in ("bash", "curl", "jq", "make"):
        assert shutil.which(tool), f"{tool} is missing (make test installs jq)"
    script = "set -euo pipefail\n" + walk_through()
    environment = {**os.environ, "API": runtime.url, "TENANT": tenant}

    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "INV-1" in done.stdout
    assert '"status": "paid"' in done.stdout
    assert '"status": "cancelled"' in done.stdout
    assert '"factures@acme.example"' in done.stdout  # the sender address, confirmed with its code
    assert "null" not in done.stdout.splitlines()  # no step answered an error where an id was read
    assert "<title>Devis D-1" in done.stdout  # the estimate's page, as its client opens it
    # the last three objects printed whole (what follows each, one-line ones, is left)
    final, estimate, monthly = (
        json.JSONDecoder().raw_decode("{\n" + text)[0] for text in done.stdout.rsplit("\n{\n", 3)[1:]
    )
    work, deposit = final["lines"]
    assert (work["name"], work["net"]) == ("Pose de la cuisine", "900.00")
    assert re.fullmatch(r"Acompte INV-2 du \d\d/\d\d/\d{4}", deposit["name"])
    assert deposit["net"] == "-270.00"
    assert final["total"] == "756.00"  # 1,080.00 less the 324.00 of the deposit
    assert estimate == {
        "status": "invoiced",
        "invoices": [
            {"number": "INV-2", "kind": "deposit", "status": "paid"},
            {"number": None, "kind": "final", "status": "draft"},
        ],
    }
    # the retainer: an IBAN saved through the setup link, this month's invoice issued by the tick, debited
    assert '{"type":"sepa_debit","last4":"2606"' in done.stdout
    assert '"candidates":1,"done":1' in done.stdout
    assert (monthly["number"], monthly["status"]) == ("INV-3", "paid")
    assert monthly["payments"] == [{"method": "sepa_debit", "amount": "300.00"}]
    assert monthly["service_period"]["start"] == datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()


def crm_snippet() -> str:
    return readme_block(r"A CRM receiving `invoice.paid`", "python")


def test_the_readme_crm_receives_invoice_paid(runtime: Any, client: Any, ready: dict[str, Any], tmp_path: Path) -> None:
    """The README's few lines of Python, run as a CRM would run them: the
    invoice paid through the runtime is printed, once, its signature checked."""
    import socket
    import sys
    import threading
    import time

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = tmp_path / "crm.py"
    script.write_text(crm_snippet(), encoding="utf-8")
    made = client.post("/webhook-endpoints", {"url": f"http://127.0.0.1:{port}/hooks", "events": ["invoice.paid"]})
    assert made.status == 201, made.body
    environment = {**os.environ, "WEBHOOK_SECRET": made.body["secret"], "CRM_PORT": str(port)}
    crm = subprocess.Popen([sys.executable, str(script)], env=environment, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # listening
            with socket.socket() as knock:
                if knock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        body = {"name": "CRM", "customer_id": ready["customer"]["id"], "lines": [{"name": "Cours", "unit_price": "40"}]}
        draft = client.post("/invoices", body).body
        issued = client.post(f"/invoices/{draft['id']}/mark-sent").body
        due = issued["amount_due"]
        assert client.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": due}).status == 201
        assert crm.stdout is not None
        printed: list[str] = []
        reading = threading.Thread(target=lambda: printed.append(crm.stdout.readline()), daemon=True)
        reading.start()
        reading.join(timeout=60)  # the runtime delivers in about a second
        assert printed == [f"{issued['number']} paid: {due} EUR\n"], printed
        assert runtime.drain(timeout_s=60)
        (delivery,) = client.get(f"/webhook-endpoints/{made.body['id']}/deliveries").body["items"]
        assert (delivery["status"], delivery["last_status_code"]) == ("delivered", 204)
    finally:
        crm.kill()
        crm.wait()


def reports_block() -> str:
    return readme_block(r"Reports and the accountant's files, against `make dev`")


def test_the_readme_reports_and_accountant_files_run_as_pasted(runtime: Any, tenant: str) -> None:
    """SPEC §14 in the README: search, the summary, the collected VAT once
    the payment's entry came through the stream, a FEC fetched and read as
    an accountant would (and passed through the auditor's checks), a
    French CSV as Excel would cut it."""
    script = "set -euo pipefail\n" + reports_block()
    environment = {**os.environ, "API": runtime.url, "TENANT": tenant}

    done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout.splitlines()
    customer = "Société Générale d'Études"
    assert out[0] == json.dumps([["INV-2", customer, "4200.00"], ["INV-1", customer, "1800.00"]],
                                ensure_ascii=False, separators=(",", ":"))  # fmt: skip
    assert out[1] == '{"issued":2,"total":"9000.00","collected":"3000.00","outstanding":"6000.00"}'
    assert out[2] == '[{"name":"TVA","rate":"20","base":"2500.00","tax":"500.00"}]'
    today = datetime.now(ZoneInfo("Europe/Paris")).date().isoformat().replace("-", "")
    assert out[3] == f"732829320FEC{today}.txt"
    fec = [line.split() for line in out[5:13]]
    assert [(row[0], row[1], row[3]) for row in fec[:3]] == [("VT", "VT000001", "411000"), ("VT", "VT000001", "706000"),
                                                            ("VT", "VT000001", "445710")]  # fmt: skip
    assert [row[-2:] for row in fec[:3]] == [["1800,00", "0,00"], ["0,00", "1500,00"], ["0,00", "300,00"]]
    assert [(row[0], row[1], row[3], row[-2], row[-1]) for row in fec[6:8]] == [
        ("BQ", "BQ000001", "512000", "3000,00", "0,00"), ("BQ", "BQ000001", "411000", "0,00", "3000,00")]  # fmt: skip
    assert out[13].endswith("8 lines, 3 entries, balanced (12000.00 debit and credit), no problem")
    assert out[14:] == [f"INV-1;Audit 3 jours;{customer};1800,00;1800,00",
                        f"INV-2;Audit 12 jours;{customer};7200,00;4200,00"]  # fmt: skip
