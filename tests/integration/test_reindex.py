"""Deploy day of SPEC §14 (logic.reindex, `python -m infra.admin reindex`):
documents written before the `by_date` index, the searchable text and the
payment entries existed are given them, on the table itself (moto), and
nothing else changes: no version, no event."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest

from tests.conftest import published_events

pytestmark = pytest.mark.on_aws

BEFORE = ("gsi9pk", "gsi9sk", "search", "due_date")  # the attributes this deployment's writes add


def _as_before(tenant: str, sk: str) -> None:
    """The item as the previous deployment wrote it: none of the new attributes."""
    boto3.client("dynamodb").update_item(
        TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": f"T#{tenant}"}, "sk": {"S": sk}},
        UpdateExpression="REMOVE " + ", ".join(f"#a{i}" for i in range(len(BEFORE))),
        ExpressionAttributeNames={f"#a{i}": name for i, name in enumerate(BEFORE)},
    )  # fmt: skip


def test_documents_written_before_the_index_are_found_after_reindex(api: Any, issued: dict[str, Any]) -> None:
    from infra.admin import main
    from invoicing.adapters.live import deps

    paid = api.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": "100.00"})
    assert paid.status == 201
    published_events()  # what was committed so far went out; the payment entry is never projected
    _as_before("acme", f"INV#{issued['id']}")
    _as_before("acme", f"CUS#{issued['customer_id']}")
    assert api.get("/reports/summary").body["currencies"] == []  # invisible to the index
    assert api.get("/customers?q=dupont").body["items"] == []

    assert main(["reindex", "acme"]) == 0

    summary = api.get("/reports/summary").body["currencies"]
    assert [(row["issued"], row["collected"]) for row in summary] == [(1, "100.00")]
    vat = api.get("/reports/vat?basis=collected").body["currencies"]
    assert [row["tax"] for row in vat] == ["16.67"]  # its payment entry, projected
    assert [found["id"] for found in api.get("/customers?q=dupont").body["items"]] == [issued["customer_id"]]
    stored = deps().store.get("acme", "invoice", issued["id"])
    assert stored["version"] == paid.body["invoice"]["version"]  # written back as it was
    assert [event["detail-type"] for event in published_events()] == []  # no business event, no webhook

    assert main(["reindex", "acme"]) == 0  # again: nothing more
    assert deps().store.get("acme", "invoice", issued["id"]) == stored
    assert published_events() == []


def test_reindex_refuses_what_is_no_tenant_id(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.admin import main

    assert main(["reindex", "../etc"]) == 2
    assert "not tenant ids" in capsys.readouterr().err


def test_a_document_deleted_or_changed_while_reindexing_is_passed_over(api: Any, draft: dict[str, Any]) -> None:
    """Given a draft read by the reindex and deleted (or edited) before its
    write, the run goes on: that document needs nothing more."""
    from invoicing.adapters.live import deps
    from invoicing.logic.reindex import _written_back

    read = deps().store.get("acme", "invoice", draft["id"])
    assert api.delete(f"/invoices/{draft['id']}").status == 204
    assert _written_back(deps(), "acme", "invoice", read) == 0
    other = api.post("/customers", {"name": "Martin"}).body
    stale = deps().store.get("acme", "customer", other["id"])
    assert api.patch(f"/customers/{other['id']}", {"name": "Martin SA", "version": 1}).status == 200
    assert _written_back(deps(), "acme", "customer", stale) == 0
    assert deps().store.get("acme", "customer", other["id"])["name"] == "Martin SA"
