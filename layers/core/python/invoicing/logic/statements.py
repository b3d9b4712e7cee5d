"""Use case of a customer's statement of account (SPEC §14): its invoices
(the index by customer), their movements (domain.statement), as JSON or
as a PDF in the bucket behind a short-lived link."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from invoicing.domain import statement
from invoicing.domain.errors import NotFound
from invoicing.logic import catalog
from invoicing.logic.common import Deps, every_page
from invoicing.logic.reports import period
from invoicing.ports import Doc, InvoiceQuery

PAGE = 200
LINK_TTL_S = 300


def of_customer(deps: Deps, tenant: str, customer_id: str, start: date | None, end: date | None) -> Doc:
    customer = deps.store.get(tenant, "customer", customer_id)
    if customer is None:
        raise NotFound("customer")
    start, end = period(start, end, deps.today())
    accounts = statement.statement(_issued(deps, tenant, customer_id), start, end)
    return {
        "customer": {key: customer.get(key) for key in ("id", "name", "email", "siren", "address")},
        "from": start.isoformat(),
        "to": end.isoformat(),
        "as_of": deps.today().isoformat(),
        "currencies": accounts,
    }


def _issued(deps: Deps, tenant: str, customer_id: str) -> Iterator[Doc]:
    query = InvoiceQuery(customer_id=customer_id)
    read = every_page(lambda cursor: deps.store.list(tenant, "invoice", limit=PAGE, cursor=cursor, query=query))
    return (doc for doc in read if doc["status"] != "draft")


def pdf_link(deps: Deps, tenant: str, customer_id: str, start: date | None, end: date | None) -> dict[str, Any]:
    """The statement as a PDF (rendered now: a statement is a few pages),
    kept under the tenant's statements, and a link to it."""
    from invoicing.documents.pdf import render_statement
    from invoicing.documents.view import statement_view

    found = of_customer(deps, tenant, customer_id, start, end)
    data = render_statement(statement_view(found, catalog.get_business(deps, tenant)))
    assert deps.blobs is not None
    filename = f"releve-{found['from']}-{found['to']}.pdf"
    key = f"exports/{tenant}/statements/{customer_id}/{deps.new_id('stm')}.pdf"
    deps.blobs.put(key, data, "application/pdf")
    return {"url": deps.blobs.download_url(key, filename, LINK_TTL_S), "expires_in": LINK_TTL_S}
