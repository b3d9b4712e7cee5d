"""Estimates (devis, SPEC §11): drafts, their own gap-free numbering, sending,
duplicates, and every route's isolation between tenants."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
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
    assert estimate["number"] is None
    assert estimate["quote_link"] is None
    assert estimate["totals"]["subtotal"] == "900.00"
    assert [(t["rate"], t["base"], t["tax"]) for t in estimate["totals"]["tax_breakdown"]] == [
        ("20", "360.00", "72.00"),
        ("10", "540.00", "54.00"),
    ]
    assert estimate["totals"]["total"] == "1026.00"
    assert estimate["deposit"] == {"type": "percentage", "value": "30"}
    assert estimate["deposit_amount"] == "307.80"
    assert estimate["invoices"] == []
    assert estimate["deliveries"] == []


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
    assert sent["status"] == "sent"
    assert sent["number"] == "D-1"
    today = date.fromisoformat(sent["issue_date"])
    assert sent["valid_until"] == (today + timedelta(days=30)).isoformat()
    assert sent["quote_link"].startswith("http")
    assert "/quote/" in sent["quote_link"]
    assert sent["business"]["legal_name"] == BUSINESS["legal_name"]
    assert issued["number"] == "INV-1"  # the invoices' series is apart
    again = api.post(f"/estimates/{estimate['id']}/mark-sent")
    assert again.status == 200
    assert again.body["number"] == "D-1"
    assert again.body["version"] == sent["version"]


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
    backdated = estimate_body(customer, name="Antidaté", issue_date=(today - timedelta(days=3)).isoformat())
    earlier = api.post("/estimates", backdated).body
    reply = api.post(f"/estimates/{earlier['id']}/mark-sent")
    assert reply.status == 422
    assert reply.error_fields == ["issue_date"]


def test_only_a_draft_changes(api, estimate):
    changed = api.patch(f"/estimates/{estimate['id']}", {"notes": "Délai : 3 semaines", "version": 1})
    assert changed.status == 200
    assert changed.body["notes"] == "Délai : 3 semaines"
    assert changed.body["version"] == 2
    stale = api.patch(f"/estimates/{estimate['id']}", {"notes": "x", "version": 1})
    assert stale.status == 409
    sent = api.post(f"/estimates/{estimate['id']}/mark-sent").body
    refused = api.patch(f"/estimates/{estimate['id']}", {"notes": "x", "version": sent["version"]})
    assert refused.status == 409
    assert refused.body["error"]["code"] == "estimate_not_editable"
    assert "estimate" in refused.body["error"]["message"]
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
    assert copy["status"] == "draft"
    assert copy["number"] is None
    assert copy["lines"] == estimate["lines"]
    assert copy["deposit"] == estimate["deposit"]
    assert reply.headers["Location"].endswith(f"/estimates/{copy['id']}")


def test_lists_filter_by_status_and_customer_and_page(api, business, customer):
    other = api.post("/customers", {"name": "Martin SARL", "email": "m@martin.example"}).body
    made = [api.post("/estimates", estimate_body(customer, name=f"Devis {i}")).body for i in range(3)]
    api.post("/estimates", estimate_body(other, name="Martin"))
    api.post(f"/estimates/{made[0]['id']}/mark-sent")
    sent = api.get("/estimates?status=sent").body["items"]
    assert [item["id"] for item in sent] == [made[0]["id"]]
    assert sent[0]["line_count"] == 2
    assert "lines" not in sent[0]
    assert len(api.get(f"/estimates?customer_id={customer['id']}").body["items"]) == 3
    first = api.get("/estimates?limit=2").body
    second = api.get(f"/estimates?limit=2&cursor={first['next_cursor']}").body
    assert len(first["items"]) == 2
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None
    invoices_cursor = api.get("/invoices?limit=1").body["next_cursor"]
    assert invoices_cursor is None or api.get(f"/estimates?cursor={invoices_cursor}").status == 422


def test_an_estimate_for_nobody_is_not_sent(api, business):
    made = api.post("/estimates", {"name": "Sans client", "lines": LINES}).body
    reply = api.post(f"/estimates/{made['id']}/mark-sent")
    assert reply.status == 422
    assert "customer_id" in reply.error_fields


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
    assert delivery["kind"] == "estimate"
    assert delivery["estimate_id"] == estimate["id"]
    assert delivery["recipient"] == "compta@dupont.example"
    assert delivery["status"] == "pending"
    again = api.post(f"/estimates/{estimate['id']}/send", {"channels": ["email"]})
    assert again.status == 202
    assert [d["id"] for d in again.body["deliveries"]] == [delivery["id"]]


def test_converting_a_draft_or_sent_estimate_is_a_conflict(api, estimate):
    assert api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"}).status == 409
    api.post(f"/estimates/{estimate['id']}/mark-sent")
    reply = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "full"})
    assert reply.status == 409
    assert "accepted" in reply.body["error"]["message"]


# -- invoices made from an accepted estimate ---------------------------------------------------------


def accept(api: Any, estimate: dict[str, Any]) -> dict[str, Any]:
    """The estimate sent, and accepted by its client on its page."""
    from tests.integration.test_quote_page import accept as on_its_page

    sent = api.post(f"/estimates/{estimate['id']}/mark-sent").body
    assert on_its_page(api, sent).status == 303
    return api.get(f"/estimates/{estimate['id']}").body


def vat_by_rate(*documents: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Base and VAT per rate, summed over the documents."""
    from decimal import Decimal

    summed: dict[str, tuple[Decimal, Decimal]] = {}
    for document in documents:
        for entry in document["totals"]["tax_breakdown"]:
            base, tax = summed.get(entry["rate"], (Decimal(0), Decimal(0)))
            summed[entry["rate"]] = (base + Decimal(entry["base"]), tax + Decimal(entry["tax"]))
    return {rate: (f"{base:.2f}", f"{tax:.2f}") for rate, (base, tax) in summed.items()}


def test_the_deposit_invoice_is_issued_one_line_per_rate_pro_rata(api, estimate):
    accepted = accept(api, estimate)
    reply = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"})
    assert reply.status == 201, reply.body
    deposit = reply.body
    assert deposit["kind"] == "deposit"
    assert deposit["status"] == "open"
    assert deposit["number"] == "INV-1"
    assert deposit["estimate_id"] == estimate["id"]
    assert deposit["estimate_number"] == "D-1"
    assert [(line["name"], line["unit_price"], line["taxes"][0]["rate"]) for line in deposit["lines"]] == [
        ("Acompte de 30 % sur devis D-1", "162.00", "10"),
        ("Acompte de 30 % sur devis D-1", "108.00", "20"),
    ]
    assert deposit["totals"]["total"] == accepted["deposit_amount"] == "307.80"
    assert deposit["payment_link"]
    assert deposit["amount_due"] == "307.80"
    (listed,) = api.get(f"/estimates/{estimate['id']}").body["invoices"]
    assert listed == {"id": deposit["id"], "kind": "deposit", "number": "INV-1",
                      "issue_date": deposit["issue_date"], "total": "307.80", "status": "open"}  # fmt: skip
    again = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"})
    assert again.status == 409
    assert "deposit" in again.body["error"]["message"]


def test_the_final_invoice_deducts_each_deposit_per_rate_and_the_vat_adds_up(api, estimate):
    accept(api, estimate)
    deposit = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"}).body
    reply = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"})
    assert reply.status == 201, reply.body
    final = reply.body
    assert final["kind"] == "final"
    assert final["status"] == "draft"
    assert final["number"] is None
    day = date.fromisoformat(deposit["issue_date"]).strftime("%d/%m/%Y")
    assert [(line["name"], line["unit_price"], line.get("deposit_invoice_id")) for line in final["lines"]] == [
        ("Pose de carrelage", "45.00", None),
        ("Fourniture carrelage", "30.00", None),
        (f"Acompte INV-1 du {day}", "-162.00", deposit["id"]),
        (f"Acompte INV-1 du {day}", "-108.00", deposit["id"]),
    ]
    assert final["totals"]["total"] == "718.20"
    assert final["deposit_invoices"] == [{"id": deposit["id"], "number": "INV-1", "issue_date": deposit["issue_date"]}]
    assert vat_by_rate(deposit, final) == vat_by_rate(estimate)
    shown = api.get(f"/estimates/{estimate['id']}").body
    assert shown["status"] == "invoiced"
    assert [item["kind"] for item in shown["invoices"]] == ["deposit", "final"]
    assert api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"}).status == 409
    assert api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit", "amount": "10"}).status == 409


def test_a_discount_stays_the_estimate_s_on_the_final_invoice(api, business, customer):
    made = api.post("/estimates", estimate_body(customer, discount={"type": "percentage", "value": "7"},
                                                deposit={"type": "percentage", "value": "40"})).body  # fmt: skip
    accept(api, made)
    first = api.post(f"/estimates/{made['id']}/invoices", {"kind": "deposit", "amount": "100.00"}).body
    second = api.post(f"/estimates/{made['id']}/invoices", {"kind": "deposit"}).body
    final = api.post(f"/estimates/{made['id']}/invoices", {"kind": "final"}).body
    assert first["totals"]["total"] == "100.00"
    assert second["totals"]["total"] == f"{Decimal(made['deposit_amount']) - 100:.2f}"
    assert final["totals"]["discount"] == made["totals"]["discount"]
    bases = {rate: base for rate, (base, _) in vat_by_rate(first, second, final).items()}
    assert bases == {rate: base for rate, (base, _) in vat_by_rate(made).items()}
    for rate, (_, tax) in vat_by_rate(first, second, final).items():
        assert Decimal(tax) == Decimal(vat_by_rate(made)[rate][1])  # settled: a split exists that makes it exact
    total = sum(Decimal(doc["totals"]["total"]) for doc in (first, second, final))
    assert total == Decimal(made["totals"]["total"])


def test_without_a_deposit_the_whole_is_one_draft_invoice(api, business, customer):
    made = api.post("/estimates", estimate_body(customer)).body
    accept(api, made)
    assert api.post(f"/estimates/{made['id']}/invoices", {"kind": "final"}).status == 409
    reply = api.post(f"/estimates/{made['id']}/invoices", {"kind": "full"})
    assert reply.status == 201, reply.body
    full = reply.body
    assert full["kind"] == "standard"
    assert full["status"] == "draft"
    assert full["estimate_id"] == made["id"]
    assert full["totals"] == made["totals"]
    assert full["name"] == made["name"]
    assert api.get(f"/estimates/{made['id']}").body["status"] == "invoiced"
    assert api.post(f"/estimates/{made['id']}/invoices", {"kind": "full"}).status == 409


def test_a_deposit_above_what_is_left_is_refused_and_nothing_is_made(api, estimate):
    accept(api, estimate)
    reply = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit", "amount": "1026.01"})
    assert reply.status == 422
    assert reply.error_fields == ["amount"]
    assert api.get("/invoices").body["items"] == []
    assert api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "full", "amount": "10"}).status == 422


def test_a_deleted_final_draft_can_be_made_again(api, estimate):
    accept(api, estimate)
    api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"})
    final = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"}).body
    assert api.delete(f"/invoices/{final['id']}").status == 204
    shown = api.get(f"/estimates/{estimate['id']}").body
    assert shown["status"] == "accepted"
    assert [item["kind"] for item in shown["invoices"]] == ["deposit"]
    again = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"})
    assert again.status == 201
    assert again.body["totals"] == final["totals"]
    kinds = [item["kind"] for item in api.get(f"/estimates/{estimate['id']}").body["invoices"]]
    assert kinds == ["deposit", "final"]


def test_the_final_invoice_keeps_its_deposit_lines_whatever_a_patch_sends(api, estimate, draft):
    accept(api, estimate)
    api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"})
    final = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"}).body
    ordinary = [line for line in final["lines"] if not line.get("deposit_invoice_id")]
    extra = {"name": "Plinthes", "quantity": "1", "unit_price": "60.00", "taxes": [{"name": "TVA", "rate": "20"}]}
    reply = api.patch(f"/invoices/{final['id']}", {"lines": [*ordinary, extra], "version": final["version"]})
    assert reply.status == 200, reply.body
    assert [line["name"] for line in reply.body["lines"]][-2:] == [line["name"] for line in final["lines"]][-2:]
    assert reply.body["totals"]["total"] == "790.20"
    forged = {**extra, "deposit_invoice_id": final["deposit_invoices"][0]["id"], "unit_price": "-500"}
    echoed = api.patch(f"/invoices/{final['id']}", {"lines": [*reply.body["lines"], forged],
                                                     "version": reply.body["version"]})  # fmt: skip
    assert echoed.status == 200
    assert echoed.body["totals"]["total"] == "790.20"
    refused = api.patch(f"/invoices/{draft['id']}", {"lines": [forged], "version": draft["version"]})
    assert refused.status == 422
    assert refused.error_fields == ["lines.0.deposit_invoice_id"]
    copy = api.post(f"/invoices/{final['id']}/duplicate").body
    assert [line["name"] for line in copy["lines"]] == ["Pose de carrelage", "Fourniture carrelage", "Plinthes"]


def test_a_retried_conversion_answers_the_first_invoice(api, estimate):
    accept(api, estimate)
    path = f"/estimates/{estimate['id']}/invoices"
    first = api.post(path, {"kind": "deposit"}, headers={"Idempotency-Key": "deposit-1"})
    again = api.post(path, {"kind": "deposit"}, headers={"Idempotency-Key": "deposit-1"})
    assert first.status == again.status == 201
    assert again.body["id"] == first.body["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"


def test_concurrent_conversions_make_one_deposit_invoice(api, estimate):
    accept(api, estimate)
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"}),
                                range(4)))  # fmt: skip
    made = {reply.body["id"] for reply in replies if reply.status == 201}
    assert len(made) == 1
    assert {reply.status for reply in replies} <= {201, 409}
    (deposit,) = api.get("/invoices").body["items"]
    assert deposit["status"] == "open"
    assert deposit["number"] == "INV-1"
    assert len(api.get(f"/estimates/{estimate['id']}").body["invoices"]) == 1


def test_an_estimate_that_could_not_be_invoiced_is_invoiced_once_fixed(api, estimate, customer):
    accept(api, estimate)
    api.patch(f"/customers/{customer['id']}", {"siren": None, "version": customer["version"]})
    refused = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"})
    assert refused.status == 422
    assert "customer.siren" in refused.error_fields
    current = api.get(f"/customers/{customer['id']}").body
    api.patch(f"/customers/{customer['id']}", {"siren": "812345676", "version": current["version"]})
    reply = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"})
    assert reply.status == 201
    assert reply.body["number"] == "INV-1"
    assert [item["status"] for item in api.get(f"/estimates/{estimate['id']}").body["invoices"]] == ["open"]


def test_an_invoice_made_from_an_estimate_says_what_invoices_say(api, business, customer):
    terms = {"default_terms": "Paiement à 30 jours", "version": business["version"]}
    assert api.patch("/business", terms).status == 200
    made = api.post("/estimates", estimate_body(customer, terms="Devis valable 30 jours")).body
    accept(api, made)

    full = api.post(f"/estimates/{made['id']}/invoices", {"kind": "full"}).body

    assert full["terms"] == "Paiement à 30 jours"
    assert full["customer_id"] == made["customer_id"]


def test_once_accepted_the_stored_pdf_carries_the_acceptance(api, estimate):
    import io

    import pypdf

    accepted = accept(api, estimate)
    api.deliver_events()  # Estimate Accepted: the documents function stores that version's PDF

    key = f"acme/estimates/{estimate['id']}/v{accepted['version']}.pdf"
    stored = api.objects()
    assert key in stored
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(stored[key])).pages)
    assert "Jean Dupont" in text
    assert "Accepté en ligne le" in text


def test_a_deposit_invoice_partly_credited_is_deducted_for_what_it_still_asks(api, estimate):
    accept(api, estimate)
    deposit = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"}).body
    note = api.post(f"/invoices/{deposit['id']}/credit-notes", {"amount": "107.80"})
    assert note.status == 201, note.body
    note_base = sum(Decimal(entry["base"]) for entry in note.body["totals"]["tax_breakdown"])

    final = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"}).body

    credited = api.get(f"/invoices/{deposit['id']}").body
    kept = Decimal(credited["totals"]["total"]) - Decimal(credited["credited"])
    assert kept == Decimal("200.00")
    assert Decimal(final["totals"]["total"]) + kept == Decimal(estimate["totals"]["total"])
    deducted = [line for line in final["lines"] if line.get("deposit_invoice_id")]
    assert -sum(Decimal(line["unit_price"]) for line in deducted) == Decimal("270.00") - note_base


def test_a_voided_deposit_invoice_is_neither_deducted_nor_counted(api, estimate):
    accept(api, estimate)
    deposit = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"}).body
    assert api.post(f"/invoices/{deposit['id']}/void").status == 200

    again = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"})
    assert again.status == 201, again.body
    assert again.body["totals"]["total"] == "307.80"
    final = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"}).body
    assert final["totals"]["total"] == "718.20"
    assert [ref["id"] for ref in final["deposit_invoices"]] == [again.body["id"]]


def test_no_line_of_an_estimate_or_a_credit_note_deducts_a_deposit(api, estimate, issued):
    forged = {"name": "Acompte", "unit_price": "-100", "taxes": [], "deposit_invoice_id": issued["id"]}
    reply = api.patch(f"/estimates/{estimate['id']}", {"lines": [*LINES, forged], "version": estimate["version"]})
    assert reply.status == 422
    assert reply.error_fields == ["lines.2.deposit_invoice_id"]
    note = api.post(f"/invoices/{issued['id']}/credit-notes", {"lines": [forged]})
    assert note.status == 422
    assert "lines.0.deposit_invoice_id" in note.error_fields


def test_the_deposit_printed_is_what_its_invoice_will_ask_to_the_cent(api, business, customer):
    """At 20 %, no base makes 0.51 with its VAT (0.42 makes 0.50, 0.43 makes 0.52)."""
    line = [{"name": "Petite fourniture", "unit_price": "100.00", "taxes": [{"name": "TVA", "rate": "20"}]}]
    fixed = api.post("/estimates", estimate_body(customer, lines=line, deposit={"type": "fixed", "value": "0.51"}))
    assert fixed.status == 422
    assert fixed.error_fields == ["deposit.value"]
    assert "0.50 or 0.52" in fixed.body["error"]["message"]

    made = api.post("/estimates", estimate_body(customer, lines=line,
                                                deposit={"type": "percentage", "value": "0.425"})).body  # fmt: skip
    assert made["deposit_amount"] == "0.50"
    accept(api, made)
    deposit = api.post(f"/estimates/{made['id']}/invoices", {"kind": "deposit"}).body
    assert deposit["totals"]["total"] == "0.50"


def test_an_estimate_is_not_sent_already_expired(api, business, customer):
    backdated = estimate_body(customer, issue_date=(date.today() - timedelta(days=45)).isoformat())
    made = api.post("/estimates", backdated).body

    reply = api.post(f"/estimates/{made['id']}/mark-sent")

    assert reply.status == 422
    assert reply.error_fields == ["valid_until"]
    assert api.get(f"/estimates/{made['id']}").body["number"] is None


def test_a_deposit_that_comes_to_nothing_is_refused(api, business, customer):
    reply = api.post("/estimates", estimate_body(customer, deposit={"type": "percentage", "value": "0.0001"}))
    assert reply.status == 422
    assert reply.error_fields == ["deposit.value"]


def test_deposits_refused_then_made_never_share_an_invoice(api, estimate, customer):
    """A deposit refused for a missing mention leaves nothing behind; the
    deposits made after are each their own invoice, deducted once each."""
    accept(api, estimate)
    api.patch(f"/customers/{customer['id']}", {"siren": None, "version": customer["version"]})
    assert api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit", "amount": "100"}).status == 422
    assert api.get("/invoices").body["items"] == []
    current = api.get(f"/customers/{customer['id']}").body
    api.patch(f"/customers/{customer['id']}", {"siren": "812345676", "version": current["version"]})

    first = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit", "amount": "100"}).body
    second = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit", "amount": "50"}).body
    final = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"}).body

    assert first["id"] != second["id"]
    assert (first["totals"]["total"], second["totals"]["total"]) == ("100.00", "50.00")
    assert second["lines"][0]["name"] == "Acompte sur devis D-1"  # not the 30 %: this one asks 50.00
    assert final["totals"]["total"] == "876.00"
    assert [ref["id"] for ref in final["deposit_invoices"]] == [first["id"], second["id"]]


def test_a_final_draft_no_longer_issued_once_a_deposit_it_deducts_is_voided(api, estimate):
    accept(api, estimate)
    deposit = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"}).body
    final = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"}).body
    assert api.post(f"/invoices/{deposit['id']}/void").status == 200

    refused = api.post(f"/invoices/{final['id']}/mark-sent")
    assert refused.status == 409
    assert "changed since this final invoice was made" in refused.body["error"]["message"]
    assert api.delete(f"/invoices/{final['id']}").status == 204
    remade = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"})
    assert remade.status == 201
    assert remade.body["totals"]["total"] == estimate["totals"]["total"]  # nothing left to deduct
    assert api.post(f"/invoices/{remade.body['id']}/mark-sent").status == 200


def test_a_deposit_deducted_by_an_issued_final_is_credited_through_the_final(api, estimate):
    accept(api, estimate)
    deposit = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"}).body
    final = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"}).body
    issued_final = api.post(f"/invoices/{final['id']}/mark-sent").body

    for path, body in ((f"/invoices/{deposit['id']}/credit-notes", {"amount": "10.00"}),
                       (f"/invoices/{deposit['id']}/void", None)):  # fmt: skip
        reply = api.post(path, body)
        assert reply.status == 409
        assert issued_final["number"] in reply.body["error"]["message"]
    whole = api.post(f"/invoices/{final['id']}/credit-notes", {"amount": issued_final["totals"]["total"]})
    assert whole.status == 201, whole.body


def test_a_final_invoice_with_a_discount_is_credited_whole(api, business, customer):
    made = api.post("/estimates", estimate_body(customer, discount={"type": "percentage", "value": "10"},
                                                deposit={"type": "percentage", "value": "30"})).body  # fmt: skip
    accept(api, made)
    api.post(f"/estimates/{made['id']}/invoices", {"kind": "deposit"})
    final = api.post(f"/estimates/{made['id']}/invoices", {"kind": "final"}).body
    extra = {"name": "Plinthes", "unit_price": "60.00", "taxes": [{"name": "TVA", "rate": "20"}]}
    ordinary = [line for line in final["lines"] if not line.get("deposit_invoice_id")]
    final = api.patch(f"/invoices/{final['id']}", {"lines": [*ordinary, extra], "version": final["version"]}).body
    issued_final = api.post(f"/invoices/{final['id']}/mark-sent").body

    reply = api.post(f"/invoices/{final['id']}/credit-notes", {"amount": issued_final["totals"]["total"]})

    assert reply.status == 201, reply.body
    assert vat_by_rate(reply.body) == vat_by_rate(issued_final)


def test_a_deposit_invoice_is_issued_as_made_never_edited(api, estimate):
    from invoicing.adapters.live import deps
    from invoicing.logic import invoices

    accept(api, estimate)
    lines = [{"name": "Acompte sur devis D-1", "unit_price": "100.00", "taxes": [{"name": "TVA", "rate": "20"}]}]
    made_from = {"kind": "deposit", "estimate_id": estimate["id"], "estimate_number": "D-1"}
    left = invoices.create_made(deps(), "acme", "inv_left", {"name": "Laissé", "customer_id": estimate["customer_id"],
                                                             "lines": lines}, made_from)  # fmt: skip

    reply = api.patch(f"/invoices/{left['id']}", {"lines": [{**lines[0], "unit_price": "6000"}], "version": 1})

    assert reply.status == 409
    assert "deposit" in reply.body["error"]["message"]


def test_wherever_a_split_can_the_vat_per_rate_adds_up_to_the_cent(api, business, customer):
    """30 % of 1003.05 at 10 % and 505.03 at 20 %: the pro rata shares leave
    the 10 % rate a cent off; moving a few cents between rates settles both."""
    lines = [{"name": "Travaux", "unit_price": "1003.05", "taxes": [{"name": "TVA", "rate": "10"}]},
             {"name": "Fournitures", "unit_price": "505.03", "taxes": [{"name": "TVA", "rate": "20"}]}]  # fmt: skip
    made = api.post("/estimates", estimate_body(customer, lines=lines,
                                                deposit={"type": "percentage", "value": "30"})).body  # fmt: skip
    accept(api, made)
    deposit = api.post(f"/estimates/{made['id']}/invoices", {"kind": "deposit"}).body
    final = api.post(f"/estimates/{made['id']}/invoices", {"kind": "final"}).body

    assert vat_by_rate(deposit, final) == vat_by_rate(made)
    assert Decimal(deposit["totals"]["total"]) + Decimal(final["totals"]["total"]) == Decimal(made["totals"]["total"])


def test_the_final_invoice_shows_the_work_then_the_deposits_deducted(api, estimate):
    import html
    import re

    accept(api, estimate)
    api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "deposit"})
    final = api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "final"}).body

    page = html.unescape(api.get(f"/invoices/{final['id']}/preview").body)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("\u202f", " ").replace("\xa0", " ")

    assert re.search(r"Total HT 900,00 €.*Acomptes déduits HT −270,00 €.*Total HT net 630,00 €", text), text[-800:]
    assert "Solde du devis D-1" in text
