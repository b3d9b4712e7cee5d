"""Races through the threaded gateway and concurrent Lambda workers against the
linearizable emulation (SPEC §2, §5, §6): numbering without gaps or twins,
optimistic locking, idempotency, name uniqueness."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, patiently

pytestmark = pytest.mark.e2e

LINE = {"name": "Conseil", "unit_price": "100", "taxes": [{"name": "TVA", "rate": "20"}]}


def all_at_once(calls: list[Callable[[], Any]], retry_on: tuple[int, ...] = (429, 503)) -> list[Any]:
    """Run `calls` from one thread each, released together by a barrier;
    each retried while the platform says it is busy (503, 429), as a real
    client does (contention on this machine's two cores is the point here)."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        return patiently(call, retry_on=retry_on)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _draft(client, name: str, customer_id: str) -> dict[str, Any]:
    reply = client.post("/invoices", {"name": name, "customer_id": customer_id, "lines": [LINE]})
    assert reply.status == 201, reply.body
    return reply.body


def _all_invoices(client) -> list[dict[str, Any]]:
    items, cursor = [], None
    for _ in range(50):
        reply = client.get("/invoices?limit=200" + (f"&cursor={cursor}" if cursor else ""))
        assert reply.status == 200, reply.body
        items += reply.body["items"]
        cursor = reply.body["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("pagination did not end")


def test_given_12_drafts_when_finalized_concurrently_then_numbers_are_exactly_inv_1_to_12(client, ready):
    drafts = [_draft(client, f"Facture {i}", ready["customer"]["id"]) for i in range(12)]

    replies = all_at_once([lambda d=d: client.post(f"/invoices/{d['id']}/mark-sent") for d in drafts])

    assert [reply.status for reply in replies] == [200] * 12, [r.body for r in replies if r.status != 200]
    numbers = sorted((reply.body["number"] for reply in replies), key=lambda n: int(n.removeprefix("INV-")))
    assert numbers == [f"INV-{n}" for n in range(1, 13)]
    stored = {item["id"]: item["number"] for item in _all_invoices(client)}
    assert stored == {reply.body["id"]: reply.body["number"] for reply in replies}


def test_given_a_draft_when_8_patches_race_with_the_same_version_then_one_wins_and_7_are_stale(client):
    draft = client.post("/invoices", {"name": "Course", "lines": [LINE]}).body
    version = draft["version"]

    replies = all_at_once(
        [
            lambda i=i: client.patch(f"/invoices/{draft['id']}", {"version": version, "notes": f"writer {i}"})
            for i in range(8)
        ]
    )

    statuses = Counter(reply.status for reply in replies)
    assert statuses == {200: 1, 409: 7}, [reply.body for reply in replies]
    assert all(r.body["error"]["code"] == "stale_version" for r in replies if r.status == 409)
    winner = next(reply.body for reply in replies if reply.status == 200)
    final = client.get(f"/invoices/{draft['id']}").body
    assert final["version"] == version + 1
    assert final["notes"] == winner["notes"]


def test_given_one_key_when_8_identical_creates_race_then_exactly_one_invoice(client):
    body = {"name": "Une seule fois", "lines": [LINE]}
    headers = {"Idempotency-Key": f"race-{client.tenant}"}

    replies = all_at_once([lambda: client.post("/invoices", body, headers=headers) for _ in range(8)])

    assert {reply.status for reply in replies} <= {201, 409}, [(r.status, r.body) for r in replies]
    created = {reply.body["id"] for reply in replies if reply.status == 201}
    assert len(created) == 1
    assert all(r.body["error"]["code"] == "request_in_progress" for r in replies if r.status == 409)
    assert [item["id"] for item in _all_invoices(client)] == list(created)


def test_given_one_key_when_a_race_settles_then_a_retry_replays_the_invoice(client):
    body = {"name": "Rejouée", "lines": [LINE]}
    headers = {"Idempotency-Key": f"settle-{client.tenant}"}
    all_at_once([lambda: client.post("/invoices", body, headers=headers) for _ in range(4)])

    retry = client.post("/invoices", body, headers=headers)

    assert retry.status == 201
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert [item["id"] for item in _all_invoices(client)] == [retry.body["id"]]


def test_given_one_draft_when_finalized_from_6_threads_then_one_number_is_consumed(client, ready):
    draft = _draft(client, "Une fois", ready["customer"]["id"])

    replies = all_at_once([lambda: client.post(f"/invoices/{draft['id']}/mark-sent") for _ in range(6)])

    assert [reply.status for reply in replies] == [200] * 6, [r.body for r in replies]
    assert {reply.body["number"] for reply in replies} == {"INV-1"}
    assert {reply.body["payment_link"] for reply in replies} == {replies[0].body["payment_link"]}
    following = _draft(client, "La suivante", ready["customer"]["id"])
    assert client.post(f"/invoices/{following['id']}/mark-sent").body["number"] == "INV-2"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/customers", {"name": "Même Nom"}),
        ("/products", {"name": "Même Nom", "unit_price": "10"}),
        ("/invoices", {"name": "Même Nom", "lines": [LINE]}),
    ],
)
def test_when_8_creates_race_with_the_same_name_then_one_201_and_seven_409(client, path, body):
    variants = [{**body, "name": name} for name in ("Même Nom", "même nom", "MÊME NOM", " Même  Nom ")] * 2

    replies = all_at_once([lambda b=b: client.post(path, b) for b in variants])

    assert Counter(reply.status for reply in replies) == {201: 1, 409: 7}, [r.body for r in replies]
    assert all(r.body["error"]["code"] == "name_taken" for r in replies if r.status == 409)
    assert len(client.get(path).body["items"]) == 1


def test_given_two_tenants_when_both_finalize_concurrently_then_each_numbers_from_1(client, ready, new_client):
    other = new_client()
    other.put("/business", BUSINESS)
    other_customer = other.post("/customers", {"name": "Client", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN}).body
    mine = [_draft(client, f"A{i}", ready["customer"]["id"]) for i in range(4)]
    theirs = [_draft(other, f"A{i}", other_customer["id"]) for i in range(4)]

    replies = all_at_once(
        [lambda d=d: client.post(f"/invoices/{d['id']}/mark-sent") for d in mine]
        + [lambda d=d: other.post(f"/invoices/{d['id']}/mark-sent") for d in theirs]
    )

    assert sorted(r.body["number"] for r in replies[:4]) == ["INV-1", "INV-2", "INV-3", "INV-4"]
    assert sorted(r.body["number"] for r in replies[4:]) == ["INV-1", "INV-2", "INV-3", "INV-4"]


def test_given_5_drafts_when_each_is_patched_while_finalized_then_issued_invoices_match_one_outcome(client, ready):
    """A PATCH either lands before the finalization (and is in the issued invoice) or is refused:
    an issued invoice never changes."""
    drafts = [_draft(client, f"Course {i}", ready["customer"]["id"]) for i in range(5)]
    patch = {"version": 1, "notes": "patched", "lines": [{**LINE, "quantity": "2"}]}
    calls = []
    for d in drafts:
        calls += [
            lambda d=d: client.post(f"/invoices/{d['id']}/mark-sent"),
            lambda d=d: client.patch(f"/invoices/{d['id']}", patch),
        ]

    replies = all_at_once(calls)

    for d, finalized, patched in zip(drafts, replies[::2], replies[1::2], strict=True):
        assert finalized.status == 200, finalized.body
        issued = client.get(f"/invoices/{d['id']}").body
        assert issued["status"] == "open"
        if patched.status == 200:
            assert (issued["notes"], issued["totals"]["subtotal"], issued["version"]) == ("patched", "200.00", 3)
        else:
            assert patched.status == 409, patched.body
            assert patched.body["error"]["code"] == "invoice_not_editable"
            assert (issued["notes"], issued["totals"]["subtotal"], issued["version"]) == (None, "100.00", 2)
        assert issued == finalized.body


def test_given_6_drafts_when_each_is_deleted_while_finalized_then_no_number_is_lost(client, ready):
    drafts = [_draft(client, f"Course {i}", ready["customer"]["id"]) for i in range(6)]
    calls = []
    for d in drafts:
        calls += [
            lambda d=d: client.post(f"/invoices/{d['id']}/mark-sent"),
            lambda d=d: client.delete(f"/invoices/{d['id']}"),
        ]

    replies = all_at_once(calls)

    numbers = []
    for finalized, deleted in zip(replies[::2], replies[1::2], strict=True):
        outcome = (finalized.status, deleted.status)
        assert outcome in {(200, 409), (404, 204)}, (finalized.body, deleted.body)
        if finalized.status == 200:
            numbers.append(int(finalized.body["number"].removeprefix("INV-")))
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    following = _draft(client, "La suivante", ready["customer"]["id"])
    assert client.post(f"/invoices/{following['id']}/mark-sent").body["number"] == f"INV-{len(numbers) + 1}"


def test_given_50_concurrent_payments_of_1_on_50_then_paid_exactly_and_a_51st_is_a_409(client, ready):
    draft = client.post(
        "/invoices",
        {"name": "Cinquante", "customer_id": ready["customer"]["id"], "lines": [{"name": "X", "unit_price": "50"}]},
    ).body
    invoice = client.post(f"/invoices/{draft['id']}/mark-sent").body
    assert invoice["amount_due"] == "50.00"

    def pay(key: str) -> Any:
        """The same Idempotency-Key on every try (all_at_once retries a busy platform's 503)."""
        return client.post(
            f"/invoices/{invoice['id']}/payments",
            {"method": "cash", "amount": "1.00"},
            headers={"Idempotency-Key": key},
        )

    replies = all_at_once([lambda n=n: pay(f"pay-{n}") for n in range(50)])
    extra = client.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "1.00"})

    assert [reply.status for reply in replies] == [201] * 50, Counter(reply.status for reply in replies)
    assert extra.status == 409
    stored = client.get(f"/invoices/{invoice['id']}").body
    assert (stored["status"], stored["amount_paid"], stored["amount_due"]) == ("paid", "50.00", "0.00")
    payments = client.get(f"/invoices/{invoice['id']}/payments?limit=200").body["items"]
    assert len(payments) == len({p["id"] for p in payments}) == 50


def _issued(client, name: str, customer_id: str, quantity: int = 1) -> dict[str, Any]:
    draft = client.post(
        "/invoices", {"name": name, "customer_id": customer_id, "lines": [{**LINE, "quantity": quantity}]}
    )
    assert draft.status == 201, draft.body
    issued = client.post(f"/invoices/{draft.body['id']}/mark-sent")
    assert issued.status == 200, issued.body
    return issued.body


def test_given_10_credit_notes_at_once_then_numbers_are_exactly_av_1_to_10(client, ready):
    """Over two invoices, so that the credit notes race for the series, not
    only for their invoice's version."""
    first, second = (_issued(client, f"Facture {i}", ready["customer"]["id"], quantity=10) for i in (1, 2))
    calls = [
        lambda invoice=invoice: client.post(f"/invoices/{invoice['id']}/credit-notes", {"amount": "12.00"})
        for invoice in [first, second] * 5
    ]

    replies = all_at_once(calls)

    assert [reply.status for reply in replies] == [201] * 10, [r.body for r in replies if r.status != 201]
    numbers = sorted((reply.body["number"] for reply in replies), key=lambda n: int(n.removeprefix("AV-")))
    assert numbers == [f"AV-{n}" for n in range(1, 11)]
    for invoice in (first, second):
        after = client.get(f"/invoices/{invoice['id']}").body
        assert (after["credited"], after["amount_due"], len(after["credit_notes"])) == ("60.00", "1140.00", 5)


def test_given_one_invoice_voided_from_6_threads_then_one_credit_note(client, ready):
    invoice = _issued(client, "Annulée", ready["customer"]["id"])

    replies = all_at_once([lambda: client.post(f"/invoices/{invoice['id']}/void") for _ in range(6)])

    assert sorted(reply.status for reply in replies).count(200) >= 1, [r.body for r in replies]
    assert {reply.status for reply in replies} <= {200, 409}
    after = client.get(f"/invoices/{invoice['id']}").body
    assert (after["status"], after["credited"], len(after["credit_notes"])) == ("void", "120.00", 1)
    assert after["credit_notes"][0]["number"] == "AV-1"


def test_given_one_key_when_a_credit_note_is_asked_6_times_at_once_then_one_is_issued(client, ready):
    invoice = _issued(client, "Remboursée", ready["customer"]["id"])
    headers = {"Idempotency-Key": f"refund-{client.tenant}"}
    path = f"/invoices/{invoice['id']}/credit-notes"

    replies = all_at_once([lambda: client.post(path, {"amount": "24.00"}, headers=headers) for _ in range(6)])

    assert {reply.status for reply in replies} <= {201, 409}, [(r.status, r.body) for r in replies]
    assert len({reply.body["id"] for reply in replies if reply.status == 201}) == 1
    after = client.get(f"/invoices/{invoice['id']}").body
    assert (after["credited"], len(after["credit_notes"])) == ("24.00", 1)


def _estimate(client, name: str, customer_id: str) -> dict[str, Any]:
    reply = client.post("/estimates", {"name": name, "customer_id": customer_id, "lines": [LINE],
                                       "deposit": {"type": "percentage", "value": "30"}})  # fmt: skip
    assert reply.status == 201, reply.body
    return reply.body


def test_given_6_estimates_sent_at_once_with_invoices_then_d_1_to_6_and_no_invoice_number_lost(client, ready):
    """The estimates' series is its own, gap-free under concurrency, and
    numbering estimates and invoices at once takes nothing from either."""
    estimates = [_estimate(client, f"Devis {i}", ready["customer"]["id"]) for i in range(6)]
    drafts = [_draft(client, f"Facture {i}", ready["customer"]["id"]) for i in range(3)]

    replies = all_at_once(
        [lambda e=e: client.post(f"/estimates/{e['id']}/mark-sent") for e in estimates]
        + [lambda d=d: client.post(f"/invoices/{d['id']}/mark-sent") for d in drafts]
    )

    assert [reply.status for reply in replies] == [200] * 9, [r.body for r in replies if r.status != 200]
    assert sorted(reply.body["number"] for reply in replies[:6]) == [f"D-{n}" for n in range(1, 7)]
    assert sorted(reply.body["number"] for reply in replies[6:]) == [f"INV-{n}" for n in range(1, 4)]


def test_given_an_accepted_estimate_when_4_deposit_invoices_are_asked_at_once_then_one_is_issued(client, ready):
    import requests

    estimate = _estimate(client, "Devis chantier", ready["customer"]["id"])
    link = client.post(f"/estimates/{estimate['id']}/mark-sent").body["quote_link"]
    answer = requests.post(
        f"{link}/accept", data={"name": "Jean Dupont", "agree": "on"}, allow_redirects=False, timeout=30
    )  # fmt: skip  (the client's answer, on its page)
    assert answer.status_code == 303, answer.text
    path = f"/estimates/{estimate['id']}/invoices"

    replies = all_at_once([lambda: client.post(path, {"kind": "deposit"}) for _ in range(4)])

    made = {reply.body["id"] for reply in replies if reply.status == 201}
    assert len(made) == 1, [reply.body for reply in replies]
    assert {reply.status for reply in replies} <= {201, 409}
    deposits = [item for item in _all_invoices(client) if item["kind"] == "deposit"]
    assert [(item["id"], item["status"], item["totals"]["total"]) for item in deposits] == [
        (made.pop(), "open", "36.00")
    ]
