"""Templates (issue 4 §3): an invoice made reusable, and drafts made from it."""

from __future__ import annotations

import pytest

from tests.conftest import CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE

pytestmark = pytest.mark.integration

SCHEDULE = {"type": "percentage", "instalments": [{"due_date": "2026-12-07", "value": "30"},
                                                   {"due_date": "2026-12-27", "value": "70"}]}  # fmt: skip


def test_invoice_to_template_to_invoice_keeps_lines_and_totals_and_nothing_of_the_customer(api, business, customer):
    source = api.post(
        "/invoices",
        {**SPEC_INVOICE, "customer_id": customer["id"], "notes": "Merci", "payment_schedule": SCHEDULE},
    ).body
    issued = api.post(f"/invoices/{source['id']}/mark-sent").body

    template = api.post(f"/invoices/{issued['id']}/template", {"name": "Acompte site web"})

    assert template.status == 201, template.body
    assert template.headers["Location"].endswith(f"/templates/{template.body['id']}")
    for absent in ("customer_id", "customer", "number", "issue_date", "due_date", "payments", "status"):
        assert absent not in template.body, absent
    assert template.body["payment_terms_days"] == 30
    assert template.body["payment_schedule"]["instalments"] == [
        {"days_after_issue": 10, "value": "30"},
        {"days_after_issue": 30, "value": "70"},
    ]

    other = api.post("/customers", {"name": "Martin SARL", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}).body
    made = api.post(
        f"/templates/{template.body['id']}/invoices", {"customer_id": other["id"], "issue_date": "2026-11-27"}
    )

    assert made.status == 201, made.body
    draft = made.body
    assert (draft["status"], draft["number"], draft["customer_id"]) == ("draft", None, other["id"])
    assert draft["name"] == "Acompte site web"
    assert draft["totals"] == issued["totals"]
    assert [line["name"] for line in draft["lines"]] == [line["name"] for line in issued["lines"]]
    assert draft["notes"] == "Merci"
    assert draft["due_date"] == "2026-12-27"
    assert [item["due_date"] for item in draft["payment_schedule"]["instalments"]] == ["2026-12-07", "2026-12-27"]
    assert draft["payment_link"] is None


def test_a_second_invoice_from_a_template_gets_a_numbered_name(api, business, customer):
    template = api.post("/templates", {"name": "Mensuel", "lines": [{"name": "Abonnement", "unit_price": "30"}]}).body

    first = api.post(f"/templates/{template['id']}/invoices", {"customer_id": customer["id"]}).body
    second = api.post(f"/templates/{template['id']}/invoices", {"customer_id": customer["id"]}).body

    assert (first["name"], second["name"]) == ("Mensuel", "Mensuel (2)")
    assert first["totals"]["total"] == "30.00"


def test_templates_are_listed_changed_and_deleted_like_the_catalogue(api):
    created = api.post("/templates", {"name": "T", "lines": []}).body

    changed = api.patch(f"/templates/{created['id']}", {"notes": "n", "version": created["version"]})
    listed = api.get("/templates").body["items"]
    deleted = api.delete(f"/templates/{created['id']}")

    assert changed.status == 200
    assert changed.body["notes"] == "n"
    assert [item["id"] for item in listed] == [created["id"]]
    assert deleted.status == 204
    assert api.get(f"/templates/{created['id']}").status == 404


def test_a_template_schedule_must_add_up_to_100(api):
    reply = api.post(
        "/templates",
        {
            "name": "T",
            "payment_schedule": {"type": "percentage", "instalments": [{"days_after_issue": 0, "value": "50"}]},
        },
    )

    assert reply.status == 422
    assert reply.error_fields == ["payment_schedule.instalments"]


def test_a_template_for_an_unknown_customer_is_a_422_and_no_draft(api):
    template = api.post("/templates", {"name": "T", "lines": []}).body

    reply = api.post(f"/templates/{template['id']}/invoices", {"customer_id": "cus_nope"})

    assert (reply.status, reply.error_fields) == (422, ["customer_id"])
    assert api.get("/invoices").body["items"] == []
