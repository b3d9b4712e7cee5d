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


# -- the by_date index: Store.dated and listings searched or sorted (SPEC §14) ------------


def issued_on(n: int, day: str, number: str, **fields: Any) -> dict[str, Any]:
    """An issued invoice: its number and issue date."""
    return invoice(n, **{"status": "open", **fields}, number=number, issue_date=day)


def dated_ledger(store: Any, kind: str = "invoice") -> None:
    """Six issued documents over five days — three on 2026-01-03 whose ids
    do not follow their numbers, INV-10 and INV-11 after INV-9 — a draft
    dated within the range, and another tenant's document that day."""
    docs = [
        invoice(1, issue_date="2026-01-03"),  # a draft, whatever date it says
        issued_on(2, "2026-01-01", "INV-1"),
        issued_on(3, "2026-01-02", "INV-2"),
        issued_on(4, "2026-01-03", "INV-11"),
        issued_on(5, "2026-01-03", "INV-9"),
        issued_on(6, "2026-01-03", "INV-10"),
        issued_on(7, "2026-01-04", "INV-12", status="void"),
        issued_on(8, "2026-01-05", "INV-13", status="paid", amount_due="0.00"),
    ]
    for doc in docs:
        store.create("acme", kind, doc, name=None)
    store.create("other", kind, issued_on(9, "2026-01-03", "INV-1"), name=None)


def every_dated(store: Any, kind: str, start: str, end: str, limit: int) -> list[str]:
    """Every page of `dated`, followed through its cursors: the ids in order."""
    ids: list[str] = []
    cursor = None
    for _ in range(30):
        page = store.dated("acme", kind, start=start, end=end, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        ids += [doc["id"] for doc in page.items]
        cursor = page.cursor
        if cursor is None:
            return ids
    raise AssertionError("pagination did not end")


def ids(*numbers: int) -> list[str]:
    return [f"inv_{n:04d}" for n in numbers]


@pytest.mark.parametrize("kind", ["invoice", "estimate", "credit_note"])
@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-01-01", "2026-01-05", [2, 3, 5, 6, 4, 7, 8]),
        ("2026-01-02", "2026-01-04", [3, 5, 6, 4, 7]),  # both ends included
        ("2026-01-03", "2026-01-03", [5, 6, 4]),  # one day: INV-9, INV-10, INV-11, neither by id nor as text
        ("0000-01-01", "9999-12-31", [2, 3, 5, 6, 4, 7, 8]),  # never a draft
        ("2025-01-01", "2025-12-31", []),
    ],
    ids=["all", "inclusive", "one-day", "no-drafts", "empty"],
)
@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_dated_gives_issued_documents_of_the_range_oldest_first_then_by_number_each_once(
    store, kind, start, end, expected, limit
):
    dated_ledger(store, kind)

    assert every_dated(store, kind, start, end, limit) == ids(*expected)


def test_dated_gives_payment_entries_by_the_day_received_each_once_across_pages(store):
    for id, paid_at in [("inv_0003.pay_b", "2026-01-02"), ("inv_0002.pay_a", "2026-01-03"),
                        ("inv_0002.pay_c", "2026-01-02"), ("inv_0002.pay_d", "2026-01-06")]:  # fmt: skip
        store.create("acme", "payment_entry", {"id": id, "version": 1, "paid_at": paid_at, "amount": "5.00"}, name=None)
    store.create("other", "payment_entry", {"id": "inv_0002.pay_e", "version": 1, "paid_at": "2026-01-02"}, name=None)

    for limit in (1, 2, 50):
        assert every_dated(store, "payment_entry", "2026-01-02", "2026-01-03", limit) == [
            "inv_0002.pay_c",
            "inv_0003.pay_b",
            "inv_0002.pay_a",
        ]


def encoded(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_dated_refuses_a_cursor_outside_its_range_or_garbage_on_cursor(store):
    dated_ledger(store)
    first = store.dated("acme", "invoice", start="2026-01-01", end="2026-01-05", limit=1, cursor=None)
    last = store.dated("acme", "invoice", start="2026-01-04", end="2026-01-05", limit=1, cursor=None)
    assert None not in (first.cursor, last.cursor)
    inside = store.dated("acme", "invoice", start="2026-01-01", end="2026-01-02", limit=1, cursor=first.cursor)
    assert [doc["id"] for doc in inside.items] == ids(3)  # within its range, a cursor resumes another range

    refused = [
        ("2026-01-02", "2026-01-05", first.cursor),  # it points before the range
        ("2026-01-01", "2026-01-03", last.cursor),  # after it
        ("2026-01-01", "2026-01-05", "not-a-cursor"),
        ("2026-01-01", "2026-01-05", encoded("~#inv_0001")),  # a draft's place: never in a range
        ("2026-01-01", "2026-01-05", encoded("2026-01-03#inv_0001#junk")),
        ("2026-01-01", "2026-01-05", encoded("2026-01-03")),
        ("2026-01-01", "2026-01-05", "%%%"),
        ("2026-01-01", "2026-01-05", store.list("acme", "invoice", limit=1, cursor=None).cursor),  # a listing's
    ]
    for start, end, cursor in refused:
        with pytest.raises(InvalidInput) as error:
            store.dated("acme", "invoice", start=start, end=end, limit=1, cursor=cursor)
        assert [e.field for e in error.value.errors] == ["cursor"], (start, end, cursor)


def search_ledger(store: Any) -> None:
    """Eight invoices to search: two drafts (one due, naming its customer;
    one with no date at all), six issued over four days (three the same
    day, numbered against their ids), and another tenant's."""
    sg, dupont, martin = ({"name": "Société Générale"}, {"name": "Dupont & Fils"}, {"name": "Martin"})
    docs = [
        invoice(1, name="Brouillon Été", customer_id="cus_sg", due_date="2026-02-10",
                draft_customer_name="Société Générale"),
        issued_on(2, "2026-01-01", "INV-1", name="Site web", customer_id="cus_dupont", customer=dupont,
                  due_date="2026-01-31"),
        issued_on(3, "2026-01-02", "INV-2", name="Maintenance", customer_id="cus_sg", customer=sg,
                  due_date="2026-02-01"),
        issued_on(4, "2026-01-03", "INV-11", name="Audit", customer_id="cus_dupont", customer=dupont,
                  due_date="2026-02-02"),
        issued_on(5, "2026-01-03", "INV-9", name="Hébergement", customer_id="cus_sg", customer=sg,
                  due_date="2026-02-03", status="paid", amount_due="0.00"),
        issued_on(6, "2026-01-03", "INV-10", name="Formation", customer_id="cus_martin", customer=martin,
                  due_date="2026-02-10"),
        issued_on(7, "2026-01-04", "INV-12", name="Annulée", customer_id="cus_dupont", customer=dupont,
                  due_date="2026-02-04", status="void"),
        invoice(8, name="Brouillon sans date"),
    ]  # fmt: skip
    for doc in docs:
        store.create("acme", "invoice", doc, name=None)
    store.create("other", "invoice", issued_on(9, "2026-01-03", "INV-1", name="Site web", customer=sg), name=None)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (InvoiceQuery(order="issue_date"), [2, 3, 5, 6, 4, 7, 1, 8]),  # drafts after every day
        (InvoiceQuery(order="-issue_date"), [8, 1, 7, 4, 6, 5, 3, 2]),  # and first, newest first
        (InvoiceQuery(issued_from="2026-01-02", issued_to="2026-01-03"), [4, 6, 5, 3]),
        (InvoiceQuery(issued_from="2026-01-02", issued_to="2026-01-03", order="issue_date"), [3, 5, 6, 4]),
        (InvoiceQuery(issued_from="2026-01-03", order="issue_date"), [5, 6, 4, 7]),
        (InvoiceQuery(issued_to="2026-01-02", order="issue_date"), [2, 3]),
        (InvoiceQuery(issued_from="2026-01-05"), []),
        (InvoiceQuery(due_from="2026-02-01", due_to="2026-02-04"), [7, 5, 4, 3]),  # both ends included
        (InvoiceQuery(due_from="2026-02-10"), [6, 1]),
        (InvoiceQuery(due_to="2026-01-31", order="issue_date"), [2]),
        (InvoiceQuery(due_from="2026-02-02", due_to="2026-02-03", issued_from="2026-01-03", order="-issue_date"),
         [4, 5]),
        (InvoiceQuery(words=("societe", "generale")), [5, 3, 1]),  # the draft by the name kept for it
        (InvoiceQuery(words=("inv-1",)), [7, 6, 4, 2]),  # INV-1, INV-10, INV-11, INV-12
        (InvoiceQuery(words=("gen", "inv-"), order="issue_date"), [3, 5]),
        (InvoiceQuery(words=("hebergement",)), [5]),
        (InvoiceQuery(words=("dupont", "maintenance")), []),  # every word, or nothing
        (InvoiceQuery(words=("dupont",), status="open", order="issue_date"), [2, 4]),
        (InvoiceQuery(customer_id="cus_sg", order="-issue_date"), [1, 5, 3]),
        (InvoiceQuery(overdue_before="2026-02-02", order="issue_date"), [2, 3]),
        (InvoiceQuery(not_overdue_before="2026-02-02", words=("dupont",), order="-issue_date"), [7, 4]),
    ],
    ids=[
        "ascending", "descending", "issued", "issued-ascending", "issued-from", "issued-to", "issued-none",
        "due", "due-from", "due-to", "due-and-issued", "words", "number-words", "words-ascending", "accent",
        "all-words", "words-status", "customer-descending", "overdue-ascending", "not-overdue-words",
    ],
)  # fmt: skip
@pytest.mark.parametrize("limit", [1, 2, 50])
def test_searched_and_dated_listings_are_ordered_filtered_and_paged_alike(store, query, expected, limit):
    search_ledger(store)

    assert every_page(store, query, limit) == ids(*expected)


def test_a_search_never_reads_another_tenants_documents(store):
    search_ledger(store)

    for query in (InvoiceQuery(words=("site",)), InvoiceQuery(issued_from="2026-01-03", issued_to="2026-01-03")):
        page = store.list("acme", "invoice", limit=50, cursor=None, query=query)
        assert "inv_0009" not in [doc["id"] for doc in page.items]
    theirs = store.list("other", "invoice", limit=50, cursor=None, query=InvoiceQuery(order="issue_date"))
    assert [doc["id"] for doc in theirs.items] == ids(9)


def test_a_dated_listings_cursor_resumes_only_that_listing(store):
    search_ledger(store)
    ascending = InvoiceQuery(order="issue_date")
    first = store.list("acme", "invoice", limit=1, cursor=None, query=ascending).cursor  # after INV-1, 2026-01-01
    a_draft = store.list("acme", "invoice", limit=1, cursor=None, query=InvoiceQuery(order="-issue_date")).cursor
    table = store.list("acme", "invoice", limit=1, cursor=None, query=None).cursor
    assert all((first, a_draft, table))
    resumed = store.list("acme", "invoice", limit=1, cursor=first, query=ascending._replace(words=("inv",)))
    assert [doc["id"] for doc in resumed.items] == ids(3)  # the same index and order, narrowed: resumed

    refused = [
        (table, ascending),  # another index's
        (first, None),
        (first, InvoiceQuery(order="-issue_date")),  # the other direction
        (first, InvoiceQuery(issued_from="2026-01-02", order="issue_date")),  # a place before the range
        (a_draft, InvoiceQuery(issued_to="2026-01-31", order="-issue_date")),  # a draft's place: outside any range
        ("not-a-cursor", ascending),
    ]
    for cursor, query in refused:
        with pytest.raises(InvalidInput) as error:
            store.list("acme", "invoice", limit=1, cursor=cursor, query=query)
        assert [e.field for e in error.value.errors] == ["cursor"], query
