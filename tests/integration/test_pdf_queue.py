"""A request never waits long for a PDF (SPEC §7, logic.documents): the
stored copy is always served; a missing one is rendered at once when it
is small, queued when it is large (202, Retry-After, queued once however
many ask), and a render that fails is recorded for its version and not
tried again for an hour (503, Retry-After): no render storm.

On the fakes: the render queue is `fakes.renders`, handed to the documents
function as SQS would hand it. The size above which a PDF is queued is
lowered here, so that a few lines stand for 1,000."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from tests.conftest import BUSINESS, CUSTOMER, SPEC_INVOICE

pytestmark = pytest.mark.integration

LONG = "Développement et intégration de l'API de facturation électronique. " * 30  # ~2,000 characters


@pytest.fixture(autouse=True)
def small_inline_budget(monkeypatch):
    from invoicing.logic import documents

    monkeypatch.setattr(documents, "INLINE_CHARACTERS", 1_000)


def issue(api, description: str | None = LONG) -> dict:
    assert api.patch("/business", BUSINESS).status == 200
    customer = api.post("/customers", CUSTOMER).body
    line = {"name": "Développement", "unit_price": "450.00", "taxes": [{"name": "TVA", "rate": "20"}]}
    if description:
        line["description"] = description
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"], "lines": [line]}).body
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body
    assert issued["status"] == "open", issued
    return issued


def record_of(message: dict) -> dict:
    return {"messageId": "m-1", "receiptHandle": "r-1", "body": json.dumps(message), "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-3:1:renders", "awsRegion": "eu-west-3"}  # fmt: skip


def render_queue(api, fakes) -> list[dict]:
    """Hand each queued render to the documents function, as SQS does: what each returned."""
    outcomes = []
    while (message := fakes.renders.receive()) is not None:
        outcomes.append(api.invoke_function("documents", {"Records": [record_of(message)]}))
    return outcomes


def pdfs(api) -> list[str]:
    return [key for key in api.objects() if key.endswith(".pdf")]


def test_given_a_large_invoice_without_its_pdf_when_asked_then_202_once_queued_then_the_link(api, fakes):
    invoice = issue(api)
    path = f"/invoices/{invoice['id']}/pdf"

    first, again = api.get(path), api.get(path)

    assert (first.status, again.status) == (202, 202)
    assert first.body == {"status": "rendering", "version": invoice["version"], "retry_after": 2}
    assert first.headers["Retry-After"] == "2"
    assert len(fakes.renders.messages) == 1  # asked twice, queued once
    assert pdfs(api) == []

    assert render_queue(api, fakes) == [{"batchItemFailures": []}]
    link = api.get(path)

    assert link.status == 200
    assert link.body["version"] == invoice["version"]
    assert pdfs(api) == [f"acme/invoices/{invoice['id']}/v{invoice['version']}.pdf"]


def test_given_a_small_invoice_without_its_pdf_when_asked_then_it_is_rendered_at_once(api, fakes):
    invoice = issue(api, description=None)

    reply = api.get(f"/invoices/{invoice['id']}/pdf")

    assert reply.status == 200
    assert fakes.renders.messages == []
    assert len(pdfs(api)) == 1


def test_given_a_queued_render_delivered_twice_then_it_is_rendered_and_stored_once(api, fakes, monkeypatch):
    from invoicing.documents import pdf

    invoice = issue(api)
    assert api.get(f"/invoices/{invoice['id']}/pdf").status == 202
    (message,) = fakes.renders.messages
    fakes.renders.messages.append(dict(message))  # SQS delivers at least once
    real, renders = pdf.render_pdf, []
    monkeypatch.setattr(pdf, "render_pdf", lambda view, facturx=None: renders.append(1) or real(view, facturx))

    render_queue(api, fakes)

    assert len(renders) == 1
    assert len(pdfs(api)) == 1
    assert api.get(f"/invoices/{invoice['id']}/pdf").status == 200


def test_given_a_queued_render_whose_invoice_changed_since_then_it_renders_nothing_and_the_new_version_queues(
    api, fakes
):
    invoice = issue(api)
    path = f"/invoices/{invoice['id']}/pdf"
    assert api.get(path).status == 202
    paid = api.post(f"/invoices/{invoice['id']}/payments", {"amount": "100.00", "method": "bank_transfer"})
    assert paid.status == 201, paid.body

    (outcome,) = render_queue(api, fakes)

    assert outcome == {"batchItemFailures": []}
    assert pdfs(api) == []  # the old version's PDF would show an amount the invoice no longer has
    assert api.get(path).status == 202
    assert fakes.renders.messages[0]["version"] == invoice["version"] + 1


def test_given_many_concurrent_requests_for_a_missing_large_pdf_then_one_render_is_queued(api, fakes):
    invoice = issue(api)
    replies = []

    def ask() -> None:
        replies.append(api.get(f"/invoices/{invoice['id']}/pdf").status)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert replies == [202] * 8
    assert len(fakes.renders.messages) == 1


def test_given_a_queued_render_that_raises_then_the_version_answers_503_for_an_hour_then_is_queued_again(
    api, fakes, monkeypatch
):
    from invoicing.adapters.live import deps
    from invoicing.documents import pdf

    invoice = issue(api)
    path = f"/invoices/{invoice['id']}/pdf"
    assert api.get(path).status == 202

    def broken(view, facturx=None):
        raise MemoryError("a font table too large")

    real = pdf.render_pdf
    monkeypatch.setattr(pdf, "render_pdf", broken)
    (message,) = fakes.renders.messages
    assert render_queue(api, fakes) == [{"batchItemFailures": []}]  # recorded, not retried
    monkeypatch.setattr(pdf, "render_pdf", real)
    api.invoke_function("documents", {"Records": [record_of(message)]})  # SQS delivers it once more
    assert pdfs(api) == []  # held: no second try within the hour, even by a duplicate
    monkeypatch.setattr(pdf, "render_pdf", broken)
    failed, again = api.get(path), api.get(path)

    assert (failed.status, again.status) == (503, 503)
    assert failed.body["error"]["code"] == "pdf_render_failed"
    assert "MemoryError" in failed.body["error"]["message"]
    assert 3_590 <= int(failed.headers["Retry-After"]) <= 3_600
    assert fakes.renders.messages == []  # no render storm

    monkeypatch.setattr(pdf, "render_pdf", real)
    later = deps().now() + timedelta(hours=1, seconds=1)
    deps().now = lambda: later
    retried = api.get(path)

    assert retried.status == 202
    assert len(fakes.renders.messages) == 1
    render_queue(api, fakes)
    assert api.get(path).status == 200


def test_given_a_render_that_died_with_its_function_twice_then_its_next_delivery_records_the_failure(
    api, fakes, monkeypatch
):
    from invoicing.documents import pdf

    invoice = issue(api)
    path = f"/invoices/{invoice['id']}/pdf"
    assert api.get(path).status == 202
    (message,) = fakes.renders.messages

    def dies(view, facturx=None):
        raise SystemExit(137)  # the environment ends mid-render (its timeout, its memory)

    monkeypatch.setattr(pdf, "render_pdf", dies)
    for _ in range(2):  # SQS delivers it again after each death
        with pytest.raises(SystemExit):
            api.invoke_function("documents", {"Records": [record_of(message)]})
    outcome = api.invoke_function("documents", {"Records": [record_of(message)]})
    reply = api.get(path)

    assert outcome == {"batchItemFailures": []}

    assert reply.status == 503
    assert "did not end within the function's time, 2 times" in reply.body["error"]["message"]
    assert pdfs(api) == []


def test_given_aws_busy_during_a_queued_render_then_it_comes_back_and_nothing_is_held(api, fakes, monkeypatch):
    from botocore.exceptions import ClientError

    from invoicing.documents import pdf

    invoice = issue(api)
    path = f"/invoices/{invoice['id']}/pdf"
    assert api.get(path).status == 202
    (message,) = fakes.renders.messages
    real = pdf.render_pdf

    def busy(view, facturx=None):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "GetObject")

    monkeypatch.setattr(pdf, "render_pdf", busy)
    failed = api.invoke_function("documents", {"Records": [record_of(message)]})
    monkeypatch.setattr(pdf, "render_pdf", real)

    assert failed == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}  # SQS delivers it again
    assert api.get(path).status == 202  # not held as failed, not queued twice
    assert render_queue(api, fakes) == [{"batchItemFailures": []}]
    assert api.get(path).status == 200


def test_given_the_queue_refusing_a_render_then_the_next_request_queues_it(api, fakes, monkeypatch):
    invoice = issue(api)
    path = f"/invoices/{invoice['id']}/pdf"

    def refused(message):
        raise ConnectionError("the queue did not answer")

    monkeypatch.setattr(fakes.renders, "send", refused)
    first = api.get(path)
    monkeypatch.undo()
    from invoicing.logic import documents

    monkeypatch.setattr(documents, "INLINE_CHARACTERS", 1_000)
    second = api.get(path)

    assert first.status == 500
    assert second.status == 202
    assert len(fakes.renders.messages) == 1


def test_given_a_small_invoice_whose_render_fails_then_503_and_no_second_render_within_the_hour(
    api, fakes, monkeypatch
):
    from invoicing.documents import pdf

    invoice = issue(api, description=None)
    calls = []

    def broken(view, facturx=None):
        calls.append(view["number"])
        raise ValueError("broken")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    first, second = api.get(f"/invoices/{invoice['id']}/pdf"), api.get(f"/invoices/{invoice['id']}/pdf")

    assert (first.status, second.status) == (503, 503)
    assert len(calls) == 1


def test_given_a_stored_pdf_when_asked_then_it_is_served_even_after_a_recorded_failure(api, fakes, monkeypatch):
    """The stored copy always wins: a failure recorded for a version (by a
    request whose render broke) does not hide the copy a later event stored."""
    from invoicing.documents import pdf

    invoice = issue(api, description=None)
    real = pdf.render_pdf
    monkeypatch.setattr(pdf, "render_pdf", lambda view, facturx=None: (_ for _ in ()).throw(ValueError("broken")))
    assert api.get(f"/invoices/{invoice['id']}/pdf").status == 503
    monkeypatch.setattr(pdf, "render_pdf", real)

    api.deliver_events()  # the finalization's own render, on the bus

    assert api.get(f"/invoices/{invoice['id']}/pdf").status == 200


def test_given_a_large_invoice_when_its_client_opens_the_pdf_then_a_page_that_reloads_then_the_pdf(api, fakes):
    invoice = issue(api)
    path = invoice["payment_link"].removeprefix("http://127.0.0.1:3000") + "/pdf"

    waiting = api.call("GET", path, tenant=None)

    assert waiting.status == 202
    assert waiting.headers["Refresh"] == waiting.headers["Retry-After"] == "2"
    assert "PDF en préparation" in waiting.body
    render_queue(api, fakes)
    ready = api.call("GET", path, tenant=None)
    assert ready.status == 302
    assert f"/invoices/{invoice['id']}/v{invoice['version']}.pdf" in ready.headers["Location"]


def test_given_another_tenants_large_invoice_when_asked_then_404_and_nothing_queued(api, fakes):
    invoice = issue(api)

    reply = api.get(f"/invoices/{invoice['id']}/pdf", tenant="globex")

    assert reply.status == 404
    assert fakes.renders.messages == []


def test_given_a_large_credit_note_without_its_pdf_then_202_queued_then_the_link(api, fakes):
    invoice = issue(api)
    tva = [{"name": "TVA", "rate": "20"}]
    line = {"name": "Développement", "description": LONG, "unit_price": "100.00", "taxes": tva}
    note = api.post(f"/invoices/{invoice['id']}/credit-notes", {"lines": [line], "reason": "Remise accordée"})
    assert note.status == 201, note.body
    path = f"/credit-notes/{note.body['id']}/pdf"

    first = api.get(path)

    assert first.status == 202, first.body
    assert (first.body["status"], first.headers["Retry-After"]) == ("rendering", "2")
    (message,) = fakes.renders.messages
    assert (message["kind"], message["id"]) == ("credit_note", note.body["id"])
    render_queue(api, fakes)
    assert api.get(path).status == 200
    assert f"acme/credit-notes/{note.body['id']}.pdf" in pdfs(api)


def test_given_a_failed_render_when_the_client_opens_the_pdf_then_a_page_says_so_for_an_hour(api, fakes, monkeypatch):
    from invoicing.documents import pdf

    invoice = issue(api)
    monkeypatch.setattr(pdf, "render_pdf", lambda view, facturx=None: (_ for _ in ()).throw(ValueError("broken")))
    path = invoice["payment_link"].removeprefix("http://127.0.0.1:3000") + "/pdf"
    assert api.call("GET", path, tenant=None).status == 202
    render_queue(api, fakes)

    failed = api.call("GET", path, tenant=None)

    assert failed.status == 503
    assert "PDF indisponible" in failed.body
    assert 3_590 <= int(failed.headers["Retry-After"]) <= 3_600
    assert fakes.renders.messages == []
