"""An export's life beyond its steps (logic.exports): what GET answers
when its steps stopped or its file expired, and a POST whose first step
could not be queued. On the fakes, the functions' clock moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Reply

NOW = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(api: Any) -> list[datetime]:
    """The functions' clock: what the list holds (tests move it)."""
    from invoicing.adapters import live

    now = [NOW]
    live.deps().now = lambda: now[0]
    return now


def test_given_an_export_whose_steps_stopped_then_get_says_failed_after_45_minutes(api, clock) -> None:
    asked = api.post("/exports", {"kind": "invoices"}).body
    api.fakes.exports.messages.clear()  # its step lost (its queue gave up on it)

    clock[0] = NOW + timedelta(minutes=44)
    assert api.get(f"/exports/{asked['id']}").body["status"] == "pending"
    clock[0] = NOW + timedelta(minutes=46)
    stopped = api.get(f"/exports/{asked['id']}").body
    assert (stopped["status"], stopped["url"]) == ("failed", None)
    assert "ask for it again" in stopped["error"]


def test_given_a_ready_export_a_week_later_then_get_gives_no_dead_link(api, clock) -> None:
    asked = api.post("/exports", {"kind": "invoices"}).body
    api.run_exports()
    assert api.get(f"/exports/{asked['id']}").body["url"]

    clock[0] = NOW + timedelta(days=7, minutes=1)
    gone = api.get(f"/exports/{asked['id']}").body
    assert (gone["status"], gone["url"]) == ("failed", None)
    assert "kept 7 days" in gone["error"]


def test_given_the_queue_refusing_the_first_step_then_503_and_the_export_is_failed(api, clock, monkeypatch) -> None:
    def refuse(message: dict[str, Any]) -> None:
        raise ConnectionError("SQS unreachable")

    monkeypatch.setattr(api.fakes.exports, "send", refuse)
    reply: Reply = api.post("/exports", {"kind": "fec"})

    assert reply.status == 503, reply.body
    assert reply.headers.get("Retry-After")
    (export,) = [doc for (tenant, kind, _), doc in api.fakes.store.docs.items() if kind == "export"]
    assert export["status"] == "failed"  # never pending forever
