"""Reports through the API (SPEC §14): the summary of the invoices issued in
a period as they stand, aging today and on a past day, VAT by rate on the
invoiced and the collected basis; the payments' ledger the collected basis
reads (a payment on the day received, a refund or a cancellation on its
own day, a closed month never rewritten), projected from the invoices'
events once however often and however many at a time they come; a
period's and a basis's 422s; the business's own basis by default; nothing
of one tenant in another's reports."""

from __future__ import annotations

import concurrent.futures
import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from invoicing.models.responses import AgingReport, ReportSummary, VatReport
from tests.conftest import SPEC_INVOICE, published_events

pytestmark = pytest.mark.integration

BOTH = ["fakes", pytest.param("moto", marks=pytest.mark.on_aws)]
TODAY = "2026-12-04"
YEAR = f"from=2026-01-01&to={TODAY}"
# SPEC_INVOICE: 1,398.00 = 1,165.00 HT + 233.00 TVA 20 %


@pytest.fixture
def clock(api: Any) -> None:
    """The functions' clock on 2026-12-04 (in France), on the fakes or on moto."""
    from invoicing.adapters import live

    live.deps().now = lambda: datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


_names = itertools.count(1)


def issue(api: Any, customer: dict[str, Any], issued_on: str, due_on: str, **fields: Any) -> dict[str, Any]:
    body = {**SPEC_INVOICE, "name": f"Facture {next(_names)}", "customer_id": customer["id"],
            "issue_date": issued_on, "due_date": due_on, **fields}  # fmt: skip
    draft = api.post("/invoices", body)
    assert draft.status == 201, draft.body
    reply = api.post(f"/invoices/{draft.body['id']}/mark-sent")
    assert reply.status == 200, reply.body
    return reply.body


def pay(api: Any, invoice: dict[str, Any], amount: str, on: str = TODAY) -> dict[str, Any]:
    body = {"method": "bank_transfer", "amount": amount, "paid_at": on, "reference": f"VIR {on}"}
    reply = api.post(f"/invoices/{invoice['id']}/payments", body)
    assert reply.status == 201, reply.body
    return reply.body


def read(api: Any, path: str, tenant: str = "acme") -> dict[str, Any]:
    reply = api.get(path, tenant=tenant)
    assert reply.status == 200, reply.body
    return reply.body


def by_currency(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {figures["currency"]: figures for figures in report["currencies"]}


def rates(figures: dict[str, Any]) -> list[tuple[str | None, str, str, str]]:
    return [(row["name"], row["rate"], row["base"], row["tax"]) for row in figures["rates"]]


def entries(api: Any, invoice_id: str) -> list[dict[str, Any]]:
    """The invoice's payment entries as the store holds them."""
    from invoicing.adapters.live import deps

    return deps().store.children("acme", "payment_entry", invoice_id)


@pytest.fixture
def world(api: Any, clock: None, business: dict[str, Any], customer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """acme's invoices, their events delivered (the payment entries written):

    - A, INV-1: issued 2025-10-01, due 2025-10-31, unpaid (before this year);
    - B, INV-2: issued 2026-10-01, due 2026-10-31, 398.00 paid on 11-15;
    - C, INV-3: issued 11-27, paid 398.00 on 12-01 and 1,000.00 today;
    - D, INV-4: issued 11-27, voided today;
    - E, INV-5: issued 11-27, credited 120.00 and paid 300.00 today;
    - F, INV-6: issued 11-27 in dollars, 500.00 paid today;
    - a draft, never issued."""
    found = {
        "A": issue(api, customer, "2025-10-01", "2025-10-31"),
        "B": issue(api, customer, "2026-10-01", "2026-10-31"),
        "C": issue(api, customer, "2026-11-27", "2026-12-27"),
        "D": issue(api, customer, "2026-11-27", "2026-12-27"),
        "E": issue(api, customer, "2026-11-27", "2026-12-27"),
        "F": issue(api, customer, "2026-11-27", "2026-12-27", currency="USD"),
    }
    assert [found[key]["number"] for key in "ABCDEF"] == [f"INV-{n}" for n in range(1, 7)]
    assert api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).status == 201  # a draft
    pay(api, found["B"], "398.00", "2026-11-15")
    pay(api, found["C"], "398.00", "2026-12-01")
    pay(api, found["C"], "1000.00")
    assert api.post(f"/invoices/{found['D']['id']}/void").status == 200
    assert api.post(f"/invoices/{found['E']['id']}/credit-notes", {"amount": "120.00"}).status == 201
    pay(api, found["E"], "300.00")
    pay(api, found["F"], "500.00")
    api.deliver_events()
    return {key: read(api, f"/invoices/{invoice['id']}") for key, invoice in found.items()}


# -- summary -------------------------------------------------------------------------------


def test_given_payments_a_credit_note_and_a_void_when_the_summary_is_asked_then_every_amount_is_where_it_went(
    api, world
):
    report = read(api, f"/reports/summary?{YEAR}")

    ReportSummary.model_validate(report)
    assert (report["from"], report["to"], report["as_of"]) == ("2026-01-01", TODAY, TODAY)
    assert [figures["currency"] for figures in report["currencies"]] == ["EUR", "USD"]
    assert by_currency(report) == {
        # B, C, D, E (A was issued last year, the draft never)
        "EUR": {"currency": "EUR", "issued": 4, "void": 1, "paid": 1, "overdue_count": 1,
                "total_excluding_tax": "4660.00", "tax": "932.00", "total": "5592.00", "late_fees": "0.00",
                "credited": "1518.00",  # D's void (1,398.00) and E's 120.00
                "collected": "2096.00",  # B 398.00, C 1,398.00, E 300.00
                "outstanding": "1978.00",  # B 1,000.00, E 978.00
                "overpaid": "0.00", "overdue": "1000.00"},  # B, due 10-31
        "USD": {"currency": "USD", "issued": 1, "void": 0, "paid": 0, "overdue_count": 0,
                "total_excluding_tax": "1165.00", "tax": "233.00", "total": "1398.00", "late_fees": "0.00",
                "credited": "0.00", "collected": "500.00", "outstanding": "898.00", "overpaid": "0.00",
                "overdue": "0.00"},
    }  # fmt: skip
    last_year = read(api, "/reports/summary?from=2025-01-01&to=2025-12-31")
    assert [(f["currency"], f["issued"], f["outstanding"]) for f in last_year["currencies"]] == [("EUR", 1, "1398.00")]


def test_given_late_fees_applied_when_the_summary_is_asked_then_they_are_asked_too_and_every_amount_is_somewhere(
    api, world
):
    assert api.run_sweep("late_fees", TODAY)["done"] >= 1  # A and B, past due
    b = read(api, f"/invoices/{world['B']['id']}")
    assert Decimal(b["late_fees_total"]) > 0

    (eur, _usd) = read(api, f"/reports/summary?{YEAR}")["currencies"]

    assert eur["late_fees"] == b["late_fees_total"]  # only B's: A was issued last year
    assert Decimal(eur["outstanding"]) == Decimal("1978.00") + Decimal(b["late_fees_total"])
    asked = Decimal(eur["total"]) + Decimal(eur["late_fees"])
    assert asked == sum((Decimal(eur[name]) for name in ("credited", "collected", "outstanding")), Decimal(0)) \
        - Decimal(eur["overpaid"])  # fmt: skip


def test_given_an_invoice_voided_after_late_fees_when_the_summary_is_asked_then_nothing_is_outstanding(
    api, clock, business, customer
):
    """A void invoice asks nothing, its late fees included (its amount_due is 0.00)."""
    invoice = issue(api, customer, "2026-10-01", "2026-10-31")
    assert api.run_sweep("late_fees", "2026-12-01")["done"] >= 1
    assert api.post(f"/invoices/{invoice['id']}/void").status == 200
    assert read(api, f"/invoices/{invoice['id']}")["amount_due"] == "0.00"

    (eur,) = read(api, f"/reports/summary?{YEAR}")["currencies"]

    assert (eur["void"], eur["outstanding"], eur["overdue"]) == (1, "0.00", "0.00")


def test_given_no_period_when_the_summary_is_asked_then_it_covers_this_year_to_today(api, world):
    report = read(api, "/reports/summary")

    assert (report["from"], report["to"]) == ("2026-01-01", TODAY)
    assert by_currency(report)["EUR"]["issued"] == 4


# -- aging ------------------------------------------------------------------------------------


def buckets(figures: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {row["bucket"]: (row["amount"], row["count"]) for row in figures["buckets"] if row["count"]}


def test_given_unpaid_invoices_when_aging_is_asked_for_today_then_each_is_owed_by_how_late_it_is(api, world):
    report = read(api, "/reports/aging")

    AgingReport.model_validate(report)
    assert report["as_of"] == TODAY
    eur, usd = report["currencies"]
    assert buckets(eur) == {
        "not_due": ("978.00", 1),  # E
        "31_60": ("1000.00", 1),  # B: 34 days past 10-31
        "over_90": ("1398.00", 1),  # A: 399 days
    }
    assert (eur["total"], eur["count"]) == ("3376.00", 3)
    assert eur["top_customers"] == [
        {"customer_id": world["A"]["customer_id"], "customer_name": "Dupont & Fils", "amount": "3376.00",
         "overdue": "2398.00", "count": 3, "oldest_due_date": "2025-10-31"},
    ]  # fmt: skip
    assert (usd["currency"], buckets(usd)) == ("USD", {"not_due": ("898.00", 1)})


def test_given_a_past_day_when_aging_is_asked_then_only_what_had_happened_by_then_counts(api, world):
    """On 12-01, C's first payment was in; D's void, E's credit note and
    the payments of today were not: each owed what it owed then."""
    on_the_first = read(api, "/reports/aging?as_of=2026-12-01")

    eur, usd = on_the_first["currencies"]
    assert buckets(eur) == {
        "not_due": ("3796.00", 3),  # C 1,000.00, D 1,398.00, E 1,398.00
        "31_60": ("1000.00", 1),  # B: 31 days past 10-31
        "over_90": ("1398.00", 1),  # A
    }
    assert buckets(usd) == {"not_due": ("1398.00", 1)}
    (eur,) = read(api, "/reports/aging?as_of=2026-11-10")["currencies"]  # before B's payment, and C…F's issue
    assert buckets(eur) == {"1_30": ("1398.00", 1), "over_90": ("1398.00", 1)}
    assert read(api, "/reports/aging?as_of=2025-09-30")["currencies"] == []  # before anything was issued


# -- VAT ------------------------------------------------------------------------------------------


def test_given_invoices_and_credit_notes_when_vat_is_asked_invoiced_then_credit_notes_are_deducted(api, world):
    report = read(api, f"/reports/vat?{YEAR}&basis=invoiced")

    VatReport.model_validate(report)
    assert report["basis"] == "invoiced"
    eur, usd = report["currencies"]
    # B, C, D, E: 4 × (1,165.00 + 233.00); less D's void (1,165.00 + 233.00) and E's 120.00 (100.00 + 20.00)
    assert rates(eur) == [("TVA", "20", "3395.00", "679.00")]
    assert (eur["base"], eur["tax"]) == ("3395.00", "679.00")
    assert rates(usd) == [("TVA", "20", "1165.00", "233.00")]


def test_given_payments_when_vat_is_asked_collected_then_each_is_split_over_what_its_invoice_had_left(api, world):
    report = read(api, f"/reports/vat?{YEAR}&basis=collected")

    VatReport.model_validate(report)
    eur, usd = report["currencies"]
    # C paid in full: 1,165.00 + 233.00; B's 398.00 of 1,398.00: 331.67 + 66.33;
    # E's 300.00 of the 1,278.00 its credit note left (1,065.00 + 213.00): 250.00 + 50.00
    assert rates(eur) == [("TVA", "20", "1746.67", "349.33")]
    assert eur["outside_vat"] == "0.00"
    assert rates(usd) == [("TVA", "20", "416.67", "83.33")]  # 500.00 of 1,398.00
    december = read(api, "/reports/vat?from=2026-12-01&to=2026-12-04&basis=collected")
    assert rates(by_currency(december)["EUR"]) == [("TVA", "20", "1415.00", "283.00")]  # B's payment was in November


MIXED = {
    "lines": [
        {"name": "Conseil", "quantity": "3", "unit_price": "333.33", "taxes": [{"name": "TVA", "rate": "20"}]},
        {"name": "Transport", "quantity": "1", "unit_price": "123.45", "taxes": [{"name": "TVA", "rate": "10"}]},
        {"name": "Livres", "quantity": "7", "unit_price": "19.99", "taxes": [{"name": "TVA", "rate": "5.5"}]},
        {"name": "Débours", "quantity": "1", "unit_price": "17.20"},
    ],
    "discount": {"type": "percentage", "value": "7.5"},
}


def test_given_a_partial_payment_then_the_rest_when_vat_is_asked_collected_then_it_ends_equal_to_invoiced(
    api, clock, business, customer
):
    invoice = issue(api, customer, "2026-12-02", "2027-01-01", **MIXED)
    period = "from=2026-12-01&to=2026-12-04"
    invoiced = read(api, f"/reports/vat?{period}&basis=invoiced")["currencies"]
    total = Decimal(invoice["totals"]["total"])

    pay(api, invoice, "333.33", "2026-12-03")
    api.deliver_events()
    partly = read(api, f"/reports/vat?{period}&basis=collected")["currencies"]
    pay(api, invoice, f"{total - Decimal('333.33'):f}")
    api.deliver_events()
    collected = read(api, f"/reports/vat?{period}&basis=collected")["currencies"]

    (part,) = partly
    assert Decimal(part["base"]) + Decimal(part["tax"]) == Decimal("333.33")
    for row, whole in zip(part["rates"], invoiced[0]["rates"], strict=True):  # a part of every rate, no more
        assert (row["name"], row["rate"]) == (whole["name"], whole["rate"])
        assert 0 < Decimal(row["base"]) < Decimal(whole["base"])
        assert 0 <= Decimal(row["tax"]) <= Decimal(whole["tax"])
    (whole,) = collected
    assert whole.pop("outside_vat") == "0.00"
    assert [whole] == invoiced  # to the cent, rate by rate
    assert [row["rate"] for row in whole["rates"]] == ["20", "10", "5.5", "0"]


def test_given_a_late_fee_paid_with_the_invoice_when_vat_is_asked_collected_then_the_fee_is_outside_vat(
    api, clock, business, customer
):
    invoice = issue(api, customer, "2026-10-01", "2026-10-31")
    assert api.run_sweep("late_fees", "2026-12-01")["done"] >= 1
    owed = read(api, f"/invoices/{invoice['id']}")
    fees = owed["late_fees_total"]
    assert Decimal(fees) > 0

    pay(api, invoice, owed["amount_due"])
    api.deliver_events()

    (eur,) = read(api, "/reports/vat?from=2026-12-04&to=2026-12-04&basis=collected")["currencies"]
    assert rates(eur) == [("TVA", "20", "1165.00", "233.00")]
    assert eur["outside_vat"] == fees


def test_given_a_payment_in_a_past_month_when_its_invoice_is_voided_later_then_that_month_s_vat_collected_stands(
    api, clock, business, customer
):
    """November's VAT collected is what came in during November, which the
    business declared: a void in December does not rewrite it (as on the
    invoiced basis, where a credit note counts on its own day)."""
    invoice = issue(api, customer, "2026-10-01", "2026-11-30")
    pay(api, invoice, "699.00", "2026-11-15")
    api.deliver_events()
    november = "/reports/vat?from=2026-11-01&to=2026-11-30&basis=collected"
    declared = read(api, november)
    assert rates(by_currency(declared)["EUR"]) == [("TVA", "20", "582.50", "116.50")]  # half of 1,165.00 + 233.00

    assert api.post(f"/invoices/{invoice['id']}/void").status == 200
    api.deliver_events()

    assert read(api, november) == declared


# -- payment entries ----------------------------------------------------------------------------


def test_given_a_payment_event_delivered_twice_then_its_entry_is_written_once(api, clock, business, customer):
    invoice = issue(api, customer, "2026-11-27", "2026-12-27")
    payment = pay(api, invoice, "398.00")
    events = published_events()
    recorded = [event for event in events if event["detail-type"] == "Payment Recorded"]
    assert len(recorded) == 1

    first = [result for function, result in api.deliver_events(events) if function == "reports"]
    held = entries(api, invoice["id"])
    again = [result for function, result in api.deliver_events(recorded) if function == "reports"]
    direct = [api.invoke_function("reports", recorded[0]) for _ in range(2)]

    assert first == [{"written": 1}]
    assert again == [{"written": 0}]
    assert direct == [{"written": 0}, {"written": 0}]
    (entry,) = entries(api, invoice["id"])
    assert entry == held[0]  # not written again: the same version, the same projection time
    assert entry["version"] == 1
    assert (entry["id"], entry["payment_id"], entry["invoice_number"]) == (
        f"{invoice['id']}.{payment['id']}", payment["id"], "INV-1")  # fmt: skip
    assert (entry["type"], entry["date"], entry["paid_at"], entry["amount"], entry["tip"], entry["reference"]) == (
        "payment", TODAY, TODAY, "398.00", "0.00", f"VIR {TODAY}")  # fmt: skip
    assert entry["vat"] == [{"name": "TVA", "rate": "20", "base": "331.67", "tax": "66.33"}]
    assert (entry["late_fees"], entry["overpaid"], entry["outside_vat"]) == ("0.00", "0.00", "0.00")
    assert not {"counted", "status", "amount_refunded"} & set(entry)  # what it received, never what is left of it


def test_given_the_same_event_delivered_from_many_threads_at_once_then_each_entry_is_written_once(
    api, clock, business, customer
):
    invoice = issue(api, customer, "2026-11-27", "2026-12-27")
    pay(api, invoice, "398.00")
    api.deliver_events()
    first = entries(api, invoice["id"])
    pay(api, invoice, "500.00")
    (event,) = [event for event in published_events() if event["detail-type"] == "Payment Recorded"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: api.invoke_function("reports", event), range(8)))

    assert sum(result["written"] for result in results) == 1  # the second payment's entry, by one of them
    held = entries(api, invoice["id"])
    assert [entry["version"] for entry in held] == [1, 1]
    assert held[0] == first[0]  # the first payment's share did not change: not rewritten
    assert sum(Decimal(entry["amount"]) for entry in held) == Decimal("898.00")
    assert [entry["vat"] for entry in held] == [
        [{"name": "TVA", "rate": "20", "base": "331.67", "tax": "66.33"}],
        [{"name": "TVA", "rate": "20", "base": "416.66", "tax": "83.34"}],  # cumulatively 748.33 + 149.67 of 898.00
    ]


def test_given_a_payment_cancelled_then_its_entry_stands_and_a_cancellation_on_its_day_takes_it_back(
    api, clock, business, customer
):
    invoice = issue(api, customer, "2026-11-27", "2026-12-27")
    bounced = pay(api, invoice, "600.00", "2026-12-01")
    pay(api, invoice, "300.00")
    api.deliver_events()
    payment_id = f"{invoice['id']}.{bounced['id']}"
    (received,) = [entry for entry in entries(api, invoice["id"]) if entry["id"] == payment_id]
    reply = api.post(f"/invoices/{invoice['id']}/payments/{bounced['id']}/cancel", {"reason": "chèque rejeté"})
    assert reply.status == 200, reply.body

    delivered = [result for function, result in api.deliver_events() if function == "reports"]

    assert sum(result["written"] for result in delivered) == 1  # the cancellation's entry, and nothing rewritten
    held = {entry["id"]: entry for entry in entries(api, invoice["id"])}
    assert held[payment_id] == received  # the payment's entry, on its day, as it was
    cancellation = held[f"{payment_id}.cancel"]
    assert (cancellation["type"], cancellation["date"], cancellation["paid_at"], cancellation["version"]) == (
        "cancellation", TODAY, "2026-12-01", 1)  # fmt: skip
    assert (cancellation["amount"], cancellation["tip"]) == ("-600.00", "0.00")
    assert received["vat"] == [{"name": "TVA", "rate": "20", "base": "500.00", "tax": "100.00"}]
    assert cancellation["vat"] == [{"name": "TVA", "rate": "20", "base": "-500.00", "tax": "-100.00"}]
    (eur,) = read(api, "/reports/vat?from=2026-12-01&to=2026-12-04&basis=collected")["currencies"]
    assert Decimal(eur["base"]) + Decimal(eur["tax"]) == Decimal("300.00")  # the payment that stands, alone
    (first,) = read(api, "/reports/vat?from=2026-12-01&to=2026-12-01&basis=collected")["currencies"]
    assert rates(first) == [("TVA", "20", "500.00", "100.00")]  # the day it was received keeps it


def test_given_a_payment_cancelled_in_the_next_month_then_its_month_stands_and_the_next_takes_it_back(
    api, clock, business, customer
):
    """December's VAT collected was declared with the cheque in it; it
    bounces in January: January's declaration takes its VAT back."""
    from invoicing.adapters import live

    invoice = issue(api, customer, "2026-11-27", "2026-12-27")
    cheque = pay(api, invoice, "699.00", "2026-12-01")
    api.deliver_events()
    live.deps().now = lambda: datetime(2027, 1, 4, 23, 30, tzinfo=UTC)  # 01-05 in Paris
    december, january = (f"/reports/vat?{period}&basis=collected"
                         for period in ("from=2026-12-01&to=2026-12-31", "from=2027-01-01&to=2027-01-05"))  # fmt: skip
    declared = read(api, december)
    assert rates(by_currency(declared)["EUR"]) == [("TVA", "20", "582.50", "116.50")]
    assert read(api, january)["currencies"] == []

    reply = api.post(f"/invoices/{invoice['id']}/payments/{cheque['id']}/cancel", {"reason": "chèque rejeté"})
    assert reply.status == 200, reply.body
    api.deliver_events()

    assert read(api, december) == declared
    assert rates(by_currency(read(api, january))["EUR"]) == [("TVA", "20", "-582.50", "-116.50")]
    (both,) = read(api, "/reports/vat?from=2026-12-01&to=2027-01-05&basis=collected")["currencies"]
    assert (both["base"], both["tax"]) == ("0.00", "0.00")  # nothing, net


REVIEWERS_CASE = {
    "lines": [
        {"name": "Conseil", "quantity": "1", "unit_price": "1000.00", "taxes": [{"name": "TVA", "rate": "20"}]},
        {"name": "Livres", "quantity": "1", "unit_price": "1000.00", "taxes": [{"name": "TVA", "rate": "5.5"}]},
    ],
    "discount": None,
}


def test_given_a_credit_note_between_two_payments_when_vat_is_asked_collected_then_it_is_what_the_invoice_asks(
    api, clock, business, customer
):
    """2,255.00 (1,000.00 HT at 20 %, 1,000.00 HT at 5.5 %), half paid
    (1,127.50), then 600.00 credited on the 20 % line, then the rest
    (527.50): 100.00 of VAT at 20 % and 55.00 at 5.5 %, what the invoice
    asks once credited, to the cent; the first payment's entry unchanged."""
    invoice = issue(api, customer, "2026-11-27", "2026-12-27", **REVIEWERS_CASE)
    assert invoice["totals"]["total"] == "2255.00"
    first = pay(api, invoice, "1127.50", "2026-12-01")
    api.deliver_events()
    (held,) = entries(api, invoice["id"])
    assert [(row["rate"], row["base"], row["tax"]) for row in held["vat"]] == [("20", "500.00", "100.00"),
                                                                              ("5.5", "500.00", "27.50")]  # fmt: skip
    note = api.post(f"/invoices/{invoice['id']}/credit-notes", {
        "lines": [{"name": "Conseil, remise", "quantity": "1", "unit_price": "500.00",
                   "taxes": [{"name": "TVA", "rate": "20"}]}], "reason": "Geste commercial"})  # fmt: skip
    assert note.status == 201, note.body
    assert note.body["total"] == "600.00"
    assert [result for function, result in api.deliver_events() if function == "reports"] in ([], [{"written": 0}])

    second = pay(api, invoice, "527.50")
    assert second["invoice"]["amount_due"] == "0.00"
    api.deliver_events()

    after = {entry["payment_id"]: entry for entry in entries(api, invoice["id"])}
    assert after[first["id"]] == held  # December 1st's entry, as it was written
    assert [(row["rate"], row["base"], row["tax"]) for row in after[second["id"]]["vat"] if row["base"] != "0.00"] == [
        ("5.5", "500.00", "27.50")]  # fmt: skip
    (eur,) = read(api, "/reports/vat?from=2026-12-01&to=2026-12-04&basis=collected")["currencies"]
    assert rates(eur) == [("TVA", "20", "500.00", "100.00"), ("TVA", "5.5", "1000.00", "55.00")]
    assert (eur["base"], eur["tax"], eur["outside_vat"]) == ("1500.00", "155.00", "0.00")


@pytest.mark.parametrize("where", BOTH)
def test_given_a_card_payment_refunded_the_next_month_then_the_refund_is_an_entry_of_that_month(
    api, clock, business, customer, stripe_standin, where
):
    """Through Stripe, on the fake store or DynamoDB (the by_date index
    reads a refund by its own day): January's VAT collected stands,
    February's takes back the refund's part, the two what was kept."""
    from invoicing.adapters import live
    from tests.connect import deliver, onboard

    account = onboard(api, stripe_standin)
    live.deps().now = lambda: datetime(2027, 1, 10, 10, 0, tzinfo=UTC)
    invoice = issue(api, customer, "2027-01-05", "2027-02-04")

    def stripe(kind: str, obj: dict[str, Any], id: str, on: datetime) -> None:
        event = {"id": id, "object": "event", "type": kind, "created": int(on.timestamp()), "account": account,
                 "data": {"object": obj}}  # fmt: skip
        reply = deliver(api, event)
        assert reply.status == 200, reply.body

    stripe("payment_intent.succeeded", {
        "id": "pi_1", "object": "payment_intent", "amount_received": 139_800, "currency": "eur",
        "metadata": {"tenant_id": "acme", "invoice_id": invoice["id"]}, "payment_method_types": ["card"],
    }, "evt_paid", datetime(2027, 1, 10, 10, 0, tzinfo=UTC))  # fmt: skip
    api.deliver_events()
    january, february = (f"/reports/vat?{period}&basis=collected"
                         for period in ("from=2027-01-01&to=2027-01-31", "from=2027-02-01&to=2027-02-03"))  # fmt: skip
    live.deps().now = lambda: datetime(2027, 2, 3, 10, 0, tzinfo=UTC)
    declared = read(api, january)
    assert rates(by_currency(declared)["EUR"]) == [("TVA", "20", "1165.00", "233.00")]

    stripe("charge.refunded", {
        "id": "ch_1", "object": "charge", "payment_intent": "pi_1", "amount": 139_800, "amount_refunded": 27_960,
        "currency": "eur", "metadata": {},
    }, "evt_refund", datetime(2027, 2, 3, 10, 0, tzinfo=UTC))  # fmt: skip
    api.deliver_events()

    assert read(api, january) == declared
    assert rates(by_currency(read(api, february))["EUR"]) == [("TVA", "20", "-233.00", "-46.60")]  # a fifth back
    refund = next(entry for entry in entries(api, invoice["id"]) if entry["type"] == "refund")
    assert (refund["date"], refund["paid_at"], refund["amount"], refund["refunded_total"]) == (
        "2027-02-03", "2027-01-10", "-279.60", "279.60")  # fmt: skip
    (both,) = read(api, "/reports/vat?from=2027-01-01&to=2027-02-03&basis=collected")["currencies"]
    assert Decimal(both["base"]) + Decimal(both["tax"]) == Decimal("1118.40")  # 1,398.00 less 279.60


# -- the 422s -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/reports/summary?from=2026-05-02&to=2026-05-01", "from"),
        ("/reports/vat?from=2026-05-02&to=2026-05-01&basis=invoiced", "from"),
        ("/reports/summary?from=2020-01-01&to=2026-01-01", "to"),
        ("/reports/vat?from=2020-01-01&to=2026-01-01", "to"),
        ("/reports/vat?basis=unknown", "basis"),
        ("/reports/summary?from=2026-13-01", "from"),
        ("/reports/summary?to=yesterday", "to"),
        ("/reports/vat?from=2026-02-30", "from"),
        ("/reports/aging?as_of=2026-1-1x", "as_of"),
    ],
)
def test_given_a_bad_period_basis_or_date_when_a_report_is_asked_then_422_naming_the_field(api, clock, path, field):
    reply = api.get(path)

    assert reply.status == 422, (reply.status, reply.body)
    assert reply.error_fields == [field]


def test_given_a_five_year_period_when_a_report_is_asked_then_it_is_answered(api, clock):
    assert api.get("/reports/summary?from=2021-12-05&to=2026-12-04").status == 200
    assert api.get("/reports/vat?from=2021-12-05&to=2026-12-04&basis=collected").status == 200


# -- the business's own basis ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "basis"),
    [
        ({}, "collected"),  # services, VAT on payments (CGI art. 269-2-c)
        ({"operations": "goods"}, "invoiced"),
        ({"operations": "mixed"}, "collected"),
        ({"operations": "services", "vat_on_debits": True}, "invoiced"),  # the option for VAT on debits
    ],
)
def test_given_a_business_profile_when_vat_is_asked_without_a_basis_then_it_is_the_business_s(
    api, clock, business, profile, basis
):
    if profile:
        assert api.patch("/business", profile).status == 200

    report = read(api, "/reports/vat")

    assert (report["basis"], report["from"], report["to"]) == (basis, "2026-01-01", TODAY)
    assert read(api, "/reports/vat?basis=invoiced")["basis"] == "invoiced"  # the one asked wins
    assert read(api, "/reports/vat?basis=collected")["basis"] == "collected"


def test_given_no_business_profile_when_vat_is_asked_then_services_on_payments(api, clock):
    assert read(api, "/reports/vat", tenant="other")["basis"] == "collected"


# -- tenants --------------------------------------------------------------------------------------


def test_given_acmes_figures_when_another_tenant_asks_every_report_then_it_sees_none_of_them(api, world):
    assert read(api, f"/reports/summary?{YEAR}")["currencies"]  # acme has figures to hide

    for path in (f"/reports/summary?{YEAR}", "/reports/summary?from=2025-01-01&to=2025-12-31",
                 f"/reports/vat?{YEAR}&basis=invoiced", f"/reports/vat?{YEAR}&basis=collected",
                 "/reports/aging", "/reports/aging?as_of=2026-12-01"):  # fmt: skip
        assert read(api, path, tenant="other")["currencies"] == [], path


# -- the DynamoDB adapter held to the fake ----------------------------------------------------------


@pytest.mark.parametrize("where", BOTH)
def test_given_the_same_invoices_when_the_reports_are_asked_then_dynamodb_answers_as_the_fake_a_page_at_a_time(
    api, clock, business, customer, where, monkeypatch
):
    """Through the by_date index (invoices by issue day, payment entries by
    the day received) and the unpaid invoices by due date, two documents a
    page, so the cursors are followed."""
    from invoicing.logic import reports

    monkeypatch.setattr(reports, "PAGE", 2)
    old = issue(api, customer, "2025-10-01", "2025-10-31")
    late = issue(api, customer, "2026-10-01", "2026-10-31")
    paid = issue(api, customer, "2026-11-27", "2026-12-27")
    part = issue(api, customer, "2026-11-27", "2026-12-27")
    pay(api, late, "398.00", "2026-11-15")
    pay(api, paid, "398.00", "2026-12-01")
    pay(api, paid, "1000.00")
    pay(api, part, "300.00", "2026-12-02")
    pay(api, old, "100.00", "2026-12-03")
    api.deliver_events()

    (summary,) = read(api, f"/reports/summary?{YEAR}")["currencies"]
    (collected,) = read(api, f"/reports/vat?{YEAR}&basis=collected")["currencies"]
    (december,) = read(api, "/reports/vat?from=2026-12-01&to=2026-12-04&basis=collected")["currencies"]
    (today,) = read(api, "/reports/aging")["currencies"]
    (past,) = read(api, "/reports/aging?as_of=2026-11-20")["currencies"]

    assert (summary["issued"], summary["paid"], summary["collected"], summary["outstanding"], summary["overdue"]) == (
        3, 1, "2096.00", "2098.00", "1000.00")  # fmt: skip
    # all five payments: 2,196.00 in all, 1,398.00 of which pays `paid` in full
    assert (Decimal(collected["base"]) + Decimal(collected["tax"]), collected["outside_vat"]) == (
        Decimal("2196.00"), "0.00")  # fmt: skip
    assert Decimal(december["base"]) + Decimal(december["tax"]) == Decimal("1798.00")  # not the 11-15 payment
    assert buckets(today) == {"not_due": ("1098.00", 1), "31_60": ("1000.00", 1), "over_90": ("1298.00", 1)}
    assert buckets(past) == {"1_30": ("1000.00", 1), "over_90": ("1398.00", 1)}  # before the payment of 12-03
    assert len(entries(api, paid["id"])) == 2
    assert sorted(entry["paid_at"] for entry in entries(api, paid["id"])) == ["2026-12-01", TODAY]


@pytest.mark.parametrize("as_of", ["0001-01-01", "0002-03-20", "9999-12-31"])
def test_given_an_aging_day_at_the_ends_of_the_calendar_then_an_answer_never_a_500(api, as_of):
    """Found by the fuzzing: five years before the year 2 is no day; the
    reports read from the calendar's first day instead."""
    reply = api.get(f"/reports/aging?as_of={as_of}")

    assert reply.status == 200, reply.body
    assert reply.body == {"as_of": as_of, "currencies": []}
