"""One webhook POST against real sockets on 127.0.0.1 (SPEC §13): the
receiver's status, redirects not followed, one deadline however the
receiver stalls, and no connection at all to a host that resolves inside
our network. Names are resolved by a fake `resolve`: no DNS."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from invoicing.adapters import webhook_http
from invoicing.adapters.webhook_http import HttpWebhooks, Outcome, post
from invoicing.domain.webhooks import headers, new_secret

pytestmark = pytest.mark.integration

BODY = b'{"type": "invoice.paid", "data": {"id": "inv_1"}}'
SENT = headers([new_secret()], "evt_1", 1_700_000_000, BODY)


class Receiver(http.server.BaseHTTPRequestHandler):
    """Answers each POST as the server's `behaviour` says, and keeps what came."""

    server: Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), body))
        getattr(self, f"answer_{self.server.behaviour}")()

    def answer_ok(self) -> None:
        self.send_response(204)
        self.end_headers()

    def answer_fail(self) -> None:
        self.send_response(500)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"oops\n")

    def answer_redirect(self) -> None:
        self.send_response(302)
        self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def answer_silent(self) -> None:
        self.server.release.wait(5)

    def answer_trickle(self) -> None:
        """A status at once, then a header byte every 50 ms: each read is quick."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        with contextlib.suppress(OSError):  # until the client hangs up
            while not self.server.release.wait(0.05):
                self.wfile.write(b"X")
                self.wfile.flush()

    def answer_huge(self) -> None:
        """A 2xx whose body of 100 MB never finishes coming."""
        self.send_response(200)
        self.send_header("Content-Length", str(100 * 1024 * 1024))
        self.end_headers()
        self.wfile.write(b"x" * 128 * 1024)
        self.wfile.flush()
        self.server.release.wait(5)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Receiver)
        self.behaviour = "ok"
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.release = threading.Event()


@pytest.fixture
def receiver() -> Iterator[Server]:
    server = Server()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


class Resolver:
    """A fake DNS: each name's addresses, and every question asked."""

    def __init__(self, **names: list[str]) -> None:
        self.names = {name.replace("_", "."): ips for name, ips in names.items()}
        self.asked: list[str] = []

    def __call__(self, host: str, port: int, family: int = 0, kind: int = 0) -> list[tuple[Any, ...]]:
        self.asked.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in self.names[host]
        ]


def local(server: Server, path: str = "/hooks") -> str:
    return f"http://localhost:{server.server_port}{path}"


def send(url: str, *, resolve: Any, allow_loopback: bool = True, timeout_s: float = 2.0) -> Outcome:
    return post(url, SENT, BODY, allow_loopback=allow_loopback, timeout_s=timeout_s, resolve=resolve)


def test_given_a_receiver_that_answers_2xx_then_the_delivery_is_ok(receiver):
    outcome = send(local(receiver, "/hooks?tenant=acme"), resolve=Resolver(localhost=["127.0.0.1"]))
    assert outcome.ok
    assert (outcome.status, outcome.error) == (204, None)
    assert 0 <= outcome.ms < 2000
    [(path, got, body)] = receiver.received
    assert (path, body) == ("/hooks?tenant=acme", BODY)
    assert got["Host"] == f"localhost:{receiver.server_port}"
    assert {name: got[name] for name in SENT} == SENT


def test_given_a_receiver_that_fails_then_its_status_is_kept(receiver):
    receiver.behaviour = "fail"
    outcome = send(local(receiver), resolve=Resolver(localhost=["127.0.0.1"]))
    assert not outcome.ok
    assert (outcome.status, outcome.error) == (500, None)


def test_given_a_redirect_then_it_is_not_followed(receiver):
    receiver.behaviour = "redirect"
    outcome = send(local(receiver), resolve=Resolver(localhost=["127.0.0.1"]))
    assert not outcome.ok
    assert (outcome.status, outcome.error) == (302, "redirects are not followed")
    assert [path for path, _, _ in receiver.received] == ["/hooks"]


def test_given_a_receiver_that_never_answers_then_it_times_out(receiver):
    receiver.behaviour = "silent"
    started = time.monotonic()
    outcome = send(local(receiver), resolve=Resolver(localhost=["127.0.0.1"]), timeout_s=0.5)
    assert outcome == Outcome(None, "timed out after 0.5 s", outcome.ms)
    assert 0.45 < time.monotonic() - started < 1.5


def test_given_a_receiver_that_trickles_then_the_deadline_holds_for_the_whole_exchange(receiver):
    receiver.behaviour = "trickle"
    started = time.monotonic()
    outcome = send(local(receiver), resolve=Resolver(localhost=["127.0.0.1"]), timeout_s=0.5)
    assert (outcome.status, outcome.error) == (None, "timed out after 0.5 s")
    assert time.monotonic() - started < 1.5


def test_given_an_endless_body_then_64_kib_are_read_and_the_status_returned(receiver):
    receiver.behaviour = "huge"
    outcome = send(local(receiver), resolve=Resolver(localhost=["127.0.0.1"]), timeout_s=1.0)
    assert (outcome.status, outcome.error) == (200, None)
    assert outcome.ms < 1000


def test_given_a_name_resolving_to_a_private_address_then_no_connection_is_made(receiver, monkeypatch):
    connections: list[Any] = []
    monkeypatch.setattr(webhook_http, "_connect", lambda *args: connections.append(args))
    outcome = send("https://hooks.example.com/in", resolve=Resolver(hooks_example_com=["10.0.0.1"]))
    assert outcome == Outcome(None, "refused: hooks.example.com resolves to a private address", outcome.ms)
    assert connections == []


def test_given_one_bad_address_among_good_ones_then_the_name_is_refused(receiver):
    """Any address counts: the connection could go to either."""
    resolve = Resolver(localhost=["127.0.0.1", "::ffff:169.254.169.254"])
    outcome = send(local(receiver), resolve=resolve)
    assert outcome.error == "refused: localhost resolves to the cloud metadata address"
    assert receiver.received == []


def test_given_a_rebinding_dns_then_the_checked_address_is_the_one_called(receiver):
    """The name is looked up once: a second answer (here 10.0.0.1) is never asked for."""

    class Rebinding(Resolver):
        def __call__(self, host: str, port: int, family: int = 0, kind: int = 0) -> list[tuple[Any, ...]]:
            answer = super().__call__(host, port, family, kind)
            self.names[host] = ["10.0.0.1"]
            return answer

    resolve = Rebinding(localhost=["127.0.0.1"])
    outcome = send(local(receiver), resolve=resolve)
    assert outcome.ok
    assert resolve.asked == ["localhost"]
    assert len(receiver.received) == 1


def test_loopback_is_refused_unless_allowed(receiver):
    resolve = Resolver(localhost=["127.0.0.1"], hooks_example_com=["127.0.0.1"])
    refused = send(local(receiver), resolve=resolve, allow_loopback=False)
    assert refused.status is None
    assert refused.error == "refused: the URL must begin with https://"
    rebound = send(f"https://hooks.example.com:{receiver.server_port}/", resolve=resolve, allow_loopback=False)
    assert rebound.error == "refused: hooks.example.com resolves to a loopback address"
    assert receiver.received == []
    assert send(local(receiver), resolve=resolve, allow_loopback=True).ok


def test_given_nothing_listening_then_the_error_says_so():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    outcome = send(f"http://127.0.0.1:{port}/", resolve=Resolver(**{"127.0.0.1": ["127.0.0.1"]}))
    assert outcome.status is None
    assert "ConnectionRefusedError" in (outcome.error or "")


def test_given_an_unknown_name_then_the_error_says_so():
    outcome = send("https://nowhere.example/", resolve=Resolver())
    assert outcome.status is None
    assert (outcome.error or "").startswith("could not resolve nowhere.example")


def test_given_a_resolver_slower_than_the_deadline_then_it_times_out():
    answered = threading.Event()

    def stalling(*args: Any) -> list[Any]:
        answered.wait(5)
        return []

    started = time.monotonic()
    outcome = send("https://hooks.example.com/", resolve=stalling, timeout_s=0.3)
    answered.set()
    assert outcome.error == "timed out after 0.3 s"
    assert time.monotonic() - started < 1.0


def test_the_port_posts_with_its_loopback_rule_and_lists_a_names_addresses(receiver):
    resolve = Resolver(localhost=["127.0.0.1", "::1", "127.0.0.1"])
    local_runtime = HttpWebhooks(allow_loopback=True, resolve=resolve)
    assert local_runtime.addresses("localhost", 80) == ["127.0.0.1", "::1"]
    assert local_runtime.addresses("nowhere.example", 443) == []
    assert local_runtime.post(local(receiver), SENT, BODY).ok
    on_aws = HttpWebhooks(allow_loopback=False, resolve=resolve)
    assert on_aws.post(local(receiver), SENT, BODY).error == "refused: the URL must begin with https://"
    assert len(receiver.received) == 1


@pytest.fixture
def tls_receiver(receiver, tmp_path, monkeypatch) -> Iterator[Server]:
    """The receiver behind TLS with a certificate for hooks.test, from a CA
    the client is made to trust (in place of the system's)."""
    key, cert = _certificate("hooks.test", tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    receiver.socket = server_side.wrap_socket(receiver.socket, server_side=True)
    client_side = ssl.create_default_context(cafile=cert)
    monkeypatch.setattr(webhook_http, "_tls_context", lambda: client_side)
    return receiver


def test_given_https_then_the_certificate_is_checked_against_the_urls_name(tls_receiver):
    resolve = Resolver(hooks_test=["127.0.0.1"], other_test=["127.0.0.1"])
    outcome = send(f"https://hooks.test:{tls_receiver.server_port}/in", resolve=resolve)
    assert (outcome.status, outcome.error) == (204, None)
    assert tls_receiver.received[0][1]["Host"] == f"hooks.test:{tls_receiver.server_port}"
    wrong_name = send(f"https://other.test:{tls_receiver.server_port}/in", resolve=resolve)
    assert wrong_name.status is None
    assert "certificate" in (wrong_name.error or "").lower()
    assert len(tls_receiver.received) == 1


def _certificate(name: str, folder: Any) -> tuple[str, str]:
    """A self-signed certificate for `name` (its own CA), as PEM files."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)
