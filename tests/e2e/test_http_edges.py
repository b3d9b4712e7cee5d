"""The HTTP edge of the local runtime: size limit, malformed bodies and CORS,
as a browser-based frontend meets them (SPEC §1, §5, §6.1)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import SPEC_INVOICE

pytestmark = pytest.mark.e2e


def test_when_the_body_is_over_1_mb_then_413_naming_the_limit(client):
    reply = client.post("/invoices", {"name": "Trop gros", "notes": "n" * 1_100_000})

    assert reply.status == 413
    assert reply.body["error"]["code"] == "too_large"
    assert "1 MB" in reply.body["error"]["message"]
    assert client.get("/invoices").body["items"] == []


def test_when_the_body_is_over_1_mb_of_multibyte_text_then_413(client):
    raw = json.dumps(
        {"name": "Accents", "lines": [{"name": "l", "unit_price": "1", "description": "é" * 700}] * 1000},
        ensure_ascii=False,
    ).encode()
    assert len(raw) > 1_400_000

    reply = client.post("/invoices", raw=raw, headers={"Content-Type": "application/json; charset=utf-8"})

    assert reply.status == 413, reply.status


def test_when_the_totals_body_is_over_1_mb_then_413(client):
    reply = client.post("/totals", {**SPEC_INVOICE, "notes": "n" * 1_100_000})

    assert reply.status == 413


@pytest.mark.parametrize("raw", [b"{bad", b'{"name": ', b"\xff\xfe{}", b"\x80\x81"])
def test_when_the_body_is_malformed_json_then_400(client, raw):
    reply = client.post("/invoices", raw=raw)

    assert reply.status == 400, (reply.status, reply.body)
    assert reply.body["error"]["code"] == "malformed_json"


def test_when_the_totals_body_is_malformed_json_then_400(client):
    reply = client.post("/totals", raw=b"{bad")

    assert reply.status == 400
    assert reply.body["error"]["code"] == "malformed_json"


def test_when_a_browser_sends_a_preflight_then_204_with_cors_headers(http):
    reply = requests.options(
        f"{http.base_url}/invoices",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key,if-match",
        },
        timeout=10,
    )

    assert reply.status_code == 204
    assert reply.headers["Access-Control-Allow-Origin"] in ("*", "http://localhost:5173")
    allowed_headers = {h.strip().lower() for h in reply.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "if-match"} <= allowed_headers
    allowed_methods = {m.strip() for m in reply.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= allowed_methods


@pytest.mark.parametrize("path", ["/invoices/inv_1/mark-sent", "/totals", "/business"])
def test_when_a_preflight_comes_for_any_route_then_204_without_a_token(http, path):
    reply = requests.options(f"{http.base_url}{path}", headers={"Origin": "http://localhost:5173"}, timeout=10)

    assert reply.status_code == 204
    assert "Access-Control-Allow-Origin" in reply.headers


def test_given_a_browser_when_it_reads_a_201_then_location_replay_and_retry_headers_are_exposed(client):
    reply = client.post("/invoices", {"name": "CORS"}, headers={"Origin": "http://localhost:5173"})

    assert reply.status == 201
    assert "Access-Control-Allow-Origin" in reply.headers
    exposed = {h.strip().lower() for h in reply.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"location", "idempotent-replayed", "retry-after"} <= exposed


def test_given_a_browser_when_it_gets_a_401_then_the_response_still_carries_cors(http):
    """Without CORS headers on errors the frontend sees a network error, not a 401."""
    reply = http.get("/customers", tenant=None, headers={"Origin": "http://localhost:5173"})

    assert reply.status == 401
    assert "Access-Control-Allow-Origin" in reply.headers


def test_when_json_numbers_go_through_http_then_they_are_read_exactly(client):
    raw = b'{"lines": [{"name": "a", "quantity": 1, "unit_price": 1.005}], "currency": "EUR"}'

    reply = client.post("/totals", raw=raw)

    assert reply.status == 200
    assert reply.body["subtotal"] == "1.01"
