"""The API's routes: parse (pydantic, by Powertools), call a use case, answer.

One module a function, so that each loads its own routes and models only
(`infra/wiring.py` says which function answers which route). The OpenAPI
document needs them all: `every()` loads them, on its first request.

No `from __future__ import annotations` in these modules: Powertools reads
the route functions' annotations at runtime, and the CRUD routes are built
in a loop.
"""

from typing import Any


def every() -> tuple[Any, ...]:
    """Every router, in the document's order."""
    from invoicing.api.routes import (
        attachments,
        catalog,
        documents,
        estimates,
        invoices,
        pay,
        payment_methods,
        quote,
        recurring,
        reports,
        sender,
        totals,
        webhook_endpoints,
        webhooks,
    )

    return (
        catalog.business,
        catalog.customers,
        payment_methods.router,
        catalog.products,
        catalog.templates,
        invoices.router,
        estimates.router,
        recurring.router,
        webhook_endpoints.router,
        reports.router,
        documents.router,
        attachments.router,
        sender.router,
        webhooks.router,
        pay.router,
        quote.router,
        totals.router,
    )
