"""Recurring invoices (SPEC §12): their CRUD, pause, resume and cancel,
and the daily sweep that issues each occurrence once — however often, late
or concurrently it runs.

Schedules start today (an invoice is never issued in the past, nor dated
in the future): the sweep then runs as of later days, as the scheduled rule
would on them, and the invoices it issues are dated today, the day the
clock says they are issued."""

from __future__ import annotations

import concurrent.futures
from datetime import date, timedelta
from typing import Any

import pytest

from tests.integration.test_estimates import LINES

pytestmark = pytest.mark.integration

TODAY = date.today()
BOTH = ["fakes", pytest.param("moto", marks=pytest.mark.on_aws)]


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def monthly(customer: dict[str, Any], **fields: Any) -> dict[str, Any]:
    schedule = {"frequency": "month", "interval": 1, "start_date": day(0), **fields.pop("schedule", {})}
    return {"name": "Maintenance mensuelle", "customer_id": customer["id"], "lines": LINES, "schedule": schedule,
            **fields}  # fmt: skip


def create(api: Any, body: dict[str, Any]) -> dict[str, Any]:
    reply = api.post("/recurring-invoices", body)
    assert reply.status == 201, reply.body
    return reply.body


def read(api: Any, recurring: dict[str, Any]) -> dict[str, Any]:
    reply = api.get(f"/recurring-invoices/{recurring['id']}")
    assert reply.status == 200, reply.body
    return reply.body


def invoices_of(api: Any, recurring: dict[str, Any]) -> list[dict[str, Any]]:
    return [api.get(f"/invoices/{entry['id']}").body for entry in read(api, recurring)["invoices"]]


def month_after(start: date, months: int) -> date:
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, 1)


# -- the resource --------------------------------------------------------------------------


def test_a_recurring_invoice_shows_its_schedule_and_next_dates(api, business, customer):
    made = create(api, monthly(customer, schedule={"day": "last"}))

    assert made["status"] == "active"
    assert made["schedule"]["day"] == "last"
    assert made["on_issue"] == "mark_sent"
    assert made["auto_charge"] is False
    assert len(made["next_dates"]) == 5
    assert made["next_dates"] == sorted(made["next_dates"])
    assert made["invoices"] == []
    assert made["invoices_made"] == 0
    assert api.get("/recurring-invoices").body["items"][0]["id"] == made["id"]


def test_a_template_gives_its_content(api, business, customer):
    template = api.post("/templates", {"name": "Forfait", "lines": LINES, "notes": "Merci", "payment_terms_days": 15})
    assert template.status == 201, template.body
    body = {**monthly(customer, template_id=template.body["id"])}
    del body["lines"]

    made = create(api, body)

    assert made["template_id"] == template.body["id"]
    assert [line["name"] for line in made["lines"]] == [line["name"] for line in LINES]
    assert (made["notes"], made["payment_terms_days"]) == ("Merci", 15)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"schedule": {"interval": 0}}, "schedule.interval"),
        ({"schedule": {"day": 31}}, "schedule.day"),
        ({"schedule": {"frequency": "week", "day": 3}}, "schedule.day"),
        ({"schedule": {"end": {"until": day(-1)}}}, "schedule.end.until"),
        ({"schedule": {"start_date": day(-1)}}, "schedule.start_date"),
        ({"schedule": {"end": {"after": 0}}}, "schedule.end.after"),
        ({"lines": []}, "lines"),
        ({"customer_id": "cus_missing"}, "customer_id"),
        ({"template_id": "tpl_missing", "lines": []}, "template_id"),
        ({"on_issue": "shout"}, "on_issue"),
    ],
)
def test_bad_input_is_refused_naming_the_field(api, business, customer, change, field):
    body = monthly(customer)
    body["schedule"] = {**body["schedule"], **change.pop("schedule", {})}
    body.update(change)

    reply = api.post("/recurring-invoices", body)

    assert reply.status == 422, reply.body
    assert any(name.startswith(field) for name in reply.error_fields), reply.error_fields
    assert api.get("/recurring-invoices").body["items"] == []


def test_another_tenants_template_is_not_found(api, business, customer):
    theirs = api.post("/templates", {"name": "Leur forfait", "lines": LINES}, tenant="globex")
    body = monthly(customer, template_id=theirs.body["id"])
    del body["lines"]

    reply = api.post("/recurring-invoices", body)

    assert reply.status == 422
    assert reply.error_fields == ["template_id"]


def test_pause_resume_cancel_and_their_retries(api, business, customer):
    made = create(api, monthly(customer))

    paused = api.post(f"/recurring-invoices/{made['id']}/pause")
    again = api.post(f"/recurring-invoices/{made['id']}/pause")
    resumed = api.post(f"/recurring-invoices/{made['id']}/resume")
    cancelled = api.post(f"/recurring-invoices/{made['id']}/cancel")
    refused = api.post(f"/recurring-invoices/{made['id']}/resume")

    assert (paused.status, paused.body["status"], paused.body["next_dates"]) == (200, "paused", [])
    assert (again.status, again.body["version"]) == (200, paused.body["version"])
    assert (resumed.body["status"], resumed.body["next_dates"][0]) == ("active", day(0))
    assert cancelled.body["status"] == "cancelled"
    assert refused.status == 409
    assert (
        api.patch(f"/recurring-invoices/{made['id']}", {"notes": "x", "version": cancelled.body["version"]}).status
        == 409
    )


def test_a_change_needs_the_version_read(api, business, customer):
    made = create(api, monthly(customer))

    stale = api.patch(f"/recurring-invoices/{made['id']}", {"notes": "Nouveau", "version": made["version"] + 1})
    changed = api.patch(f"/recurring-invoices/{made['id']}", {"notes": "Nouveau", "version": made["version"]})

    assert stale.status == 409
    assert (changed.status, changed.body["notes"]) == (200, "Nouveau")


# -- the sweep -----------------------------------------------------------------------------


@pytest.mark.parametrize("where", BOTH)
def test_the_sweep_issues_the_occurrence_due_once_with_its_period(api, business, customer, where):
    made = create(api, monthly(customer, schedule={"day": 1, "start_date": day(0)}))
    first = made["next_dates"][0]

    before = api.run_sweep("recurring", (date.fromisoformat(first) - timedelta(days=1)).isoformat())
    on_the_day = api.run_sweep("recurring", first)
    again = api.run_sweep("recurring", first)

    assert before["done"] == 0
    assert (on_the_day["candidates"], on_the_day["done"], on_the_day["failed"]) == (1, 1, 0)
    assert again["candidates"] == 0
    (invoice,) = invoices_of(api, made)
    start = date.fromisoformat(first)
    assert invoice["status"] == "open"
    assert invoice["number"] == "INV-1"
    assert invoice["issue_date"] == day(0)
    assert invoice["recurring_id"] == made["id"]
    assert invoice["service_period"] == {"start": first, "end": (month_after(start, 1) - timedelta(days=1)).isoformat()}
    shown = read(api, made)
    assert shown["invoices_made"] == 1
    assert shown["next_dates"][0] == month_after(start, 1).isoformat()
    assert shown["invoices"][0]["number"] == "INV-1"


def test_missed_days_are_caught_up_each_occurrence_once(api, business, customer):
    made = create(api, monthly(customer, schedule={"frequency": "week", "day": None}))
    three_weeks_on = day(14)

    done = api.run_sweep("recurring", three_weeks_on)

    assert done["done"] == 3
    issued = invoices_of(api, made)
    assert [invoice["number"] for invoice in issued] == ["INV-1", "INV-2", "INV-3"]
    assert [invoice["service_period"]["start"] for invoice in issued] == [day(0), day(7), day(14)]
    assert {invoice["issue_date"] for invoice in issued} == {day(0)}


def test_an_end_after_n_completes_it(api, business, customer):
    made = create(api, monthly(customer, schedule={"frequency": "week", "day": None, "end": {"after": 2}}))

    api.run_sweep("recurring", day(30))

    shown = read(api, made)
    assert (shown["status"], shown["invoices_made"], shown["next_dates"]) == ("completed", 2, [])
    assert shown["completed_at"] is not None


def test_resuming_does_not_bill_the_paused_periods(api, business, customer, fakes):
    made = create(api, monthly(customer, schedule={"frequency": "week", "day": None}))
    api.run_sweep("recurring", day(0))
    api.post(f"/recurring-invoices/{made['id']}/pause")
    api.run_sweep("recurring", day(21))

    from invoicing.adapters.live import deps
    from invoicing.logic import recurring

    later = TODAY + timedelta(days=22)
    with_clock = deps()
    original = with_clock.now
    with_clock.now = lambda: original() + timedelta(days=22)
    try:
        recurring.act(with_clock, "acme", made["id"], "resume", None, "http://localhost")
    finally:
        with_clock.now = original
    shown = read(api, made)

    assert shown["invoices_made"] == 1
    assert shown["next_dates"][0] == day(28)
    assert date.fromisoformat(shown["next_dates"][0]) >= later


def test_a_send_on_issue_queues_the_invoice_to_the_customer(api, business, customer):
    made = create(api, monthly(customer, on_issue={"send": {"channels": ["email"]}}))

    api.run_sweep("recurring", day(0))

    (invoice,) = invoices_of(api, made)
    deliveries = api.get(f"/invoices/{invoice['id']}").body["deliveries"]
    assert [(item["channel"], item["recipient"]) for item in deliveries] == [("email", customer["email"])]


def test_an_invoice_that_cannot_be_issued_is_said_and_tried_again(api, customer):
    from tests.conftest import BUSINESS

    made = create(api, monthly(customer))  # before the business profile: no legal invoice yet

    failed = api.run_sweep("recurring", day(0))
    shown = read(api, made)
    api.put("/business", BUSINESS)
    next_day = api.run_sweep("recurring", day(1))

    assert failed["done"] == 0
    assert shown["invoices_made"] == 0
    assert shown["last_failure"]["occurrence"] == day(0)
    assert "business.legal_name" in [item["field"] for item in shown["last_failure"]["fields"]]
    assert next_day["done"] == 1
    fixed = read(api, made)
    assert (fixed["invoices_made"], fixed["last_failure"]) == (1, None)
    assert fixed["invoices"][0]["service_period"]["start"] == day(0)


def test_concurrent_sweeps_issue_one_invoice(api, business, customer):
    made = create(api, monthly(customer))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: api.run_sweep("recurring", day(0)), range(4)))

    assert sum(run["failed"] for run in runs) == 0
    assert [invoice["number"] for invoice in invoices_of(api, made)] == ["INV-1"]
    assert api.get("/invoices").body["items"][0]["number"] == "INV-1"
    assert len(api.get("/invoices").body["items"]) == 1


def test_a_retry_after_a_crash_finds_the_invoice_made(api, business, customer, fakes):
    """The invoice issued, then the run died before moving the schedule on:
    the next run issues nothing more and moves it on."""
    from invoicing.adapters.live import deps
    from invoicing.logic import recurring

    made = create(api, monthly(customer))
    doc = deps().store.get("acme", "recurring", made["id"])
    occurrence = recurring.recurrence.due(recurring.effective(doc), 0, TODAY)[0]
    recurring._issue(deps(), "acme", doc, occurrence)  # issued, not recorded

    done = api.run_sweep("recurring", day(0))

    assert done["done"] == 0  # issued by the run that died
    assert [invoice["number"] for invoice in invoices_of(api, made)] == ["INV-1"]
    assert read(api, made)["invoices_made"] == 1


# -- retried and concurrent requests ----------------------------------------------------------


def test_a_retried_create_answers_the_first(api, business, customer):
    first = api.post("/recurring-invoices", monthly(customer), headers={"Idempotency-Key": "retainer-1"})
    again = api.post("/recurring-invoices", monthly(customer), headers={"Idempotency-Key": "retainer-1"})

    assert first.status == again.status == 201
    assert again.body["id"] == first.body["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(api.get("/recurring-invoices").body["items"]) == 1


def test_concurrent_creates_with_one_key_make_one(api, business, customer):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        replies = list(
            pool.map(
                lambda _: api.post("/recurring-invoices", monthly(customer), headers={"Idempotency-Key": "r-2"}),
                range(4),
            )
        )

    assert {reply.status for reply in replies} <= {201, 409}
    assert len({reply.body["id"] for reply in replies if reply.status == 201}) == 1
    assert len(api.get("/recurring-invoices").body["items"]) == 1


def test_concurrent_pauses_pause_it_once(api, business, customer):
    made = create(api, monthly(customer))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: api.post(f"/recurring-invoices/{made['id']}/pause"), range(4)))

    assert {reply.status for reply in replies} == {200}
    assert {reply.body["version"] for reply in replies} == {made["version"] + 1}
    assert read(api, made)["status"] == "paused"


def test_a_paused_recurring_invoice_is_not_billed(api, business, customer):
    made = create(api, monthly(customer))
    api.post(f"/recurring-invoices/{made['id']}/pause")

    done = api.run_sweep("recurring", day(40))

    assert done["candidates"] == 0
    assert api.get("/invoices").body["items"] == []


def test_a_new_schedule_never_bills_a_period_again(api, business, customer):
    made = create(api, monthly(customer, schedule={"frequency": "week", "day": None}))
    api.run_sweep("recurring", day(0))  # billed: today to 6 days on
    current = read(api, made)

    changed = api.patch(
        f"/recurring-invoices/{made['id']}",
        {"schedule": {"frequency": "week", "interval": 2, "start_date": day(0)}, "version": current["version"]},
    )

    assert changed.status == 200, changed.body
    assert changed.body["next_dates"][:2] == [day(14), day(28)]
    assert changed.body["invoices_made"] == 1


# -- collected on their own: a method saved through the setup link, charged by the sweep -----------


@pytest.mark.parametrize(
    ("saved", "status", "failures"),
    [("pm_card_visa", "paid", 0), ("pm_card_chargeDeclined", "open", 1)],
)
def test_an_auto_charged_invoice_is_charged_to_the_method_saved_on_the_setup_page(
    api, account, stripe_standin, saved, status, failures
):
    from tests.integration.test_payment_methods import CUSTOMER, save

    customer = api.post("/customers", CUSTOMER).body
    save(api, stripe_standin, customer, saved)
    made = create(api, monthly(customer, auto_charge=True))

    first = api.run_sweep("recurring", day(0))
    again = api.run_sweep("recurring", day(0))

    assert (first["done"], again["candidates"]) == (1, 0)
    (invoice,) = invoices_of(api, made)
    assert invoice["status"] == status
    assert len(invoice.get("payment_failures") or []) == failures
    (intent,) = stripe_standin.requests_to("/v1/payment_intents")
    assert intent.params["off_session"] == "true"
    assert intent.params["metadata"]["recurring_id"] == made["id"]
    assert intent.account == account


def test_concurrent_sweeps_with_auto_charge_charge_once_and_fail_nothing(api, account, stripe_standin):
    from tests.integration.test_payment_methods import CUSTOMER, save

    customer = api.post("/customers", CUSTOMER).body
    save(api, stripe_standin, customer, "pm_card_visa")
    made = create(api, monthly(customer, auto_charge=True))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: api.run_sweep("recurring", day(0)), range(4)))

    assert sum(run["failed"] for run in runs) == 0
    (invoice,) = invoices_of(api, made)
    assert invoice["status"] == "paid"
    assert len(stripe_standin.requests_to("/v1/payment_intents")) == 1


def test_a_draft_an_earlier_day_could_not_issue_is_made_again_of_the_current_content(api, business, customer, fakes):
    """A draft left by yesterday's failed run (its due date fixed then) is
    not issued as it was: today's run makes it again, with what the
    recurring invoice now says and today's dates."""
    from invoicing.adapters.live import deps
    from invoicing.logic import recurring

    made = create(api, monthly(customer, payment_terms_days=0))
    doc = deps().store.get("acme", "recurring", made["id"])
    occurrence = recurrence_due(doc)
    invoice_id = recurring.keyed_id("inv", "acme", made["id"], occurrence.on.isoformat())
    recurring._make(deps(), "acme", doc, occurrence, invoice_id)
    left = fakes.store.get("acme", "invoice", invoice_id)
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    fakes.store.replace("acme", "invoice", {**left, "created_at": yesterday + "T08:00:00.000Z", "due_date": yesterday},
                        expected_version=left["version"], old_name=None, new_name=None)  # fmt: skip
    current = read(api, made)
    lines = [{"name": "Nouveau forfait", "unit_price": "300", "taxes": [{"name": "TVA", "rate": "20"}]}]
    assert api.patch(f"/recurring-invoices/{made['id']}", {"lines": lines, "version": current["version"]}).status == 200

    done = api.run_sweep("recurring", day(0))

    assert (done["done"], done["failed"]) == (1, 0)
    invoice = api.get(f"/invoices/{invoice_id}").body
    assert (invoice["status"], invoice["due_date"]) == ("open", day(0))
    assert [line["name"] for line in invoice["lines"]] == ["Nouveau forfait"]


def test_a_retry_after_the_send_sends_nothing_more(api, business, customer, fakes):
    from invoicing.adapters.live import deps
    from invoicing.logic import recurring

    made = create(api, monthly(customer, on_issue={"send": {"channels": ["email"]}}))
    doc = deps().store.get("acme", "recurring", made["id"])
    occurrence = recurrence_due(doc)
    invoice, _ = recurring._issue(deps(), "acme", doc, occurrence)  # issued and sent, then the run died
    paid = api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "10"})  # a new version
    assert paid.status == 201, paid.body

    api.run_sweep("recurring", day(0))

    deliveries = api.get(f"/invoices/{invoice['id']}").body["deliveries"]
    assert len(deliveries) == 1
    assert read(api, made)["invoices_made"] == 1


def recurrence_due(doc: dict[str, Any]) -> Any:
    from invoicing.logic import recurring

    return recurring.recurrence.due(recurring.effective(doc), 0, TODAY)[0]
