"""The dashboard's and the accountant's reports (SPEC §14), pure: the
documents in, figures per currency out (amounts of different currencies
are never added).

- `summary`: the invoices issued in a period as they stand today: how
  many, their totals (HT, TVA, TTC), and where that money is —
  credited, collected, still outstanding (overdue part of it). For each
  currency, TTC + late fees = credited + collected + outstanding −
  overpaid: every euro asked is somewhere.
- `aging`: what is owed on a day, by how late it is (not due yet, 1–30,
  31–60, 61–90, over 90 days past its due date), and the customers
  owing most.
- `vat`: VAT by rate over a period (domain.ledger): on the invoiced
  basis, the invoices issued less the credit notes issued; on the
  collected basis, the payments received, each split over its
  invoice's rates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from invoicing.domain.invoice import CreditNote, Invoice, day_of
from invoicing.domain.ledger import RateKey, VatRow, add_rows, document_rows
from invoicing.domain.lifecycle import Status
from invoicing.domain.money import ZERO, format_amount, format_rate

Doc = Mapping[str, Any]
MAX_RANGE_DAYS = 5 * 366  # a report or an export covers five years at most
TOP_CUSTOMERS = 10
BUCKETS = (("not_due", None), ("1_30", 30), ("31_60", 60), ("61_90", 90), ("over_90", None))


def range_problem(start: date, end: date) -> tuple[str, str] | None:
    """What is wrong with a period (the field at fault and why), None when nothing."""
    if start > end:
        return "from", f"after to ({end.isoformat()})"
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        return "to", "a period covers five years at most"
    return None


# -- summary -------------------------------------------------------------------------


_SUMMED = ("total_excluding_tax", "tax", "total", "late_fees", "credited", "collected", "outstanding", "overpaid",
           "overdue")  # fmt: skip


def summary(invoices: Iterable[Doc], today: date) -> list[dict[str, Any]]:
    """Per currency, the invoices issued in the period as they stand."""
    sums: dict[str, dict[str, Decimal]] = {}
    counts: dict[str, dict[str, int]] = {}
    for doc in invoices:
        invoice = Invoice.of(doc)
        totals = invoice.totals
        void = invoice.status is Status.VOID  # it asks nothing, its late fees included; what it was paid is owed back
        figures = {
            "total_excluding_tax": totals.total - totals.tax_total,
            "tax": totals.tax_total,
            "total": totals.total,
            "late_fees": ZERO if void else invoice.late_fees_total,
            "credited": invoice.credited,
            "collected": invoice.amount_paid,
            "outstanding": ZERO if void else invoice.amount_due,
            "overpaid": max(invoice.amount_paid - invoice.left_to_credit, ZERO) if void else invoice.amount_overpaid,
            "overdue": invoice.amount_due if not void and invoice.is_overdue(today) else ZERO,
        }
        held = sums.setdefault(invoice.currency, dict.fromkeys(_SUMMED, ZERO))
        for name, amount in figures.items():
            held[name] += amount
        count = counts.setdefault(invoice.currency, {"issued": 0, "void": 0, "paid": 0, "overdue_count": 0})
        count["issued"] += 1
        count["void"] += invoice.status.value == "void"
        count["paid"] += invoice.status.value == "paid"
        count["overdue_count"] += bool(figures["overdue"])
    return [
        {
            "currency": currency,
            **counts[currency],
            **{name: format_amount(amount, currency) for name, amount in sums[currency].items()},
        }  # fmt: skip
        for currency in sorted(sums)
    ]


# -- aging -----------------------------------------------------------------------------


class Owed(NamedTuple):
    """An invoice's amount owed on a day, and the day it was due."""

    invoice: Doc
    amount: Decimal
    due: date


def owed_now(doc: Doc) -> Owed | None:
    """What an unpaid invoice owes as it stands: its amount due, since the
    day its next payment was due (its earliest unpaid instalment's)."""
    invoice = Invoice.of(doc)
    due = invoice.next_due_date()
    if not invoice.is_unpaid() or due is None:
        return None
    return Owed(doc, invoice.amount_due, due)


def owed_on(doc: Doc, day: date) -> Owed | None:
    """What an issued invoice owed at the end of a past day, since the day
    its next payment was then due (`owed_now` of the invoice as it stood)."""
    then = as_it_stood(doc, day)
    return owed_now(then) if then is not None else None


def as_it_stood(doc: Doc, day: date) -> Doc | None:
    """The invoice at the end of `day`: the payments received by then (as
    they count now), the credit notes issued and the late fees applied by
    then; None before it was issued or once it was void."""
    iso = day.isoformat()
    issued = doc.get("issue_date")
    if not issued or issued > iso or doc.get("status") == "draft":
        return None
    if doc.get("status") == Status.VOID.value and day_of(doc.get("voided_at") or issued) <= day:
        return None
    credited = sum((Decimal(note["total"]) for note in doc.get("credit_notes") or [] if note["issue_date"] <= iso),
                   ZERO)  # fmt: skip
    return {
        **doc,
        "status": Status.OPEN.value,  # its amounts say the rest (nothing due: not unpaid)
        "payments": [payment for payment in doc.get("payments") or [] if payment["paid_at"] <= iso],
        "credited": f"{credited:f}",
        "late_fee_entries": [fee for fee in doc.get("late_fee_entries") or [] if fee.get("applied_on", "") <= iso],
    }


def aging(owed: Iterable[Owed], as_of: date) -> list[dict[str, Any]]:
    """Per currency: what is owed by how late it is, and the customers owing most."""
    found: dict[str, dict[str, list[Any]]] = {}
    customers: dict[str, dict[str, dict[str, Any]]] = {}
    for item in owed:
        currency = item.invoice["currency"]
        late = (as_of - item.due).days
        buckets = found.setdefault(currency, {name: [ZERO, 0] for name, _ in BUCKETS})
        bucket = _bucket(late)
        buckets[bucket][0] += item.amount
        buckets[bucket][1] += 1
        who = item.invoice.get("customer") or {}
        key = item.invoice.get("customer_id") or who.get("name") or ""
        held = customers.setdefault(currency, {}).setdefault(
            key,
            {
                "customer_id": item.invoice.get("customer_id"),
                "customer_name": who.get("name"),
                "amount": ZERO,
                "count": 0,
                "oldest_due_date": item.due,
                "overdue": ZERO,
            },  # fmt: skip
        )
        held["amount"] += item.amount
        held["count"] += 1
        held["oldest_due_date"] = min(held["oldest_due_date"], item.due)
        held["overdue"] += item.amount if late > 0 else ZERO
    return [_aging_of(currency, found[currency], customers[currency]) for currency in sorted(found)]


def _bucket(late: int) -> str:
    if late <= 0:
        return "not_due"
    for name, upto in BUCKETS[1:-1]:
        if upto is not None and late <= upto:
            return name
    return "over_90"


def _aging_of(currency: str, buckets: dict[str, list[Any]], customers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    owing = sorted(customers.values(), key=lambda c: (-c["amount"], c["customer_name"] or "", c["customer_id"] or ""))
    total = sum((amount for amount, _ in buckets.values()), ZERO)
    return {
        "currency": currency,
        "total": format_amount(total, currency),
        "count": sum(count for _, count in buckets.values()),
        "buckets": [
            {"bucket": name, "amount": format_amount(buckets[name][0], currency), "count": buckets[name][1]}
            for name, _ in BUCKETS
        ],
        "top_customers": [
            {
                **c,
                "amount": format_amount(c["amount"], currency),
                "overdue": format_amount(c["overdue"], currency),
                "oldest_due_date": c["oldest_due_date"].isoformat(),
            }  # fmt: skip
            for c in owing[:TOP_CUSTOMERS]
        ],
    }


# -- VAT ---------------------------------------------------------------------------------


def vat_invoiced(invoices: Iterable[Doc], credit_notes: Iterable[Doc]) -> list[dict[str, Any]]:
    """Per currency and rate: the invoices' bases and VAT, less the credit notes'."""
    rows: dict[str, dict[RateKey, VatRow]] = {}
    for doc in invoices:
        invoice = Invoice.of(doc)
        add_rows(rows.setdefault(invoice.currency, {}), document_rows(invoice))
    for doc in credit_notes:
        note = CreditNote.of(doc)
        add_rows(rows.setdefault(note.currency, {}), document_rows(note, sign=-1))
    return _vat_view(rows)


def vat_collected(entries: Iterable[Doc]) -> list[dict[str, Any]]:
    """Per currency and rate: the payment entries' shares (logic.ledger)."""
    rows: dict[str, dict[RateKey, VatRow]] = {}
    outside: dict[str, Decimal] = {}
    for entry in entries:
        stored = {
            (row["name"], Decimal(row["rate"])): VatRow(
                row["name"], Decimal(row["rate"]), Decimal(row["base"]), Decimal(row["tax"])
            )  # fmt: skip
            for row in entry.get("vat") or []
        }
        add_rows(rows.setdefault(entry["currency"], {}), stored)
        outside[entry["currency"]] = outside.get(entry["currency"], ZERO) + Decimal(entry.get("outside_vat") or 0)
    # what was paid beyond the invoices' groups: late fees (no VAT) or an overpayment
    return [{**view, "outside_vat": format_amount(outside[view["currency"]], view["currency"])}
            for view in _vat_view(rows)]  # fmt: skip


def _vat_view(rows: dict[str, dict[RateKey, VatRow]]) -> list[dict[str, Any]]:
    view = []
    for currency in sorted(rows):
        ordered = sorted(rows[currency].values(), key=lambda row: (-row.rate, row.name or ""))
        view.append(
            {
                "currency": currency,
                "rates": [
                    {
                        "name": row.name,
                        "rate": format_rate(row.rate),
                        "base": format_amount(row.base, currency),
                        "tax": format_amount(row.tax, currency),
                    }  # fmt: skip
                    for row in ordered
                ],
                "base": format_amount(sum((row.base for row in ordered), ZERO), currency),
                "tax": format_amount(sum((row.tax for row in ordered), ZERO), currency),
            }
        )
    return view
