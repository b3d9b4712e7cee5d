"""The daily sweep that marks invoices overdue (SPEC §13's invoice.overdue,
once per invoice): an invoice unpaid the day after its next payment was due
gets `overdue_at`, once however often and however many at a time the sweep
runs, and that write is the one webhook event `invoice.overdue`. A paid,
void or not yet due invoice is never marked."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest

from invoicing.events import WEBHOOK_EVENT
from tests.conftest import published_events
from tests.integration.test_sweeps import issue, read

pytestmark = pytest.mark.integration

BOTH = ["fakes", pytest.param("moto", marks=pytest.mark.on_aws)]
# SPEC_INVOICE is due on 2026-12-27: overdue from the 28th.


def overdue_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The webhook events of type invoice.overdue among `events`, their details."""
    return [
        e["detail"] for e in events if e["detail-type"] == WEBHOOK_EVENT and e["detail"]["type"] == "invoice.overdue"
    ]


def stored(invoice: dict[str, Any]) -> dict[str, Any]:
    """The invoice as the table holds it, internal fields and all."""
    from invoicing.adapters.live import deps

    doc = deps().store.get("acme", "invoice", invoice["id"])
    assert doc is not None
    return doc


@pytest.mark.parametrize("where", BOTH)
def test_an_unpaid_invoice_is_marked_overdue_once_across_two_runs_and_is_one_webhook_event(api, business, where):
    invoice = issue(api)
    published_events()  # its issue, already on the bus

    on_its_due_date = api.run_sweep("overdue", "2026-12-27")
    first = api.run_sweep("overdue", "2026-12-28")
    marked = read(api, invoice)
    again = api.run_sweep("overdue", "2026-12-29")

    assert on_its_due_date["candidates"] == 0  # due today is not late
    assert (first["candidates"], first["done"], first["failed"]) == (1, 1, 0)
    assert marked["overdue_at"] is not None
    assert marked["version"] == invoice["version"] + 1
    assert again["candidates"] == 0  # out of the index once marked
    assert read(api, invoice)["version"] == marked["version"]
    assert stored(invoice)["sweep_overdue_on"] is None
    assert "sweep_overdue_on" not in marked  # internal: never shown
    [event] = overdue_events(published_events())
    assert (event["tenant_id"], event["object"]["kind"], event["object"]["id"]) == ("acme", "invoice", invoice["id"])
    assert event["created_at"] == stored(invoice)["overdue_at"] == marked["overdue_at"]


def test_two_runs_at_once_then_a_retried_page_mark_it_once(api, business):
    from datetime import date

    from invoicing.adapters.live import deps
    from invoicing.logic import sweeps

    invoice = issue(api)
    as_indexed = stored(invoice)  # what a page read
    published_events()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # (their counts mix: one handler module in-process)
        list(pool.map(lambda _: api.run_sweep("overdue", "2027-01-10"), range(2)))
    marked = read(api, invoice)
    retried = sweeps.mark_overdue(deps(), "acme", dict(as_indexed), date(2027, 1, 10))  # a page received again

    assert retried == 0
    assert read(api, invoice)["version"] == marked["version"] == invoice["version"] + 1
    assert read(api, invoice)["overdue_at"] == marked["overdue_at"] is not None
    assert len(overdue_events(published_events())) == 1


def test_concurrent_work_on_one_invoice_marks_it_once(api, business):
    from datetime import date

    from invoicing.adapters.live import deps
    from invoicing.logic import sweeps

    invoice = issue(api)
    as_indexed = stored(invoice)
    published_events()

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        marks = list(pool.map(lambda _: sweeps.mark_overdue(deps(), "acme", dict(as_indexed), date(2027, 1, 10)),
                              range(6)))  # fmt: skip

    assert sum(marks) == 1
    assert read(api, invoice)["version"] == invoice["version"] + 1
    assert len(overdue_events(published_events())) == 1


def test_a_paid_or_void_invoice_is_never_marked(api, business):
    paid = issue(api, name="Payée")
    void = issue(api, name="Annulée")
    assert api.post(f"/invoices/{paid['id']}/payments", {"method": "bank_transfer", "amount": "1398.00"}).status == 201
    assert api.post(f"/invoices/{void['id']}/void").status == 200
    published_events()

    done = api.run_sweep("overdue", "2027-03-01")

    assert done["candidates"] == 0
    assert read(api, paid).get("overdue_at") is None
    assert read(api, void).get("overdue_at") is None
    assert overdue_events(published_events()) == []


def test_an_invoice_paid_after_the_index_was_read_is_not_marked(api, business):
    from datetime import date

    from invoicing.adapters.live import deps
    from invoicing.logic import sweeps

    invoice = issue(api)
    as_indexed = stored(invoice)  # what a page read, before its client paid
    api.post(f"/invoices/{invoice['id']}/payments", {"method": "bank_transfer", "amount": "1398.00"})
    paid = read(api, invoice)

    assert sweeps.mark_overdue(deps(), "acme", as_indexed, date(2027, 1, 10)) == 0
    assert (read(api, invoice)["version"], read(api, invoice).get("overdue_at")) == (paid["version"], None)


def test_an_invoice_not_yet_due_is_no_candidate_and_is_not_marked(api, business):
    from datetime import date

    from invoicing.adapters.live import deps
    from invoicing.logic import sweeps

    invoice = issue(api, due_date="2027-02-15")

    done = api.run_sweep("overdue", "2027-01-10")

    assert done["candidates"] == 0
    assert sweeps.mark_overdue(deps(), "acme", stored(invoice), date(2027, 1, 10)) == 0  # handed it anyway
    assert (read(api, invoice)["version"], read(api, invoice).get("overdue_at")) == (invoice["version"], None)


def test_an_invoice_the_index_holds_without_work_is_taken_out_of_it_unmarked(api, business):
    """A day the index holds that `planned` no longer gives (here: a debit
    on its way, stored without its plan) is cleared, not read every day."""
    from invoicing.adapters.live import deps
    from tests.unit.test_payment_processing import PROCESSING

    invoice = issue(api)
    doc = {**stored(invoice), "payment_processing": PROCESSING}
    deps().store.replace("acme", "invoice", {**doc, "version": doc["version"] + 1},
                         expected_version=doc["version"], old_name=None, new_name=None)  # fmt: skip

    first = api.run_sweep("overdue", "2027-01-10")
    again = api.run_sweep("overdue", "2027-01-11")

    assert (first["candidates"], first["done"], first["failed"]) == (1, 0, 0)
    assert (stored(invoice)["sweep_overdue_on"], stored(invoice).get("overdue_at")) == (None, None)
    assert again["candidates"] == 0
