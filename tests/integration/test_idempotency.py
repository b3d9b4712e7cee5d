"""`Idempotency-Key` on writes (SPEC §5): a retried request returns the first
response and is never executed twice."""

from __future__ import annotations

import json

import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE

pytestmark = pytest.mark.integration

KEY = {"Idempotency-Key": "0f8e7c2a-retry-me"}


def _invoices(api, tenant: str = "acme") -> list[dict]:
    return api.get("/invoices", tenant=tenant).body["items"]


def test_given_a_created_invoice_when_retried_with_the_same_key_then_first_response_replayed(api):
    first = api.post("/invoices", SPEC_INVOICE, headers=KEY)
    second = api.post("/invoices", SPEC_INVOICE, headers=KEY)

    assert first.status == second.status == 201
    assert second.body == first.body
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [item["id"] for item in _invoices(api)] == [first.body["id"]]


def test_given_a_key_when_reused_with_a_different_body_then_422_and_nothing_created(api):
    first = api.post("/invoices", SPEC_INVOICE, headers=KEY)

    reply = api.post("/invoices", {**SPEC_INVOICE, "name": "Autre"}, headers=KEY)

    assert reply.status == 422
    assert reply.body["error"]["code"] == "idempotency_key_reused"
    assert reply.error_fields == ["Idempotency-Key"]
    assert [item["id"] for item in _invoices(api)] == [first.body["id"]]


def test_given_two_different_keys_then_two_invoices(api):
    first = api.post("/invoices", SPEC_INVOICE, headers={"Idempotency-Key": "key-1"})
    second = api.post("/invoices", {**SPEC_INVOICE, "name": "Second"}, headers={"Idempotency-Key": "key-2"})

    assert first.status == second.status == 201
    assert "Idempotent-Replayed" not in second.headers
    assert {item["id"] for item in _invoices(api)} == {first.body["id"], second.body["id"]}


def test_given_a_request_failed_with_422_when_retried_unchanged_then_same_422_and_nothing_created(api):
    bad = {**SPEC_INVOICE, "customer_id": "cus_unknown"}
    first = api.post("/invoices", bad, headers=KEY)

    second = api.post("/invoices", bad, headers=KEY)

    assert first.status == second.status == 422
    assert second.body == first.body
    assert "Idempotent-Replayed" not in second.headers
    assert _invoices(api) == []


def test_given_a_request_failed_with_422_when_fixed_and_retried_with_the_same_key_then_201(api):
    """A failed request stored nothing, so its key is free for the corrected body."""
    api.post("/invoices", {**SPEC_INVOICE, "customer_id": "cus_unknown"}, headers=KEY)

    reply = api.post("/invoices", SPEC_INVOICE, headers=KEY)

    assert reply.status == 201, reply.body
    assert len(_invoices(api)) == 1


def test_given_a_409_name_taken_when_retried_with_the_same_key_then_still_409_not_replayed(api):
    api.post("/invoices", SPEC_INVOICE)
    first = api.post("/invoices", SPEC_INVOICE, headers=KEY)

    second = api.post("/invoices", SPEC_INVOICE, headers=KEY)

    assert first.status == second.status == 409
    assert len(_invoices(api)) == 1


def test_given_a_key_used_by_acme_when_other_tenant_uses_it_then_it_creates_its_own(api):
    mine = api.post("/invoices", SPEC_INVOICE, headers=KEY)

    theirs = api.post("/invoices", SPEC_INVOICE, headers=KEY, tenant="other")

    assert theirs.status == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.body["id"] != mine.body["id"]
    assert [item["id"] for item in _invoices(api, "other")] == [theirs.body["id"]]
    assert [item["id"] for item in _invoices(api)] == [mine.body["id"]]


def test_given_a_key_used_on_customers_when_used_on_products_then_both_created(api):
    customer = api.post("/customers", {"name": "Dupont", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}, headers=KEY)
    product = api.post("/products", {"name": "Dupont", "unit_price": "1"}, headers=KEY)

    assert (customer.status, product.status) == (201, 201)
    assert "Idempotent-Replayed" not in product.headers
    assert product.body["id"].startswith("prd_")


def test_given_a_mark_sent_when_retried_with_the_same_key_then_replayed_with_the_same_number(api):
    api.put("/business", BUSINESS)
    customer = api.post("/customers", {"name": "Dupont", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body

    first = api.post(f"/invoices/{draft['id']}/mark-sent", headers=KEY)
    second = api.post(f"/invoices/{draft['id']}/mark-sent", headers=KEY)

    assert first.status == second.status == 200
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.body == first.body


def test_given_a_duplicate_when_retried_with_the_same_key_then_one_copy(api):
    source = api.post("/invoices", SPEC_INVOICE).body

    first = api.post(f"/invoices/{source['id']}/duplicate", headers=KEY)
    second = api.post(f"/invoices/{source['id']}/duplicate", headers=KEY)

    assert second.body["id"] == first.body["id"]
    assert len(_invoices(api)) == 2


@pytest.mark.parametrize("key", ["k" * 256, "tab\there"])
def test_when_the_key_is_too_long_or_not_printable_then_400_naming_it(api, key):
    reply = api.post("/invoices", SPEC_INVOICE, headers={"Idempotency-Key": key})

    assert reply.status == 400
    assert reply.error_fields == ["Idempotency-Key"]
    assert _invoices(api) == []


def test_when_the_header_name_is_lowercase_then_it_still_dedupes(api):
    first = api.post("/invoices", SPEC_INVOICE, headers={"idempotency-key": "lower"})
    second = api.post("/invoices", SPEC_INVOICE, headers={"idempotency-key": "lower"})

    assert second.body["id"] == first.body["id"]
    assert len(_invoices(api)) == 1


def test_given_a_reply_over_400_kb_when_retried_then_it_is_replayed_not_run_again(api):
    """The stored reply is compressed like the invoice: a 1,000-line invoice
    whose JSON reply is ~600 KB is still recorded, and its retry replayed."""
    description = "Prestation de développement, recette et mise en production. " * 8
    lines = [{"name": f"Ligne {n}", "description": description, "unit_price": "1"} for n in range(1000)]
    body = {"name": "Grosse facture", "lines": lines}

    first = api.post("/invoices", body, headers=KEY)
    second = api.post("/invoices", body, headers=KEY)

    assert first.status == 201, first.body
    assert (second.status, second.headers.get("Idempotent-Replayed")) == (201, "true")
    assert second.body["id"] == first.body["id"]
    assert len(_invoices(api)) == 1


def test_given_a_large_reply_in_a_non_latin_script_when_retried_then_it_is_replayed(api):
    """Replies are stored as UTF-8, not \\u escapes: 1,000 lines of random
    CJK text whose document just fits must have a reply that fits too."""
    import random

    rng = random.Random(7)
    lines = [
        {
            "name": f"行 {n}",
            "description": "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(160)),
            "unit_price": "1",
        }
        for n in range(1000)
    ]
    raw = json.dumps({"name": "請求書", "lines": lines}, ensure_ascii=False)  # 0.5 MB as UTF-8

    first = api.call("POST", "/invoices", raw=raw, headers=KEY)
    second = api.call("POST", "/invoices", raw=raw, headers=KEY)

    assert first.status == 201, first.body
    assert (second.status, second.headers.get("Idempotent-Replayed")) == (201, "true")
    assert second.body["id"] == first.body["id"]


@pytest.fixture(params=["dynamodb", "memory"])
def records(request: pytest.FixtureRequest):
    """The idempotency records: the DynamoDB adapter (on moto) and the fake the handlers' tests use."""
    if request.param == "memory":
        from tests.fakes.adapters import InMemoryIdempotency

        return InMemoryIdempotency()
    request.getfixturevalue("aws")
    from invoicing.adapters.dynamodb import DynamoIdempotencyStore, DynamoStore

    return DynamoIdempotencyStore(DynamoStore())


def test_a_response_completed_after_its_record_was_released_leaves_no_record_behind(records):
    """A request that outlived its lease may complete after another one released
    the key: nothing is written then, and the key can be claimed again (a record
    without its fingerprint would refuse every later request with that key)."""
    assert records.claim("acme", "k", "first", 1_000, 60, 86_400) is None
    records.release("acme", "k")

    records.complete("acme", "k", {"status": 201, "content_type": "application/json", "body": "{}", "headers": {}})

    assert records.claim("acme", "k", "second", 1_001, 60, 86_400) is None
