"""/invoices: drafts, totals, finalization and numbering, void, duplicate,
listing filters (SPEC §4, §5, §6, §6.1)."""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE

pytestmark = pytest.mark.integration

SPEC_TOTALS = {
    "subtotal": "1215.00",
    "discount": "50.00",
    "tax_breakdown": [{"name": "TVA", "rate": "20", "base": "1165.00", "tax": "233.00"}],
    "tax_total": "233.00",
    "total": "1398.00",
}


def _today() -> date:
    return datetime.now(ZoneInfo("Europe/Paris")).date()


LINE_100 = {"name": "Conseil", "unit_price": "100"}


def _invoice(api, name: str, customer_id: str | None, **fields):
    body = {"name": name, "customer_id": customer_id, "lines": [{"name": "Conseil", "unit_price": "100"}], **fields}
    reply = api.post("/invoices", body)
    assert reply.status == 201, reply.body
    return reply.body


# -- totals ---------------------------------------------------------------------


def test_given_the_spec_invoice_when_created_then_totals_are_spec_6_1s(api, customer):
    reply = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]})

    assert reply.status == 201, reply.body
    assert reply.headers["Location"] == f"{os.environ['PUBLIC_BASE_URL']}/invoices/{reply.body['id']}"
    assert reply.body["totals"] == SPEC_TOTALS
    assert reply.body["amount_due"] == "1398.00"
    assert reply.body["amount_paid"] == "0.00"
    assert reply.body["late_fees_total"] == "0.00"
    assert reply.body["status"] == "draft"
    assert reply.body["number"] is None
    assert reply.body["version"] == 1
    assert reply.body["lines"][0]["net"] == "1215.00"
    assert api.get(f"/invoices/{reply.body['id']}").body == reply.body


def test_given_the_spec_invoice_when_posted_to_totals_then_same_totals_as_stored(api, draft):
    reply = api.post("/totals", SPEC_INVOICE)

    assert reply.status == 200
    assert {key: value for key, value in reply.body.items() if key != "line_nets"} == draft["totals"]
    assert reply.body["line_nets"] == ["1215.00"]


def test_when_totals_are_sent_by_the_client_then_they_are_ignored(api, customer):
    forged = {
        **SPEC_INVOICE,
        "customer_id": customer["id"],
        "totals": {**SPEC_TOTALS, "total": "1.00"},
        "amount_due": "0.00",
        "amount_paid": "1398.00",
        "status": "paid",
        "number": "INV-999",
        "lines": [{**SPEC_INVOICE["lines"][0], "net": "0.01"}],
    }

    reply = api.post("/invoices", forged)

    assert reply.status == 201, reply.body
    assert reply.body["totals"] == SPEC_TOTALS
    assert reply.body["amount_due"] == "1398.00"
    assert reply.body["amount_paid"] == "0.00"
    assert reply.body["status"] == "draft"
    assert reply.body["number"] is None
    assert reply.body["lines"][0]["net"] == "1215.00"


def test_given_a_draft_when_patched_with_forged_totals_then_they_are_ignored(api, draft):
    reply = api.patch(f"/invoices/{draft['id']}", {"version": 1, "totals": {"total": "0.00"}, "amount_due": "0.00"})

    assert reply.status == 200, reply.body
    assert reply.body["totals"] == SPEC_TOTALS
    assert reply.body["amount_due"] == "1398.00"


def test_given_a_product_when_a_line_names_only_its_id_then_name_price_and_taxes_come_from_it(api):
    product = api.post(
        "/products",
        {"name": "Hébergement", "unit_price": "30", "unit": "mois", "taxes": [{"name": "TVA", "rate": "20"}]},
    ).body

    reply = api.post("/invoices", {"name": "Hosting", "lines": [{"product_id": product["id"], "quantity": "12"}]})

    assert reply.status == 201, reply.body
    line = reply.body["lines"][0]
    assert line["product_id"] == product["id"]
    assert line["name"] == "Hébergement"
    assert line["unit"] == "mois"
    assert line["unit_price"] == "30.00"
    assert [(tax["name"], tax["rate"]) for tax in line["taxes"]] == [("TVA", "20")]
    assert reply.body["totals"]["subtotal"] == "360.00"
    assert reply.body["totals"]["tax_total"] == "72.00"
    assert reply.body["totals"]["total"] == "432.00"


def test_given_a_product_when_a_line_overrides_its_price_then_the_line_price_wins(api):
    product = api.post("/products", {"name": "Audit", "unit_price": "1000"}).body

    reply = api.post("/invoices", {"name": "A", "lines": [{"product_id": product["id"], "unit_price": "800"}]})

    assert reply.body["lines"][0]["name"] == "Audit"
    assert reply.body["totals"]["subtotal"] == "800.00"


def test_when_a_line_names_an_unknown_product_then_422_naming_lines_0_product_id(api):
    reply = api.post("/invoices", {"name": "A", "lines": [{"product_id": "prd_unknown", "quantity": "1"}]})

    assert reply.status == 422
    assert reply.error_fields == ["lines.0.product_id"]
    assert api.get("/invoices").body["items"] == []


def test_when_a_line_has_neither_product_nor_price_then_422_naming_it(api):
    reply = api.post("/invoices", {"name": "A", "lines": [{"name": "Conseil"}]})

    assert reply.status == 422
    assert reply.error_fields == ["lines.0.unit_price"]


def test_when_the_customer_is_unknown_then_422_naming_customer_id(api):
    reply = api.post("/invoices", {**SPEC_INVOICE, "customer_id": "cus_unknown"})

    assert reply.status == 422
    assert reply.error_fields == ["customer_id"]
    assert api.get("/invoices").body["items"] == []


def test_when_created_with_only_a_name_then_201_empty_draft(api):
    """A draft starts empty in the editor: only its name is required (lines default to [])."""
    reply = api.post("/invoices", {"name": "Brouillon"})

    assert reply.status == 201, reply.body
    assert reply.body["lines"] == []
    assert reply.body["totals"]["total"] == "0.00"


def test_given_a_business_with_defaults_when_a_draft_omits_them_then_defaults_apply(api):
    api.put("/business", {**BUSINESS, "default_currency": "JPY", "default_terms": "30 jours", "default_notes": "Merci"})

    reply = api.post("/invoices", {"name": "A", "lines": [{"name": "x", "unit_price": "1000"}]})

    assert reply.body["currency"] == "JPY"
    assert reply.body["terms"] == "30 jours"
    assert reply.body["notes"] == "Merci"
    assert reply.body["totals"]["total"] == "1000"


# -- editing drafts ---------------------------------------------------------------


def test_given_a_draft_when_patched_with_its_version_then_version_2_and_totals_recomputed(api, draft):
    lines = [{**SPEC_INVOICE["lines"][0], "quantity": "4"}]

    reply = api.patch(f"/invoices/{draft['id']}", {"version": 1, "lines": lines})

    assert reply.status == 200, reply.body
    assert reply.body["version"] == 2
    assert reply.body["totals"] == {
        "subtotal": "1620.00",
        "discount": "50.00",
        "tax_breakdown": [{"name": "TVA", "rate": "20", "base": "1570.00", "tax": "314.00"}],
        "tax_total": "314.00",
        "total": "1884.00",
    }
    assert reply.body["amount_due"] == "1884.00"
    assert reply.body["name"] == draft["name"]  # untouched fields kept
    assert api.get(f"/invoices/{draft['id']}").body == reply.body


def test_given_a_draft_when_patched_with_if_match_then_200(api, draft):
    reply = api.patch(f"/invoices/{draft['id']}", {"notes": "Nouveau"}, headers={"If-Match": '"1"'})

    assert reply.status == 200
    assert reply.body["notes"] == "Nouveau"
    assert reply.body["version"] == 2


def test_given_a_draft_when_patched_without_version_then_4xx_naming_version_and_unchanged(api, draft):
    reply = api.patch(f"/invoices/{draft['id']}", {"notes": "Nouveau"})

    assert reply.status in (400, 422)
    assert reply.error_fields == ["version"]
    assert api.get(f"/invoices/{draft['id']}").body == draft


def test_given_version_2_when_patched_with_version_1_then_409_stale_version(api, draft):
    api.patch(f"/invoices/{draft['id']}", {"version": 1, "notes": "v2"})

    reply = api.patch(f"/invoices/{draft['id']}", {"version": 1, "notes": "stale"})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "stale_version"
    assert api.get(f"/invoices/{draft['id']}").body["notes"] == "v2"


def test_when_body_version_and_if_match_disagree_then_4xx_naming_version(api, draft):
    reply = api.patch(f"/invoices/{draft['id']}", {"version": 1, "notes": "x"}, headers={"If-Match": "2"})

    assert reply.status in (400, 422)
    assert reply.error_fields == ["version"]


def test_when_patched_to_an_unknown_customer_then_422(api, draft):
    reply = api.patch(f"/invoices/{draft['id']}", {"version": 1, "customer_id": "cus_unknown"})

    assert reply.status == 422
    assert reply.error_fields == ["customer_id"]


@pytest.mark.parametrize("field", ["name", "lines", "currency"])
def test_when_patched_with_a_required_field_null_then_422_naming_it(api, draft, field):
    reply = api.patch(f"/invoices/{draft['id']}", {"version": 1, field: None})

    assert reply.status == 422
    assert reply.error_fields == [field]


def test_given_two_drafts_when_renaming_one_to_the_others_name_then_409_name_taken(api, draft):
    other = _invoice(api, "Autre", None)

    reply = api.patch(f"/invoices/{other['id']}", {"version": 1, "name": draft["name"].upper()})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "name_taken"


def test_when_creating_an_invoice_with_a_taken_name_then_409_name_taken(api, draft):
    reply = api.post("/invoices", {**SPEC_INVOICE, "name": f"  {SPEC_INVOICE['name'].upper()} "})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "name_taken"


def test_given_a_draft_when_deleted_then_204_404_and_name_free(api, draft):
    reply = api.delete(f"/invoices/{draft['id']}")

    assert reply.status == 204
    assert api.get(f"/invoices/{draft['id']}").status == 404
    assert api.post("/invoices", SPEC_INVOICE).status == 201


# -- finalization -------------------------------------------------------------------


def test_given_a_complete_draft_when_mark_sent_then_open_inv_1_with_snapshots(api, business, customer, draft):
    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 200, reply.body
    body = reply.body
    assert body["status"] == "open"
    assert body["number"] == "INV-1"
    assert body["version"] == draft["version"] + 1
    assert body["totals"] == SPEC_TOTALS
    assert body["business"]["legal_name"] == "Acme SAS"
    assert body["business"]["siren"] == "732829320"
    assert body["business"]["vat_number"] == "FR44732829320"
    assert body["customer"]["id"] == customer["id"]
    assert body["customer"]["name"] == "Dupont & Fils"
    assert body["issue_date"] == "2026-11-27"  # the draft's own dates are kept
    assert body["due_date"] == "2026-12-27"
    assert api.get(f"/invoices/{draft['id']}").body == body


def test_when_mark_sent_then_payment_link_is_a_pay_url_with_an_unguessable_token(api, issued):
    link = issued["payment_link"]

    assert link.startswith("http://127.0.0.1:3000/pay/")
    token = link.rsplit("/pay/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", token), link  # ≥ 128 bits


def test_given_two_issued_invoices_then_their_payment_links_differ(api, business, customer):
    first = _invoice(api, "A", customer["id"])
    second = _invoice(api, "B", customer["id"])

    link_a = api.post(f"/invoices/{first['id']}/mark-sent").body["payment_link"]
    link_b = api.post(f"/invoices/{second['id']}/mark-sent").body["payment_link"]

    assert link_a != link_b


def test_given_a_draft_without_dates_when_mark_sent_then_issued_today_due_after_payment_terms(api, customer):
    api.put("/business", {**BUSINESS, "payment_terms_days": 45})
    draft = _invoice(api, "Sans dates", customer["id"])
    assert draft["issue_date"] is None

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    today = _today()
    assert reply.body["issue_date"] == today.isoformat()
    assert reply.body["due_date"] == (today + timedelta(days=45)).isoformat()


def test_given_an_issue_date_only_when_mark_sent_then_due_date_is_issue_plus_30_days(api, business, customer):
    draft = _invoice(api, "Émise le 1er", customer["id"], issue_date="2026-11-01")

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.body["issue_date"] == "2026-11-01"
    assert reply.body["due_date"] == "2026-12-01"


def test_given_3_drafts_one_deleted_when_two_finalized_then_inv_1_and_inv_2(api, business, customer):
    drafts = [_invoice(api, f"Facture {i}", customer["id"]) for i in range(3)]
    api.delete(f"/invoices/{drafts[1]['id']}")

    first = api.post(f"/invoices/{drafts[2]['id']}/mark-sent")
    second = api.post(f"/invoices/{drafts[0]['id']}/mark-sent")

    assert (first.body["number"], second.body["number"]) == ("INV-1", "INV-2")


def test_given_a_failed_finalization_then_no_number_is_consumed(api, business, customer):
    incomplete = _invoice(api, "Sans client", None)
    assert api.post(f"/invoices/{incomplete['id']}/mark-sent").status == 422
    complete = _invoice(api, "Complète", customer["id"])

    reply = api.post(f"/invoices/{complete['id']}/mark-sent")

    assert reply.body["number"] == "INV-1"


def test_given_a_custom_prefix_when_mark_sent_then_number_uses_it(api, customer):
    api.put("/business", {**BUSINESS, "invoice_number_prefix": "FAC-2026-"})
    draft = _invoice(api, "A", customer["id"])

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.body["number"] == "FAC-2026-1"


def test_given_numbering_in_two_tenants_then_each_starts_at_1(api, business, customer):
    api.put("/business", BUSINESS, tenant="other")
    other_customer = api.post(
        "/customers", {"name": "Client", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}, tenant="other"
    ).body
    mine = _invoice(api, "A", customer["id"])
    theirs = api.post("/invoices", {"name": "A", "customer_id": other_customer["id"],
                                    "lines": [{"name": "x", "unit_price": "1"}]}, tenant="other").body  # fmt: skip

    assert api.post(f"/invoices/{mine['id']}/mark-sent").body["number"] == "INV-1"
    assert api.post(f"/invoices/{theirs['id']}/mark-sent", tenant="other").body["number"] == "INV-1"


def test_given_nothing_set_up_when_mark_sent_then_422_listing_business_customer_and_lines(api):
    draft = api.post("/invoices", {"name": "Vide", "lines": []}).body

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 422
    assert set(reply.error_fields) == {"business.legal_name", "customer_id", "lines"}
    after = api.get(f"/invoices/{draft['id']}").body
    assert (after["status"], after["number"], after["version"]) == ("draft", None, 1)


def test_given_the_drafts_customer_was_deleted_when_mark_sent_then_422_naming_customer_id(api, business, customer):
    draft = _invoice(api, "Orpheline", customer["id"])
    api.delete(f"/customers/{customer['id']}")

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 422
    assert reply.error_fields == ["customer_id"]


def test_given_a_due_date_before_the_issue_date_when_mark_sent_then_422_naming_due_date(api, business, customer):
    draft = _invoice(api, "A", customer["id"], issue_date="2026-11-27", due_date="2026-11-01")

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 422
    assert reply.error_fields == ["due_date"]


def test_given_a_business_with_only_its_name_when_mark_sent_then_422_lists_every_missing_mention(api, draft):
    assert api.put("/business", {"legal_name": "Acme SAS"}).status == 200
    customer = api.post("/customers", {"name": "Sans Adresse"}).body
    api.patch(f"/invoices/{draft['id']}", {"customer_id": customer["id"], "version": draft["version"]})

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 422
    assert reply.error_fields == ["business.address", "business.siren", "business.vat_number", "customer.address"]
    assert "PUT /business" in reply.body["error"]["message"]
    after = api.get(f"/invoices/{draft['id']}").body
    assert (after["status"], after["number"]) == ("draft", None)  # nothing written, no number consumed


def test_given_a_franchise_en_base_business_then_no_vat_number_is_required(api, customer, draft):
    business = {key: value for key, value in BUSINESS.items() if key != "vat_number"}
    assert api.put("/business", {**business, "vat_franchise": True}).status == 200
    untaxed = [{**line, "taxes": []} for line in draft["lines"]]
    draft = api.patch(f"/invoices/{draft['id']}", {"lines": untaxed, "version": draft["version"]}).body

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 200, reply.body


def test_given_a_franchise_en_base_business_then_no_line_may_charge_vat(api, customer, draft):
    business = {key: value for key, value in BUSINESS.items() if key != "vat_number"}
    assert api.put("/business", {**business, "vat_franchise": True}).status == 200

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 422
    assert reply.error_fields == ["lines.0.taxes"]
    assert "franchise en base" in str(reply.body)
    assert api.get(f"/invoices/{draft['id']}").body["number"] is None


def test_given_a_seller_outside_france_then_no_siren_is_required(api, customer, draft):
    belgian = {"legal_name": "Brux SRL", "vat_number": "BE0403170701"}
    address = {"line1": "Rue Neuve 1", "postal_code": "1000", "city": "Bruxelles", "country": "BE"}
    assert api.put("/business", {**belgian, "address": address}).status == 200

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 200, reply.body


def test_given_a_french_business_client_without_its_siren_then_422_naming_it_until_it_is_set(api, business, draft):
    client = api.post("/customers", {"name": "Martin SARL", "address": CLIENT_ADDRESS}).body
    draft = api.patch(f"/invoices/{draft['id']}", {"customer_id": client["id"], "version": draft["version"]}).body

    refused = api.post(f"/invoices/{draft['id']}/mark-sent")
    api.patch(f"/customers/{client['id']}", {"siren": CLIENT_SIREN})
    issued = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert refused.status == 422
    assert refused.error_fields == ["customer.siren"]
    assert (issued.status, issued.body["number"], issued.body["customer"]["siren"]) == (200, "INV-1", CLIENT_SIREN)


@pytest.mark.parametrize(
    "client",
    [
        {"name": "Jeanne Martin", "kind": "individual", "address": CLIENT_ADDRESS},
        {"name": "Brux SRL", "address": {"line1": "Rue Neuve 1", "postal_code": "1000", "city": "Bruxelles",
                                         "country": "BE"}, "vat_number": "BE0403170701"},
    ],
    ids=["a private person", "a business outside France"],
)  # fmt: skip
def test_a_client_who_has_no_siren_to_give_needs_none(api, business, draft, client):
    customer = api.post("/customers", client).body
    draft = api.patch(f"/invoices/{draft['id']}", {"customer_id": customer["id"], "version": draft["version"]}).body

    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 200, reply.body


def test_given_the_missing_mentions_are_filled_in_then_the_same_draft_is_issued(api, customer, draft):
    api.put("/business", {"legal_name": "Acme SAS"})
    assert api.post(f"/invoices/{draft['id']}/mark-sent").status == 422

    api.put("/business", {**BUSINESS, "version": 1})
    reply = api.post(f"/invoices/{draft['id']}/mark-sent")

    assert reply.status == 200
    assert reply.body["number"] == "INV-1"


def test_given_the_customer_changes_after_issue_then_the_invoice_keeps_its_snapshot(api, customer, issued):
    api.patch(f"/customers/{customer['id']}", {"name": "Dupont Renamed", "email": "new@dupont.example"})
    api.patch("/business", {"legal_name": "Acme Renamed"})

    reply = api.get(f"/invoices/{issued['id']}")

    assert reply.body["customer"]["name"] == "Dupont & Fils"
    assert reply.body["customer"]["email"] == "compta@dupont.example"
    assert reply.body["business"]["legal_name"] == "Acme SAS"


def test_given_an_issued_invoice_when_mark_sent_again_then_200_unchanged(api, issued):
    reply = api.post(f"/invoices/{issued['id']}/mark-sent")

    assert reply.status == 200
    assert reply.body["number"] == "INV-1"
    assert reply.body["version"] == issued["version"]
    assert reply.body["payment_link"] == issued["payment_link"]


def test_given_a_draft_when_mark_sent_with_a_stale_version_then_409(api, business, draft):
    api.patch(f"/invoices/{draft['id']}", {"version": 1, "notes": "v2"})

    reply = api.post(f"/invoices/{draft['id']}/mark-sent", {"version": 1})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "stale_version"
    assert api.get(f"/invoices/{draft['id']}").body["status"] == "draft"


def test_given_an_issued_invoice_when_patched_then_409_not_editable(api, issued):
    reply = api.patch(f"/invoices/{issued['id']}", {"version": issued["version"], "notes": "changed"})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "invoice_not_editable"
    assert api.get(f"/invoices/{issued['id']}").body == issued


def test_given_an_issued_invoice_when_deleted_then_409_not_editable(api, issued):
    reply = api.delete(f"/invoices/{issued['id']}")

    assert reply.status == 409
    assert reply.body["error"]["code"] == "invoice_not_editable"
    assert api.get(f"/invoices/{issued['id']}").status == 200


# -- void -----------------------------------------------------------------------------


def test_given_an_open_invoice_when_voided_then_void_keeping_its_number(api, issued):
    reply = api.post(f"/invoices/{issued['id']}/void")

    assert reply.status == 200
    assert reply.body["status"] == "void"
    assert reply.body["number"] == "INV-1"
    assert reply.body["version"] == issued["version"] + 1
    assert api.get(f"/invoices/{issued['id']}").body["status"] == "void"


def test_given_a_draft_when_voided_then_409_illegal_transition(api, draft):
    reply = api.post(f"/invoices/{draft['id']}/void")

    assert reply.status == 409
    assert reply.body["error"]["code"] == "illegal_transition"
    assert api.get(f"/invoices/{draft['id']}").body["status"] == "draft"


def test_given_a_void_invoice_when_mark_sent_then_409_illegal_transition(api, issued):
    api.post(f"/invoices/{issued['id']}/void")

    reply = api.post(f"/invoices/{issued['id']}/mark-sent")

    assert reply.status == 409
    assert reply.body["error"]["code"] == "illegal_transition"


def test_given_a_void_invoice_when_voided_again_then_409(api, issued):
    api.post(f"/invoices/{issued['id']}/void")

    reply = api.post(f"/invoices/{issued['id']}/void")

    assert reply.status == 409
    assert reply.body["error"]["code"] == "illegal_transition"


def test_given_a_void_invoice_when_deleted_then_409_it_is_kept(api, issued):
    api.post(f"/invoices/{issued['id']}/void")

    assert api.delete(f"/invoices/{issued['id']}").status == 409
    assert api.get(f"/invoices/{issued['id']}").status == 200


def test_given_an_open_invoice_when_voided_with_a_stale_version_then_409(api, issued):
    reply = api.post(f"/invoices/{issued['id']}/void", {"version": issued["version"] - 1})

    assert reply.status == 409
    assert reply.body["error"]["code"] == "stale_version"


# -- duplicate ------------------------------------------------------------------------


def test_given_an_issued_invoice_when_duplicated_twice_then_copie_and_copie_2_drafts(api, issued):
    first = api.post(f"/invoices/{issued['id']}/duplicate")
    second = api.post(f"/invoices/{issued['id']}/duplicate")

    assert (first.status, second.status) == (201, 201)
    assert first.body["name"] == f"{issued['name']} (copie)"
    assert second.body["name"] == f"{issued['name']} (copie 2)"
    for copy in (first.body, second.body):
        assert copy["id"] != issued["id"]
        assert copy["status"] == "draft"
        assert copy["number"] is None
        assert copy["version"] == 1
        assert copy["payment_link"] is None
        assert copy["lines"] == issued["lines"]
        assert copy["totals"] == issued["totals"]
        assert copy["customer_id"] == issued["customer_id"]
    assert first.headers["Location"] == f"{os.environ['PUBLIC_BASE_URL']}/invoices/{first.body['id']}"


def test_given_a_duplicate_when_finalized_then_it_takes_the_next_number(api, issued):
    copy = api.post(f"/invoices/{issued['id']}/duplicate").body

    reply = api.post(f"/invoices/{copy['id']}/mark-sent")

    assert reply.body["number"] == "INV-2"


def test_given_a_draft_with_a_200_character_name_when_duplicated_then_201_with_another_name(api):
    """The copy's name must stay within 200 characters and still differ from the original."""
    source = api.post("/invoices", {"name": "N" * 200, "lines": []}).body

    reply = api.post(f"/invoices/{source['id']}/duplicate")

    assert reply.status == 201, reply.body
    assert reply.body["name"] != source["name"]
    assert len(reply.body["name"]) <= 200


# -- listing ---------------------------------------------------------------------------


def _ids(reply) -> set[str]:
    assert reply.status == 200, reply.body
    return {item["id"] for item in reply.body["items"]}


@pytest.fixture
def ledger(api, business, customer):
    """A draft, an open invoice not yet due, an overdue one, a void one, and a
    draft of another customer."""
    other = api.post("/customers", {"name": "Martin SARL", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}).body
    draft = _invoice(api, "Brouillon", customer["id"])
    due_later = _invoice(api, "À échoir", customer["id"], issue_date="2026-01-01", due_date="2099-01-01")
    overdue = _invoice(api, "En retard", customer["id"], issue_date="2020-01-01", due_date="2020-01-31")
    voided = _invoice(api, "Annulée", customer["id"], issue_date="2020-01-01", due_date="2020-01-31")
    for invoice in (overdue, voided, due_later):  # in date order: numbers follow dates
        assert api.post(f"/invoices/{invoice['id']}/mark-sent").status == 200
    api.post(f"/invoices/{voided['id']}/void")
    martin = _invoice(api, "Martin", other["id"])
    return {"draft": draft["id"], "due_later": due_later["id"], "overdue": overdue["id"],
            "void": voided["id"], "martin": martin["id"], "martin_customer": other["id"]}  # fmt: skip


def test_given_a_ledger_when_listed_unfiltered_then_all_five(api, ledger):
    assert _ids(api.get("/invoices")) == {ledger[key] for key in ("draft", "due_later", "overdue", "void", "martin")}


def test_given_a_ledger_when_filtered_by_status_then_only_that_status(api, ledger):
    assert _ids(api.get("/invoices?status=draft")) == {ledger["draft"], ledger["martin"]}
    assert _ids(api.get("/invoices?status=open")) == {ledger["due_later"], ledger["overdue"]}
    assert _ids(api.get("/invoices?status=void")) == {ledger["void"]}
    assert _ids(api.get("/invoices?status=paid")) == set()


def test_given_a_ledger_when_filtered_by_customer_then_only_theirs(api, ledger):
    assert _ids(api.get(f"/invoices?customer_id={ledger['martin_customer']}")) == {ledger["martin"]}


def test_given_a_ledger_when_filtered_by_customer_and_status_then_both_apply(api, ledger, customer):
    reply = api.get(f"/invoices?customer_id={customer['id']}&status=open")

    assert _ids(reply) == {ledger["due_later"], ledger["overdue"]}


def test_given_a_ledger_when_overdue_true_then_only_the_past_due_open_one(api, ledger):
    reply = api.get("/invoices?overdue=true")

    assert _ids(reply) == {ledger["overdue"]}
    assert all(item["overdue"] is True for item in reply.body["items"])


def test_given_a_ledger_when_overdue_false_then_everything_but_the_overdue_one(api, ledger):
    reply = api.get("/invoices?overdue=false")

    assert _ids(reply) == {ledger[key] for key in ("draft", "due_later", "void", "martin")}
    assert all(item["overdue"] is False for item in reply.body["items"])


def test_given_a_ledger_when_overdue_and_status_open_then_combined(api, ledger):
    assert _ids(api.get("/invoices?overdue=true&status=open")) == {ledger["overdue"]}
    assert _ids(api.get("/invoices?overdue=true&status=draft")) == set()


def test_given_an_open_invoice_of_0_00_past_due_then_it_is_not_listed_as_overdue(api, business, customer):
    """Overdue = due date past AND amount_due > 0 (SPEC §6): the list filter
    must agree with the invoice's own `overdue` flag."""
    free = _invoice(api, "Offert", customer["id"], issue_date="2020-01-01", due_date="2020-01-31",
                    lines=[{"name": "Geste commercial", "unit_price": "0"}])  # fmt: skip
    issued = api.post(f"/invoices/{free['id']}/mark-sent").body
    assert issued["amount_due"] == "0.00"
    assert issued["overdue"] is False

    assert free["id"] not in _ids(api.get("/invoices?overdue=true"))
    assert free["id"] in _ids(api.get("/invoices?overdue=false"))


@pytest.mark.parametrize(("days_ago", "overdue"), [(0, False), (1, True)])
def test_given_an_open_invoice_due_today_or_yesterday_then_overdue_only_from_the_day_after(
    api, business, customer, days_ago, overdue
):
    due = (_today() - timedelta(days=days_ago)).isoformat()
    draft = _invoice(api, "Échéance", customer["id"], issue_date="2020-01-01", due_date=due)

    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body

    assert issued["overdue"] is overdue
    assert (draft["id"] in _ids(api.get("/invoices?overdue=true"))) is overdue
    assert (draft["id"] in _ids(api.get("/invoices?overdue=false"))) is not overdue


def test_given_a_ledger_when_overdue_listed_by_pages_of_1_then_each_once(api, ledger, customer):
    # issued after the ledger's last invoice (2026-01-01): numbers follow dates
    extra = _invoice(api, "En retard 2", customer["id"], issue_date="2026-01-01", due_date="2026-02-28")
    assert api.post(f"/invoices/{extra['id']}/mark-sent").status == 200
    seen, cursor = [], None
    for _ in range(5):
        reply = api.get("/invoices?overdue=true&limit=1" + (f"&cursor={cursor}" if cursor else ""))
        seen += [item["id"] for item in reply.body["items"]]
        cursor = reply.body["next_cursor"]
        if not cursor:
            break

    assert seen == [ledger["overdue"], extra["id"]]  # oldest due first


def test_given_12_invoices_when_paged_by_5_with_a_status_filter_then_each_once(api):
    created = {_invoice(api, f"Brouillon {i}", None)["id"] for i in range(12)}
    seen, cursor = [], None
    for _ in range(10):
        reply = api.get("/invoices?status=draft&limit=5" + (f"&cursor={cursor}" if cursor else ""))
        seen += [item["id"] for item in reply.body["items"]]
        cursor = reply.body["next_cursor"]
        if not cursor:
            break

    assert len(seen) == 12
    assert set(seen) == created


@pytest.mark.parametrize("query", ["status=late", "overdue=perhaps", "customer_id=a%20b", "limit=0", "limit=201"])
def test_when_listed_with_a_bad_filter_then_422(api, query):
    reply = api.get(f"/invoices?{query}")

    assert reply.status == 422
    assert reply.error_fields == [query.split("=")[0]]


def test_given_an_issued_invoice_when_a_draft_dated_earlier_is_finalized_then_422_on_issue_date(
    api, business, customer
):
    """Numbers follow dates: INV-2 cannot be dated before INV-1."""
    first = _invoice(api, "Novembre", customer["id"], issue_date="2026-11-20", due_date="2026-12-20")
    backdated = _invoice(api, "Antidatée", customer["id"], issue_date="2019-01-01", due_date="2019-02-01")
    assert api.post(f"/invoices/{first['id']}/mark-sent").status == 200

    reply = api.post(f"/invoices/{backdated['id']}/mark-sent")

    assert reply.status == 422, reply.body
    assert reply.error_fields == ["issue_date"]
    assert api.get(f"/invoices/{backdated['id']}").body["status"] == "draft"
    follower = _invoice(api, "Suivante", customer["id"])
    assert api.post(f"/invoices/{follower['id']}/mark-sent").body["number"] == "INV-2"  # nothing consumed


def test_given_a_future_issue_date_when_finalized_then_422(api, business, customer):
    future = _invoice(api, "Future", customer["id"], issue_date="2099-01-01", due_date="2099-02-01")

    reply = api.post(f"/invoices/{future['id']}/mark-sent")

    assert reply.status == 422, reply.body
    assert reply.error_fields == ["issue_date"]


def test_given_percentages_over_100_when_saved_then_422_on_the_schedule(api, customer):
    schedule = {"type": "percentage", "instalments": [{"due_date": "2027-01-31", "value": "70"},
                                                       {"due_date": "2027-02-28", "value": "80"}]}  # fmt: skip

    reply = api.post("/invoices", {"name": "Échéancier", "lines": [LINE_100], "payment_schedule": schedule})

    assert reply.status == 422, reply.body
    assert reply.error_fields == ["payment_schedule.instalments"]


def test_given_fixed_instalments_when_issued_then_they_must_add_up_to_the_total(api, business, customer):
    """Editing a draft may leave them off for a while; issuing may not."""
    schedule = {"type": "fixed", "instalments": [{"due_date": "2099-01-31", "value": "50.00"},
                                                  {"due_date": "2099-02-28", "value": "50.00"}]}  # fmt: skip
    draft = _invoice(api, "Échéancier fixe", customer["id"], due_date="2099-02-28", payment_schedule=schedule)
    assert draft["totals"]["total"] == "100.00"

    assert api.patch(f"/invoices/{draft['id']}", {"version": 1, "lines": [LINE_100, LINE_100]}).status == 200
    refused = api.post(f"/invoices/{draft['id']}/mark-sent")
    assert refused.status == 422, refused.body
    assert refused.error_fields == ["payment_schedule.instalments"]

    schedule["instalments"][1]["value"] = "150.00"
    assert api.patch(f"/invoices/{draft['id']}", {"version": 2, "payment_schedule": schedule}).status == 200
    assert api.post(f"/invoices/{draft['id']}/mark-sent").status == 200


def test_lists_show_summaries_with_a_line_count_and_the_invoice_shows_its_lines(api):
    created = _invoice(api, "Résumé", None, notes="Longues notes", lines=[LINE_100] * 3)

    item = api.get("/invoices").body["items"][0]

    assert item["id"] == created["id"]
    assert (item["line_count"], item["totals"], item["amount_due"]) == (3, created["totals"], created["amount_due"])
    assert "lines" not in item
    assert "notes" not in item
    assert len(api.get(f"/invoices/{created['id']}").body["lines"]) == 3


def test_given_its_customer_was_deleted_then_a_draft_can_still_be_edited_but_not_issued(api, business, customer):
    invoice = _invoice(api, "Orpheline", customer["id"])
    assert api.delete(f"/customers/{customer['id']}").status == 204

    edited = api.patch(f"/invoices/{invoice['id']}", {"version": 1, "notes": "toujours modifiable"})
    refused = api.post(f"/invoices/{invoice['id']}/mark-sent")

    assert edited.status == 200, edited.body
    assert refused.status == 422
    assert refused.error_fields == ["customer_id"]
