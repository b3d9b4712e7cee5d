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
