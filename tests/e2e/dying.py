"""Drills for the local runtime's execution environments: a handler whose
process is killed (SIGKILL, as Lambda kills an environment past its timeout
or its memory) the moment DynamoDB answers its commit. Run in the worker
process: `Lambdas.run(name, event, entry=commit_then_die)`."""

from __future__ import annotations

import os
import signal
from typing import Any


def commit_then_die(function_name: str, event: dict[str, Any], request_id: str) -> dict[str, Any]:
    """The function's handler, killed right after its first successful
    TransactWriteItems: the commit is in the table, the answer is never sent."""
    from infra.local.lambdas import _invoke_in_worker
    from invoicing.adapters.live import deps

    def die(http_response: Any, **_: Any) -> None:
        if http_response.status_code == 200:
            os.kill(os.getpid(), signal.SIGKILL)

    deps().store.client.meta.events.register("after-call.dynamodb.TransactWriteItems", die)  # type: ignore[attr-defined]
    return _invoke_in_worker(function_name, event, request_id)


def mark_sent_then_die(runtime: Any, tenant: str, invoice_id: str) -> None:
    """POST /invoices/{id}/mark-sent as the gateway hands it to the api
    function, whose process is killed the moment its commit lands (the
    runtime raises Crashed, as API Gateway answers a 502)."""
    from infra.local.gateway import build_event, find_route

    path = f"/invoices/{invoice_id}/mark-sent"
    found = find_route("POST", path)
    assert found is not None
    route, params = found
    claims = {"sub": "user-1", "custom:tenant_id": tenant}
    event = build_event(route, params, "POST", path, [("Content-Type", "application/json")], b"", claims,
                        "localhost", "127.0.0.1")  # fmt: skip
    runtime.lambdas.run("api", event, entry=commit_then_die)
