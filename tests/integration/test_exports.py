"""Exports through the API (SPEC §14): `POST /exports` answers 202, the
reports function writes the file a step at a time from the exports' queue,
`GET /exports/{id}` gives a 5-minute link to it.

On the fakes, with the functions' clock set to 15 December 2026 (credit
notes take today's date); the last test runs on moto. What is proved:
each kind and format makes the expected file; the FEC of a month of
invoices, payments, credit notes and a void passes an auditor's checks
(tests/fec_audit.py) under the SIREN's name; an export of several steps
joins its parts in date order, each document once, and deletes them; a
step delivered twice, or twice at once, makes the same single file; bad
requests say which field; another tenant sees nothing of acme's."""

from __future__ import annotations

import concurrent.futures
import csv
import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from invoicing.domain import exports as files
from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE
from tests.fec_audit import audit

pytestmark = pytest.mark.integration

TODAY = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)  # the functions' clock: what "today" is for a credit note
DECEMBER = {"from": "2026-12-01", "to": "2026-12-31"}
ACCOUNTING = {"vat_collected_by_rate": {"20": "44571200", "5.5": "44571055"}, "bank": "512100"}
MULTI_RATE = [
    {"name": "Conseil", "quantity": "2", "unit_price": "500.00", "taxes": [{"name": "TVA", "rate": "20"}]},
    {"name": "Ouvrages", "quantity": "3", "unit_price": "20.00", "taxes": [{"name": "TVA", "rate": "5.5"}]},
]


# -- the tenant, its customers and documents -------------------------------------------------


@pytest.fixture
def clock(api: Any) -> datetime:
    """The functions' clock, on the fakes and on moto alike."""
    from invoicing.adapters import live

    live.deps().now = lambda: TODAY
    return TODAY


@pytest.fixture
def books(api: Any, clock: datetime) -> dict[str, Any]:
    """acme's business profile, with VAT accounts of its own for two rates and a bank account."""
    reply = api.put("/business", {**BUSINESS, "accounting": ACCOUNTING})
    assert reply.status == 200, reply.body
    return reply.body


def new_customer(api: Any, name: str = "Dupont & Fils", tenant: str = "acme") -> dict[str, Any]:
    reply = api.post("/customers", {"name": name, "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}, tenant=tenant)
    assert reply.status == 201, reply.body
    return reply.body


def issue(
    api: Any, customer: dict[str, Any], day: str, lines: list[dict[str, Any]] | None = None, *,
    name: str | None = None, tenant: str = "acme",
) -> dict[str, Any]:  # fmt: skip
    """An invoice issued on `day` (SPEC §6.1's lines unless others)."""
    body = {**SPEC_INVOICE, "name": name or f"Facture du {day} {customer['name']}", "customer_id": customer["id"],
            "issue_date": day, "due_date": "2027-01-31"}  # fmt: skip
    if lines is not None:
        body.update(lines=lines, discount=None)
    draft = api.post("/invoices", body, tenant=tenant)
    assert draft.status == 201, draft.body
    issued = api.post(f"/invoices/{draft.body['id']}/mark-sent", tenant=tenant)
    assert issued.status == 200, issued.body
    return issued.body


def pay(api: Any, invoice: dict[str, Any], amount: str, day: str, **more: Any) -> dict[str, Any]:
    body = {"method": "bank_transfer", "amount": amount, "paid_at": day, **more}
    reply = api.post(f"/invoices/{invoice['id']}/payments", body)
    assert reply.status == 201, reply.body
    return reply.body


# -- exports ---------------------------------------------------------------------------------


def run(api: Any, kind: str, period: dict[str, str] = DECEMBER, style: str | None = None,
        tenant: str = "acme") -> tuple[dict[str, Any], bytes]:  # fmt: skip
    """An export asked for and written: its GET once ready, and its file."""
    body = {"kind": kind, **period, **({"format": style} if style else {})}
    asked = api.post("/exports", body, tenant=tenant)
    assert asked.status == 202, asked.body
    assert (asked.body["status"], asked.body["url"]) == ("pending", None)
    steps = api.run_exports()
    assert steps, "a step at least"
    assert [step["batchItemFailures"] for step in steps] == [[] for _ in steps], steps
    shown = api.get(f"/exports/{asked.body['id']}", tenant=tenant)
    assert shown.status == 200, shown.body
    assert shown.body["status"] == "ready", shown.body
    return shown.body, file_of(api, shown.body, tenant)


def file_of(api: Any, shown: dict[str, Any], tenant: str = "acme") -> bytes:
    return api.objects()[f"exports/{tenant}/{shown['id']}/{shown['filename']}"]


def table(data: bytes, style: str) -> list[dict[str, str]]:
    """A CSV file's records by column name, read as a spreadsheet would."""
    text = data.decode("utf-8")
    if style == "csv-fr":
        assert text.startswith("\ufeff"), "csv-fr: a BOM at the start"
        assert text.count("\ufeff") == 1, "csv-fr: one BOM"
        text = text[1:]
    else:
        assert "\ufeff" not in text
    assert text.endswith("\r\n"), "CRLF line ends"
    assert "\n" not in text.replace("\r\n", ""), "CRLF line ends only"
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";" if style == "csv-fr" else ","))


def money(amount: str, style: str) -> str:
    return amount.replace(".", ",") if style == "csv-fr" else amount


def fec_rows(data: bytes) -> list[dict[str, str]]:
    lines = data.decode("iso8859_15").split("\r\n")
    assert lines[-1] == ""
    return [dict(zip(files.FEC_COLUMNS, line.split("\t"), strict=True)) for line in lines[1:-1]]


def entries(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """The FEC's lines by EcritureNum, in the file's order."""
    found: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        found.setdefault(row["EcritureNum"], []).append(row)
    return found


def in_order(numbers: list[str]) -> bool:
    return numbers == sorted(numbers, key=lambda number: int(re.findall(r"\d+", number)[-1]))


# -- each kind and format --------------------------------------------------------------------


@pytest.fixture
def month(api: Any, books: dict[str, Any]) -> dict[str, Any]:
    """December for acme: a multi-rate invoice partly paid then credited in
    part, a second invoice paid in full; an invoice of November (outside
    the period) paid in December."""
    dupont, zoe = new_customer(api), new_customer(api, 'Zoë, "Søren" & Łódź 李')
    november = issue(api, dupont, "2026-11-27", name="Novembre")
    first = issue(api, dupont, "2026-12-02", MULTI_RATE)
    second = issue(api, zoe, "2026-12-04")
    paid_november = pay(api, november, "1398.00", "2026-12-03", reference="VIR NOV")
    partial = pay(api, first, "500.00", "2026-12-05", reference="=VIR 42")
    paid_second = pay(api, second, "1398.00", "2026-12-07", method="cheque", cheque_number="0012345")
    api.deliver_events()  # the reports function projects the payment entries
    note = api.post(f"/invoices/{first['id']}/credit-notes", {"amount": "120.00", "reason": "Geste, commercial"})
    assert note.status == 201, note.body
    return {"november": november, "first": first, "second": second, "note": note.body, "zoe": zoe,
            "payments": [paid_november, partial, paid_second]}  # fmt: skip


@pytest.mark.parametrize("style", ["csv", "csv-fr"])
def test_given_a_month_when_its_invoices_are_exported_then_each_invoice_of_the_period_is_a_row(api, month, style):
    shown, data = run(api, "invoices", style=style)

    assert shown["filename"] == f"invoices-2026-12-01-2026-12-31{'-fr' if style == 'csv-fr' else ''}.csv"
    assert (shown["format"], shown["documents"], shown["rows"], shown["size"]) == (style, 2, 2, len(data))
    assert shown["expires_in"] == 300
    assert "X-Amz-Expires=300" in shown["url"]
    rows = table(data, style)
    assert list(rows[0]) == list(files.COLUMNS["invoices"])
    first, second = rows
    assert (first["number"], first["issue_date"], first["status"]) == ("INV-2", "2026-12-02", "partially_paid")
    assert (second["number"], second["status"], second["customer_name"]) == ("INV-3", "paid", month["zoe"]["name"])
    assert first["total_excluding_tax"] == money("1060.00", style)  # 1,000.00 at 20 % + 60.00 at 5.5 %
    assert first["tax"] == money("203.30", style)
    assert first["total"] == money("1263.30", style)
    assert first["credited"] == money("120.00", style)
    assert first["amount_paid"] == money("500.00", style)
    assert first["amount_due"] == money("643.30", style)
    # the invoice's own paid_at: the day (in France) it was recorded paid, here the clock's day
    assert (second["amount_due"], second["paid_at"], first["paid_at"]) == (money("0.00", style), "2026-12-15", "")
    assert first["id"] == month["first"]["id"]


@pytest.mark.parametrize("style", ["csv", "csv-fr"])
def test_given_a_month_when_its_payments_are_exported_then_each_received_in_the_period_is_a_row(api, month, style):
    shown, data = run(api, "payments", style=style)

    assert shown["documents"] == 3
    rows = table(data, style)
    assert list(rows[0]) == list(files.COLUMNS["payments"])
    assert [(row["paid_at"], row["invoice_number"], row["amount"]) for row in rows] == [
        ("2026-12-03", "INV-1", money("1398.00", style)),  # an invoice of November, paid in December
        ("2026-12-05", "INV-2", money("500.00", style)),
        ("2026-12-07", "INV-3", money("1398.00", style)),
    ]
    assert rows[1]["reference"] == "'=VIR 42"  # a reference a spreadsheet would run: text
    assert (rows[2]["method"], rows[2]["reference"]) == ("cheque", "0012345")
    assert [row["payment_id"] for row in rows] == [payment["id"] for payment in month["payments"]]


@pytest.mark.parametrize("style", ["csv", "csv-fr"])
def test_given_a_month_when_its_credit_notes_are_exported_then_each_is_a_row(api, month, style):
    shown, data = run(api, "credit_notes", style=style)

    (row,) = table(data, style)
    assert shown["documents"] == 1
    assert (row["number"], row["issue_date"], row["invoice_number"]) == ("AV-1", "2026-12-15", "INV-2")
    assert (row["total_excluding_tax"], row["tax"], row["total"]) == (
        money(month["note"]["totals"]["subtotal"], style), money(month["note"]["totals"]["tax_total"], style),
        money("120.00", style))  # fmt: skip
    assert row["reason"] == "Geste, commercial"
    assert row["id"] == month["note"]["id"]


def test_an_export_of_a_period_with_nothing_in_it_is_its_header_alone(api, books):
    shown, data = run(api, "invoices", {"from": "2025-01-01", "to": "2025-12-31"}, "csv-fr")

    assert (shown["documents"], shown["rows"]) == (0, 0)
    assert data == ("\ufeff" + ";".join(files.COLUMNS["invoices"]) + "\r\n").encode("utf-8")


def test_an_export_without_dates_covers_this_year_to_today(api, books):
    asked = api.post("/exports", {"kind": "invoices"})

    assert asked.status == 202, asked.body
    assert (asked.body["from"], asked.body["to"], asked.body["format"]) == ("2026-01-01", "2026-12-15", "csv")


# -- the FEC ---------------------------------------------------------------------------------


def test_given_invoices_a_partial_payment_a_credit_note_and_a_void_then_the_fec_is_clean(api, books):
    dupont, zoe = new_customer(api), new_customer(api, "Zoë Søren — Łódź 李")
    issue(api, dupont, "2026-11-27", name="Novembre")  # before the period: not in its FEC
    first = issue(api, dupont, "2026-12-01")
    second = issue(api, zoe, "2026-12-02", MULTI_RATE)
    third = issue(api, dupont, "2026-12-03", name="Annulée")
    pay(api, first, "400.00", "2026-12-05", reference="VIR\t2026\n12")
    api.deliver_events()
    assert api.post(f"/invoices/{second['id']}/credit-notes", {"amount": "120.00"}).status == 201
    assert api.post(f"/invoices/{third['id']}/void").status == 200

    shown, data = run(api, "fec")

    assert shown["filename"] == "732829320FEC20261231.txt"  # the SIREN, the period's last day
    assert (shown["format"], shown["documents"]) == ("fec", 6)  # three invoices, two credit notes, a payment
    assert audit(data, shown["filename"], start=date(2026, 12, 1), end=date(2026, 12, 31)) == []
    rows = fec_rows(data)
    sales = entries([row for row in rows if row["JournalCode"] == "VT"])
    bank = entries([row for row in rows if row["JournalCode"] == "BQ"])
    assert list(sales) == ["VT000001", "VT000002", "VT000003", "VT000004", "VT000005"]
    assert [lines[0]["PieceRef"] for lines in sales.values()] == ["INV-2", "INV-3", "INV-4", "AV-1", "AV-2"]
    assert list(bank) == ["BQ000001"]
    (debit, credit) = bank["BQ000001"]
    assert (debit["CompteNum"], debit["Debit"]) == ("512100", "400,00")  # the business's own bank account
    assert (credit["CompteNum"], credit["Credit"]) == ("411000", "400,00")
    assert credit["CompAuxNum"] == dupont["id"]
    assert debit["PieceRef"] == "VIR 2026 12"  # what would break a line, as spaces
    multi = {row["CompteLib"]: row for row in sales["VT000002"]}
    # Latin-9: what it lacks, as typed plainly (— as -, Ł as L), unaccented, else "?"
    assert multi["Clients"]["CompAuxLib"] == "Zoë Søren - Lódz ?"
    assert (multi["TVA collectée 20 %"]["CompteNum"], multi["TVA collectée 20 %"]["Credit"]) == ("44571200", "200,00")
    assert (multi["TVA collectée 5.5 %"]["CompteNum"], multi["TVA collectée 5.5 %"]["Credit"]) == ("44571055", "3,30")
    services = [row for row in sales["VT000002"] if row["CompteNum"] == "706000"]
    assert {row["CompteLib"] for row in services} == {"Prestations de services"}  # one label for the account
    assert sorted(row["EcritureLib"].split(" - ")[-1] for row in services) == ["TVA 20 %", "TVA 5.5 %"]
    void = {row["CompteLib"]: row for row in sales["VT000005"]}  # the void's credit note reverses INV-4 whole
    assert (void["Clients"]["Credit"], void["TVA collectée 20 %"]["Debit"]) == ("1398,00", "233,00")
    assert all(row["EcritureDate"] == "20261215" for row in sales["VT000004"] + sales["VT000005"])


def test_a_business_selling_goods_credits_its_sales_of_goods(api, books):
    assert api.patch("/business", {"operations": "goods", "version": books["version"]}).status == 200
    issue(api, new_customer(api), "2026-12-01")

    shown, data = run(api, "fec")

    assert audit(data, shown["filename"], start=date(2026, 12, 1), end=date(2026, 12, 31)) == []
    sales = {row["CompteNum"]: row for row in fec_rows(data)}["707000"]
    assert sales["CompteLib"] == "Ventes de marchandises"  # one label per account, the rate in the entry's label
    assert sales["EcritureLib"].endswith(" - TVA 20 %")


def test_a_free_invoice_takes_no_number_of_the_journal(api, books):
    """An invoice of 0.00 (a service offered) has nothing to book: it must
    not leave a gap in the sales journal's numbers."""
    dupont = new_customer(api)
    issue(api, dupont, "2026-12-01")
    free = [{"name": "Audit offert", "quantity": "1", "unit_price": "0.00", "taxes": [{"name": "TVA", "rate": "20"}]}]
    issue(api, dupont, "2026-12-02", free, name="Offerte")
    issue(api, dupont, "2026-12-03", name="Troisième")

    shown, data = run(api, "fec")

    assert audit(data, shown["filename"], start=date(2026, 12, 1), end=date(2026, 12, 31)) == []
    assert list(entries(fec_rows(data))) == ["VT000001", "VT000002"]


def test_a_document_in_another_currency_is_left_out_of_the_fec_and_counted(api, books):
    dupont = new_customer(api)
    issue(api, dupont, "2026-12-01")
    dollars = {**SPEC_INVOICE, "name": "En dollars", "currency": "USD", "customer_id": dupont["id"],
               "issue_date": "2026-12-02", "due_date": "2027-01-31"}  # fmt: skip
    draft = api.post("/invoices", dollars)
    assert draft.status == 201, draft.body
    assert api.post(f"/invoices/{draft.body['id']}/mark-sent").status == 200

    shown, data = run(api, "fec")

    assert (shown["documents"], shown["skipped"]) == (2, 1)
    assert audit(data, shown["filename"], start=date(2026, 12, 1), end=date(2026, 12, 31)) == []
    assert {row["PieceRef"] for row in fec_rows(data)} == {"INV-1"}


# -- an export of several steps ----------------------------------------------------------------


@pytest.fixture
def twelve(api: Any, books: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Twelve invoices over nine days of December (several a day), six of
    them paid in part; steps of 5 documents read 2 at a time."""
    from invoicing.logic import exports

    monkeypatch.setattr(exports, "STEP", 5)
    monkeypatch.setattr(exports, "PAGE", 2)
    dupont, zoe = new_customer(api), new_customer(api, "Zoë Søren")
    days = ["2026-12-01", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-03", "2026-12-03", "2026-12-04",
            "2026-12-06", "2026-12-07", "2026-12-07", "2026-12-08", "2026-12-09"]  # fmt: skip
    invoices = [issue(api, zoe if n % 3 else dupont, day, name=f"Lot {n}") for n, day in enumerate(days)]
    for n, invoice in enumerate(invoices[::2]):
        pay(api, invoice, f"{100 + n}.00", f"2026-12-{10 + n % 3:02d}")
    api.deliver_events()
    return invoices


def parts(api: Any) -> list[str]:
    return [key for key in api.objects() if "/parts/" in key]


@pytest.mark.parametrize("style", ["csv", "csv-fr"])
def test_given_twelve_invoices_and_steps_of_five_then_the_joined_file_has_each_once_in_date_order(api, twelve, style):
    shown, data = run(api, "invoices", style=style)

    rows = table(data, style)
    assert [row["id"] for row in rows] == [invoice["id"] for invoice in twelve]  # each once, in date order
    assert [row["issue_date"] for row in rows] == sorted(row["issue_date"] for row in rows)
    assert in_order([row["number"] for row in rows])
    assert (shown["documents"], shown["rows"]) == (12, 12)
    header = (";" if style == "csv-fr" else ",").join(files.COLUMNS["invoices"]).encode()
    assert data.count(header) == 1  # one header
    assert parts(api) == []  # the parts, joined, are deleted


def test_given_steps_of_five_the_steps_are_several_and_each_writes_a_part(api, twelve, fakes):
    asked = api.post("/exports", {"kind": "invoices", **DECEMBER})
    written = []
    while (message := fakes.exports.receive()) is not None:
        record = {"messageId": "m", "receiptHandle": "r", "body": json.dumps(message), "eventSource": "aws:sqs",
                  "attributes": {"ApproximateReceiveCount": "1"}}  # fmt: skip
        done = api.invoke_function("reports", {"Records": [record]})["done"]
        written.append((message["part"], done, len(parts(api))))

    assert written[:3] == [(0, {"written": 1}, 1), (1, {"written": 1}, 2), (2, {"ready": 1}, 0)]
    assert len(written) == 3
    assert api.get(f"/exports/{asked.body['id']}").body["status"] == "ready"


def test_given_twelve_invoices_and_their_payments_in_steps_the_fec_is_numbered_on_across_parts(api, twelve):
    shown, data = run(api, "fec")

    assert audit(data, shown["filename"], start=date(2026, 12, 1), end=date(2026, 12, 31)) == []
    rows = fec_rows(data)
    sales = entries([row for row in rows if row["JournalCode"] == "VT"])
    bank = entries([row for row in rows if row["JournalCode"] == "BQ"])
    assert list(sales) == [f"VT{n:06d}" for n in range(1, 13)]
    assert list(bank) == [f"BQ{n:06d}" for n in range(1, 7)]
    assert [lines[0]["PieceRef"] for lines in sales.values()] == [invoice["number"] for invoice in twelve]
    assert shown["documents"] == 18
    assert parts(api) == []


# -- a step delivered twice ------------------------------------------------------------------


def record_of(message: dict[str, Any], receives: int = 1) -> dict[str, Any]:
    return {"messageId": f"m-{message['part']}", "receiptHandle": f"r-{message['part']}",
            "body": json.dumps(message), "attributes": {"ApproximateReceiveCount": str(receives)},
            "eventSource": "aws:sqs"}  # fmt: skip


def reference_file(api: Any, kind: str) -> bytes:
    """The same period exported once, each step once: what any delivery must make."""
    _, data = run(api, kind)
    return data


@pytest.mark.parametrize("kind", ["invoices", "fec"])
def test_given_each_step_delivered_twice_then_one_file_the_same_without_a_row_twice(api, twelve, fakes, kind):
    expected = reference_file(api, kind)
    asked = api.post("/exports", {"kind": kind, **DECEMBER})
    outcomes: list[str] = []

    while (message := fakes.exports.receive()) is not None:  # SQS delivers at least once: here, twice each
        for _ in range(2):
            response = api.invoke_function("reports", {"Records": [record_of(message)]})
            assert response["batchItemFailures"] == [], response
            outcomes += list(response["done"])

    shown = api.get(f"/exports/{asked.body['id']}").body
    assert shown["status"] == "ready"
    assert "done before" in outcomes
    keys = [key for key in api.objects() if key.startswith(f"exports/acme/{asked.body['id']}/")]
    assert keys == [f"exports/acme/{asked.body['id']}/{shown['filename']}"]  # one file, no part left
    assert file_of(api, shown) == expected
    assert shown["documents"] == (12 if kind == "invoices" else 18)


@pytest.mark.parametrize("kind", ["invoices", "fec"])
def test_given_each_step_delivered_twice_at_once_then_one_file_the_same(api, twelve, fakes, kind):
    expected = reference_file(api, kind)
    asked = api.post("/exports", {"kind": kind, **DECEMBER})

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        pending = [(fakes.exports.receive(), 1)]
        while pending:
            message, receives = pending.pop(0)
            event = {"Records": [record_of(message, receives)]}
            responses = list(pool.map(lambda event: api.invoke_function("reports", event), [event, event]))
            if any(response["batchItemFailures"] for response in responses):
                pending.append((message, receives + 1))  # SQS hands a failed message back, later
            while (more := fakes.exports.receive()) is not None:
                pending.append((more, 1))

    shown = api.get(f"/exports/{asked.body['id']}").body
    assert shown["status"] == "ready", shown
    data = file_of(api, shown)
    assert data == expected
    rows = data.decode("iso8859_15" if kind == "fec" else "utf-8").split("\r\n")[1:-1]
    assert len(rows) == len(set(rows)) == (12 if kind == "invoices" else 12 * 3 + 6 * 2)  # no row twice


def test_two_runs_of_a_step_at_once_that_stop_at_different_documents_lose_no_invoice(api, twelve, fakes, monkeypatch):
    """Step 0 delivered twice at once (SQS delivers at least once). Run A
    reads its 5 invoices, writes its part and records the step. Run B read
    the export before A recorded it; its time running short, it stops
    after one invoice, writes its part after A's, then loses the race to
    record it. The file must still hold every invoice once: what A recorded
    (where it stopped) must be what the part holds."""
    from invoicing.adapters import live
    from invoicing.logic import exports

    asked = api.post("/exports", {"kind": "invoices", **DECEMBER})
    read_by_b = fakes.store.get("acme", exports.KIND, asked.body["id"])
    message = fakes.exports.receive()
    assert api.invoke_function("reports", {"Records": [record_of(message)]})["done"] == {"written": 1}  # A
    plenty = exports.time_left_ms
    monkeypatch.setattr(exports, "time_left_ms", lambda: exports.STEP_RESERVE_MS - 1)
    assert exports._step(live.deps(), "acme", read_by_b) == "done before"  # B, on what it read
    monkeypatch.setattr(exports, "time_left_ms", plenty)

    api.run_exports()

    shown = api.get(f"/exports/{asked.body['id']}").body
    assert shown["status"] == "ready"
    assert [row["id"] for row in table(file_of(api, shown), "csv")] == [invoice["id"] for invoice in twelve]


def test_a_step_from_another_export_or_out_of_order_does_nothing(api, twelve, fakes):
    asked = api.post("/exports", {"kind": "invoices", **DECEMBER})
    (first,) = fakes.exports.messages

    ahead = api.invoke_function("reports", {"Records": [record_of({**first, "part": 3})]})
    gone = api.invoke_function("reports", {"Records": [record_of({**first, "export_id": "exp_unknown"})]})

    assert (ahead["done"], gone["done"]) == ({"gone": 1}, {"gone": 1})
    assert api.get(f"/exports/{asked.body['id']}").body["status"] == "pending"
    assert fakes.exports.messages == [first]


def test_a_step_that_keeps_failing_marks_the_export_failed_on_its_last_receive(api, twelve, fakes, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(files, "csv_text", broken)
    asked = api.post("/exports", {"kind": "invoices", **DECEMBER})
    message = fakes.exports.receive()

    retried = api.invoke_function("reports", {"Records": [record_of(message, receives=1)]})
    last = api.invoke_function("reports", {"Records": [record_of(message, receives=5)]})

    assert retried["batchItemFailures"] == [{"itemIdentifier": "m-0"}]  # SQS hands it back, later
    assert last == {"batchItemFailures": [], "done": {"failed": 1}}
    shown = api.get(f"/exports/{asked.body['id']}").body
    assert (shown["status"], shown["url"]) == ("failed", None)
    assert shown["error"] == "RuntimeError: the export could not be written"  # nothing of the inside


# -- what is refused -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "receipts", **DECEMBER}, "kind"),
        ({**DECEMBER}, "kind"),
        ({"kind": "fec", "from": "2026-12-02", "to": "2026-12-01"}, "from"),
        ({"kind": "fec", "from": "2020-01-01", "to": "2026-12-01"}, "to"),
        ({"kind": "invoices", "format": "xlsx", **DECEMBER}, "format"),
        ({"kind": "invoices", "from": "2026-02-30", "to": "2026-12-31"}, "from"),
        ({"kind": "invoices", "sheet": "Feuil1", **DECEMBER}, "sheet"),
    ],
    ids=[
        "kind unknown",
        "kind missing",
        "from after to",
        "over five years",
        "bad format",
        "not a day",
        "unknown field",
    ],  # fmt: skip
)
def test_a_bad_request_is_refused_with_its_field_and_nothing_is_queued(api, books, fakes, body, field):
    reply = api.post("/exports", body)

    assert reply.status == 422, reply.body
    assert reply.error_fields == [field]
    assert fakes.exports.messages == []


def test_an_unknown_export_is_not_found(api, books):
    assert api.get("/exports/exp_01M00000000000000000000000").status == 404


# -- tenants ---------------------------------------------------------------------------------


def test_another_tenant_cannot_see_acme_s_export_and_its_own_holds_none_of_acme_s_documents(api, month):
    acme, _ = run(api, "invoices")
    assert api.put("/business", {**BUSINESS, "legal_name": "Other SAS"}, tenant="other").status == 200
    theirs = issue(api, new_customer(api, "Client d'Other", tenant="other"), "2026-12-03", name="Other",
                   tenant="other")  # fmt: skip

    assert api.get(f"/exports/{acme['id']}", tenant="other").status == 404
    _, sheet = run(api, "invoices", tenant="other")
    _, fec = run(api, "fec", tenant="other")
    _, payments = run(api, "payments", tenant="other")

    assert [row["id"] for row in table(sheet, "csv")] == [theirs["id"]]
    assert {row["CompAuxNum"] for row in fec_rows(fec) if row["CompAuxNum"]} == {theirs["customer_id"]}
    assert {row["EcritureLib"].split(" - ")[0] for row in fec_rows(fec)} == {"Facture INV-1 Client d'Other"}
    assert table(payments, "csv") == []
    acme_ids = [month[name]["id"] for name in ("first", "second", "november", "note")]
    assert not any(doc_id.encode() in data for doc_id in acme_ids for data in (sheet, fec, payments))
    assert not any(key.startswith("exports/other/") and acme["id"] in key for key in api.objects())


def test_the_same_idempotency_key_makes_one_export(api, books, fakes):
    headers = {"Idempotency-Key": "export-december"}
    first = api.post("/exports", {"kind": "fec", **DECEMBER}, headers=headers)
    again = api.post("/exports", {"kind": "fec", **DECEMBER}, headers=headers)
    other = api.post("/exports", {"kind": "fec", **DECEMBER}, headers={"Idempotency-Key": "export-2"})

    assert (first.status, again.status, other.status) == (202, 202, 202)
    assert again.body["id"] == first.body["id"] != other.body["id"]
    assert [message["export_id"] for message in fakes.exports.messages] == [first.body["id"], other.body["id"]]


# -- on moto ---------------------------------------------------------------------------------


@pytest.mark.on_aws
def test_on_aws_a_fec_and_a_french_csv_are_written_to_s3_with_a_five_minute_link(api, books):
    dupont = new_customer(api, "Société Générale d'Études")
    first = issue(api, dupont, "2026-12-01", MULTI_RATE)
    issue(api, dupont, "2026-12-02")
    pay(api, first, "263.30", "2026-12-04", reference="VIR 1")
    api.deliver_events()
    assert api.post(f"/invoices/{first['id']}/credit-notes", {"amount": "120.00"}).status == 201

    fec, data = run(api, "fec")
    csv_fr, sheet = run(api, "invoices", style="csv-fr")

    assert fec["filename"] == "732829320FEC20261231.txt"
    assert audit(data, fec["filename"], start=date(2026, 12, 1), end=date(2026, 12, 31)) == []
    assert len(entries(fec_rows(data))) == 4  # two invoices, a payment, a credit note
    assert "Société Générale d'Études".encode("iso8859_15") in data
    assert "X-Amz-Expires=300" in fec["url"]
    assert fec["filename"] in fec["url"]
    rows = table(sheet, "csv-fr")
    assert [(row["number"], row["total"], row["amount_paid"]) for row in rows] == [
        ("INV-1", "1263,30", "263,30"), ("INV-2", "1398,00", "0,00")]  # fmt: skip
    assert parts(api) == []
    assert Decimal(rows[0]["credited"].replace(",", ".")) == Decimal("120.00")
