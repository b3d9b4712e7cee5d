"""The events of what the tests committed, as the pipe puts them on the bus
(a module of its own: pytest loads conftest.py as `conftest`, the tests
import it as `tests.conftest`, and both must see the same state)."""

from __future__ import annotations

from typing import Any

fakes: Any = None  # the in-memory world's pipe (the `fakes` fixture)
stream: Any = None  # the `aws` fixture's table stream, read from where the last look left it
runtime: Any = None  # this process's e2e runtime, once started: its pipe reads moto's shared state


def published_events() -> list[dict[str, Any]]:
    """The events of what was committed since the last look, as the pipe
    puts them on the bus, without running them: on fakes, the store's
    changes; on moto, its table's stream through the enrichment function."""
    from infra import wiring
    from infra.local.lambdas import Context
    from infra.local.pipe import as_handed
    from tests.fakes.adapters import bus_event

    if fakes is not None:
        taken: list[dict[str, Any]] = fakes.take()
        return taken
    records = [as_handed(record) for record in stream.read() if wiring.PIPE.passes(record["dynamodb"]["Keys"])]
    if not records:
        return []
    from functions.events.handler import lambda_handler

    found = lambda_handler(records, Context(wiring.function(wiring.PIPE.enrichment), "test-pipe"))
    return [bus_event(item["detail_type"], item["detail"]) for item in found]


def internal(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events the system's own functions react to: not those for the
    CRM's webhook endpoints, which every change also holds (SPEC §13)."""
    from invoicing.events import WEBHOOK_EVENT

    return [event for event in events if event["detail-type"] != WEBHOOK_EVENT]


def not_hooks(delivered: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """What `deliver_events` handed to the system's own functions, the
    webhooks' fan-out (the hooks function) and the payment entries (the
    reports function, SPEC §14) apart: what every change also feeds."""
    return [(function, result) for function, result in delivered if function not in ("hooks", "reports")]
