"""The reports' figures (domain.reports, SPEC §14), pure: the summary's
every euro somewhere (TTC + late fees = credited + collected + outstanding
− overpaid) in each currency, never mixing two; aging by days past due at
the buckets' edges, and the customers owing most; what an invoice owed on a
past day, counting only what had happened by then; a period's limits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain.invoice import settled, voided
from invoicing.domain.money import ZERO
from invoicing.domain.reports import (
    MAX_RANGE_DAYS,
    TOP_CUSTOMERS,
    Owed,
    aging,
    owed_now,
    owed_on,
    range_problem,
    summary,
    vat_invoiced,
)
from invoicing.logic.totals import totals_of, totals_view

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 4)
NOW = "2026-12-04T10:00:00.000Z"
MONEY = ("total_excluding_tax", "tax", "total", "late_fees", "credited", "collected", "outstanding", "overpaid",
         "overdue")  # fmt: skip


def invoice(
    ht: str = "1000.00",
    *,
    id: str = "inv_1",
    currency: str = "EUR",
    issue: str = "2026-01-10",
    due: str = "2026-02-09",
    customer: tuple[str, str] = ("cus_1", "Dupont & Fils"),
    **fields: Any,
) -> dict[str, Any]:
    """An issued invoice as stored: one line of `ht` at TVA 20 %, with the
    amounts and status its payments, credits and fees give it."""
    lines = [{"name": "Prestation", "quantity": "1", "unit_price": ht, "taxes": [{"name": "TVA", "rate": "20"}]}]
    view = totals_view(totals_of(lines, None, currency))
    nets = view.pop("line_nets")
    doc = {
        "id": id,
        "number": f"INV-{id}",
        "currency": currency,
        "status": "open",
        "version": 1,
        "issue_date": issue,
        "due_date": due,
        "customer_id": customer[0],
        "customer": {"name": customer[1]},
        "lines": [{**line, "net": net} for line, net in zip(lines, nets, strict=True)],
        "totals": view,
        "credited": "0",
        "payments": [],
        **fields,
    }
    return settled(doc, NOW)


def paid(id: str, amount: str, on: str = "2026-03-01", **fields: Any) -> dict[str, Any]:
    return {"id": id, "amount": amount, "amount_refunded": "0", "status": "succeeded", "paid_at": on, **fields}


def fee(amount: str, on: str) -> dict[str, Any]:
    return {"period": on, "amount": amount, "applied_on": on}


def credit(total: str, on: str, id: str = "cn_1") -> dict[str, Any]:
    return {"id": id, "number": f"AV-{id}", "total": total, "issue_date": on}


def by_currency(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {figures["currency"]: figures for figures in found}


def every_euro_is_somewhere(figures: dict[str, Any]) -> bool:
    asked = Decimal(figures["total"]) + Decimal(figures["late_fees"])
    found = (Decimal(figures["credited"]) + Decimal(figures["collected"]) + Decimal(figures["outstanding"])
             - Decimal(figures["overpaid"]))  # fmt: skip
    return asked == found


# -- summary -----------------------------------------------------------------------------


def test_given_invoices_in_two_currencies_then_the_summary_has_each_apart_and_every_amount_is_somewhere():
    eur = [
        invoice("1000.00", id="a", payments=[paid("p1", "500.00")]),  # due 2026-02-09: overdue
        invoice("100.00", id="b", payments=[paid("p2", "120.00")]),  # paid
        voided(invoice("500.00", id="c", credited="600.00", credit_notes=[credit("600.00", "2026-02-01")]), NOW),
    ]
    usd = [
        invoice(
            "2000.00",
            id="d",
            currency="USD",
            due="2027-01-10",
            late_fee_entries=[fee("36.00", "2026-11-01")],
            payments=[paid("p3", "1000.00")],
        ),  # 1,436.00 outstanding, not yet due
        invoice("100.00", id="e", currency="USD", payments=[paid("p4", "150.00")]),  # 30.00 overpaid
    ]

    found = summary([eur[0], usd[0], eur[1], usd[1], eur[2]], TODAY)

    assert [figures["currency"] for figures in found] == ["EUR", "USD"]
    assert by_currency(found) == {
        "EUR": {"currency": "EUR", "issued": 3, "void": 1, "paid": 1, "overdue_count": 1,
                "total_excluding_tax": "1600.00", "tax": "320.00", "total": "1920.00", "late_fees": "0.00",
                "credited": "600.00", "collected": "620.00", "outstanding": "700.00", "overpaid": "0.00",
                "overdue": "700.00"},
        "USD": {"currency": "USD", "issued": 2, "void": 0, "paid": 1, "overdue_count": 0,
                "total_excluding_tax": "2100.00", "tax": "420.00", "total": "2520.00", "late_fees": "36.00",
                "credited": "0.00", "collected": "1150.00", "outstanding": "1436.00", "overpaid": "30.00",
                "overdue": "0.00"},
    }  # fmt: skip
    assert all(every_euro_is_somewhere(figures) for figures in found)


def test_given_no_invoice_then_the_summary_has_no_currency():
    assert summary([], TODAY) == []


PAYMENT = st.tuples(
    st.integers(1, 200_000),  # cents
    st.sampled_from(["succeeded", "cancelled"]),
    st.integers(0, 100),  # percent refunded
)


@st.composite
def invoices_in_two_currencies(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Invoices in euros and dollars, each paid (some overpaid, some payments
    cancelled or refunded), credited and fined at random, or voided."""
    found = []
    for n in range(draw(st.integers(1, 8))):
        ht = Decimal(draw(st.integers(1, 500_000))) / 100
        total = ht * Decimal("1.2")
        payments = []
        for i, (cents, status, refunded) in enumerate(draw(st.lists(PAYMENT, max_size=4))):
            amount = Decimal(cents) / 100
            back = (amount * refunded / 100).quantize(Decimal("0.01"))
            payments.append(paid(f"p{n}_{i}", f"{amount:f}", status=status, amount_refunded=f"{back:f}"))
        credited = (total * draw(st.integers(0, 100)) / 100).quantize(Decimal("0.01"))
        fees = [fee(f"{Decimal(draw(st.integers(1, 5_000))) / 100:f}", "2026-03-10")] if draw(st.booleans()) else []
        doc = invoice(f"{ht:f}", id=f"inv_{n}", currency=draw(st.sampled_from(["EUR", "USD"])),
                      due=draw(st.sampled_from(["2026-02-09", "2027-02-09"])), payments=payments,
                      credited=f"{credited:f}", late_fee_entries=fees)  # fmt: skip
        # voiding credits what is left of it (logic.credit_notes.void): a void invoice is credited in full
        void = draw(st.booleans()) and not fees
        found.append(voided({**doc, "credited": doc["totals"]["total"]}, NOW) if void else doc)
    return found


@settings(max_examples=200, deadline=None, derandomize=True)
@given(invoices_in_two_currencies())
def test_given_any_invoices_then_in_each_currency_every_amount_is_somewhere_and_no_currency_takes_anothers(docs):
    found = by_currency(summary(docs, TODAY))

    assert set(found) == {doc["currency"] for doc in docs}
    for currency, figures in found.items():
        assert every_euro_is_somewhere(figures), figures
        alone = [summary([doc], TODAY)[0] for doc in docs if doc["currency"] == currency]
        assert figures["issued"] == len(alone)
        for name in (*MONEY, "void", "paid", "overdue_count"):  # the sum of its own invoices, nothing else
            assert Decimal(figures[name]) == sum((Decimal(one[name]) for one in alone), ZERO), name


def test_given_a_void_invoice_that_had_late_fees_then_the_summary_shows_nothing_outstanding():
    """A void invoice asks nothing, its late fees included (domain.invoice.voided):
    the summary does not count them as still outstanding."""
    fined = invoice("1000.00", late_fee_entries=[fee("18.00", "2026-03-10")])
    void = voided({**fined, "credited": "1200.00", "credit_notes": [credit("1200.00", "2026-04-01")]}, NOW)
    assert void["amount_due"] == "0.00"

    (figures,) = summary([void], TODAY)

    assert (figures["void"], figures["outstanding"], figures["overdue"]) == (1, "0.00", "0.00")
    assert every_euro_is_somewhere(figures)


# -- aging -------------------------------------------------------------------------------


AS_OF = date(2026, 6, 30)


def owed(amount: str, days_late: int, *, currency: str = "EUR", customer: tuple[str, str] = ("cus_1", "Dupont"),
         id: str = "inv_1") -> Owed:  # fmt: skip
    doc = {"id": id, "currency": currency, "customer_id": customer[0], "customer": {"name": customer[1]}}
    return Owed(doc, Decimal(amount), AS_OF - timedelta(days=days_late))


@pytest.mark.parametrize(
    ("days_late", "bucket"),
    [(-10, "not_due"), (0, "not_due"), (1, "1_30"), (30, "1_30"), (31, "31_60"), (60, "31_60"), (61, "61_90"),
     (90, "61_90"), (91, "over_90"), (2_000, "over_90")],
)  # fmt: skip
def test_given_an_amount_owed_so_many_days_past_due_then_it_falls_in_its_bucket(days_late, bucket):
    (figures,) = aging([owed("100.00", days_late)], AS_OF)

    filled = {row["bucket"]: (row["amount"], row["count"]) for row in figures["buckets"] if row["count"]}
    assert filled == {bucket: ("100.00", 1)}
    assert [row["bucket"] for row in figures["buckets"]] == ["not_due", "1_30", "31_60", "61_90", "over_90"]
    assert (figures["total"], figures["count"]) == ("100.00", 1)
    (customer,) = figures["top_customers"]
    assert customer["overdue"] == ("100.00" if days_late > 0 else "0.00")  # due today is not late


def test_given_amounts_at_every_edge_then_each_bucket_sums_its_own():
    items = [owed(f"{days}.00", days, id=f"inv_{days}") for days in (0, 1, 30, 31, 60, 61, 90, 91)]

    (figures,) = aging(items, AS_OF)

    assert [(row["bucket"], row["amount"], row["count"]) for row in figures["buckets"]] == [
        ("not_due", "0.00", 1), ("1_30", "31.00", 2), ("31_60", "91.00", 2), ("61_90", "151.00", 2),
        ("over_90", "91.00", 1),
    ]  # fmt: skip
    assert (figures["total"], figures["count"]) == ("364.00", 8)


def test_given_twelve_customers_owing_then_the_ten_owing_most_come_first_ties_by_name():
    items = [owed(f"{100 * n}.00", 10, customer=(f"cus_{n:02d}", f"Client {n:02d}"), id=f"inv_{n}")
             for n in range(1, 13)]  # fmt: skip
    items.append(owed("1200.00", 10, customer=("cus_00", "Aardvark"), id="inv_tie"))  # as much as Client 12

    (figures,) = aging(items, AS_OF)

    top = figures["top_customers"]
    assert len(top) == TOP_CUSTOMERS == 10
    assert [c["customer_name"] for c in top] == [
        "Aardvark",
        "Client 12",
        "Client 11",
        "Client 10",
        "Client 09",
        "Client 08",
        "Client 07",
        "Client 06",
        "Client 05",
        "Client 04",
    ]
    assert [c["amount"] for c in top][:3] == ["1200.00", "1200.00", "1100.00"]
    assert figures["count"] == 13  # the buckets count them all, the list stops at ten


def test_given_a_customer_owing_on_several_invoices_then_they_are_one_line_with_the_oldest_due_date():
    dupont = ("cus_1", "Dupont & Fils")
    items = [owed("300.00", 45, customer=dupont, id="a"), owed("200.00", -5, customer=dupont, id="b"),
             owed("50.00", 3, customer=("cus_2", "Martin"), id="c")]  # fmt: skip

    (figures,) = aging(items, AS_OF)

    assert figures["top_customers"] == [
        {"customer_id": "cus_1", "customer_name": "Dupont & Fils", "amount": "500.00", "count": 2,
         "oldest_due_date": (AS_OF - timedelta(days=45)).isoformat(), "overdue": "300.00"},
        {"customer_id": "cus_2", "customer_name": "Martin", "amount": "50.00", "count": 1,
         "oldest_due_date": (AS_OF - timedelta(days=3)).isoformat(), "overdue": "50.00"},
    ]  # fmt: skip


def test_given_amounts_owed_in_two_currencies_then_aging_keeps_them_apart():
    items = [owed("100.00", 5), owed("70.00", 5, currency="USD", id="inv_2"), owed("30.00", 40, id="inv_3")]

    found = {figures["currency"]: figures for figures in aging(items, AS_OF)}

    assert (found["EUR"]["total"], found["EUR"]["count"]) == ("130.00", 2)
    assert (found["USD"]["total"], found["USD"]["count"]) == ("70.00", 1)
    assert [c["amount"] for c in found["USD"]["top_customers"]] == ["70.00"]


def test_given_an_unpaid_invoice_then_it_owes_now_its_amount_due_since_its_next_payment_was_due():
    plan = {"type": "percentage", "instalments": [{"due_date": "2026-02-09", "value": "50"},
                                                  {"due_date": "2026-03-09", "value": "50"}]}  # fmt: skip
    doc = invoice("1000.00", payment_schedule=plan, due="2026-03-09", payments=[paid("p1", "600.00")])

    found = owed_now(doc)

    assert found is not None
    assert (found.amount, found.due) == (Decimal("600.00"), date(2026, 3, 9))  # the first instalment is paid
    assert owed_now(invoice("100.00", payments=[paid("p1", "120.00")])) is None  # paid
    assert owed_now(voided(invoice("100.00"), NOW)) is None


def test_given_an_instalment_past_due_then_aging_on_yesterday_finds_it_as_late_as_aging_today():
    """Nothing happened to the invoice since yesterday: rebuilt for yesterday,
    it was owed since the day its first instalment was due, as today."""
    plan = {"type": "percentage", "instalments": [{"due_date": "2026-11-15", "value": "50"},
                                                  {"due_date": "2026-12-27", "value": "50"}]}  # fmt: skip
    doc = invoice("1000.00", issue="2026-11-01", due="2026-12-27", payment_schedule=plan)

    today, yesterday = owed_now(doc), owed_on(doc, TODAY - timedelta(days=1))

    assert today is not None
    assert yesterday is not None
    assert today.due == date(2026, 11, 15)
    assert yesterday.due == today.due


# -- what was owed on a past day -----------------------------------------------------------


def history(**fields: Any) -> dict[str, Any]:
    """1,200.00 issued on 2026-01-10, due 2026-02-09: 500.00 paid on 03-01, a
    late fee of 18.00 on 03-10, a credit note of 120.00 on 04-15, 200.00
    paid on 05-01."""
    return invoice(
        "1000.00",
        payments=[paid("p1", "500.00", "2026-03-01"), paid("p2", "200.00", "2026-05-01")],
        late_fee_entries=[fee("18.00", "2026-03-10")],
        credited="120.00",
        credit_notes=[credit("120.00", "2026-04-15")],
        **fields,
    )


@pytest.mark.parametrize(
    ("day", "amount"),
    [
        ("2026-02-28", "1200.00"),  # due, nothing happened yet
        ("2026-03-01", "700.00"),  # a payment counts from the day it was received
        ("2026-03-09", "700.00"),  # the fee applied the next day is not owed yet
        ("2026-03-10", "718.00"),
        ("2026-04-14", "718.00"),  # the credit note issued the next day takes nothing off yet
        ("2026-04-15", "598.00"),
        ("2026-04-30", "598.00"),  # the payment received the next day is not counted yet
        ("2026-05-01", "398.00"),
        ("2026-12-04", "398.00"),
    ],
)
def test_given_an_invoice_then_on_a_past_day_it_owed_only_what_had_happened_by_then(day, amount):
    found = owed_on(history(), date.fromisoformat(day))

    assert found is not None
    assert (found.amount, found.due) == (Decimal(amount), date(2026, 2, 9))


def test_given_a_day_before_its_issue_then_the_invoice_owed_nothing():
    assert owed_on(history(), date(2026, 1, 9)) is None
    assert owed_on(history(), date(2026, 1, 10)).amount == Decimal("1200.00")


def test_given_a_payment_cancelled_or_refunded_since_then_on_a_past_day_it_counts_as_it_counts_now():
    doc = invoice("1000.00", payments=[paid("p1", "500.00", "2026-03-01", status="cancelled"),
                                       paid("p2", "400.00", "2026-03-02", amount_refunded="100.00")])  # fmt: skip

    assert owed_on(doc, date(2026, 3, 5)).amount == Decimal("900.00")


def test_given_an_invoice_paid_in_full_by_the_day_then_it_owed_nothing_that_day():
    doc = invoice("1000.00", payments=[paid("p1", "1000.00", "2026-02-01"), paid("p2", "200.00", "2026-02-20")])

    assert owed_on(doc, date(2026, 2, 19)).amount == Decimal("200.00")
    assert owed_on(doc, date(2026, 2, 20)) is None


def test_given_an_invoice_voided_after_a_late_fee_then_after_its_void_it_owed_nothing():
    """Voided, it asks nothing, its late fees included (domain.invoice.voided):
    a past day after the void finds nothing owed, not the fee."""
    fined = invoice("1000.00", late_fee_entries=[fee("18.00", "2026-03-10")])
    on_the_day = {**fined, "credited": "1200.00", "credit_notes": [credit("1200.00", "2026-04-01")]}
    void = voided(on_the_day, "2026-04-01T09:00:00.000Z")

    assert owed_on(void, date(2026, 3, 31)).amount == Decimal("1218.00")  # before its void, it owed the fee too
    assert owed_on(void, date(2026, 4, 1)) is None


# -- VAT on the invoiced basis ----------------------------------------------------------------


def test_given_an_invoice_with_a_line_of_two_taxes_then_vat_invoiced_is_its_own_breakdown_to_the_cent():
    """The invoice says, tax by tax, what it charged (its totals' breakdown, each
    tax rounded once over its lines): the report of the invoices issued says the same."""
    lines = [
        {"name": "Vin", "quantity": "1", "unit_price": "118.36",
         "taxes": [{"name": "Accise", "rate": "1"}, {"name": "TVA", "rate": "20"}]},
        {"name": "Service", "quantity": "1", "unit_price": "135.96", "taxes": [{"name": "TVA", "rate": "20"}]},
        {"name": "Bière", "quantity": "1", "unit_price": "54.39", "taxes": [{"name": "Accise", "rate": "1"}]},
    ]  # fmt: skip
    view = totals_view(totals_of(lines, None, "EUR"))
    nets = view.pop("line_nets")
    doc = {"id": "inv_1", "currency": "EUR", "status": "open", "totals": view, "credited": "0", "payments": [],
           "lines": [{**line, "net": net} for line, net in zip(lines, nets, strict=True)]}  # fmt: skip
    assert view["tax_breakdown"] == [{"name": "TVA", "rate": "20", "base": "254.32", "tax": "50.86"},
                                     {"name": "Accise", "rate": "1", "base": "172.75", "tax": "1.73"}]  # fmt: skip

    (eur,) = vat_invoiced([doc], [])

    assert {(row["name"], row["rate"], row["base"], row["tax"]) for row in eur["rates"]} == {
        ("TVA", "20", "254.32", "50.86"), ("Accise", "1", "172.75", "1.73")}  # fmt: skip
    assert eur["tax"] == view["tax_total"]


# -- a period ----------------------------------------------------------------------------------


def test_given_a_period_then_its_problem_names_the_field_at_fault():
    day = date(2026, 6, 1)

    assert range_problem(day, day) is None  # one day
    assert range_problem(date(2021, 1, 1), date(2025, 12, 31)) is None  # five calendar years
    assert range_problem(day, day + timedelta(days=MAX_RANGE_DAYS)) is None
    assert range_problem(day + timedelta(days=1), day) == ("from", "after to (2026-06-01)")
    field, why = range_problem(day, day + timedelta(days=MAX_RANGE_DAYS + 1))
    assert (field, why) == ("to", "a period covers five years at most")
    assert range_problem(date(2000, 1, 1), date(2026, 1, 1))[0] == "to"
