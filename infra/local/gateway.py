"""API Gateway, locally: a threaded HTTP server that turns each request into
the REST proxy event the deployed handler receives — authorizer claims from
a verified HS256 token, multi-value headers and query strings, base64 for
binary bodies — and the handler's answer back into HTTP.

The routes come from `infra.wiring`, as in the CDK app.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from infra import wiring
from infra.local.lambdas import Lambdas

# SPEC §3 fixes the local default secret; it is short, and only ever local.
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)

DEFAULT_SECRET = "local-dev-secret"
STAGE = "local"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization,Content-Type,Idempotency-Key,If-Match",
    "Access-Control-Allow-Methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
    "Access-Control-Expose-Headers": "Location,Idempotent-Replayed,Retry-After",
}
_MATCHERS = [(route, route.matcher()) for route in wiring.ROUTES]


def jwt_secret() -> str:
    return os.environ.get("LOCAL_JWT_SECRET", DEFAULT_SECRET)


def verify(authorization: str | None) -> dict[str, str] | None:
    """The token's claims as a Cognito authorizer hands them over (strings),
    or None when it is missing, forged, expired, never expires (no `exp`,
    as no Cognito token is) or names no tenant."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    try:
        claims = jwt.decode(
            authorization[7:].strip(), jwt_secret(), algorithms=["HS256"], options={"require": ["sub", "exp"]}
        )
    except jwt.PyJWTError:
        return None
    if not claims.get("custom:tenant_id"):
        return None
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in claims.items()}


def find_route(method: str, path: str) -> tuple[wiring.Route, dict[str, str]] | None:
    for route, matcher in _MATCHERS:
        match = matcher.match(path)
        if match and route.method == method:
            return route, match.groupdict()
    return None


def build_event(
    route: wiring.Route,
    params: dict[str, str],
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    claims: dict[str, str] | None,
    host: str,
    source_ip: str,
) -> dict[str, Any]:
    url = urlsplit(raw_path)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(url.query, keep_blank_values=True):
        multi_query.setdefault(name, []).append(value)
    try:
        text, encoded = (body.decode("utf-8"), False) if body else (None, False)
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    context: dict[str, Any] = {
        "resourceId": "local",
        "resourcePath": route.path,
        "httpMethod": method,
        "path": f"/{STAGE}{url.path}",
        "stage": STAGE,
        "requestId": str(uuid.uuid4()),
        "requestTimeEpoch": int(time.time() * 1000),
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": host,
        "protocol": "HTTP/1.1",
        "identity": {"sourceIp": source_ip, "userAgent": multi_headers.get("User-Agent", [""])[-1]},
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": route.path,
        "path": url.path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": encoded,
    }


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # listen backlog: socketserver's 5 resets a burst of clients (a frontend, a test)

    lambdas: Lambdas  # set before serving

    def __init__(self, address: tuple[str, int], extra_routes: dict[str, Any] | None = None) -> None:
        super().__init__(address, _Handler)
        # Local-only routes: (method, path) → callable(body: bytes) -> (status, content type, bytes)
        self.extra_routes = extra_routes or {}

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, a keep-alive
    # client's delayed ACK adds 40 ms to every response.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if os.environ.get("LOCAL_ACCESS_LOG"):
            super().log_message(format, *args)

    def _serve(self) -> None:  # noqa: RET503 - every branch replies
        method = self.command
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if method == "OPTIONS":
            return self._reply(204, {}, b"")
        extra = self.server.extra_routes.get((method, path))
        if extra is not None:
            status, content_type, payload = extra(body)
            return self._reply(status, {"Content-Type": content_type}, payload)
        found = find_route(method, path)
        if found is None:
            return self._error(404, "not_found", f"no route for {method} {path}")
        route, params = found
        claims = None
        if not route.public:
            claims = verify(self.headers.get("Authorization"))
            if claims is None:
                return self._error(401, "unauthorized", "Unauthorized")
        event = build_event(
            route,
            params,
            method,
            self.path,
            list(self.headers.items()),
            body,
            claims,
            self.headers.get("Host", ""),
            self.client_address[0],
        )
        response = self.server.lambdas.invoke(route.function, event)
        self._reply_lambda(response)

    def _reply_lambda(self, response: dict[str, Any]) -> None:
        headers: dict[str, str] = {}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(str(v) for v in values)
        headers.update({name: str(value) for name, value in (response.get("headers") or {}).items()})
        body = response.get("body") or ""
        payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        self._reply(int(response.get("statusCode", 502)), headers, payload)

    def _error(self, status: int, code: str, message: str) -> None:
        """API Gateway's own errors, in the handlers' shape (see the stack's gateway responses)."""
        payload = json.dumps({"error": {"code": code, "message": message}}).encode()
        self._reply(status, {"Content-Type": "application/json"}, payload)

    def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in {**CORS, **headers}.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve
