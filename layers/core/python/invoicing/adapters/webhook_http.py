"""One webhook POST to a tenant's endpoint, made so that the URL cannot
turn it against us (SSRF) and a slow or hostile receiver cannot hold the
worker.

- The host is resolved once, and refused if ANY of its addresses is one
  invoicing.domain.webhooks.address_problem refuses (private, loopback,
  metadata…): no request is made. The connection then goes to an address
  that was checked, never through a second lookup a rebinding DNS server
  could answer otherwise.
- TLS checks the certificate against the URL's host name (SNI too); the
  Host header is the URL's.
- Redirects are not followed (a 3xx is a failure, its status kept): a
  public URL may not redirect us to a private one.
- One deadline for the whole exchange (DNS, connect, TLS, request,
  answer), enforced by a watchdog that shuts the socket, since a socket
  timeout alone restarts at each byte a receiver trickles; at most 64 KiB
  of the answer are read.
- http.client from the standard library: no dependency in the layer.
  Network trouble is an Outcome with an error, never an exception.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from invoicing.domain.webhooks import address_problem, url_problem
from invoicing.ports import WebhookOutcome

MAX_ANSWER_BYTES = 64 * 1024
MAX_ERROR_CHARS = 300

# socket.getaddrinfo's shape: (host, port, family, type) → (family, type, proto, canonname, sockaddr)
Resolve = Callable[[str, int, int, int], Iterable[tuple[int, int, int, str, tuple[Any, ...]]]]


# status: the receiver's HTTP status (None: none came back); error: what went
# wrong, for the delivery's log; ms: the whole exchange; ok: a 2xx.
Outcome = WebhookOutcome


class TimedOut(Exception):
    """The deadline passed."""


def post(
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    allow_loopback: bool,
    timeout_s: float = 10.0,
    resolve: Resolve = socket.getaddrinfo,
) -> Outcome:
    """POST `body` to `url` with `headers` (invoicing.domain.webhooks.headers);
    the receiver's status, or why there is none."""
    started = time.monotonic()
    deadline = started + timeout_s

    def outcome(status: int | None, error: str | None) -> Outcome:
        return Outcome(status, error, int((time.monotonic() - started) * 1000))

    problem = url_problem(url, allow_loopback=allow_loopback)
    if problem is not None:
        return outcome(None, f"refused: {problem}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    tls = parts.scheme.lower() == "https"
    port = parts.port or (443 if tls else 80)
    try:
        addresses = _addresses(resolve, host, port, deadline)
    except TimedOut:
        return outcome(None, f"timed out after {timeout_s:g} s")
    except (OSError, UnicodeError) as error:
        return outcome(None, _short(f"could not resolve {host}: {error}"))
    if not addresses:
        return outcome(None, f"could not resolve {host}: no address")
    for _, sockaddr in addresses:
        problem = address_problem(sockaddr[0], allow_loopback=allow_loopback)
        if problem is not None:
            return outcome(None, f"refused: {host} resolves to {problem}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = Request(host, parts.netloc, target, {**headers}, body, tls)
    try:
        status = _exchange(request, addresses, deadline)
    except (TimedOut, TimeoutError):
        return outcome(None, f"timed out after {timeout_s:g} s")
    except (OSError, http.client.HTTPException, ValueError) as error:
        if time.monotonic() >= deadline:  # the watchdog shut the socket
            return outcome(None, f"timed out after {timeout_s:g} s")
        return outcome(None, _short(f"{type(error).__name__}: {error}"))
    if 300 <= status < 400:
        return outcome(status, "redirects are not followed")
    return outcome(status, None)


class HttpWebhooks:
    """The WebhookSender port (invoicing.ports): `post` with this
    function's loopback rule, and the resolver an endpoint's URL is checked
    with when it is saved."""

    def __init__(self, *, allow_loopback: bool, timeout_s: float = 10.0, resolve: Resolve = socket.getaddrinfo) -> None:
        self.allow_loopback, self.timeout_s, self.resolve = allow_loopback, timeout_s, resolve

    def addresses(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to; none if it does not (in time)."""
        try:
            found = _addresses(self.resolve, host, port, time.monotonic() + self.timeout_s)
        except (TimedOut, OSError, UnicodeError):
            return []
        return [sockaddr[0] for _, sockaddr in found]

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        return post(
            url, headers, body, allow_loopback=self.allow_loopback, timeout_s=self.timeout_s, resolve=self.resolve
        )


class Request(NamedTuple):
    host: str  # the name the certificate must be for
    netloc: str  # the Host header: the URL's host[:port]
    target: str  # path?query
    headers: dict[str, str]
    body: bytes
    tls: bool


def _addresses(resolve: Resolve, host: str, port: int, deadline: float) -> list[tuple[int, tuple[Any, ...]]]:
    """Every (family, sockaddr) the host resolves to, IPv4 and IPv6, each
    once, in the resolver's order. The lookup runs in a thread so that a
    resolver slower than the deadline does not hold the worker past it."""
    found: list[tuple[int, int, int, str, tuple[Any, ...]]] = []
    failed: list[Exception] = []

    def lookup() -> None:
        try:
            found.extend(resolve(host, port, 0, socket.SOCK_STREAM))
        except Exception as error:  # handed to the caller's thread
            failed.append(error)

    thread = threading.Thread(target=lookup, name="webhook-resolve", daemon=True)
    thread.start()
    thread.join(_left(deadline))
    if thread.is_alive():
        raise TimedOut
    if failed:
        raise failed[0]
    unique: dict[tuple[int, str], tuple[int, tuple[Any, ...]]] = {}
    for family, _, _, _, sockaddr in found:
        if family == socket.AF_INET:
            unique.setdefault((family, sockaddr[0]), (family, (sockaddr[0], port)))
        elif family == socket.AF_INET6:
            unique.setdefault((family, sockaddr[0]), (family, (sockaddr[0], port, 0, 0)))
    return list(unique.values())


def _exchange(request: Request, addresses: list[tuple[int, tuple[Any, ...]]], deadline: float) -> int:
    """The receiver's status: connect to the first checked address that
    answers, then TLS, the request and the start of the answer, all before
    the deadline."""
    raw = _connect(addresses, deadline)
    sock: socket.socket = raw
    handle = raw.dup()  # the watchdog's: TLS takes `raw` over
    fired = threading.Event()
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), _shut, (handle, fired))
    watchdog.daemon = True
    watchdog.start()
    connection = http.client.HTTPConnection(request.host)
    try:
        if request.tls:
            raw.settimeout(_left(deadline))
            sock = _tls_context().wrap_socket(raw, server_hostname=request.host)
        sock.settimeout(_left(deadline))
        connection.sock = sock  # already connected: http.client makes no lookup of its own
        connection.request("POST", request.target, request.body, {**request.headers, "Host": request.netloc})
        answer = connection.getresponse()
        if fired.is_set():  # what was read is cut short by the watchdog: it may look whole
            raise TimedOut
        with contextlib.suppress(OSError, http.client.HTTPException):
            answer.read(MAX_ANSWER_BYTES)  # the status is the answer; a body that fails to come changes nothing
        return answer.status
    finally:
        watchdog.cancel()
        watchdog.join()
        handle.close()
        connection.close()
        sock.close()
        raw.close()


def _connect(addresses: list[tuple[int, tuple[Any, ...]]], deadline: float) -> socket.socket:
    error: OSError = OSError("no address to connect to")
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_left(deadline))
            sock.connect(sockaddr)
            return sock
        except TimeoutError:
            sock.close()
            raise TimedOut from None
        except OSError as failure:
            sock.close()
            error = failure
    raise error


def _shut(sock: socket.socket, fired: threading.Event) -> None:
    """At the deadline: wakes whatever is blocked reading or writing the
    connection (a shutdown acts on the connection, whichever handle)."""
    fired.set()
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimedOut
    return left


@cache
def _tls_context() -> ssl.SSLContext:
    """The system's trust store, certificate and host name checked, TLS 1.2
    at least: built once per container (loading the trust store is slow)."""
    return ssl.create_default_context()


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
