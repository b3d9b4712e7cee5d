"""Fixtures of the integration tests: a tenant ready to issue invoices.

Every test gets a fresh emulation (the `api` fixture of tests/conftest.py), so
these fixtures build the state each test needs, through the API only.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BUSINESS, CUSTOMER, SPEC_INVOICE


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
