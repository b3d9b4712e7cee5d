"""Outgoing webhooks (SPEC §13): what a tenant may subscribe to, how each
message is signed, which URLs and addresses may be called, and when a
failed delivery is tried again.

Pure: no network, no clock read (the caller passes `now` and the
timestamp), so the rules are tested as tables.

1. Signatures follow Standard Webhooks (standardwebhooks.com), so a
   receiver verifies with any of its libraries: HMAC-SHA256 of
   "{id}.{timestamp}.{body}" under the secret's bytes, sent as "v1,<base64>".
   An endpoint whose secret is being rotated signs with the old and the new
   one, space-separated, so the receiver may switch at its own pace.
2. A tenant chooses the URL, and our functions call it from inside AWS: a
   URL naming the metadata service, a private network or loopback would
   make us a proxy into places the tenant cannot reach (SSRF). The URL is
   judged here as written; every address its host resolves to is judged
   again at delivery (invoicing.adapters.webhook_http), since DNS may
   answer otherwise by then. Addresses are judged by explicit ranges, not
   by `ipaddress.is_global` alone: its answers change between Python
   versions (3.12.1 calls 64:ff9b::a00:1 and fec0::1 global).
3. Retries back off from seconds to the 12 hours an SQS message may stay
   hidden, for 3 days after the first failure; the last attempt is made at
   that limit at the latest, then the delivery is given up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from secrets import token_bytes
from urllib.parse import urlsplit

EVENT_TYPES: tuple[str, ...] = (
    "invoice.created",
    "invoice.updated",
    "invoice.deleted",
    "invoice.issued",
    "invoice.sent",
    "invoice.viewed",
    "invoice.overdue",
    "invoice.partially_paid",
    "invoice.paid",
    "invoice.voided",
    "payment.recorded",
    "payment.failed",
    "payment.refunded",
    "payment.cancelled",
    "credit_note.issued",
    "late_fee.applied",
    "reminder.sent",
    "delivery.failed",
    "estimate.sent",
    "estimate.accepted",
    "estimate.declined",
    "estimate.expired",
    "recurring.invoice_issued",
)
PING = "ping"  # the test message an endpoint's owner sends itself: not subscribable

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
USER_AGENT = "invoicing-webhooks/1"

MAX_URL_CHARS = 2048

RETRY_WINDOW = timedelta(days=3)
# Seconds to wait after the 1st, 2nd, … failed attempt; the last repeats.
# Never more than 43 200 s: an SQS message stays hidden 12 hours at most.
BACKOFF_S: tuple[int, ...] = (5, 60, 300, 1800, 7200, 18000, 36000, 43200)
ENDPOINT_DISABLED_AFTER = timedelta(days=3)  # an endpoint failing all along that long is turned off


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The bytes a secret stands for; ValueError if it is not one of ours."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret begins with {SECRET_PREFIX}")
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Rule 1: "v1," and the base64 HMAC-SHA256 of id, timestamp and body."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one message, signed with each of the endpoint's
    current secrets (two while one is being rotated)."""
    if not secrets:
        raise ValueError("a webhook message is signed with at least one secret")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


# Rule 2, in the order they are told: the first range an address is in names
# the reason it is refused. IPv4-mapped, NAT64 and 6to4 addresses are judged
# on the IPv4 address they carry before these apply.
_LOOPBACK = "a loopback address"
_REFUSED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("the cloud metadata address", ("169.254.169.254/32", "fd00:ec2::254/128")),
    ("the unspecified address", ("0.0.0.0/32", "::/128")),
    (_LOOPBACK, ("127.0.0.0/8", "::1/128")),
    ("a link-local address", ("169.254.0.0/16", "fe80::/10")),
    ("a private address", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
    ("a shared (carrier-grade NAT) address", ("100.64.0.0/10",)),
    ("the broadcast address", ("255.255.255.255/32",)),
    ("a multicast address", ("224.0.0.0/4", "ff00::/8")),
    ("a documentation address", ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")),
    ("a benchmarking address", ("198.18.0.0/15", "2001:2::/48")),
    # This network, IETF protocol assignments, class E; IPv4-compatible and
    # other ::/8 forms, discard-only, Teredo and the rest of 2001::/23, site-local.
    (
        "a reserved address",
        ("0.0.0.0/8", "192.0.0.0/24", "240.0.0.0/4", "::/8", "100::/64", "2001::/23", "fec0::/10"),
    ),
)
_RANGES = tuple((reason, tuple(ipaddress.ip_network(net) for net in nets)) for reason, nets in _REFUSED)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
# A last label of digits or hex is an IP address in a form resolvers accept
# and people do not read (http://2130706433/ is 127.0.0.1): no DNS name has one.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)


def address_problem(ip: str, *, allow_loopback: bool) -> str | None:
    """None if a webhook may be sent to `ip`; else why not ("a private
    address", …). Loopback is allowed only to the local runtime."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "not an IP address"
    carried = _carried_ipv4(address)
    if carried is not None:
        return address_problem(str(carried), allow_loopback=allow_loopback)
    for reason, networks in _RANGES:
        if any(address in network for network in networks):
            return None if reason == _LOOPBACK and allow_loopback else reason
    if address.version == 6 and address not in _GLOBAL_UNICAST_V6:
        return "a reserved address"
    return None if address.is_global else "a non-public address"


def _carried_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: IPv4-mapped, NAT64 (64:ff9b::/96), 6to4."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def url_problem(url: str, *, allow_loopback: bool) -> str | None:
    """None if `url` may be an endpoint; else what is wrong with it as
    written (its host's addresses are checked again at each delivery)."""
    if len(url) > MAX_URL_CHARS:
        return f"the URL is longer than {MAX_URL_CHARS} characters"
    if any(char <= " " or char == "\x7f" for char in url):
        return "the URL contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the URL cannot be read (its host or port)"
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        return "the URL must begin with https://"
    host = parts.hostname or ""
    if not host:
        return "the URL has no host"
    if "@" in parts.netloc:
        return "the URL may not carry a user name or password"
    if "#" in url:
        return "the URL may not have a fragment (#…)"
    if port is not None and not 1 <= port <= 65535:
        return "the URL's port is not between 1 and 65535"
    if scheme == "http" and not (allow_loopback and _is_loopback(host)):
        return "the URL must begin with https://"
    return _host_problem(host, allow_loopback=allow_loopback)


def _host_problem(host: str, *, allow_loopback: bool) -> str | None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not all(char.isalnum() or char in "-._" for char in host):
            return f"the host {host} is neither a name nor an IP address"
        if _NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
            return f"the host {host} is an IP address in an unusual form (write it as digits and dots)"
        return None
    problem = address_problem(host, allow_loopback=allow_loopback)
    return None if problem is None else f"the host {host} is {problem}"


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return (_carried_ipv4(address) or address).is_loopback


def next_attempt(first_failed_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """Rule 3: when to try again after the `attempts`-th failed attempt
    (1 for the first), made at `now`; None once the window is over."""
    if attempts < 1:
        raise ValueError("next_attempt follows a failed attempt: attempts ≥ 1")
    last = first_failed_at + RETRY_WINDOW
    if now >= last:
        return None
    wait = timedelta(seconds=BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1])
    return min(now + wait, last)
