"""Attachments through the local runtime: the browser's upload is a real
multipart POST to the emulated S3 with the form the API signed; the limits
hold under concurrent requests."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.e2e.test_concurrency import all_at_once

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.7\n% a timesheet\n" + b"1" * 4000


def draft_of(client: Any, ready: dict[str, Any]) -> dict[str, Any]:
    body = {
        "name": "Avec pièces",
        "customer_id": ready["customer"]["id"],
        "lines": [{"name": "Cours", "unit_price": "40"}],
    }
    reply = client.post("/invoices", body)
    assert reply.status == 201, reply.body
    return reply.body


def upload(form: dict[str, Any], data: bytes, filename: str = "temps.pdf") -> requests.Response:
    """What a browser does with the form: its fields, then the file, last."""
    return requests.post(form["url"], data=form["fields"], files={"file": (filename, data)}, timeout=30)


def concurrently(count: int, action: Any) -> list[Any]:
    """`count` calls of `action` at once, each retried while the platform is busy (503, after its Retry-After)."""
    return all_at_once([action] * count)


def test_upload_with_the_signed_form_confirm_and_download(client, ready):
    invoice = draft_of(client, ready)
    reserved = client.post(
        f"/invoices/{invoice['id']}/attachments",
        {"filename": "Relevé d'heures.pdf", "content_type": "application/pdf", "size": len(PDF)},
    )
    assert reserved.status == 201, reserved.body

    uploaded = upload(reserved.body["upload"], PDF)
    confirmed = client.post(f"/invoices/{invoice['id']}/attachments/{reserved.body['id']}/confirm")
    link = client.get(f"/invoices/{invoice['id']}/attachments/{reserved.body['id']}")
    download = requests.get(link.body["url"], timeout=30)

    assert uploaded.status_code in (200, 204), uploaded.text
    assert confirmed.status == 200, confirmed.body
    assert confirmed.body["size"] == len(PDF)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''Relev%C3%A9%20d%27heures.pdf" in download.headers["Content-Disposition"]


def test_twelve_concurrent_reservations_on_one_draft_give_ten_places_and_two_409(client, ready):
    invoice = draft_of(client, ready)
    body = {"filename": "a.pdf", "content_type": "application/pdf", "size": 100}

    statuses = [
        reply.status for reply in concurrently(12, lambda: client.post(f"/invoices/{invoice['id']}/attachments", body))
    ]

    assert sorted(statuses) == [201] * 10 + [409] * 2
    assert client.post(f"/invoices/{invoice['id']}/attachments", body).status == 409


def test_the_same_upload_confirmed_concurrently_is_listed_once(client, ready):
    invoice = draft_of(client, ready)
    reserved = client.post(
        f"/invoices/{invoice['id']}/attachments", {"filename": "a.pdf", "content_type": "application/pdf", "size": 10}
    ).body
    assert upload(reserved["upload"], PDF).status_code in (200, 204)

    replies = concurrently(4, lambda: client.post(f"/invoices/{invoice['id']}/attachments/{reserved['id']}/confirm"))

    assert [reply.status for reply in replies] == [200] * 4
    assert {reply.body["uploaded_at"] for reply in replies} == {replies[0].body["uploaded_at"]}
    listed = client.get(f"/invoices/{invoice['id']}/attachments").body["items"]
    assert [item["id"] for item in listed] == [reserved["id"]]


def test_a_reservation_sent_concurrently_with_one_idempotency_key_takes_one_place(client, ready):
    invoice = draft_of(client, ready)
    body = {"filename": "a.pdf", "content_type": "application/pdf", "size": 10}
    headers = {"Idempotency-Key": f"attach-{invoice['id']}"}

    replies = concurrently(4, lambda: client.post(f"/invoices/{invoice['id']}/attachments", body, headers=headers))

    created = [reply for reply in replies if reply.status == 201]
    assert created, [reply.body for reply in replies]
    assert {reply.body["id"] for reply in created} == {created[0].body["id"]}
    assert all(reply.status in (201, 409) for reply in replies)  # 409: the first is still in progress
    for _ in range(9):  # nine places left, exactly
        assert client.post(f"/invoices/{invoice['id']}/attachments", body).status == 201
    assert client.post(f"/invoices/{invoice['id']}/attachments", body).status == 409
