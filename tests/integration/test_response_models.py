"""Responses match the models the OpenAPI document declares for them, so a
client generated from /openapi.json reads what the API sends."""

from __future__ import annotations

import pytest

from invoicing.models.common import Page
from invoicing.models.invoices import Invoice, InvoiceSummary, TotalsOut
from invoicing.models.resources import Business, Customer, Product
from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE

pytestmark = pytest.mark.integration


def test_every_documented_response_model_validates_what_the_api_sends(api):
    business = api.put("/business", BUSINESS).body
    customer = api.post(
        "/customers", {"name": "Dupont", "email": "a@b.fr", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}
    ).body
    product = api.post("/products", {"name": "Audit", "unit_price": "750"}).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body

    Business.model_validate(business)
    Customer.model_validate(customer)
    Product.model_validate(product)
    for invoice in (draft, issued, api.get(f"/invoices/{draft['id']}").body):
        Invoice.model_validate(invoice)
    Page[InvoiceSummary].model_validate(api.get("/invoices").body)
    Page[Customer].model_validate(api.get("/customers").body)
    Page[Product].model_validate(api.get("/products").body)
    TotalsOut.model_validate(api.post("/totals", SPEC_INVOICE).body)
    assert issued["number"] == "INV-1"


def test_the_openapi_document_names_a_model_for_each_success_that_has_a_body(api):
    document = api.get("/openapi.json", tenant=None).body
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if status.startswith("2") and status != "204" and "content" not in response
    ]
    assert missing == []
