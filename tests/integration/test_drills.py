"""Failure drills (issue 8): faults injected in the AWS calls the adapters
make, as a busy or failing service answers them once botocore's own retries
are spent. For each: what the client saw, that nothing was lost or done
twice, and that the retry path completed.

A fault is a botocore `before-call` handler on the adapter's own client: it
answers the chosen calls with the service's error instead of sending them.
(A delivery worker that dies mid-send, Lambda's timeout, is drilled in
test_send.py: `a_delivery_left_sending_by_a_dead_worker_…`; SES throttling
there too.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from invoicing.events import WEBHOOK_EVENT
from tests.conftest import CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE

pytestmark = [pytest.mark.integration, pytest.mark.on_aws]  # the AWS adapters under the handlers


@contextmanager
def fault(client: Any, operation: str, code: str, calls: set[int] | None = None, **error: Any) -> Iterator[list[int]]:
    """`client`'s `operation` answers `code` (HTTP 400, or 500 for a
    server error) on the `calls`-th calls (1-based; all when None). Yields
    the numbers of the calls it answered."""
    answered: list[int] = []
    seen = [0]

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        seen[0] += 1
        if calls is not None and seen[0] not in calls:
            return None
        answered.append(seen[0])
        status = 500 if code in ("InternalError", "InternalServerError", "ServiceUnavailable") else 400
        parsed = {
            "Error": {"Code": code, "Message": "injected by a drill"},
            "ResponseMetadata": {"HTTPStatusCode": status},
            **error,
        }
        return AWSResponse("https://drill", status, {}, None), parsed

    with hooked(client, "before-call", operation, answer):
        yield answered


@contextmanager
def hooked(client: Any, when: str, operation: str, handler: Callable[..., Any]) -> Iterator[None]:
    """`handler` on `client`'s `when` event (botocore's before-call,
    after-call…) of `operation`, for the block."""
    event, unique = f"{when}.{client.meta.service_model.service_name}.{operation}", f"drill-{when}-{operation}"
    client.meta.events.register(event, handler, unique_id=unique)
    try:
        yield
    finally:
        client.meta.events.unregister(event, unique_id=unique)


def table() -> Any:
    from invoicing.adapters.live import deps

    return deps().store.client


@pytest.fixture
def draft_ready(api, business, customer) -> dict[str, Any]:
    return api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body


# -- DynamoDB ----------------------------------------------------------------------------


def test_finalization_throttled_answers_503_consumes_no_number_and_the_retry_issues_inv_1(api, draft_ready):
    with fault(table(), "TransactWriteItems", "ProvisionedThroughputExceededException") as answered:
        busy = api.post(f"/invoices/{draft_ready['id']}/mark-sent")

    assert answered  # the finalization's transaction was refused
    assert (busy.status, busy.body["error"]["code"], busy.headers.get("Retry-After")) == (503, "busy", "1")
    assert api.get(f"/invoices/{draft_ready['id']}").body["status"] == "draft"
    retried = api.post(f"/invoices/{draft_ready['id']}/mark-sent")
    assert (retried.status, retried.body["number"]) == (200, "INV-1")


def test_a_transaction_the_table_throttles_is_a_503_and_nothing_is_written(api, business):
    reasons = {"CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}]}
    with fault(table(), "TransactWriteItems", "TransactionCanceledException", **reasons) as answered:
        busy = api.post("/customers", {"name": "Dupont & Fils"})

    assert answered
    assert (busy.status, busy.body["error"]["code"]) == (503, "busy")
    assert api.get("/customers").body["items"] == []
    assert api.post("/customers", {"name": "Dupont & Fils"}).status == 201


def test_finalization_losing_its_condition_reads_again_and_issues_inv_1(api, draft_ready):
    reasons = {"CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}, {"Code": "None"},
                                       {"Code": "None"}]}  # fmt: skip
    with fault(table(), "TransactWriteItems", "TransactionCanceledException", {1}, **reasons) as answered:
        reply = api.post(f"/invoices/{draft_ready['id']}/mark-sent")

    assert answered == [1]
    assert (reply.status, reply.body["number"]) == (200, "INV-1")


def test_a_payment_throttled_answers_503_and_the_same_key_then_records_it_once(api, issued):
    headers = {"Idempotency-Key": "drill-payment"}
    body = {"method": "cash", "amount": "100.00"}
    # the first PutItem claims the key; the second is the payment's write
    with fault(table(), "PutItem", "ThrottlingException", {2}) as answered:
        busy = api.post(f"/invoices/{issued['id']}/payments", body, headers=headers)

    assert (answered, busy.status) == ([2], 503)
    assert api.get(f"/invoices/{issued['id']}").body["amount_paid"] == "0.00"
    first = api.post(f"/invoices/{issued['id']}/payments", body, headers=headers)
    again = api.post(f"/invoices/{issued['id']}/payments", body, headers=headers)
    assert (first.status, again.status, again.headers.get("Idempotent-Replayed")) == (201, 201, "true")
    after = api.get(f"/invoices/{issued['id']}").body
    assert (after["amount_paid"], len(after["payments"])) == ("100.00", 1)


@contextmanager
def lost_answer(client: Any, operation: str, call: int) -> Iterator[list[int]]:
    """`client`'s `call`-th `operation` is done by the service, but its
    answer never arrives: a read timeout after botocore's retries."""
    from botocore.exceptions import ReadTimeoutError

    seen, lost = [0], []

    def lose(**_: Any) -> None:
        seen[0] += 1
        if seen[0] == call:
            lost.append(call)
            raise ReadTimeoutError(endpoint_url="https://drill")

    with hooked(client, "after-call", operation, lose):
        yield lost


def test_a_payment_written_but_never_answered_is_answered_again_by_its_key_not_recorded_twice(api, issued):
    from tests.conftest import published_events

    headers = {"Idempotency-Key": "drill-lost"}
    body = {"method": "cash", "amount": issued["amount_due"]}
    api.deliver_events()
    # the first PutItem claims the key; the second is the payment's write, done but never answered
    with lost_answer(table(), "PutItem", 2) as lost:
        failed = api.post(f"/invoices/{issued['id']}/payments", body, headers=headers)

    assert (lost, failed.status) == ([2], 500)  # it may have been done: not a 503 "retry, nothing was done"
    recorded = api.get(f"/invoices/{issued['id']}").body["payments"]
    assert [p["amount"] for p in recorded] == [issued["amount_due"]]  # it was: the key was released with the 500
    heard = [event["detail-type"] for event in published_events() if event["detail-type"] != WEBHOOK_EVENT]
    assert heard == ["Payment Recorded", "Invoice Paid"]  # from its commit, answer lost or not: the receipt goes out
    retried = api.post(f"/invoices/{issued['id']}/payments", body, headers=headers)
    assert (retried.status, retried.body["id"]) == (201, recorded[0]["id"])
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert published_events() == []  # the retry wrote nothing: nothing is said twice
    after = api.get(f"/invoices/{issued['id']}").body
    assert (after["amount_paid"], after["status"], len(after["payments"])) == (issued["amount_due"], "paid", 1)
    other = {**body, "amount": "50.00"}
    reused = api.post(f"/invoices/{issued['id']}/payments", other, headers=headers)
    assert (reused.status, reused.body["error"]["code"]) == (422, "idempotency_key_reused")


def test_a_payment_key_sent_again_with_another_payment_once_its_record_is_gone_is_refused(api, issued):
    from invoicing.adapters.live import deps
    from invoicing.domain.errors import KeyReused
    from invoicing.logic import payments
    from invoicing.models.payments import BankTransferPayment

    def record(amount: str, reference: str, paid_at: str | None = None) -> tuple[dict[str, Any], bool]:
        data = BankTransferPayment(method="bank_transfer", amount=amount, reference=reference, paid_at=paid_at)
        return payments.record(deps(), "acme", issued["id"], data, "monthly")

    first, new = record("100.00", "VIR-1", "2026-11-01")
    assert new
    for amount, reference, paid_at in (("50.00", "VIR-1", None), ("100.00", "VIR-2", None),
                                       ("100.00", "VIR-1", "2026-11-20")):  # fmt: skip
        with pytest.raises(KeyReused):
            record(amount, reference, paid_at)
    again, new = record("100", "VIR-1")
    assert (again["id"], new) == (first["id"], False)
    assert len(api.get(f"/invoices/{issued['id']}").body["payments"]) == 1


def test_a_payment_whose_key_record_was_refused_is_not_recorded_again_when_its_lease_ends(api, issued, monkeypatch):
    import time
    from types import SimpleNamespace

    from invoicing.api import idempotency

    headers = {"Idempotency-Key": "drill-lease"}
    body = {"method": "cash", "amount": "100.00"}
    with fault(table(), "UpdateItem", "InternalServerError") as answered:  # the key's completion
        first = api.post(f"/invoices/{issued['id']}/payments", body, headers=headers)
    assert answered
    assert first.status == 201
    assert api.post(f"/invoices/{issued['id']}/payments", body, headers=headers).status == 409  # in progress

    later = time.time() + idempotency.LEASE_S + 1  # the lease ends, the key never completed
    monkeypatch.setattr(idempotency, "time", SimpleNamespace(time=lambda: later))
    again = api.post(f"/invoices/{issued['id']}/payments", body, headers=headers)

    assert (again.status, again.body["id"]) == (201, first.body["id"])
    after = api.get(f"/invoices/{issued['id']}").body
    assert (after["amount_paid"], len(after["payments"])) == ("100.00", 1)


def overdue_with_a_fee(api, customer) -> dict[str, Any]:
    """An invoice overdue since 2 November, with a fee of 40.00 once."""
    fees = {"enabled": True, "type": "fixed", "value": "40.00", "frequency": {"interval": "once"}}
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"], "issue_date": "2026-11-01",
                                   "due_date": "2026-11-02", "late_fees": fees}).body  # fmt: skip
    assert api.post(f"/invoices/{draft['id']}/mark-sent").status == 200
    return draft


def test_a_busy_table_delays_a_late_fee_and_never_applies_it_twice(api, business, customer):
    from invoicing.adapters.live import deps

    draft = overdue_with_a_fee(api, customer)
    api.deliver_events()

    with fault(table(), "PutItem", "ProvisionedThroughputExceededException", {1}) as answered:
        done = api.run_sweep("late_fees", "2026-12-10")  # refused once, then written: no dead letter

    assert (answered, done["done"], done["failed"]) == ([1], 1, 0)
    again = api.run_sweep("late_fees", "2026-12-10")
    assert (again["candidates"], again["done"]) == (0, 0)
    stored = deps().store.get("acme", "invoice", draft["id"])
    assert (stored["late_fees_total"], len(stored["late_fee_entries"])) == ("40.00", 1)


def test_a_table_busy_for_longer_sends_the_invoice_to_the_dead_letters_and_tomorrow_catches_up(api, business, customer):
    draft = overdue_with_a_fee(api, customer)

    with fault(table(), "PutItem", "ProvisionedThroughputExceededException"):
        done = api.run_sweep("late_fees", "2026-12-10")
    tomorrow = api.run_sweep("late_fees", "2026-12-11")

    assert (done["done"], done["failed"]) == (0, 1)
    assert (tomorrow["done"], tomorrow["failed"]) == (1, 0)
    assert api.get(f"/invoices/{draft['id']}").body["late_fees_total"] == "40.00"


# -- S3 ------------------------------------------------------------------------------------


def test_a_pdf_that_cannot_be_stored_fails_its_event_and_the_retry_stores_it_once(api, issued):
    from invoicing.adapters.live import deps

    finalized = {"detail-type": "Invoice Finalized", "source": "invoicing", "id": "drill",
                 "detail": {"tenant_id": "acme", "invoice_id": issued["id"], "version": issued["version"]}}  # fmt: skip
    blobs = deps().blobs
    assert blobs is not None
    with fault(blobs.client, "PutObject", "InternalError") as answered, pytest.raises(Exception, match="InternalError"):
        api.invoke_function("documents", finalized)  # the invocation fails: EventBridge retries it
    link_while_down = None
    with fault(blobs.client, "PutObject", "SlowDown"):
        link_while_down = api.get(f"/invoices/{issued['id']}/pdf")

    assert answered == [1]
    assert (link_while_down.status, link_while_down.body["error"]["code"]) == (503, "busy")
    assert api.invoke_function("documents", finalized) == {"outcome": "rendered"}
    assert api.invoke_function("documents", finalized) == {"outcome": "present"}
    assert blobs.list_keys(f"acme/invoices/{issued['id']}/") == [
        f"acme/invoices/{issued['id']}/v{issued['version']}.pdf"
    ]


# -- SNS -----------------------------------------------------------------------------------


def test_a_throttled_sms_is_retried_by_its_event_and_sent_once(api, business):
    from invoicing.adapters.live import messenger

    customer = api.post(
        "/customers", {"name": "Dupont", "phone": "+33612345678", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}
    ).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body
    api.post(f"/invoices/{draft['id']}/send", {"channels": ["sms"]})
    sent_event = [event for event in _bus(api) if event["detail-type"] == "Invoice Sent"]

    with fault(messenger()._client("sns"), "Publish", "ThrottlingException"), pytest.raises(Exception, match="Throttl"):
        api.invoke_function("delivery", sent_event[0])  # the invocation fails: Lambda retries it
    assert api.get(f"/invoices/{draft['id']}").body["deliveries"][0]["status"] == "pending"

    assert api.invoke_function("delivery", sent_event[0]) == {"sent": 1, "failed": 0, "skipped": 0}
    assert api.invoke_function("delivery", sent_event[0]) == {"sent": 0, "failed": 0, "skipped": 1}
    assert api.get(f"/invoices/{draft['id']}").body["deliveries"][0]["status"] == "sent"


def _bus(api) -> list[dict[str, Any]]:
    """The events published so far, without running them."""
    from tests.conftest import published_events

    return published_events()


# -- dying after the commit (SPEC §16) ---------------------------------------------------


def test_a_finalization_whose_function_dies_after_its_commit_still_gets_its_pdf(api, draft_ready):
    """The transaction lands, then the function fails before answering: the
    table's stream still carries the draft numbered, so the PDF is made."""
    from tests.conftest import published_events

    published_events()  # what came before
    with lost_answer(table(), "TransactWriteItems", 1) as lost:
        died = api.post(f"/invoices/{draft_ready['id']}/mark-sent")

    assert (lost, died.status) == ([1], 500)
    events = [event for event in published_events() if event["detail-type"] != WEBHOOK_EVENT]
    assert [event["detail-type"] for event in events] == ["Invoice Finalized"]
    assert [function for function, _ in api.deliver_events(events)] == ["documents"]
    invoice = api.get(f"/invoices/{draft_ready['id']}").body
    assert invoice["number"] == "INV-1"
    stored = api.get(f"/invoices/{draft_ready['id']}/pdf").body
    assert stored["version"] == invoice["version"]


def test_a_send_whose_function_dies_after_recording_its_delivery_still_sends_it_once(api, draft_ready):
    """The delivery is written, then the function fails (its answer lost):
    the stream's "Invoice Sent" sends it; the client's retry sends nothing more."""
    from tests.integration.test_send import sent_emails

    api.post(f"/invoices/{draft_ready['id']}/mark-sent")
    api.deliver_events()
    # the first PutItem claims nothing here: a send without a key writes only its deliveries
    with lost_answer(table(), "PutItem", 1) as lost:
        died = api.post(f"/invoices/{draft_ready['id']}/send", {"channels": ["email"]})

    assert (lost, died.status) == ([1], 500)
    delivered = api.deliver_events()
    assert ("delivery", {"sent": 1, "failed": 0, "skipped": 0}) in delivered
    again = api.post(f"/invoices/{draft_ready['id']}/send", {"channels": ["email"]})
    assert again.status == 202
    assert [d["status"] for d in again.body["deliveries"]] == ["sent"]
    assert api.deliver_events() == []  # nothing requested anew
    assert len(sent_emails()) == 1
