"""EventBridge, locally: the invoicing bus and its rules.

The local pipe (infra/local/pipe.py) puts the events the table's changes
hold here, as the stack's pipe puts them on the bus; the account's default
bus, where AWS services put theirs (SES's bounces), is this one too; PutEvents over HTTP
is answered too, for an event put by hand (moto would accept events but
cannot run Lambda targets without Docker). Each event goes to the
functions of the rules it matches (`wiring.EVENT_RULES`, the declaration
the CDK app reads), asynchronously, in the event shape
EventBridge delivers; a failed invocation is retried with backoff up to the
rule's retry attempts, then kept in `dead_letters` like the rule's
dead-letter queue.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra import wiring
from infra.local.lambdas import Lambdas

BUS_NAME = "invoicing-local-events"
ACCOUNT = "123456789012"
RETRY_BASE_S = 0.2
RETRY_MAX_S = 5.0

logger = logging.getLogger(__name__)


class Bus(ThreadingHTTPServer):
    daemon_threads = True
    lambdas: Lambdas  # set before serving

    def __init__(self, address: tuple[str, int], region: str, name: str = BUS_NAME) -> None:
        super().__init__(address, _Handler)
        self.name = name
        self.region = region
        self.dead_letters: list[dict[str, Any]] = []
        self._workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bus")
        self._pending = 0
        self._idle = threading.Condition()
        self._held: list[dict[str, Any]] | None = None
        self.refusing = False  # a drill: the bus is down, every entry refused

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def put(self, entry: dict[str, Any]) -> dict[str, str]:
        """One PutEvents entry: accepted (its event id) or refused (an error)."""
        if self.refusing:
            return {"ErrorCode": "ServiceUnavailable", "ErrorMessage": "the bus refuses events (a drill)"}
        if entry.get("EventBusName", self.name) not in (self.name, self.arn, "default"):
            return {"ErrorCode": "ResourceNotFoundException", "ErrorMessage": f"no bus {entry.get('EventBusName')}"}
        try:
            detail = json.loads(entry["Detail"])
            source, detail_type = entry["Source"], entry["DetailType"]
        except (KeyError, TypeError, ValueError):
            return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail, Source and DetailType are required"}
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": source,
            "account": ACCOUNT,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": entry.get("Resources", []),
            "detail": detail,
        }
        if self._held is not None:
            self._held.append(event)
            return {"EventId": event["id"]}
        for rule in wiring.rules_for(detail_type, source):
            self._start(rule, event)
        return {"EventId": event["id"]}

    @property
    def arn(self) -> str:
        return f"arn:aws:events:{self.region}:{ACCOUNT}:event-bus/{self.name}"

    @contextmanager
    def hold(self) -> Iterator[list[dict[str, Any]]]:
        """Accept events without delivering them until the block ends (then
        they go): a test sees what was published and can deliver it itself."""
        held: list[dict[str, Any]] = []
        self._held = held
        try:
            yield held
        finally:
            self._held = None
            for event in held:
                for rule in wiring.rules_for(event["detail-type"], event["source"]):
                    self._start(rule, event)

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until every delivery (retries included) has ended; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _start(self, rule: wiring.EventRule, event: dict[str, Any]) -> None:
        with self._idle:
            self._pending += 1
        self._workers.submit(self._deliver, rule, event)

    def _deliver(self, rule: wiring.EventRule, event: dict[str, Any]) -> None:
        try:
            for attempt in range(rule.retry_attempts + 1):
                try:
                    self.lambdas.run(rule.function, event)
                    return
                except Exception as error:  # any failure of the invocation: retry, as EventBridge does
                    logger.warning("rule %s: attempt %d failed: %r", rule.name, attempt + 1, error)
                    time.sleep(min(RETRY_MAX_S, RETRY_BASE_S * 2**attempt))
            self.dead_letters.append({"rule": rule.name, "event": event})
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def server_close(self) -> None:
        super().server_close()
        self._workers.shutdown(wait=False, cancel_futures=True)


class _Handler(BaseHTTPRequestHandler):
    server: Bus
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        if operation != "PutEvents":
            self._reply(400, {"__type": "UnknownOperationException", "message": f"{operation} is not emulated"})
            return
        try:
            entries = json.loads(body)["Entries"]
        except (KeyError, TypeError, ValueError):
            self._reply(400, {"__type": "ValidationException", "message": "Entries is required"})
            return
        results = [self.server.put(entry) for entry in entries]
        failed = sum(1 for result in results if "ErrorCode" in result)
        self._reply(200, {"FailedEntryCount": failed, "Entries": results})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
