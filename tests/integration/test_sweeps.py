"""The scheduled sweeps (issue 6): late fees and reminders, from the
scheduled event through the page queue, exactly once however often they run."""

from __future__ import annotations

import concurrent.futures
import json

import boto3
import pytest

from infra import wiring
from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE
from tests.integration.test_send import sent_emails, sent_sms

pytestmark = pytest.mark.integration

MONTHLY = {"enabled": True, "type": "percentage", "value": "1.5",
           "frequency": {"interval": "month", "interval_count": 1}, "grace_days": 0, "max_fees": 6}  # fmt: skip


def issue(api, tenant: str = "acme", **fields) -> dict:
    customer = next(iter(api.get("/customers", tenant=tenant).body["items"]), None) or api.post(
        "/customers", {"name": "Dupont & Fils", "email": "compta@dupont.example", "phone": "+33612345678",
                       "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}, tenant=tenant).body  # fmt: skip
    body = {**SPEC_INVOICE, "customer_id": customer["id"], **fields}
    draft = api.post("/invoices", body, tenant=tenant).body
    issued = api.post(f"/invoices/{draft['id']}/mark-sent", tenant=tenant).body
    assert issued["status"] == "open", issued
    return issued


def read(api, invoice: dict, tenant: str = "acme") -> dict:
    return api.get(f"/invoices/{invoice['id']}", tenant=tenant).body


# -- late fees ------------------------------------------------------------------------------


def test_the_sweep_applies_the_fees_owed_and_the_invoice_shows_them(api, business):
    invoice = issue(api, late_fees=MONTHLY)

    done = api.run_sweep("late_fees", "2027-01-15")

    assert (done["candidates"], done["done"], done["failed"]) == (1, 1, 0)
    after = read(api, invoice)
    assert (after["late_fees_total"], after["amount_due"]) == ("20.97", "1418.97")  # 1.5 % of 1 398.00
    assert [(e["period"], e["amount"]) for e in after["late_fee_entries"]] == [("2026-12-28", "20.97")]
    assert after["version"] == invoice["version"] + 1


def test_two_sweeps_at_once_then_the_same_day_again_apply_each_fee_once(api, business):
    invoice = issue(api, late_fees=MONTHLY)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # (their counts mix: one handler module in-process)
        list(pool.map(lambda _: api.run_sweep("late_fees", "2027-01-15"), range(2)))
    again = api.run_sweep("late_fees", "2027-01-15")

    assert again["candidates"] == 0  # out of today's index once done
    after = read(api, invoice)
    assert (after["late_fees_total"], len(after["late_fee_entries"])) == ("20.97", 1)


def test_concurrent_work_on_one_invoice_applies_each_period_once(api, business):
    from datetime import date

    from invoicing.adapters import live as adapters
    from invoicing.logic import sweeps

    invoice = issue(api, late_fees=MONTHLY)
    stored = adapters.deps().store.get("acme", "invoice", invoice["id"])

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        applied = list(pool.map(lambda _: sweeps.apply_late_fees(adapters.deps(), "acme", dict(stored),
                                                                 date(2027, 2, 15)), range(6)))  # fmt: skip

    assert sum(applied) == 2  # 2026-12-28 and 2027-01-28, once each
    assert read(api, invoice)["late_fees_total"] == "41.94"


def test_a_sweep_that_missed_days_catches_up_and_the_next_fee_waits_for_its_period(api, business):
    invoice = issue(api, late_fees={**MONTHLY, "type": "fixed", "value": "10.00", "max_fees": 2})

    assert api.run_sweep("late_fees", "2027-03-20")["done"] == 2  # two periods begun, max 2
    assert api.run_sweep("late_fees", "2027-05-01")["candidates"] == 0  # the maximum: out of the index
    assert read(api, invoice)["late_fees_total"] == "20.00"


def test_a_payment_that_clears_the_balance_stops_the_fees(api, business):
    invoice = issue(api, late_fees=MONTHLY)
    api.run_sweep("late_fees", "2027-01-15")
    paid = api.post(f"/invoices/{invoice['id']}/payments", {"method": "bank_transfer", "amount": "1418.97"})
    assert paid.body["invoice"]["status"] == "paid"

    assert api.run_sweep("late_fees", "2027-06-01")["candidates"] == 0
    assert read(api, invoice)["late_fees_total"] == "20.97"


def test_a_percentage_fee_is_on_what_is_left_of_the_invoice_after_a_part_payment(api, business):
    invoice = issue(api, late_fees=MONTHLY)
    api.run_sweep("late_fees", "2027-01-15")
    api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "500.00"})

    api.run_sweep("late_fees", "2027-01-28")

    entries = read(api, invoice)["late_fee_entries"]
    assert [e["amount"] for e in entries] == ["20.97", "13.47"]  # 1.5 % of 1 398.00, then of 898.00


def test_a_void_invoice_gets_no_fee_and_leaves_the_index(api, business):
    invoice = issue(api, late_fees=MONTHLY)
    api.post(f"/invoices/{invoice['id']}/void")

    assert api.run_sweep("late_fees", "2027-01-15")["candidates"] == 0


def test_the_scheduled_events_time_is_the_clock_in_france(api, business):
    invoice = issue(api, late_fees={**MONTHLY, "frequency": {"interval": "day", "interval_count": 1}, "max_fees": 30})

    api.run_sweep("late_fees", "2026-12-28", hour="23:30")  # 00:30 on the 29th in Paris

    assert [e["period"] for e in read(api, invoice)["late_fee_entries"]] == ["2026-12-28", "2026-12-29"]


@pytest.mark.on_aws
def test_a_poison_invoice_goes_alone_to_the_dead_letter_queue(api, business):
    from invoicing.adapters import live as adapters

    good, bad = issue(api, late_fees=MONTHLY), issue(api, name="Poison", late_fees=MONTHLY)
    store = adapters.deps().store
    broken = store.get("acme", "invoice", bad["id"])
    broken["late_fees"]["value"] = "not a number"
    store.replace("acme", "invoice", {**broken, "version": broken["version"] + 1},
                  expected_version=broken["version"], old_name=None, new_name=None)  # fmt: skip

    done = api.run_sweep("late_fees", "2027-01-15")

    assert (done["done"], done["failed"]) == (1, 1)
    assert read(api, good)["late_fees_total"] == "20.97"
    sqs = boto3.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=_dead_letters()).get("Messages", [])
    assert json.loads(message["Body"])["invoice_id"] == bad["id"]


class Queue:
    """The page queue, kept in a list."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, message: dict) -> None:
        self.sent.append(message)

    def poison(self, message: dict) -> None:
        raise AssertionError(f"no invoice of this test is poison: {message}")


def test_a_page_out_of_time_queues_the_invoices_it_did_not_reach_and_they_get_their_fee_once(api, business):
    from invoicing.adapters import live as adapters
    from invoicing.logic import sweeps

    # 9 invoices over 8 shards: at least one page holds two, so one page at least runs out of time
    invoices = [issue(api, name=f"Lente {n}", late_fees=MONTHLY) for n in range(9)]
    queue, deps = Queue(), adapters.deps()
    pages = [{"sweep": "late_fees", "today": "2027-01-15", "shard": shard} for shard in range(8)]
    done = []
    for page in pages:  # time for one invoice a page, then the reserve is reached
        budget = iter([sweeps.RESERVE_MS * 3] + [sweeps.RESERVE_MS - 1] * 10)
        done.append(sweeps.work_page(deps, queue, page, lambda b=budget: next(b)))

    assert sum(d["candidates"] for d in done) == 9
    assert sum(d["done"] for d in done) + sum(d["deferred"] for d in done) == 9
    left = [message for message in queue.sent if "invoices" in message]
    assert sum(len(message["invoices"]) for message in left) == sum(d["deferred"] for d in done) > 0
    assert all("cursor" not in message for message in left)
    # each left-over message delivered, then again, then twice at once: one fee each
    finished = [sweeps.work_page(deps, queue, message)["done"] for message in left]
    assert sum(finished) == sum(d["deferred"] for d in done)
    assert [sweeps.work_page(deps, queue, message)["done"] for message in left] == [0] * len(left)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        again = list(pool.map(lambda m: sweeps.work_page(deps, Queue(), m)["done"], left * 2))
    assert again == [0] * len(left) * 2
    assert {read(api, invoice)["late_fees_total"] for invoice in invoices} == {"20.97"}
    assert len(queue.sent) == len(left)  # no page queued a next page: each shard fits in one


def _dead_letters() -> str:
    import os

    return os.environ[wiring.SWEEP_DEAD_LETTERS_ENV]


# -- schedules: overdue, fees and reminders follow the earliest unpaid instalment (SPEC §6.2) ----------

SPLIT = {"type": "percentage", "instalments": [{"due_date": "2026-12-10", "value": "30"},
                                               {"due_date": "2026-12-27", "value": "70"}]}  # fmt: skip


def test_an_instalment_after_the_due_date_is_refused_on_the_draft_and_at_issue(api, business, customer):
    # as reproduced: instalments on 15/12 and 15/01, the invoice due on 01/01
    late = {"type": "percentage", "instalments": [{"due_date": "2026-12-15", "value": "50"},
                                                  {"due_date": "2027-01-15", "value": "50"}]}  # fmt: skip
    refused = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"], "due_date": "2027-01-01",
                                     "payment_schedule": late})  # fmt: skip
    # without a due date, the business's terms give it at issue: 27/11 + 30 days = 27/12
    draft = api.post("/invoices", {**SPEC_INVOICE, "name": "Sans échéance", "customer_id": customer["id"],
                                   "due_date": None, "payment_schedule": late}).body  # fmt: skip
    at_issue = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert refused.status == 422
    assert refused.error_fields == ["payment_schedule.instalments.1.due_date"]
    assert (at_issue.status, at_issue.error_fields) == (422, ["payment_schedule.instalments.1.due_date"])


def test_overdue_follows_the_earliest_unpaid_instalment(api, business, monkeypatch):
    from datetime import UTC, datetime

    from invoicing.adapters import live as adapters

    monkeypatch.setattr(adapters.deps(), "now", lambda: datetime(2026, 12, 12, 9, tzinfo=UTC))
    invoice = issue(api, payment_schedule=SPLIT)
    late = read(api, invoice)
    listed = [item["id"] for item in api.get("/invoices?overdue=true").body["items"]]

    api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "419.40"})  # the first 30 %
    on_time = read(api, invoice)

    assert (late["overdue"], late["next_due_date"], listed) == (True, "2026-12-10", [invoice["id"]])
    assert (on_time["overdue"], on_time["next_due_date"]) == (False, "2026-12-27")
    assert api.get("/invoices?overdue=true").body["items"] == []
    assert [item["id"] for item in api.get("/invoices?overdue=false").body["items"]] == [invoice["id"]]


def test_late_fees_follow_the_earliest_unpaid_instalment_and_charge_what_is_overdue(api, business):
    invoice = issue(api, late_fees=MONTHLY, payment_schedule=SPLIT)

    first = api.run_sweep("late_fees", "2026-12-12")
    after_first = read(api, invoice)
    api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "419.40"})
    while_on_time = api.run_sweep("late_fees", "2026-12-27")
    second = api.run_sweep("late_fees", "2027-01-05")

    # 1.5 % of the first instalment (419.40) from 11/12, not of the whole invoice
    assert first["done"] == 1
    assert [(e["period"], e["amount"]) for e in after_first["late_fee_entries"]] == [("2026-12-11", "6.29")]
    assert while_on_time["candidates"] == 0  # the second instalment is not due yet
    # then 1.5 % of the second (978.60) from 28/12
    assert second["done"] == 1
    entries = read(api, invoice)["late_fee_entries"]
    assert [(e["period"], e["amount"]) for e in entries] == [("2026-12-11", "6.29"), ("2026-12-28", "14.68")]


# -- reminders --------------------------------------------------------------------------


def test_each_reminder_goes_out_once_three_days_before_on_the_day_and_a_week_after(api, business):
    invoice = issue(api)  # due 2026-12-27

    for day, expected in (("2026-12-23", 0), ("2026-12-24", 1), ("2026-12-24", 0), ("2026-12-27", 1),
                          ("2027-01-02", 0), ("2027-01-03", 1), ("2027-02-01", 0)):  # fmt: skip
        done = api.run_sweep("reminders", day)
        api.deliver_events()
        assert done["done"] == expected, day

    subjects = [email["Subject"] for email in sent_emails()]
    assert subjects == [
        "Rappel : facture INV-1 d'Acme SAS, 1\u202f398,00\u00a0€ à régler le 27/12/2026",
        "Échéance aujourd'hui : facture INV-1 d'Acme SAS, 1\u202f398,00\u00a0€",
        "Retard de paiement : facture INV-1 d'Acme SAS, 1\u202f398,00\u00a0€ à régler",
    ]
    kinds = [(d["kind"], d["status"]) for d in read(api, invoice)["deliveries"]]
    assert kinds == [("reminder", "sent")] * 3


def test_two_reminder_sweeps_at_once_send_each_reminder_once(api, business):
    invoice = issue(api)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: api.run_sweep("reminders", "2026-12-27"), range(2)))
    delivered = api.deliver_events()

    outcomes = [outcome for function, outcome in delivered if function == "delivery"]
    assert sum(outcome["sent"] for outcome in outcomes) == 1  # announced by one run or both: sent once
    assert len(sent_emails()) == 1
    (reminder,) = read(api, invoice)["deliveries"]  # one delivery, whichever run announced it
    assert reminder["kind"] == "reminder"


def test_reminders_follow_each_instalment_and_skip_the_paid_ones(api, business):
    schedule = {"type": "fixed", "instalments": [{"due_date": "2026-12-10", "value": "500.00"},
                                                 {"due_date": "2027-01-10", "value": "898.00"}]}  # fmt: skip
    invoice = issue(api, payment_schedule=schedule, due_date="2027-01-10")
    api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "500.00"})

    api.run_sweep("reminders", "2027-01-07")
    api.deliver_events()

    (email,) = [email for email in sent_emails() if not email["Subject"].startswith("Reçu")]  # the payment's receipt
    assert email["Subject"] == "Rappel : facture INV-1 d'Acme SAS, 898,00\u00a0€ à régler le 10/01/2027"


def test_no_reminder_after_payment_nor_on_a_void_invoice(api, business):
    paid, void = issue(api), issue(api, name="Annulée")
    api.post(f"/invoices/{paid['id']}/payments", {"method": "cash", "amount": "1398.00"})
    api.post(f"/invoices/{void['id']}/void")

    assert api.run_sweep("reminders", "2026-12-27")["candidates"] == 0
    api.deliver_events()
    assert [email["Subject"] for email in sent_emails() if "Rappel" in email["Subject"]] == []


def test_a_missed_week_sends_only_the_latest_reminder_and_by_sms_when_the_business_says_so(api, business):
    api.patch("/business", {"reminders": {"offsets": [-3, 0, 7], "channels": ["email", "sms"]}})
    issue(api)

    assert api.run_sweep("reminders", "2027-01-05")["done"] == 2  # the +7 only, by e-mail and SMS
    api.deliver_events()

    assert [email["Subject"][:18] for email in sent_emails()] == ["Retard de paiement"]
    ((_, text),) = [(phone, text) for phone, text in sent_sms()]
    assert "rappel, facture INV-1" in text


def test_a_sweep_keeps_each_tenants_invoices_and_messages_its_own(api, business):
    api.put("/business", {**BUSINESS, "legal_name": "Globex SARL"}, tenant="globex")
    acme = issue(api, late_fees=MONTHLY)
    globex = issue(api, "globex", late_fees={**MONTHLY, "value": "3"})

    api.run_sweep("late_fees", "2027-01-15")
    api.run_sweep("reminders", "2027-01-15")
    api.deliver_events()

    assert read(api, acme)["late_fees_total"] == "20.97"
    assert read(api, globex, "globex")["late_fees_total"] == "41.94"
    assert api.get(f"/invoices/{globex['id']}").status == 404  # acme's view of globex's invoice
    senders = sorted(email["From"].split(" <")[0] for email in sent_emails())
    assert senders == ["Acme SAS via Invoicing", "Globex SARL via Invoicing"]


# -- what a sweep reads ---------------------------------------------------------------------


def seed(api, total: int, candidates: int) -> None:
    """`total` issued invoices of which `candidates` owe a fee on 2027-01-15:
    copies of a real one, written straight to the table."""
    from invoicing.adapters import live as adapters
    from invoicing.adapters.dynamodb import _encode
    from invoicing.domain.invoice import planned

    model = adapters.deps().store.get("acme", "invoice", issue(api, late_fees=MONTHLY)["id"])
    client, table = boto3.client("dynamodb"), adapters.deps().store.table
    items = []
    for n in range(total - 1):  # the model is one of the candidates
        if n < candidates - 1:
            doc = {**model, "id": f"inv_seed{n:05d}"}
        elif n % 2:
            doc = {**model, "id": f"inv_seed{n:05d}", "due_date": "2027-03-01", "issue_date": "2027-01-01"}
        else:
            doc = {**model, "id": f"inv_seed{n:05d}", "status": "paid", "amount_due": "0.00", "amount_paid": "1398.00"}
        items.append(_encode("acme", "invoice", planned(doc)))
    for start in range(0, len(items), 25):
        client.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        )


@pytest.mark.on_aws
def test_a_sweep_reads_about_one_item_per_candidate_whatever_the_table_holds(api, business):
    from invoicing.adapters import live as adapters

    seed(api, total=5000, candidates=200)
    store = adapters.deps().store
    store.items_read = 0

    done = api.run_sweep("late_fees", "2027-01-15")

    assert (done["candidates"], done["done"], done["failed"]) == (200, 200, 0)
    assert store.items_read / done["candidates"] <= 1.1, store.items_read


def test_an_invoice_whose_fee_would_be_nothing_is_no_candidate(api, business):
    issue(api, late_fees={**MONTHLY, "value": "0"})
    issue(api, name="Presque rien", late_fees={**MONTHLY, "value": "0.01"},
          lines=[{"name": "X", "unit_price": "1.00"}], discount=None)  # 0.01 % of 1.00 rounds to 0.00  # fmt: skip

    assert api.run_sweep("late_fees", "2027-01-15")["candidates"] == 0


def test_a_refund_that_reopens_a_paid_invoice_charges_no_fee_for_the_months_it_was_paid(api, business, stripe_standin):
    from tests.connect import onboard
    from tests.integration.test_stripe_webhooks import deliver, refunded, succeeded

    onboard(api, stripe_standin)  # the events come from acme's Stripe account
    fixed = {**MONTHLY, "type": "fixed", "value": "5.00", "max_fees": 12}
    invoice = issue(api, late_fees=fixed)
    assert deliver(api, succeeded(invoice, 139_800)).status == 200  # paid before it was due
    assert deliver(api, refunded(10_000)).status == 200  # today (2026-11-28): 100.00 due again

    done = api.run_sweep("late_fees", "2027-05-15")

    periods = [entry["period"] for entry in read(api, invoice)["late_fee_entries"]]
    assert periods == ["2026-12-28", "2027-01-28", "2027-02-28", "2027-03-28", "2027-04-28"]  # due since the 27th
    assert done["done"] == 5


def test_a_reminder_that_arrives_after_the_payment_is_not_sent(api, business):
    invoice = issue(api)
    api.run_sweep("reminders", "2026-12-24")
    api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "1398.00"})

    api.deliver_events()

    assert [email["Subject"] for email in sent_emails() if "Rappel" in email["Subject"]] == []
    (reminder,) = [d for d in read(api, invoice)["deliveries"] if d["kind"] == "reminder"]
    assert (reminder["status"], reminder["error"]) == ("failed", "not sent: paid before the reminder went out")


@pytest.mark.on_aws
def test_a_lost_answer_to_a_write_that_landed_is_the_writes_success(api, business):
    """botocore retries a PutItem whose answer was lost; the retry's condition
    fails on the item it wrote itself: one payment, not two."""
    from invoicing.adapters import live as adapters

    store = adapters.deps().store
    real_put = store.client.put_item
    calls = []

    def put_then_lose_the_answer(**request):
        calls.append(1)
        real_put(**request)
        if len(calls) == 1:
            return real_put(**request)  # the retry, after the first answer was lost
        return {}

    invoice = issue(api)
    store.client.put_item = put_then_lose_the_answer
    try:
        reply = api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "500.00"})
    finally:
        store.client.put_item = real_put

    assert reply.status == 201, reply.body
    after = read(api, invoice)
    assert (after["amount_paid"], len(after["payments"])) == ("500.00", 1)
