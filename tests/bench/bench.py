"""`make bench`: the figures users wait on, measured here, never asserted in
unit tests. Prints a table and writes it to bench-results/bench.json.

- cold import of each function's handler in a fresh interpreter, next to
  the import of boto3 + Powertools + pydantic alone (the floor);
- POST /totals (100 lines) and GET /invoices/{id} through the local
  runtime, next to a bare DynamoDB GetItem on the same emulation.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core" / "python")]

from infra import wiring  # noqa: E402

RUNS = 7


def cold_import_ms(statement: str) -> list[float]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'layers/core/python'}", "AWS_DEFAULT_REGION": "eu-west-3"}
    code = f"import time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1000)"
    return [
        float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)
        for _ in range(RUNS)
    ]


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


def render_times() -> dict[str, dict[str, float]]:
    """PDF rendering in-process, warm, from the view-model of an issued
    invoice with short line names (the common case)."""
    layer_fonts = ROOT / "build" / "layers" / "pdf" / "fonts"
    if layer_fonts.is_dir():  # the font the Lambda layer ships
        os.environ.setdefault("FONTS_DIR", str(layer_fonts))
    from invoicing.documents.pdf import render_pdf
    from invoicing.documents.view import invoice_view
    from invoicing.logic.invoices import totals_of, totals_view

    figures = {}
    for count in (20, 200):
        line = {"name": "Développement", "quantity": "3", "unit": "jour", "unit_price": "450.00",
                "taxes": [{"name": "TVA", "rate": "20"}]}  # fmt: skip
        totals = totals_view(totals_of([line] * count, None, "EUR"))
        nets = totals.pop("line_nets")
        invoice = {
            "status": "open", "number": "INV-1", "currency": "EUR", "issue_date": "2026-11-27",
            "due_date": "2026-12-27", "lines": [{**line, "net": net} for net in nets], "totals": totals,
            "amount_due": totals["total"], "business": {"legal_name": "Bench SAS", "siren": "732829320"},
            "customer": {"name": "Client"},
        }  # fmt: skip
        view = invoice_view(invoice, {}, None)
        size = len(render_pdf(view))
        figures[f"PDF render, {count} lines ({size // 1024} KB)"] = summary(timed(lambda v=view: render_pdf(v), 15))
    return figures


def main() -> None:
    import requests

    from infra.local.runtime import LocalRuntime, mint_token

    results: dict[str, dict[str, float]] = {}
    results["import floor (boto3, powertools, pydantic)"] = summary(
        cold_import_ms("import boto3, aws_lambda_powertools, pydantic")
    )
    for fn in wiring.FUNCTIONS:
        results[f"cold import {fn.module}"] = summary(cold_import_ms(f"import {fn.module}"))

    results.update(render_times())

    runtime = LocalRuntime.start()
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {mint_token('bench')}"
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
    finally:
        runtime.stop()

    width = max(len(name) for name in results)
    print(f"\n{'measure (ms)':<{width}}  median     p95     min     max")
    for name, figures in results.items():
        print(f"{name:<{width}}  {figures['median']:>6}  {figures['p95']:>6}  {figures['min']:>6}  {figures['max']:>6}")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
