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


def walk_through() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"A walk-through against `make dev`.*?```sh\n(.*?)```", readme, re.DOTALL)
    assert found, "the README has no walk-through block"
    return found.group(1)


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
