"""The local bus (issue 3 §6): an issued invoice's PDF lands in the emulated
S3 through the same rule the stack deploys, with retries, once."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e


def stored_versions(runtime: Any, key: str) -> list[dict[str, Any]]:
    from infra.local.resources import BUCKET_NAME

    listed = runtime.emulation.client("s3").list_object_versions(Bucket=BUCKET_NAME, Prefix=key)
    return [version for version in listed.get("Versions", []) if version["Key"] == key]


def issue(client: Any, ready: dict[str, Any]) -> dict[str, Any]:
    body = {"name": "Bus", "customer_id": ready["customer"]["id"], "lines": [{"name": "Cours", "unit_price": "40"}]}
    draft = client.post("/invoices", body).body
    issued = client.post(f"/invoices/{draft['id']}/mark-sent")
    assert issued.status == 200, issued.body
    return issued.body


def test_issuing_stores_the_pdf_in_s3_through_the_bus(runtime, client, ready):
    invoice = issue(client, ready)

    assert runtime.drain(timeout_s=60)

    key = f"{client.tenant}/invoices/{invoice['id']}/v{invoice['version']}.pdf"
    (stored,) = stored_versions(runtime, key)
    assert stored["Size"] > 1000
    assert runtime.bus.dead_letters == []


def test_the_same_event_delivered_concurrently_stores_one_object(runtime, client, ready):
    invoice = issue(client, ready)
    assert runtime.drain(timeout_s=60)
    key = f"{client.tenant}/invoices/{invoice['id']}/v{invoice['version']}.pdf"
    runtime.emulation.client("s3").delete_object(Bucket="invoicing-local-documents", Key=key)  # as if not rendered
    detail = {"tenant_id": client.tenant, "invoice_id": invoice["id"], "version": invoice["version"]}
    event = {"detail-type": "Invoice Finalized", "source": "invoicing", "detail": detail}
    barrier, outcomes = threading.Barrier(4), []

    def deliver() -> None:
        barrier.wait()
        outcomes.append(runtime.lambdas.run("documents", event)["outcome"])

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes).count("rendered") == 1
    assert set(outcomes) == {"rendered", "present"}
    live = [version for version in stored_versions(runtime, key) if version["IsLatest"]]
    assert len(live) == 1
    assert live[0]["Size"] > 1000


def test_a_failing_target_is_retried_then_kept_as_a_dead_letter(runtime, monkeypatch):
    from infra import wiring
    from infra.local import bus

    monkeypatch.setattr(bus, "RETRY_BASE_S", 0.01)
    before = len(runtime.bus.dead_letters)
    detail = {"invoice_id": "inv_x"}  # names no tenant: the handler raises

    accepted = runtime.bus.put(
        {"Source": "invoicing", "DetailType": "Invoice Finalized", "Detail": json.dumps(detail),
         "EventBusName": runtime.bus.name}
    )  # fmt: skip

    assert "EventId" in accepted
    assert runtime.drain(timeout_s=60)
    (dead,) = runtime.bus.dead_letters[before:]
    assert dead["rule"] == wiring.EVENT_RULES[0].name
    assert dead["event"]["detail"] == detail


def test_an_unknown_bus_is_refused_per_entry(runtime):
    reply = runtime.bus.put({"Source": "invoicing", "DetailType": "x", "Detail": "{}", "EventBusName": "other"})

    assert reply["ErrorCode"] == "ResourceNotFoundException"


def test_the_tick_fires_the_sweeps_as_of_its_date_and_answers_what_they_did(runtime, client, ready):
    """POST /_local/tick (SPEC §9.1), as `make tick DATE=…` sends it."""
    late_fees = {"enabled": True, "type": "fixed", "value": "40.00", "frequency": {"interval": "once"}}
    draft = client.post("/invoices", {"name": "En retard", "customer_id": ready["customer"]["id"],
                                      "issue_date": "2026-11-27", "due_date": "2026-12-27", "late_fees": late_fees,
                                      "lines": [{"name": "X", "unit_price": "100"}]}).body  # fmt: skip
    client.post(f"/invoices/{draft['id']}/mark-sent")

    first = requests.post(f"{runtime.url}/_local/tick", json={"date": "2027-01-15"}, timeout=120).json()
    again = requests.post(f"{runtime.url}/_local/tick", json={"date": "2027-01-15"}, timeout=120).json()

    assert first["late-fees"]["finished"]
    assert first["reminders"]["finished"]
    assert first["late-fees"]["done"] >= 1  # ours, and any other test's overdue invoice
    assert again["late-fees"]["done"] == again["reminders"]["done"] == 0
    invoice = client.get(f"/invoices/{draft['id']}").body
    assert (invoice["late_fees_total"], invoice["amount_due"]) == ("40.00", "140.00")
    assert [d["kind"] for d in invoice["deliveries"]] == ["reminder"]
    bad = requests.post(f"{runtime.url}/_local/tick", json={"day": "tomorrow"}, timeout=10)
    assert bad.status_code == 400


def test_the_tick_expires_a_sent_estimate_the_day_after_its_last_valid_day(runtime, client, ready):
    """The estimate-expiry rule fires before the invoices' sweeps in the tick's
    day (SPEC §11), after the recurring invoices' (SPEC §12)."""
    from datetime import date, timedelta

    today = date.today()
    draft = client.post("/estimates", {"name": "Devis du jour", "customer_id": ready["customer"]["id"],
                                       "issue_date": today.isoformat(), "valid_until": today.isoformat(),
                                       "lines": [{"name": "Cours", "unit_price": "40"}]}).body  # fmt: skip
    assert client.post(f"/estimates/{draft['id']}/mark-sent").body["status"] == "sent"

    ticked = requests.post(f"{runtime.url}/_local/tick", json={"date": str(today + timedelta(days=1))}, timeout=120)

    assert list(ticked.json())[:6] == [
        "date", "recurring-invoices", "estimate-expiry", "late-fees", "overdue-invoices", "reminders"
    ]  # fmt: skip
    assert ticked.json()["estimate-expiry"]["finished"]
    assert ticked.json()["estimate-expiry"]["done"] >= 1  # ours, and any other test's lapsed estimate
    assert client.get(f"/estimates/{draft['id']}").body["status"] == "expired"  # stored: still its last day here


def test_a_bus_that_refuses_events_for_a_while_gets_them_once_it_recovers_and_nothing_twice(runtime, client, ready):
    """SPEC §16: the pipe reads the commit from the table's stream and tries
    again until the bus takes it; the PDF is stored once, the e-mail sent once."""
    draft = client.post(
        "/invoices",
        {"name": "Panne", "customer_id": ready["customer"]["id"], "lines": [{"name": "X", "unit_price": "9"}]},
    ).body
    failures, dead = runtime.pipe.failures, len(runtime.bus.dead_letters)
    runtime.bus.refusing = True
    try:
        sent = client.post(f"/invoices/{draft['id']}/send", {"channels": ["email"]})
        assert sent.status == 202  # the request does not wait for the bus
        assert not runtime.pipe.drain(timeout_s=1)  # the pipe is stuck on the refused batch
        assert runtime.pipe.failures > failures
    finally:
        runtime.bus.refusing = False
    assert runtime.drain(timeout_s=60)

    key = f"{client.tenant}/invoices/{draft['id']}/v{sent.body['version']}.pdf"
    assert len(stored_versions(runtime, key)) == 1
    deliveries = client.get(f"/invoices/{draft['id']}").body["deliveries"]
    assert [d["status"] for d in deliveries] == ["sent"]
    (message_id,) = [d["provider_message_id"] for d in deliveries]
    emails = requests.get(f"{client.base_url}/_local/outbox", timeout=10).json()["emails"]
    assert [m["id"] for m in emails].count(message_id) == 1
    assert [d for d in runtime.bus.dead_letters[dead:] if d["event"]["detail"].get("invoice_id") == draft["id"]] == []


def test_a_draft_too_large_to_render_while_asked_is_queued_then_served(runtime, client, ready):
    """100 lines of 2,600 characters: more than a request renders itself
    (logic.documents.INLINE_CHARACTERS). The request answers 202 at once;
    the render queue, read in the background as Lambda reads it, stores the
    PDF; the same request then gets its link."""
    line = {"name": "Lot", "unit_price": "10", "description": "Reprise des joints et ponçage. " * 85}
    draft = client.post("/invoices", {"name": "Long", "customer_id": ready["customer"]["id"], "lines": [line] * 100})
    assert draft.status == 201, draft.body
    path = f"/invoices/{draft.body['id']}/pdf"

    first = client.get(path)

    assert first.status == 202, first.body
    assert first.headers["Retry-After"] == "2"
    assert runtime.drain(timeout_s=60)
    served = client.get(path)
    assert served.status == 200, served.body
    pdf = requests.get(served.body["url"], timeout=10)
    assert pdf.content.startswith(b"%PDF-")
    assert len(pdf.content) > 50_000


def test_a_finalization_whose_process_is_killed_after_its_commit_still_gets_its_pdf_once(runtime, client, ready):
    """SPEC §16's drill, with the process killed: the invoice is numbered,
    the client never hears back (502, as API Gateway answers for a dead
    runtime), and its PDF is stored anyway, once — the stream holds the
    commit. The function's next requests run in new environments."""
    from infra.local.lambdas import Crashed
    from tests.e2e.dying import mark_sent_then_die

    body = {"name": "Killed", "customer_id": ready["customer"]["id"], "lines": [{"name": "Cours", "unit_price": "40"}]}
    draft = client.post("/invoices", body).body

    with pytest.raises(Crashed):
        mark_sent_then_die(runtime, client.tenant, draft["id"])

    assert runtime.drain(timeout_s=60)
    invoice = client.get(f"/invoices/{draft['id']}").body
    assert invoice["status"] == "open"
    assert invoice["number"].startswith("INV-")
    key = f"{client.tenant}/invoices/{invoice['id']}/v{invoice['version']}.pdf"
    assert len(stored_versions(runtime, key)) == 1
    assert issue(client, ready)["status"] == "open"  # the api answers again, from a new environment
