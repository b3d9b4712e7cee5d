"""Estimates (devis, SPEC §11): drafts, their own gap-free numbering, sending,
duplicates, and every route's isolation between tenants."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest

from tests.conftest import BUSINESS

LINES = [
    {"name": "Pose de carrelage", "quantity": "12", "unit_price": "45.00", "unit": "m²",
     "taxes": [{"name": "TVA", "rate": "10"}]},
    {"name": "Fourniture carrelage", "quantity": "12", "unit_price": "30.00", "unit": "m²",
     "taxes": [{"name": "TVA", "rate": "20"}]},
]  # fmt: skip


def estimate_body(customer: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": "Salle de bains Dupont", "customer_id": customer["id"], "lines": LINES, **fields}


@pytest.fixture
def estimate(api: Any, business: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    """A draft estimate of 540 at 10 % and 360 at 20 %, asking a 30 % deposit: 1,026.00 TTC."""
    reply = api.post("/estimates", estimate_body(customer, deposit={"type": "percentage", "value": "30"}))
    assert reply.status == 201, reply.body
    return reply.body


def test_a_draft_is_priced_as_an_invoice_and_asks_its_deposit(estimate):
    assert estimate["status"] == "draft"
    assert estimate["number"] is None and estimate["quote_link"] is None
    assert estimate["totals"]["subtotal"] == "900.00"
    assert [(t["rate"], t["base"], t["tax"]) for t in estimate["totals"]["tax_breakdown"]] == [
        ("20", "360.00", "72.00"),
        ("10", "540.00", "54.00"),
    ]
    assert estimate["totals"]["total"] == "1026.00"
    assert estimate["deposit"] == {"type": "percentage", "value": "30"}
    assert estimate["deposit_amount"] == "307.80"
    assert estimate["invoices"] == [] and estimate["deliveries"] == []


@pytest.mark.parametrize(
    ("deposit", "field"),
    [
        ({"type": "percentage", "value": "120"}, "deposit"),
        ({"type": "fixed", "value": "2000.00"}, "deposit.value"),
        ({"type": "fixed", "value": "0"}, "deposit"),
        ({"type": "fixed", "value": "10.001"}, "deposit.value"),
    ],
)
def test_a_deposit_beyond_the_total_is_refused(api, business, customer, deposit, field):
    reply = api.post("/estimates", estimate_body(customer, deposit=deposit))
    assert reply.status == 422, reply.body
    assert field in reply.error_fields
    assert api.get("/estimates").body["items"] == []


def test_validity_before_the_issue_date_is_refused(api, business, customer):
    reply = api.post("/estimates", estimate_body(customer, issue_date="2026-12-01", valid_until="2026-11-30"))
    assert reply.status == 422
    assert reply.error_fields == ["valid_until"]


def test_mark_sent_numbers_it_in_its_own_series_valid_thirty_days(api, estimate, issued):
    reply = api.post(f"/estimates/{estimate['id']}/mark-sent")
    assert reply.status == 200, reply.body
    sent = reply.body
    assert sent["status"] == "sent" and sent["number"] == "D-1"
    today = date.fromisoformat(sent["issue_date"])
    assert sent["valid_until"] == (today + timedelta(days=30)).isoformat()
    assert sent["quote_link"].startswith("http") and "/quote/" in sent["quote_link"]
    assert sent["business"]["legal_name"] == BUSINESS["legal_name"]
    assert issued["number"] == "INV-1"  # the invoices' series is apart
    again = api.post(f"/estimates/{estimate['id']}/mark-sent")
    assert again.status == 200 and again.body["number"] == "D-1" and again.body["version"] == sent["version"]


def test_the_business_chooses_prefix_and_validity(api, business, customer):
    assert api.patch("/business", {"estimate_prefix": "DEV-", "estimate_validity_days": 15,
                                   "version": business["version"]}).status == 200  # fmt: skip
    made = api.post("/estimates", estimate_body(customer, issue_date=date.today().isoformat())).body
    sent = api.post(f"/estimates/{made['id']}/mark-sent").body
    assert sent["number"] == "DEV-1"
    assert sent["valid_until"] == (date.fromisoformat(sent["issue_date"]) + timedelta(days=15)).isoformat()


def test_the_estimate_prefix_cannot_be_an_invoice_prefix(api, business):
    reply = api.patch("/business", {"estimate_prefix": "inv-", "version": business["version"]})
    assert reply.status == 422
    assert reply.error_fields == ["estimate_prefix"]


def test_numbers_have_no_gaps_and_no_twins_under_concurrent_sends(api, business, customer):
    drafts = [api.post("/estimates", estimate_body(customer, name=f"Devis {i}")).body for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda d: api.post(f"/estimates/{d['id']}/mark-sent"), drafts))
    assert [reply.status for reply in replies] == [200] * 6
    assert sorted(reply.body["number"] for reply in replies) == [f"D-{n}" for n in range(1, 7)]


def test_a_number_follows_the_dates(api, business, customer):
    today = date.today()
    later = api.post("/estimates", estimate_body(customer, issue_date=today.isoformat())).body
    assert api.post(f"/estimates/{later['id']}/mark-sent").status == 200
    earlier = api.post("/estimates", estimate_body(customer, name="Antidaté",
                                                   issue_date=(today - timedelta(days=3)).isoformat())).body  # fmt: skip
    reply = api.post(f"/estimates/{earlier['id']}/mark-sent")
    assert reply.status == 422 and reply.error_fields == ["issue_date"]


def test_only_a_draft_changes(api, estimate):
    changed = api.patch(f"/estimates/{estimate['id']}", {"notes": "Délai : 3 semaines", "version": 1})
    assert changed.status == 200 and changed.body["notes"] == "Délai : 3 semaines" and changed.body["version"] == 2
    stale = api.patch(f"/estimates/{estimate['id']}", {"notes": "x", "version": 1})
    assert stale.status == 409
    sent = api.post(f"/estimates/{estimate['id']}/mark-sent").body
    refused = api.patch(f"/estimates/{estimate['id']}", {"notes": "x", "version": sent["version"]})
    assert refused.status == 409 and "estimate" in refused.body["error"]["message"]
    assert api.delete(f"/estimates/{estimate['id']}").status == 409


def test_a_draft_is_deleted_and_its_name_freed(api, estimate, customer):
    assert api.delete(f"/estimates/{estimate['id']}").status == 204
    assert api.get(f"/estimates/{estimate['id']}").status == 404
    assert api.post("/estimates", estimate_body(customer)).status == 201


def test_names_are_unique_among_estimates_not_with_invoices(api, estimate, customer, draft):
    assert api.post("/estimates", estimate_body(customer)).status == 409
    assert api.post("/estimates", estimate_body(customer, name=draft["name"])).status == 201


def test_duplicate_copies_a_sent_estimate_as_a_new_draft(api, estimate):
    api.post(f"/estimates/{estimate['id']}/mark-sent")
    reply = api.post(f"/estimates/{estimate['id']}/duplicate")
    assert reply.status == 201
    copy = reply.body
    assert copy["name"] == "Salle de bains Dupont (copie)"
    assert copy["status"] == "draft" and copy["number"] is None
    assert copy["lines"] == estimate["lines"] and copy["deposit"] == estimate["deposit"]
    assert reply.headers["Location"].endswith(f"/estimates/{copy['id']}")


def test_lists_filter_by_status_and_customer_and_page(api, business, customer):
    other = api.post("/customers", {"name": "Martin SARL", "email": "m@martin.example"}).body
    made = [api.post("/estimates", estimate_body(customer, name=f"Devis {i}")).body for i in range(3)]
    api.post("/estimates", estimate_body(other, name="Martin"))
    api.post(f"/estimates/{made[0]['id']}/mark-sent")
    sent = api.get("/estimates?status=sent").body["items"]
    assert [item["id"] for item in sent] == [made[0]["id"]]
    assert sent[0]["line_count"] == 2 and "lines" not in sent[0]
    assert len(api.get(f"/estimates?customer_id={customer['id']}").body["items"]) == 3
    first = api.get("/estimates?limit=2").body
    second = api.get(f"/estimates?limit=2&cursor={first['next_cursor']}").body
    assert len(first["items"]) == 2 and len(second["items"]) == 2 and second["next_cursor"] is None
    invoices_cursor = api.get("/invoices?limit=1").body["next_cursor"]
    assert invoices_cursor is None or api.get(f"/estimates?cursor={invoices_cursor}").status == 422


def test_an_estimate_for_nobody_is_not_sent(api, business):
    made = api.post("/estimates", {"name": "Sans client", "lines": LINES}).body
    reply = api.post(f"/estimates/{made['id']}/mark-sent")
    assert reply.status == 422 and "customer_id" in reply.error_fields


def test_another_tenant_sees_none_of_it(api, estimate):
    path = f"/estimates/{estimate['id']}"
    other = {"tenant": "globex"}
    assert api.get(path, **other).status == 404
    assert api.patch(path, {"notes": "x", "version": 1}, **other).status == 404
    assert api.delete(path, **other).status == 404
    assert api.post(f"{path}/mark-sent", **other).status == 404
    assert api.post(f"{path}/send", {"channels": ["email"]}, **other).status == 404
    assert api.post(f"{path}/duplicate", **other).status == 404
    assert api.post(f"{path}/invoices", {"kind": "full"}, **other).status == 404
    assert api.get("/estimates", **other).body["items"] == []
    assert api.get(path).body["status"] == "draft"


def test_send_numbers_it_and_queues_one_delivery_per_recipient(api, estimate):
    reply = api.post(f"/estimates/{estimate['id']}/send", {"channels": ["email"]})
    assert reply.status == 202, reply.body
    assert reply.body["number"] == "D-1"
    (delivery,) = reply.body["deliveries"]
    assert delivery["kind"] == "estimate" and delivery["estimate_id"] == estimate["id"]
    assert delivery["recipient"] == "compta@dupont.example" and delivery["status"] == "pending"
    again = api.post(f"/estimates/{estimate['id']}/send", {"channels": ["email"]})
    assert again.status == 202 and [d["id"] for d in again.body["deliveries"]] == [delivery["id"]]


def test_converting_a_draft_or_sent_estimate_is_a_conflict(api, estimate):
    assert api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"}).status == 409
    api.post(f"/estimates/{estimate['id']}/mark-sent")
    reply = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "full"})
    assert reply.status == 409 and "accepted" in reply.body["error"]["message"]
