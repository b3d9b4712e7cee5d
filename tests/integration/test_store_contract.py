"""The store contract, run against the DynamoDB adapter (on moto) and the
in-memory fake alike: whatever the use cases rely on, both do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from invoicing.domain.errors import InvalidInput, InvoiceNotEditable, NameTaken, NotFound, StaleVersion
from invoicing.ports import Allowance, ConditionFailed, Finalization, InvoiceQuery, Sequence
from tests.fakes.store import InMemoryStore

pytestmark = pytest.mark.integration


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryStore()
        return
    request.getfixturevalue("aws")
    from invoicing.adapters.dynamodb import DynamoStore

    yield DynamoStore()


def invoice(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"inv_{n:04d}",
        "name": f"Facture {n}",
        "status": "draft",
        "version": 1,
        "customer_id": None,
        "due_date": None,
        "amount_due": "10.00",
        **fields,
    }


def test_a_created_document_reads_back_only_in_its_tenant(store):
    store.create("acme", "invoice", invoice(1), name="facture 1")

    assert store.get("acme", "invoice", "inv_0001") == invoice(1)
    assert store.get("other", "invoice", "inv_0001") is None
    assert store.get("acme", "customer", "inv_0001") is None


def test_names_are_unique_per_tenant_and_kind(store):
    store.create("acme", "invoice", invoice(1), name="facture")
    with pytest.raises(NameTaken):
        store.create("acme", "invoice", invoice(2), name="facture")
    store.create("other", "invoice", invoice(2), name="facture")
    store.create("acme", "customer", {"id": "cus_1", "name": "Facture", "version": 1}, name="facture")
    assert store.get("acme", "invoice", "inv_0002") is None


def test_replace_checks_the_version_the_draft_status_and_moves_the_name(store):
    store.create("acme", "invoice", invoice(1), name="a")
    store.create("acme", "invoice", invoice(2), name="b")

    with pytest.raises(StaleVersion):
        store.replace("acme", "invoice", invoice(1, version=3), expected_version=2, old_name="a", new_name="a")
    with pytest.raises(NameTaken):
        store.replace("acme", "invoice", invoice(1, version=2), expected_version=1, old_name="a", new_name="b")
    store.replace("acme", "invoice", invoice(1, version=2), expected_version=1, old_name="a", new_name="c")
    store.create("acme", "invoice", invoice(3), name="a")  # the old name is free again

    store.replace(
        "acme", "invoice", invoice(2, version=2, status="open"), expected_version=1, old_name="b", new_name="b"
    )
    with pytest.raises(InvoiceNotEditable):
        store.replace(
            "acme", "invoice", invoice(2, version=3), expected_version=2, old_name="b", new_name="b", require_draft=True
        )


def test_a_singleton_written_at_version_0_exists_only_once(store):
    profile = {"id": "profile", "version": 1, "legal_name": "Acme"}
    store.replace("acme", "business", profile, expected_version=0, old_name=None, new_name=None)

    with pytest.raises(StaleVersion):  # another writer's first version
        store.replace("acme", "business", {**profile, "legal_name": "Other"}, expected_version=0, old_name=None,
                      new_name=None)  # fmt: skip


def test_delete_checks_existence_version_and_status_and_frees_the_name(store):
    store.create("acme", "invoice", invoice(1), name="a")

    with pytest.raises(NotFound):
        store.delete("acme", "invoice", "inv_9999", expected_version=None, name=None)
    with pytest.raises(StaleVersion):
        store.delete("acme", "invoice", "inv_0001", expected_version=7, name="a")
    store.delete("acme", "invoice", "inv_0001", expected_version=1, name="a", require_draft=True)

    assert store.get("acme", "invoice", "inv_0001") is None
    store.create("acme", "invoice", invoice(2), name="a")


def finalization(n: int, sequence: int, expected_version: int = 1, issue_date: str = "2026-11-27") -> Finalization:
    issued = invoice(n, status="open", version=expected_version + 1, number=f"INV-{sequence}", issue_date=issue_date)
    return Finalization(issued, expected_version, sequence, payment_token_hash=f"hash{n}")


def test_finalize_takes_the_next_number_with_the_status_change_or_nothing(store):
    for n in (1, 2, 3):
        store.create("acme", "invoice", invoice(n), name=str(n))
    assert store.invoice_sequence("acme") == Sequence(0, None)

    store.finalize("acme", finalization(1, 1))
    with pytest.raises(ConditionFailed):  # the counter moved on: this number is taken
        store.finalize("acme", finalization(2, 1))
    with pytest.raises(ConditionFailed):  # the draft changed since it was read
        store.finalize("acme", finalization(2, 2, expected_version=5))
    with pytest.raises(ConditionFailed):  # no longer a draft
        store.finalize("acme", finalization(1, 2, expected_version=1))

    assert store.get("acme", "invoice", "inv_0002")["status"] == "draft"
    assert store.invoice_sequence("acme") == Sequence(1, "2026-11-27")
    store.finalize("acme", finalization(2, 2, issue_date="2026-11-28"))
    assert store.invoice_sequence("acme") == Sequence(2, "2026-11-28")
    assert store.invoice_sequence("other") == Sequence(0, None)


def ledger(store) -> None:
    """Seven invoices: statuses, two customers, due dates, one open with nothing due."""
    rows = [
        (1, "draft", "cus_a", None, "10.00"),
        (2, "open", "cus_a", "2026-01-10", "10.00"),
        (3, "open", "cus_b", "2026-01-05", "10.00"),
        (4, "void", "cus_a", "2026-01-01", "10.00"),
        (5, "open", "cus_a", "2026-01-01", "0.00"),
        (6, "partially_paid", "cus_b", "2099-01-01", "5.00"),
        (7, "open", None, "2026-01-05", "10.00"),
    ]
    for n, status, customer, due, amount_due in rows:
        store.create(
            "acme",
            "invoice",
            invoice(n, status=status, customer_id=customer, due_date=due, amount_due=amount_due),
            name=str(n),
        )
    store.create("other", "invoice", invoice(8, status="open", due_date="2026-01-01"), name="8")


def every_page(store, query: InvoiceQuery | None, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(20):
        page = store.list("acme", "invoice", limit=limit, cursor=cursor, query=query)
        ids += [doc["id"] for doc in page.items]
        cursor = page.cursor
        if cursor is None:
            return ids
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (None, [7, 6, 5, 4, 3, 2, 1]),
        (InvoiceQuery(status="open"), [7, 5, 3, 2]),
        (InvoiceQuery(customer_id="cus_a"), [5, 4, 2, 1]),
        (InvoiceQuery(customer_id="cus_a", status="open"), [5, 2]),
        (InvoiceQuery(overdue_before="2026-06-01"), [3, 7, 2]),  # oldest due first, nothing-due and void left out
        (InvoiceQuery(overdue_before="2026-06-01", customer_id="cus_b"), [3]),
        (InvoiceQuery(not_overdue_before="2026-06-01"), [6, 5, 4, 1]),
    ],
    ids=["all", "status", "customer", "customer+status", "overdue", "overdue+customer", "not-overdue"],
)
@pytest.mark.parametrize("limit", [1, 2, 50])
def test_listings_are_ordered_filtered_and_paged_alike(store, query, expected, limit):
    ledger(store)

    assert every_page(store, query, limit) == [f"inv_{n:04d}" for n in expected]


def test_a_cursor_only_resumes_the_listing_that_issued_it(store):
    ledger(store)
    cursor = store.list("acme", "invoice", limit=1, cursor=None, query=InvoiceQuery(status="open")).cursor

    with pytest.raises(InvalidInput):
        store.list("acme", "invoice", limit=1, cursor=cursor, query=InvoiceQuery(overdue_before="2026-06-01"))
    with pytest.raises(InvalidInput):
        store.list("acme", "invoice", limit=1, cursor="not-a-cursor", query=None)


def test_a_document_is_stored_as_json_within_an_item_and_created_once(store):
    from decimal import Decimal

    from invoicing.domain.errors import TooLarge

    store.create("acme", "invoice", invoice(1), name="a")
    with pytest.raises(ConditionFailed):
        store.create("acme", "invoice", invoice(1), name="b")
    with pytest.raises(TypeError):  # money travels as strings, never as numbers
        store.create("acme", "invoice", invoice(2, amount_due=Decimal("1.00")), name="c")
    incompressible = "".join(chr(0x4E00 + (n * 7919) % 20000) for n in range(250_000))
    with pytest.raises(TooLarge):
        store.create("acme", "invoice", invoice(3, notes=incompressible), name="d")


@pytest.mark.parametrize("parts", [["table"], ["table", 5], ["table", "INV#x", "extra"], "table"])
def test_a_cursor_of_the_wrong_shape_is_refused(store, parts):
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()

    with pytest.raises(InvalidInput):
        store.list("acme", "invoice", limit=1, cursor=cursor, query=None)


def test_children_are_the_documents_of_one_parent_in_id_order(store):
    for id in ("inv_2.b", "inv_2.a", "inv_20.a", "inv_1.a"):
        store.create("acme", "delivery", {"id": id, "version": 1}, name=None)
    store.create("other", "delivery", {"id": "inv_2.c", "version": 1}, name=None)

    assert [doc["id"] for doc in store.children("acme", "delivery", "inv_2")] == ["inv_2.a", "inv_2.b"]
    assert store.children("acme", "delivery", "inv_3") == []


def changes_of(store: Any) -> list[tuple[str, str, int | None, int | None]]:
    """What the store's stream told since the last look, document by
    document: (tenant, kind, version before, version after)."""
    if isinstance(store, InMemoryStore):
        changes = store.take_changes()
    else:
        from invoicing.adapters.dynamodb import change_of
        from tests import piped

        changes = [change for record in piped.stream.read() if (change := change_of(record)) is not None]
    return [
        (change.tenant, change.kind, (change.old or {}).get("version"), (change.new or {}).get("version"))
        for change in changes
    ]


def test_every_document_write_is_one_change_with_both_images_in_commit_order(store):
    """The pipe reads the table's stream (old and new images); the fake's
    changes are the same, so use-case tests see the events AWS would."""
    changes_of(store)
    store.create("acme", "invoice", invoice(1), name="facture 1")
    store.replace("acme", "invoice", invoice(1, version=2), expected_version=1, old_name="facture 1", new_name="f")
    with pytest.raises(StaleVersion):
        store.replace("acme", "invoice", invoice(1, version=3), expected_version=1, old_name=None, new_name=None)
    store.create("acme", "customer", {"id": "cus_1", "name": "Dupont", "version": 1}, name="dupont")
    store.delete("acme", "invoice", "inv_0001", expected_version=2, name="f", require_draft=True)

    assert changes_of(store) == [
        ("acme", "invoice", None, 1),
        ("acme", "invoice", 1, 2),  # the refused write is no change
        ("acme", "customer", None, 1),
        ("acme", "invoice", 2, None),
    ]


def allowance(key: str, amount: int, limit: int | None, period: str = "2026-12-03") -> Allowance:
    return Allowance(key, period, amount, limit, 1_900_000_000)


def test_allowances_are_spent_all_or_none_and_never_past_their_limit(store):
    store.spend([allowance("tenant:acme:email", 3, 5), allowance("recipient:x", 3, 10)])
    with pytest.raises(ConditionFailed) as refused:
        store.spend([allowance("recipient:x", 1, 10), allowance("tenant:acme:email", 3, 5)])
    assert refused.value.failed == [1]
    assert store.counted("recipient:x", "2026-12-03") == 3  # the allowance that fitted was not counted either
    store.spend([allowance("tenant:acme:email", 2, 5)])  # exactly up to the limit
    assert store.counted("tenant:acme:email", "2026-12-03") == 5
    assert store.counted("tenant:acme:email", "2026-12-04") == 0  # another period starts from nothing
    store.spend([allowance("tenant:acme:email", 7, None)])  # counted, never refused
    assert store.counted("tenant:acme:email", "2026-12-03") == 12
    for amount, limit in ((1, 0), (3, 2)):  # more than the limit on a counter that does not exist yet
        with pytest.raises(ConditionFailed):
            store.spend([allowance("tenant:new:sms", amount, limit)])
    assert store.counted("tenant:new:sms", "2026-12-03") == 0
    store.spend([allowance("tenant:acme:email", -2, None)])  # given back
    assert store.counted("tenant:acme:email", "2026-12-03") == 10


def test_concurrent_spenders_never_pass_a_limit(store):
    from concurrent.futures import ThreadPoolExecutor

    def spend_one(_: int) -> bool:
        try:
            store.spend([allowance("tenant:acme:sms", 1, 5)])
        except ConditionFailed:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        spent = list(pool.map(spend_one, range(12)))

    assert spent.count(True) == 5
    assert store.counted("tenant:acme:sms", "2026-12-03") == 5


def test_an_invoices_page_opened_is_kept_beside_it_and_a_write_of_what_was_read_before_loses(store):
    """mark_viewed writes no new version: a writer that read the invoice
    before its page was opened must read it again, not erase the opening."""
    store.create("acme", "invoice", invoice(1, status="open", version=3), name=None)
    before = store.get("acme", "invoice", "inv_0001")

    assert store.mark_viewed("acme", "inv_0001", 3, "2026-12-04T10:00:00.000Z") is True
    assert store.mark_viewed("acme", "inv_0001", 3, "2026-12-04T11:00:00.000Z") is False  # this version: once
    assert store.mark_viewed("acme", "inv_0001", 2, "2026-12-04T11:00:00.000Z") is False  # not its version
    with pytest.raises(StaleVersion):
        store.replace("acme", "invoice", {**before, "version": 4}, expected_version=3, old_name=None, new_name=None)

    again = store.get("acme", "invoice", "inv_0001")
    assert (again["version"], again["viewed_version"], again["viewed_at"]) == (3, 3, "2026-12-04T10:00:00.000Z")
    store.replace("acme", "invoice", {**again, "version": 4}, expected_version=3, old_name=None, new_name=None)
    assert store.mark_viewed("acme", "inv_0001", 4, "2026-12-05T09:00:00.000Z") is True
    latest = store.get("acme", "invoice", "inv_0001")
    assert latest["viewed_at"] == "2026-12-04T10:00:00.000Z"  # the first opening, whatever the version
    assert (latest["viewed_version"], latest["version_viewed_at"]) == (4, "2026-12-05T09:00:00.000Z")
