"""Fixtures of the integration tests: a tenant ready to issue invoices.

Every test gets a fresh emulation (the `api` fixture of tests/conftest.py), so
these fixtures build the state each test needs, through the API only.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, CUSTOMER, SPEC_INVOICE


@pytest.fixture
def business(api: Any) -> dict[str, Any]:
    """acme's business profile, saved (version 1)."""
    reply = api.put("/business", BUSINESS)
    assert reply.status == 200, reply.body
    return reply.body


@pytest.fixture
def customer(api: Any) -> dict[str, Any]:
    """One of acme's customers."""
    reply = api.post("/customers", CUSTOMER)
    assert reply.status == 201, reply.body
    return reply.body


@pytest.fixture
def draft(api: Any, customer: dict[str, Any]) -> dict[str, Any]:
    """The invoice of SPEC §6.1, as a draft addressed to `customer`."""
    reply = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]})
    assert reply.status == 201, reply.body
    return reply.body


@pytest.fixture
def issued(api: Any, business: dict[str, Any], draft: dict[str, Any]) -> dict[str, Any]:
    """The SPEC invoice, finalized (INV-1)."""
    reply = api.post(f"/invoices/{draft['id']}/mark-sent")
    assert reply.status == 200, reply.body
    return reply.body


PDF_BYTES = b"%PDF-1.7\n% a purchase order\n" + b"0" * 2000


def attach(
    api: Any,
    invoice_id: str,
    data: bytes = PDF_BYTES,
    filename: str = "bon-de-commande.pdf",
    content_type: str = "application/pdf",
    *,
    confirm: bool = True,
    declared_size: int | None = None,
    tenant: str = "acme",
) -> Any:
    """Reserve an attachment, store the file where the upload form would
    (moto in-process does not take browser POSTs; the e2e tests do), and
    confirm it: the confirm reply, or the reservation's when confirm=False."""
    reserved = api.post(
        f"/invoices/{invoice_id}/attachments",
        {"filename": filename, "content_type": content_type, "size": declared_size or len(data)},
        tenant=tenant,
    )
    assert reserved.status == 201, reserved.body
    key = reserved.body["upload"]["fields"]["key"]
    api.upload(key, data, content_type)
    if not confirm:
        return reserved
    return api.post(f"/invoices/{invoice_id}/attachments/{reserved.body['id']}/confirm", tenant=tenant)


STRIPE_CUSTOMER = "cus_Q1dupont"


@pytest.fixture
def account(api: Any, business: dict[str, Any], stripe_standin: Any) -> str:
    """acme's Stripe account, onboarded on the stand-in, which then forgets
    those requests: what it received after is the test's."""
    from tests.connect import onboard

    onboarded = onboard(api, stripe_standin)
    stripe_standin.received.clear()
    return onboarded


@pytest.fixture
def card_invoice(api: Any, account: str) -> dict[str, Any]:
    """An issued invoice of a customer with a card saved in Stripe."""
    customer = api.post("/customers", {"name": "Dupont & Fils", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN,
                                       "stripe_customer_id": STRIPE_CUSTOMER}).body  # fmt: skip
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body
    return api.post(f"/invoices/{draft['id']}/mark-sent").body
