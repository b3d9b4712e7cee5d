"""The PDF is made when the invoice is issued (SPEC §7, issue 3 §4): the
API publishes "Invoice Finalized" on the bus, the rule of `infra/wiring.py`
hands it to the documents function, which stores the version's PDF once,
however often the event arrives."""

from __future__ import annotations

import io
import os

import boto3
import pypdf
import pytest

from infra import wiring
from tests.conftest import internal, not_hooks, published_events

pytestmark = pytest.mark.integration


def versions_of(key: str) -> list[dict]:
    s3 = boto3.client("s3")
    listed = s3.list_object_versions(Bucket=os.environ["DOCUMENTS_BUCKET"], Prefix=key)
    return [version for version in listed.get("Versions", []) if version["Key"] == key]


def pdf_text(key: str) -> str:
    body = boto3.client("s3").get_object(Bucket=os.environ["DOCUMENTS_BUCKET"], Key=key)["Body"].read()
    return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)


def finalized_event(invoice: dict, tenant: str = "acme") -> dict:
    return {
        "version": "0",
        "id": "e-1",
        "detail-type": "Invoice Finalized",
        "source": "invoicing",
        "account": "123456789012",
        "time": "2026-11-27T10:00:00Z",
        "region": "eu-west-3",
        "resources": [],
        "detail": {"tenant_id": tenant, "invoice_id": invoice["id"], "version": invoice["version"]},
    }


@pytest.mark.on_aws
def test_issuing_publishes_one_event_and_the_documents_function_stores_that_version(api, issued):
    delivered = not_hooks(api.deliver_events())

    assert delivered == [("documents", {"outcome": "rendered"})]
    key = f"acme/invoices/{issued['id']}/v{issued['version']}.pdf"
    assert len(versions_of(key)) == 1
    assert "Facture N° INV-1" in pdf_text(key)


@pytest.mark.on_aws
def test_a_repeated_event_stores_nothing_twice(api, issued):
    event = finalized_event(issued)
    api.deliver_events()

    again = api.invoke_function("documents", event)

    assert again == {"outcome": "present"}
    assert len(versions_of(f"acme/invoices/{issued['id']}/v{issued['version']}.pdf")) == 1


@pytest.mark.on_aws
def test_the_link_serves_the_stored_pdf_without_rendering_again(api, issued):
    api.deliver_events()

    link = api.get(f"/invoices/{issued['id']}/pdf")

    assert link.status == 200
    assert link.body["version"] == issued["version"]
    assert len(versions_of(f"acme/invoices/{issued['id']}/v{issued['version']}.pdf")) == 1


@pytest.mark.on_aws
def test_an_event_for_a_draft_deleted_since_renders_nothing(api, draft):
    assert api.delete(f"/invoices/{draft['id']}").status == 204

    assert api.invoke_function("documents", finalized_event(draft)) == {"outcome": "gone"}
    assert versions_of("acme/invoices/") == []


def test_an_event_names_the_tenant_whose_invoice_it_renders(api, issued):
    """A forged or misrouted event for another tenant finds no invoice."""
    assert api.invoke_function("documents", finalized_event(issued, tenant="globex")) == {"outcome": "gone"}


def test_a_newer_version_than_the_store_has_fails_the_invocation_so_it_is_retried(api, issued):
    event = finalized_event({**issued, "version": issued["version"] + 1})

    with pytest.raises(RuntimeError, match="older than the event's"):
        api.invoke_function("documents", event)


def test_a_draft_publishes_nothing_and_an_issued_invoice_only_once(api, business, draft):
    assert api.patch(f"/invoices/{draft['id']}", {"notes": "merci", "version": draft["version"]}).status == 200
    assert not_hooks(api.deliver_events()) == []

    assert api.post(f"/invoices/{draft['id']}/mark-sent").status == 200
    assert api.post(f"/invoices/{draft['id']}/mark-sent").status == 200  # already issued: no event

    assert [function for function, _ in not_hooks(api.deliver_events())] == ["documents"]


@pytest.mark.on_aws
def test_the_finalization_publishes_nothing_itself_its_event_comes_from_the_commit(api, business, draft):
    issued = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert issued.status == 200
    assert issued.body["number"] == "INV-1"
    (event,) = internal(published_events())  # read from the table's stream: no bus call can lose it
    assert event["detail-type"] == "Invoice Finalized"
    link = api.get(f"/invoices/{draft['id']}/pdf")  # undelivered yet, the PDF is there on the first request
    assert link.status == 200
    assert len(versions_of(f"acme/invoices/{draft['id']}/v{link.body['version']}.pdf")) == 1


@pytest.mark.on_aws
def test_the_event_detail_is_what_the_rule_and_the_consumer_read(api, issued):
    (event,) = internal(published_events())

    assert (event["source"], event["detail-type"]) == ("invoicing", "Invoice Finalized")
    assert event["detail"] == {"tenant_id": "acme", "invoice_id": issued["id"], "version": issued["version"]}


@pytest.mark.on_aws
def test_voiding_publishes_an_event_and_the_void_version_gets_its_pdf(api, issued):
    api.deliver_events()

    voided = api.post(f"/invoices/{issued['id']}/void").body

    # the credit note voiding issues, then the void itself: one render of each document
    assert not_hooks(api.deliver_events()) == [
        ("documents", {"outcome": "rendered"}),
        ("documents", {"outcome": "present"}),
    ]
    assert "Annulée" in pdf_text(f"acme/invoices/{issued['id']}/v{voided['version']}.pdf")
    (note,) = voided["credit_notes"]
    assert "Avoir N° AV-1" in pdf_text(f"acme/credit-notes/{note['id']}.pdf")


@pytest.mark.on_aws
def test_an_amounts_changed_event_stores_the_current_version_it_finds(api, issued):
    """Payments and late fees (issues 5 and 6) publish it; the rule is in place."""
    event = {**finalized_event(issued), "detail-type": "Invoice Amounts Changed"}

    rules = {rule.name: rule.function for rule in wiring.rules_for("Invoice Amounts Changed")}
    assert rules == {"render-pdf": "documents", "payment-entries": "reports"}  # the PDF, and the reports' entries
    outcome = api.invoke_function(rules["render-pdf"], event)

    assert outcome == {"outcome": "rendered"}
    assert len(versions_of(f"acme/invoices/{issued['id']}/v{issued['version']}.pdf")) == 1
