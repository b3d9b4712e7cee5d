"""`Idempotency-Key` on every POST: a retried request gets the first
response, and is never executed twice — even when the retry arrives while
the first attempt is still running.

A key is scoped to the tenant, the method and the path. Its record lives in
the tenant's partition of the table: claimed (in progress, with a lease) by a
conditional put, then completed with the response. Only successful
responses are kept (like Stripe's): a request that failed wrote nothing, so
retrying it with the same key runs it again. The same key with a different
body is refused (422), and a retry during the first attempt gets a 409 that
says to retry.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from invoicing.api.http import error_response, logger, tenant_of
from invoicing.domain.errors import FieldError, KeyReused
from invoicing.ports import Record

HEADER = "Idempotency-Key"
RETENTION_S = 24 * 3600
LEASE_S = 60  # longer than any API function's timeout


class IdempotencyStore(Protocol):
    def claim(self, tenant: str, key: str, fingerprint: str, now: int, lease_s: int, retention_s: int) -> Record | None:
        """Claim `key`; None when claimed, else the record that holds it."""
        ...

    def complete(self, tenant: str, key: str, response: dict[str, Any]) -> None: ...

    def release(self, tenant: str, key: str) -> None: ...


def middleware(store: Callable[[], IdempotencyStore]) -> Callable[..., Response]:
    def idempotent(app: APIGatewayRestResolver, next_middleware: Callable[..., Response]) -> Response:
        event = app.current_event
        headers = {name.lower(): value for name, value in (event.headers or {}).items()}
        key = headers.get(HEADER.lower())
        if event.http_method != "POST" or key is None:
            return next_middleware(app)
        if not (1 <= len(key) <= 255 and key.isprintable()):
            return error_response(
                400,
                "invalid_idempotency_key",
                "use 1 to 255 printable characters",
                [FieldError(HEADER, "use 1 to 255 printable characters")],
            )
        tenant = tenant_of(app)
        scoped = hashlib.sha256(f"{event.http_method}\n{event.path}\n{key}".encode()).hexdigest()
        fingerprint = hashlib.sha256((event.body or "").encode()).hexdigest()
        records = store()
        held = records.claim(tenant, scoped, fingerprint, int(time.time()), LEASE_S, RETENTION_S)
        if held is not None:
            if held.fingerprint != fingerprint:
                reused = KeyReused()
                return error_response(422, reused.code, reused.message, reused.errors)
            if held.response is None:
                return error_response(
                    409, "request_in_progress", "a request with this Idempotency-Key is in progress; retry shortly"
                )
            return _replay(held.response)
        try:
            response = next_middleware(app)
        except BaseException:
            records.release(tenant, scoped)
            raise
        if 200 <= response.status_code < 300:
            try:
                records.complete(tenant, scoped, _stored(response))
            except Exception:
                # The write is done: answer it. The key stays claimed until its
                # lease ends, so a quick retry gets a 409, not a second write.
                logger.exception("could not record the idempotent response")
        else:
            records.release(tenant, scoped)
        return response

    return idempotent


def _stored(response: Response) -> dict[str, Any]:
    body = response.body
    return {
        "status": response.status_code,
        "content_type": response.content_type,
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "headers": {k: v for k, v in (response.headers or {}).items() if isinstance(v, str)},
    }


def _replay(stored: dict[str, Any]) -> Response:
    return Response(
        status_code=stored["status"],
        content_type=stored["content_type"],
        body=stored["body"],
        headers={**stored["headers"], "Idempotent-Replayed": "true"},
    )
