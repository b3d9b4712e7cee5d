"""The daily sweep that expires sent estimates past their last valid day
(SPEC §11, like §9's): only candidates are read, a run expires each once
however often and however many at a time, and a run after missed days
catches them up.

The estimates are issued today (numbers follow dates, and an issue date is
never in the future) and the sweep runs as of later days, so what GET shows
is the status the sweep stored, not the lapse `present` shows before it."""

from __future__ import annotations

import concurrent.futures
import time
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from invoicing.events import WEBHOOK_EVENT
from tests.conftest import published_events
from tests.integration.test_estimates import LINES, accept
from tests.integration.test_quote_page import accept as accept_on_its_page

pytestmark = pytest.mark.integration

TODAY = date.today()  # in UTC: never after the day in France, where issue dates are checked
BOTH = ["fakes", pytest.param("moto", marks=pytest.mark.on_aws)]


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def draft(api: Any, customer: dict[str, Any], valid_for: int, name: str = "Salle de bains Dupont") -> dict[str, Any]:
    """A draft issued today, valid `valid_for` days (its last valid day is `day(valid_for)`)."""
    reply = api.post("/estimates", {"name": name, "customer_id": customer["id"], "lines": LINES,
                                    "issue_date": day(0), "valid_until": day(valid_for)})  # fmt: skip
    assert reply.status == 201, reply.body
    return reply.body


def sent(api: Any, customer: dict[str, Any], valid_for: int, name: str = "Salle de bains Dupont") -> dict[str, Any]:
    reply = api.post(f"/estimates/{draft(api, customer, valid_for, name)['id']}/mark-sent")
    assert reply.status == 200, reply.body
    return reply.body


def internal(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events for the system's own functions (not those for webhook endpoints)."""
    return [event for event in events if event["detail-type"] != WEBHOOK_EVENT]


def read(api: Any, estimate: dict[str, Any]) -> dict[str, Any]:
    reply = api.get(f"/estimates/{estimate['id']}")
    assert reply.status == 200, reply.body
    return reply.body


def stored(estimate: dict[str, Any]) -> dict[str, Any]:
    """The estimate as the table holds it, internal fields and all."""
    from invoicing.adapters.live import deps

    doc = deps().store.get("acme", "estimate", estimate["id"])
    assert doc is not None
    return doc


@pytest.mark.parametrize("where", BOTH)
def test_a_sent_estimate_expires_at_the_first_run_after_its_last_valid_day(api, business, customer, where):
    estimate = sent(api, customer, valid_for=10)
    published_events()  # its Estimate Sent, already on the bus

    on_its_last_day = api.run_sweep("expiry", day(10))
    still_sent = read(api, estimate)
    the_day_after = api.run_sweep("expiry", day(11))

    assert on_its_last_day["candidates"] == 0
    assert still_sent["status"] == "sent"
    assert (the_day_after["candidates"], the_day_after["done"], the_day_after["failed"]) == (1, 1, 0)
    expired = read(api, estimate)
    assert expired["status"] == "expired"
    assert expired["expired_at"] is not None
    assert expired["version"] == estimate["version"] + 1
    assert stored(estimate)["sweep_expiry_on"] is None
    assert [(event["detail-type"], event["detail"]) for event in internal(published_events())] == [
        ("Estimate Expired", {"tenant_id": "acme", "estimate_id": estimate["id"], "version": expired["version"]})
    ]
    assert [item["id"] for item in api.get("/estimates?status=expired").body["items"]] == [estimate["id"]]
    assert api.get("/estimates?status=sent").body["items"] == []
    assert accept_on_its_page(api, estimate).status == 409  # on its page: expired, though today it is not yet
    assert read(api, estimate)["version"] == expired["version"]


def test_an_estimate_still_valid_or_accepted_is_no_candidate(api, business, customer):
    valid = sent(api, customer, valid_for=30, name="Encore valable")
    accepted = accept(api, draft(api, customer, valid_for=1, name="Accepté"))

    done = api.run_sweep("expiry", day(20))

    assert done["candidates"] == 0
    assert (read(api, valid)["status"], read(api, valid)["version"]) == ("sent", valid["version"])
    assert (read(api, accepted)["status"], read(api, accepted)["version"]) == ("accepted", accepted["version"])


def test_an_estimate_accepted_after_the_index_was_read_is_left_accepted(api, business, customer):
    from invoicing.adapters.live import deps
    from invoicing.logic import sweeps

    estimate = sent(api, customer, valid_for=1)
    as_indexed = stored(estimate)  # what a page read, before its client accepted it
    accepted = accept(api, estimate)

    expired = sweeps.expire_estimate(deps(), "acme", as_indexed, TODAY + timedelta(days=5))

    assert expired == 0
    assert (read(api, estimate)["status"], read(api, estimate)["version"]) == ("accepted", accepted["version"])


def test_a_second_run_or_a_retried_page_writes_nothing(api, business, customer):
    from invoicing.adapters.live import deps
    from invoicing.logic import sweeps

    estimate = sent(api, customer, valid_for=1)
    as_indexed = stored(estimate)
    api.run_sweep("expiry", day(2))
    published_events()
    expired = read(api, estimate)

    again = api.run_sweep("expiry", day(2))
    later = api.run_sweep("expiry", day(60))
    retried = sweeps.expire_estimate(deps(), "acme", as_indexed, TODAY + timedelta(days=2))  # the page, redelivered

    assert (again["candidates"], again["done"]) == (0, 0)  # out of the index once expired
    assert (later["candidates"], later["done"]) == (0, 0)
    assert retried == 0
    assert read(api, estimate) == expired  # same version, same expired_at
    assert published_events() == []  # nothing written: nothing on the stream


@pytest.mark.parametrize("where", BOTH)
def test_two_sweeps_at_once_expire_it_once(api, business, customer, where):
    estimate = sent(api, customer, valid_for=1)
    published_events()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # (their counts mix: one handler module in-process)
        list(pool.map(lambda _: api.run_sweep("expiry", day(2)), range(2)))

    assert read(api, estimate)["version"] == estimate["version"] + 1
    assert [event["detail-type"] for event in internal(published_events())] == ["Estimate Expired"]


@pytest.mark.parametrize("where", BOTH)
def test_concurrent_work_on_one_estimate_expires_it_once(api, business, customer, where):
    from invoicing.adapters.live import deps
    from invoicing.logic import sweeps

    estimate = sent(api, customer, valid_for=1)
    as_indexed = stored(estimate)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        expired = list(pool.map(lambda _: sweeps.expire_estimate(deps(), "acme", dict(as_indexed),
                                                                 TODAY + timedelta(days=2)), range(6)))  # fmt: skip

    assert sum(expired) == 1
    assert (read(api, estimate)["status"], read(api, estimate)["version"]) == ("expired", estimate["version"] + 1)


def test_a_run_after_missed_days_expires_every_estimate_lapsed_since(api, business, customer):
    ten_days_ago = sent(api, customer, valid_for=1, name="Échu il y a dix jours")  # expires on day 2
    five_days_ago = sent(api, customer, valid_for=6, name="Échu il y a cinq jours")
    tomorrow = sent(api, customer, valid_for=12, name="Échu demain")

    done = api.run_sweep("expiry", day(12))  # the first run since day 1

    assert (done["candidates"], done["done"]) == (2, 2)
    assert [read(api, e)["status"] for e in (ten_days_ago, five_days_ago, tomorrow)] == ["expired", "expired", "sent"]


def test_the_schedules_time_is_the_clock_in_france(api, business, customer):
    estimate = sent(api, customer, valid_for=1)

    api.run_sweep("expiry", day(1), hour="23:30")  # 00:30 (or 01:30) on day 2 in Paris

    assert read(api, estimate)["status"] == "expired"


# -- what a run reads, and how long it takes -------------------------------------------------------


def seed(api: Any, customer: dict[str, Any], total: int, candidates: int) -> None:
    """`total` estimates of which `candidates` lapsed by day 10: copies of a
    real one, written straight to the table; the others still valid, accepted
    or drafts (the index holds the first only)."""
    from invoicing.adapters import live as adapters
    from invoicing.adapters.dynamodb import _encode

    model = stored(sent(api, customer, valid_for=1))
    client, table = boto3.client("dynamodb"), adapters.deps().store.table
    items = []
    for n in range(total - 1):  # the model is one of the candidates
        doc = {**model, "id": f"est_seed{n:05d}", "name": f"Devis {n}", "number": f"D-{n + 2}"}
        if n >= candidates - 1:
            doc |= [{"valid_until": day(60), "sweep_expiry_on": day(61)},
                    {"status": "accepted", "sweep_expiry_on": None},
                    {"status": "draft", "number": None, "sweep_expiry_on": None}][n % 3]  # fmt: skip
        items.append(_encode("acme", "estimate", doc))
    for start in range(0, len(items), 25):
        client.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        )


@pytest.mark.on_aws
def test_a_run_reads_one_item_per_candidate_whatever_the_table_holds(api, business, customer):
    from invoicing.adapters import live as adapters

    seed(api, customer, total=3000, candidates=250)
    store = adapters.deps().store
    store.items_read = 0

    started = time.perf_counter()
    done = api.run_sweep("expiry", day(10))
    elapsed = time.perf_counter() - started

    assert (done["candidates"], done["done"], done["failed"]) == (250, 250, 0)
    assert store.items_read <= done["candidates"] * 1.1, store.items_read  # a page's query, no read per estimate
    print(f"\n{done['done']} estimates expired in {elapsed:.2f} s, {store.items_read} items read")
