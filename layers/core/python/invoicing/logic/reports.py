"""Use cases of reports (SPEC §14): what they read, through the `by_date`
index only — the tenant's documents of the period, never the table —
and the figures domain.reports makes of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from invoicing.domain import reports
from invoicing.domain.errors import InvalidInput
from invoicing.logic import catalog
from invoicing.logic.common import Deps, every_page
from invoicing.ports import Doc, InvoiceQuery

PAGE = 500  # documents per query: a page of the index
FAR_FUTURE = "9999-12-31"


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """A report's period, checked: `to` defaults to today, `from` to the
    first day of `to`'s year."""
    end = end or today
    start = start or end.replace(month=1, day=1)
    problem = reports.range_problem(start, end)
    if problem:
        raise InvalidInput.of(*problem)
    return start, end


def dated(deps: Deps, tenant: str, kind: str, start: date, end: date) -> Iterator[Doc]:
    """The tenant's issued documents of `kind` dated in the period (payment
    entries: received), oldest first, a page of the index at a time."""
    first, last = start.isoformat(), end.isoformat()
    return every_page(lambda cursor: deps.store.dated(tenant, kind, start=first, end=last, limit=PAGE, cursor=cursor))


def summary(deps: Deps, tenant: str, start: date | None, end: date | None) -> dict[str, Any]:
    start, end = period(start, end, deps.today())
    found = reports.summary(dated(deps, tenant, "invoice", start, end), deps.today())
    return {"from": start.isoformat(), "to": end.isoformat(), "as_of": deps.today().isoformat(), "currencies": found}


def aging(deps: Deps, tenant: str, as_of: date | None) -> dict[str, Any]:
    """What is owed on `as_of` (today by default). Today or later: the unpaid
    invoices as they stand (the index of unpaid invoices by due date). A
    past day: the invoices issued in the five years before, as they stood
    then."""
    today = deps.today()
    as_of = as_of or today
    if as_of >= today:
        owed = (reports.owed_now(doc) for doc in _unpaid(deps, tenant))
    else:
        # a trade debt is time-barred after five years (Code de commerce, art. L110-4)
        since = as_of - min(timedelta(days=reports.MAX_RANGE_DAYS), as_of - date.min)
        owed = (reports.owed_on(doc, as_of) for doc in dated(deps, tenant, "invoice", since, as_of))
    found = reports.aging((item for item in owed if item is not None), as_of)
    return {"as_of": as_of.isoformat(), "currencies": found}


def _unpaid(deps: Deps, tenant: str) -> Iterator[Doc]:
    query = InvoiceQuery(overdue_before=FAR_FUTURE)  # every issued invoice with an amount due, by due date
    return every_page(lambda cursor: deps.store.list(tenant, "invoice", limit=PAGE, cursor=cursor, query=query))


def vat(deps: Deps, tenant: str, start: date | None, end: date | None, basis: str | None) -> dict[str, Any]:
    start, end = period(start, end, deps.today())
    basis = basis or default_basis(catalog.get_business(deps, tenant))
    if basis == "collected":
        found = reports.vat_collected(dated(deps, tenant, "payment_entry", start, end))
    else:
        invoices = dated(deps, tenant, "invoice", start, end)
        found = reports.vat_invoiced(invoices, dated(deps, tenant, "credit_note", start, end))
    return {"from": start.isoformat(), "to": end.isoformat(), "basis": basis, "currencies": found}


def default_basis(business: Doc) -> str:
    """When VAT is due for the business: on the invoices (goods, or services
    with the option for VAT on debits) or on the payments (services, CGI
    art. 269-2-c)."""
    if business.get("vat_on_debits") or business.get("operations") == "goods":
        return "invoiced"
    return "collected"
