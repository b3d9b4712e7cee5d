"""A stand-in for the part of Stripe's HTTP API the system calls, on
loopback: Checkout Sessions and PaymentIntents confirmed off-session, and
Connect's accounts and account links.

It checks what Stripe would (the key, the parameters, idempotency keys
reused with other parameters), answers in Stripe's shapes, and keeps every
request it received for the tests to read. Its Checkout page lets a
developer pay by hand under `make dev`, and its onboarding page (an account
link's URL; POST `{url}/complete` does the same) lets the business finish
Stripe's onboarding: it then sends the webhook events Stripe would, signed
with the local signing secret, to the local gateway. The tests complete an
onboarding with `complete_onboarding`, or change an account with
`update_account`, which answer the signed events' bodies too.

Saved payment methods (SPEC §12): customers, Checkout Sessions in setup
mode whose page saves a card or an IBAN (`complete_setup` in the tests),
SetupIntents (read with their payment_method expanded), PaymentMethods
(read, detached: payment_method.detached), and payment sessions that save
the card they are paid with (payment_intent_data.setup_future_usage).
Each object lives on the account it was made on, and is not found from
another. A method saved from a test name (pm_card_visa…) or a test IBAN
gets an id of its own, as on Stripe; `saved_from` keeps what it was saved
from. Stripe's test IBANs: FR1420041010050500013M02606 (its debits
succeed), FR3020041010050500013M02609 (they fail).

Test payment methods, named as Stripe names them: pm_card_visa (and any
other pm_…) succeeds; pm_card_chargeDeclined, pm_card_chargeDeclinedInsufficientFunds
and pm_card_authenticationRequired are refused as Stripe refuses them;
pm_missing does not exist. A SEPA Direct Debit (payment_method_types
[sepa_debit], pm_sepa_debit) is `processing` until the bank answers:
`settle(pi)` or `fail_debit(pi, code)` (POST `{url}/debits/{pi}/settle`
or `/fail` under `make dev`) sends its payment_intent.succeeded or
payment_intent.payment_failed."""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}  # Stripe takes them with a last decimal of 0
MINIMUM_CHARGE = {"eur": 50, "usd": 50, "gbp": 30, "chf": 50, "jpy": 50}  # minor units, Stripe's minimums
DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_authenticationRequired": (
        "authentication_required",
        "authentication_required",
        "Your card was declined. This transaction requires authentication.",
    ),
}
IBAN_SUCCEEDS = "FR1420041010050500013M02606"  # Stripe's test IBANs: its debits succeed…
IBAN_FAILS = "FR3020041010050500013M02609"  # …and fail
_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    params: dict[str, Any]  # the form body, nested as Stripe reads it

    @property
    def account(self) -> str | None:
        return self.headers.get("stripe-account")

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class StripeStandIn:
    webhook_url: str | None = None
    webhook_secret: str = "whsec_local_dev"
    valid_keys: set[str] | None = None  # the secret keys it takes (None: any sk_…)
    received: list[Received] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # the connected accounts, by id
    links: dict[str, dict[str, Any]] = field(default_factory=dict)  # the account links, by their URL's last part
    sent_events: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    setup_intents: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    payment_methods: dict[str, dict[str, Any]] = field(default_factory=dict)  # the methods saved, by id
    saved_from: dict[str, str] = field(default_factory=dict)  # a saved method's id → the test name or IBAN
    _accounts_of: dict[str, str | None] = field(default_factory=dict)  # a customer's, seti's, pm's id → its account
    debits: dict[str, tuple[dict[str, Any], str | None]] = field(default_factory=dict)  # SEPA intents, by id
    _later: list[dict[str, Any]] = field(default_factory=list)  # events to send once the answer is
    _session_accounts: dict[str, str | None] = field(default_factory=dict)
    _replies: dict[tuple[str | None, str], tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> StripeStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:
                standin._serve(self)

            def do_POST(self) -> None:
                standin._serve(self)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        # its shutdown is looked for every 50 ms (the default, 0.5 s, is what each test's stop waited)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="stripe-standin",
                         daemon=True).start()  # fmt: skip
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def requests_to(self, path: str) -> list[Received]:
        return [request for request in self.received if request.path == path]

    # -- paying a session, as the client would on Stripe's page ------------------

    def complete(self, session_id: str, method: str = "card", card: str = "pm_card_visa") -> list[dict[str, Any]]:
        """The client pays the session: the events Stripe sends (and sends
        them, when there is a webhook URL). By card the session completes
        paid; by bank transfer (customer_balance) it completes unpaid, and
        the money's arrival brings payment_intent.succeeded and
        checkout.session.async_payment_succeeded. As on Stripe, the
        PaymentIntent lists every method the session offered. A session
        that saves the card (setup_future_usage) attaches it (`card`, a
        test name) to its customer — made now with customer_creation —
        and its PaymentIntent names both."""
        with self._lock:
            session = self.sessions[session_id]
            account = self._session_accounts.get(session_id)
            if session["status"] == "complete":
                return []
            metadata = (session.get("payment_intent_data") or {}).get("metadata") or session["metadata"]
            intent = _intent(session["amount_total"], session["currency"], metadata,
                             session["payment_method_types"], session.get("customer"))  # fmt: skip
            saving = (session.get("payment_intent_data") or {}).get("setup_future_usage")
            if saving and method == "card":
                customer = session.get("customer") or self._new_customer(account, {})["id"]
                saved = self._new_method(account, customer, card)
                session["customer"] = customer
                intent.update(customer=customer, payment_method=saved["id"], setup_future_usage=saving)
            paid_now = method == "card"
            session.update(status="complete", payment_intent=intent["id"],
                           payment_status="paid" if paid_now else "unpaid")  # fmt: skip
            completed = _public(session)
            later = {**completed, "payment_status": "paid"}
        events = [_event("checkout.session.completed", completed, account),
                  _event("payment_intent.succeeded", intent, account)]  # fmt: skip
        if not paid_now:
            events.append(_event("checkout.session.async_payment_succeeded", later, account))
        for event in events:
            self._send(event)
        return events

    # -- saving a card or an IBAN, as the client would on Stripe's setup page ------------

    def complete_setup(self, session_id: str, method: str = "pm_card_visa") -> list[dict[str, Any]]:
        """The client saves a method on a setup session's page: `method` a
        test card's name (pm_card_visa, pm_card_mastercard, pm_card_chargeDeclined…),
        "sepa_debit" (Stripe's succeeding test IBAN) or an IBAN. A
        SetupIntent succeeds with a PaymentMethod attached to the session's
        customer (a SEPA one with its mandate); the events Stripe sends:
        checkout.session.completed (mode setup) and setup_intent.succeeded
        (sent, when there is a webhook URL)."""
        with self._lock:
            session = self.sessions[session_id]
            account = self._session_accounts.get(session_id)
            if session["status"] == "complete":
                return []
            kind = "card" if method.startswith("pm_card_") else "sepa_debit"
            if kind not in session["payment_method_types"]:
                raise ValueError(f"the session offers {session['payment_method_types']}, not {kind}")
            saved = self._new_method(account, session["customer"], method)
            setup_intent = {
                "id": "seti_" + secrets.token_hex(12),
                "object": "setup_intent",
                "status": "succeeded",
                "customer": session["customer"],
                "payment_method": saved["id"],
                "payment_method_types": list(session["payment_method_types"]),
                "mandate": "mandate_" + secrets.token_hex(12) if saved["type"] == "sepa_debit" else None,
                "metadata": dict(session["setup_intent_data"].get("metadata") or {}),
                "usage": "off_session",
                "livemode": False,
                "created": int(time.time()),
            }
            self.setup_intents[setup_intent["id"]] = setup_intent
            self._accounts_of[setup_intent["id"]] = account
            session.update(status="complete", setup_intent=setup_intent["id"])
            completed = _public(session)
            succeeded = json.loads(json.dumps(setup_intent))
        events = [_event("checkout.session.completed", completed, account),
                  _event("setup_intent.succeeded", succeeded, account)]  # fmt: skip
        for event in events:
            self._send(event)
        return events

    def _new_customer(self, account: str | None, params: dict[str, Any]) -> dict[str, Any]:
        customer = {"id": "cus_" + secrets.token_hex(12), "object": "customer", "name": params.get("name"),
                    "email": params.get("email"), "metadata": dict(params.get("metadata") or {}),
                    "livemode": False, "created": int(time.time())}  # fmt: skip
        self.customers[customer["id"]] = customer
        self._accounts_of[customer["id"]] = account
        return customer

    def _new_method(self, account: str | None, customer: str, source: str) -> dict[str, Any]:
        """A PaymentMethod saved from a test card's name or an IBAN, attached
        to the customer (of that account)."""
        self._accounts_of.setdefault(customer, account)  # one the stand-in did not make: taken as the account's
        if self._accounts_of[customer] != account:
            raise ValueError(f"no customer {customer} on {account}")
        pm_id = "pm_" + secrets.token_hex(12)
        year = time.gmtime().tm_year + 3
        if source.startswith("pm_card_"):
            brand = {"mastercard": "mastercard", "amex": "amex"}.get(source.removeprefix("pm_card_"), "visa")
            last4 = {"visa": "4242", "mastercard": "4444", "amex": "8431"}[brand]
            if source in DECLINES:
                last4 = {"pm_card_chargeDeclined": "0002", "pm_card_chargeDeclinedInsufficientFunds": "9995",
                         "pm_card_authenticationRequired": "3184"}[source]  # fmt: skip
            kind, details = "card", {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": year, "country": "FR",
                                     "funding": "credit"}  # fmt: skip
        else:
            iban = IBAN_SUCCEEDS if source in ("sepa_debit", "pm_sepa_debit") else source.replace(" ", "").upper()
            if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
                raise ValueError(f"not a test card's name nor an IBAN: {source}")
            kind, details = "sepa_debit", {"last4": iban[-4:], "bank_code": iban[4:9], "branch_code": iban[9:14],
                                           "country": iban[:2], "fingerprint": secrets.token_hex(8)}  # fmt: skip
            source = iban
        method = {"id": pm_id, "object": "payment_method", "type": kind, kind: details, "customer": customer,
                  "billing_details": {}, "metadata": {}, "livemode": False, "created": int(time.time())}  # fmt: skip
        self.payment_methods[pm_id] = method
        self.saved_from[pm_id] = source
        self._accounts_of[pm_id] = account
        return method

    def _create_customer(self, request: Received) -> tuple[int, dict[str, Any]]:
        metadata = request.params.get("metadata") or {}
        if not isinstance(metadata, dict):
            return 400, _error("invalid_request_error", "parameter_invalid", "Invalid metadata: an object.")
        return 200, json.loads(json.dumps(self._new_customer(request.account, request.params)))

    def _on_account(self, objects: dict[str, dict[str, Any]], request: Received, name: str, at: int = -1) -> Any:
        """The object the path names, if it lives on the request's account."""
        object_id = request.path.split("/")[at]
        if object_id not in objects or self._accounts_of.get(object_id) != request.account:
            return _error("invalid_request_error", "resource_missing", f"No such {name}: '{object_id}'")
        return objects[object_id]

    def _create_setup_session(self, request: Received) -> tuple[int, dict[str, Any]]:
        params = request.params
        problem = _setup_session_problem(params)
        if problem:
            return 400, _error("invalid_request_error", "parameter_invalid", problem)
        if self._accounts_of.get(params["customer"], "none") != request.account:
            return 400, _error("invalid_request_error", "resource_missing", f"No such customer: '{params['customer']}'")
        session_id = "cs_test_" + secrets.token_hex(12)
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "setup",
            "status": "open",
            "payment_status": "no_payment_required",
            "amount_total": None,
            "currency": params.get("currency"),
            "customer": params["customer"],
            "setup_intent": None,
            "payment_intent": None,
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "metadata": params.get("metadata") or {},
            "locale": params.get("locale"),
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.url}/checkout/{session_id}",
            "livemode": False,
            "created": now,
            "expires_at": now + 24 * 3600,
            "setup_intent_data": params.get("setup_intent_data") or {},
        }
        self.sessions[session_id] = session
        self._session_accounts[session_id] = request.account
        return 200, _public(session)

    def _retrieve_setup_intent(self, request: Received) -> tuple[int, dict[str, Any]]:
        found = self._on_account(self.setup_intents, request, "setupintent")
        if "error" in found:
            return 404, found
        setup_intent = json.loads(json.dumps(found))
        expand = request.params.get("expand") or []
        if "payment_method" in (expand.values() if isinstance(expand, dict) else expand):
            setup_intent["payment_method"] = json.loads(json.dumps(self.payment_methods[found["payment_method"]]))
        return 200, setup_intent

    def _retrieve_payment_method(self, request: Received) -> tuple[int, dict[str, Any]]:
        found = self._on_account(self.payment_methods, request, "PaymentMethod")
        return (404, found) if "error" in found else (200, json.loads(json.dumps(found)))

    def _detach_payment_method(self, request: Received) -> tuple[int, dict[str, Any]]:
        """Detached for good (Stripe never attaches it again): its
        payment_method.detached event is sent once the answer is."""
        found = self._on_account(self.payment_methods, request, "PaymentMethod", at=-2)
        if "error" in found:
            return 404, found
        if found["customer"] is None:
            return 400, _error("invalid_request_error", "payment_method_unexpected_state",
                               "The payment method you provided is not attached to a customer so detachment is "
                               "impossible.")  # fmt: skip
        previous = found["customer"]
        found["customer"] = None
        detached = json.loads(json.dumps(found))
        event = _event("payment_method.detached", detached, request.account)
        event["data"]["previous_attributes"] = {"customer": previous}
        threading.Timer(0.05, self._send, [event]).start()  # after the answer, as Stripe's events come
        return 200, detached

    def _setup_page(self, handler: BaseHTTPRequestHandler, session: dict[str, Any], save: bool,
                    form: dict[str, str]) -> None:  # fmt: skip
        """A setup session's page: save a test card or an IBAN by hand."""
        session_id = session["id"]
        if save and handler.command == "POST":
            choice = form.get("method") or "pm_card_visa"
            if choice == "sepa_debit":
                choice = form.get("iban") or "sepa_debit"
            try:
                self.complete_setup(session_id, choice)
            except ValueError as error:
                _send_page(handler, 422, f"<p>{html.escape(str(error))}</p>")
                return
            _redirect(handler, session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
            return
        cards = [("pm_card_visa", "Visa 4242"), ("pm_card_mastercard", "Mastercard 4444"),
                 ("pm_card_chargeDeclined", "Visa 0002 (declined when charged)")]  # fmt: skip
        choices = [(value, label) for value, label in cards if "card" in session["payment_method_types"]]
        if "sepa_debit" in session["payment_method_types"]:
            choices.append(("sepa_debit", "SEPA Direct Debit (IBAN below)"))
        radios = "".join(
            f'<label><input type="radio" name="method" value="{value}"{" checked" if i == 0 else ""}> '
            f"{html.escape(label)}</label><br>"
            for i, (value, label) in enumerate(choices)
        )
        iban = (
            f'<label>IBAN <input name="iban" value="{IBAN_SUCCEEDS}" size="34"></label>'
            f"<p>{IBAN_FAILS}: its debits fail.</p>"
            if "sepa_debit" in session["payment_method_types"]
            else ""
        )
        _send_page(
            handler,
            200,
            "<h1>Stripe Checkout (setup) — local stand-in</h1><p>Nothing is charged: saving here sends the "
            "events Stripe would send.</p>"
            f'<form method="post" action="/checkout/{session_id}/pay">{radios}{iban}'
            '<button type="submit" id="standin-save">Save</button></form>'
            f'<p><a href="{html.escape(session.get("cancel_url") or "/")}">Back</a></p>',
        )

    # -- onboarding an account, as the business would on Stripe's pages -----------------

    def complete_onboarding(self, account_id: str) -> list[dict[str, Any]]:
        """The business finishes Stripe's onboarding: its details submitted,
        Stripe enables charges and payouts and wants nothing more. The
        account.updated event Stripe sends (sent, when there is a webhook URL)."""
        requirements = {"currently_due": [], "eventually_due": [], "past_due": [], "pending_verification": [],
                        "disabled_reason": None, "current_deadline": None, "errors": []}  # fmt: skip
        return self.update_account(account_id, details_submitted=True, charges_enabled=True, payouts_enabled=True,
                                   requirements=requirements)  # fmt: skip

    def update_account(self, account_id: str, at: int | None = None, **changes: Any) -> list[dict[str, Any]]:
        """Stripe changes the account (say, `charges_enabled=False` once it
        wants a document) at `at` (now by default): its account.updated
        event, sent as above."""
        with self._lock:
            account = self.accounts[account_id]
            account.update(changes)
            event = _event("account.updated", json.loads(json.dumps(account)), account_id)
            if at is not None:
                event["created"] = at
        self._send(event)
        return [event]

    def _send(self, event: dict[str, Any]) -> None:
        self.sent_events.append(event)
        self._post(event)

    def _post(self, event: dict[str, Any]) -> None:
        """The event, signed, to the webhook URL (when there is one)."""
        if not self.webhook_url:
            return
        from invoicing.logic.stripe_events import sign

        payload = json.dumps(event).encode()
        request = urllib.request.Request(
            self.webhook_url,
            data=payload,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": sign(payload, self.webhook_secret, int(time.time())),
            },  # fmt: skip
        )
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - loopback, our own gateway
            reply.read()

    # -- the HTTP side -----------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        path = urlsplit(handler.path).path
        headers = {name.lower(): value for name, value in handler.headers.items()}
        page = re.fullmatch(r"/checkout/(cs_test_\w+)(/pay)?", path)
        if page:
            self._checkout_page(handler, page.group(1), bool(page.group(2)), dict(parse_qsl(body)))
            return
        onboarding = re.fullmatch(r"/connect/onboarding/(\w+)(/complete)?", path)
        if onboarding:
            self._onboarding_page(handler, onboarding.group(1), bool(onboarding.group(2)))
            return
        debit = re.fullmatch(r"/debits/(pi_\w+)/(settle|fail)", path)
        if debit:
            self._debit_hook(handler, debit.group(1), debit.group(2), body)
            return
        sent = urlsplit(handler.path).query if handler.command == "GET" else body  # a GET's parameters: its query
        request = Received(handler.command, path, headers, unflatten(parse_qsl(sent, keep_blank_values=True)))
        with self._lock:
            self.received.append(request)
        status, reply = self._api(request)
        _send_json(handler, status, reply)
        self._send_later()

    def _api(self, request: Received) -> tuple[int, dict[str, Any]]:
        key_given = (request.headers.get("authorization") or "").removeprefix("Bearer ")
        if not key_given.startswith("sk_") or (self.valid_keys is not None and key_given not in self.valid_keys):
            return 401, _error("invalid_request_error", None, "Invalid API Key provided.")
        routes = {("POST", "/v1/checkout/sessions"): self._create_session,
                  ("POST", "/v1/payment_intents"): self._create_intent,
                  ("POST", "/v1/accounts"): self._create_account,
                  ("POST", "/v1/account_links"): self._create_account_link,
                  ("POST", "/v1/customers"): self._create_customer}  # fmt: skip
        route = routes.get((request.method, request.path))
        if request.method == "GET" and re.fullmatch(r"/v1/accounts/acct_\w+", request.path):
            route = self._retrieve_account
        if request.method == "GET" and re.fullmatch(r"/v1/setup_intents/seti_\w+", request.path):
            route = self._retrieve_setup_intent
        if request.method == "GET" and re.fullmatch(r"/v1/payment_methods/pm_\w+", request.path):
            route = self._retrieve_payment_method
        if request.method == "POST" and re.fullmatch(r"/v1/payment_methods/pm_\w+/detach", request.path):
            route = self._detach_payment_method
        if route is None:
            return 404, _error(
                "invalid_request_error", "resource_missing", f"Unrecognized request URL ({request.path})."
            )
        key = request.idempotency_key
        fingerprint = json.dumps([request.path, request.params], sort_keys=True)
        with self._lock:
            if key is not None and (request.account, key) in self._replies:
                first, status, reply = self._replies[(request.account, key)]
                if first != fingerprint:
                    return 400, _error(
                        "idempotency_error",
                        None,
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        "used with.",
                    )
                return status, reply
            status, reply = route(request)
            if key is not None:
                self._replies[(request.account, key)] = (fingerprint, status, reply)
        return status, reply

    def _create_session(self, request: Received) -> tuple[int, dict[str, Any]]:
        params = request.params
        if params.get("mode") == "setup":
            return self._create_setup_session(request)
        problem = _session_problem(params)
        if problem:
            return 400, _error("invalid_request_error", "parameter_invalid", problem)
        lines = params["line_items"]
        currency = lines[0]["price_data"]["currency"]
        if currency in THREE_DECIMAL and any(int(line["price_data"]["unit_amount"]) % 10 for line in lines):
            return 400, _error("invalid_request_error", "parameter_invalid_integer",
                               f"{currency.upper()} amounts must end in 0.")  # fmt: skip
        total = sum(int(line["price_data"]["unit_amount"]) * int(line.get("quantity", 1)) for line in lines)
        if total < MINIMUM_CHARGE.get(currency, 50):
            return 400, _error("invalid_request_error", "amount_too_small",
                               "The Checkout Session's total amount due must add up to at least 0.50 €.")  # fmt: skip
        session_id = "cs_test_" + secrets.token_hex(12)
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "currency": currency,
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "metadata": params.get("metadata") or {},
            "client_reference_id": params.get("client_reference_id"),
            "customer": params.get("customer"),
            "customer_email": params.get("customer_email"),
            "locale": params.get("locale"),
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.url}/checkout/{session_id}",
            "livemode": False,
            "created": now,
            "expires_at": now + 24 * 3600,
            "line_items_shown": lines,
            "payment_intent_data": params.get("payment_intent_data") or {},
        }
        self.sessions[session_id] = session
        self._session_accounts[session_id] = request.account
        return 200, _public(session)

    def _create_account(self, request: Received) -> tuple[int, dict[str, Any]]:
        """A connected account of the platform (never on a connected account),
        as Stripe makes a Standard one: nothing submitted, no charges yet."""
        params = request.params
        if request.account:
            return 400, _error("invalid_request_error", None, "Accounts are created by the platform, without a "
                               "Stripe-Account header.")  # fmt: skip
        kind = params.get("type") or ((params.get("controller") or {}).get("stripe_dashboard") or {}).get("type")
        if kind not in ("standard", "express", "custom", "full", "express_dashboard", "none"):
            return 400, _error("invalid_request_error", "parameter_missing",
                               "Missing required param: type (or controller[stripe_dashboard][type]).")  # fmt: skip
        metadata = params.get("metadata") or {}
        if not isinstance(metadata, dict):
            return 400, _error("invalid_request_error", "parameter_invalid", "Invalid metadata: an object.")
        due = ["business_profile.mcc", "business_profile.url", "external_account", "representative.first_name",
               "tos_acceptance.date", "tos_acceptance.ip"]  # fmt: skip
        account = {
            "id": "acct_1" + secrets.token_hex(8).upper(),
            "object": "account",
            "type": "standard" if kind in ("standard", "full") else kind,
            "controller": params.get("controller") or {"type": "application"},
            "business_profile": params.get("business_profile") or {},
            "capabilities": {},
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "country": params.get("country") or "FR",
            "default_currency": "eur",
            "email": params.get("email"),
            "metadata": dict(metadata),
            "requirements": {"currently_due": due, "eventually_due": due, "past_due": due, "pending_verification": [],
                             "disabled_reason": "requirements.past_due", "current_deadline": None, "errors": []},
            "created": int(time.time()),
            "livemode": False,
        }  # fmt: skip
        self.accounts[account["id"]] = account
        return 200, json.loads(json.dumps(account))

    def _retrieve_account(self, request: Received) -> tuple[int, dict[str, Any]]:
        account = self.accounts.get(request.path.rsplit("/", 1)[1])
        if account is None:
            return 404, _error("invalid_request_error", "resource_missing",
                               f"No such account: '{request.path.rsplit('/', 1)[1]}'")  # fmt: skip
        return 200, json.loads(json.dumps(account))

    def _create_account_link(self, request: Received) -> tuple[int, dict[str, Any]]:
        params = request.params
        for name in ("account", "type", "return_url", "refresh_url"):
            if not params.get(name):
                return 400, _error("invalid_request_error", "parameter_missing", f"Missing required param: {name}.")
        if params["account"] not in self.accounts:
            return 400, _error("invalid_request_error", "account_invalid", f"No such account: '{params['account']}'")
        if params["type"] not in ("account_onboarding", "account_update"):
            return 400, _error("invalid_request_error", "parameter_invalid", f"Invalid type: {params['type']}.")
        link_id = secrets.token_hex(12)
        now = int(time.time())
        link = {"object": "account_link", "created": now, "expires_at": now + 300,
                "url": f"{self.url}/connect/onboarding/{link_id}"}  # fmt: skip
        self.links[link_id] = {**link, "account": params["account"], "return_url": params["return_url"],
                               "refresh_url": params["refresh_url"], "used": False}  # fmt: skip
        return 200, link

    def _create_intent(self, request: Received) -> tuple[int, dict[str, Any]]:
        params = request.params
        for name in ("amount", "currency"):
            if name not in params:
                return 400, _error("invalid_request_error", "parameter_missing", f"Missing required param: {name}.")
        method = params.get("payment_method")
        if params.get("off_session") == "true" and not params.get("customer"):
            needs = "A PaymentIntent confirmed off-session needs the customer the card is saved to."
            return 400, _error("invalid_request_error", "parameter_missing", needs)
        amount, currency = params["amount"], params["currency"]
        if not str(amount).isdigit():
            return 400, _error("invalid_request_error", "parameter_invalid_integer", "Invalid integer: amount")
        if int(amount) < MINIMUM_CHARGE.get(currency, 50):
            return 400, _error("invalid_request_error", "amount_too_small", "Amount must be at least the minimum.")
        if currency in THREE_DECIMAL and int(amount) % 10:
            return 400, _error("invalid_request_error", "parameter_invalid_integer",
                               f"{currency.upper()} amounts must end in 0.")  # fmt: skip
        if method == "pm_missing":
            return 400, _error("invalid_request_error", "resource_missing", f"No such PaymentMethod: '{method}'")
        intent = _intent(int(params["amount"]), params["currency"], params.get("metadata") or {}, ["card"],
                         params.get("customer"))  # fmt: skip
        intent["payment_method"] = method
        named = self.saved_from.get(method or "", method)  # a card saved from pm_card_chargeDeclined declines
        if named in DECLINES:
            code, decline, message = DECLINES[named]
            intent.update(status="requires_payment_method", amount_received=0)
            error = _error("card_error", code, message)
            error["error"] |= {"decline_code": decline, "payment_intent": intent}
            return 402, error
        if "sepa_debit" in (params.get("payment_method_types") or []) or self._method_type(method) == "sepa_debit":
            return self._start_debit(request, intent)
        return 200, intent

    # -- SEPA Direct Debits: processing until the bank answers (settle, fail_debit) ----------

    def _method_type(self, method: str | None) -> str | None:
        """The type of a test payment method: a method the stand-in saved
        says its own; pm_sepa_debit (and any pm_sepa_…) is a SEPA one."""
        saved = self.payment_methods.get(method or "")
        if saved is not None:
            return str(saved["type"])
        return "sepa_debit" if (method or "").startswith("pm_sepa") else None

    def _start_debit(self, request: Received, intent: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A debit as Stripe starts it: `processing` (days, on Stripe), its
        payment_intent.processing event sent once the answer is."""
        intent.update(status="processing", amount_received=0, payment_method_types=["sepa_debit"],
                      mandate=request.params.get("mandate"))  # fmt: skip
        self.debits[intent["id"]] = (json.loads(json.dumps(intent)), request.account)
        event = _event("payment_intent.processing", json.loads(json.dumps(intent)), request.account)
        self.sent_events.append(event)  # when the answer is: a test reads it at once
        self._later.append(event)
        return 200, intent

    def settle(self, intent_id: str) -> list[dict[str, Any]]:
        """The bank paid the debit: its payment_intent.succeeded (sent, when
        there is a webhook URL); nothing once it was settled or failed."""
        with self._lock:
            intent, account = self.debits[intent_id]
            if intent["status"] != "processing":
                return []
            intent.update(status="succeeded", amount_received=intent["amount"])
            event = _event("payment_intent.succeeded", json.loads(json.dumps(intent)), account)
        self._send(event)
        return [event]

    def fail_debit(self, intent_id: str, code: str = "insufficient_funds") -> list[dict[str, Any]]:
        """The bank returned the debit (`code`, as Stripe names the reason):
        its payment_intent.payment_failed, sent as above; nothing once it was
        settled or failed."""
        with self._lock:
            intent, account = self.debits[intent_id]
            if intent["status"] != "processing":
                return []
            error = {"type": "card_error", "code": code, "message": f"The debit was returned by the bank: {code}."}
            intent.update(status="requires_payment_method", last_payment_error=error)
            event = _event("payment_intent.payment_failed", json.loads(json.dumps(intent)), account)
        self._send(event)
        return [event]

    def _debit_hook(self, handler: BaseHTTPRequestHandler, intent_id: str, action: str, body: str) -> None:
        """POST {url}/debits/{pi}/settle | /fail (code=…): the bank's answer, by hand under `make dev`."""
        if handler.command != "POST" or intent_id not in self.debits:
            _send_json(handler, 404, _error("invalid_request_error", "resource_missing", f"No debit {intent_id}"))
            return
        form = dict(parse_qsl(body))
        if action == "settle":
            events = self.settle(intent_id)
        else:
            events = self.fail_debit(intent_id, form.get("code") or "insufficient_funds")
        _send_json(handler, 200, {"events": [event["type"] for event in events]})

    def _send_later(self) -> None:
        """The events an API call set off, posted once its answer is (as Stripe's come after it)."""
        with self._lock:
            events, self._later[:] = list(self._later), []
        for event in events:
            self._post(event)

    def _checkout_page(self, handler: BaseHTTPRequestHandler, session_id: str, pay: bool, form: dict[str, str]) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            _send_page(handler, 404, "<p>No such Checkout Session.</p>")
            return
        if session["mode"] == "setup":
            self._setup_page(handler, session, pay, form)
            return
        if pay and handler.command == "POST":
            self.complete(session_id, form.get("method") or "card")
            handler.send_response(303)
            handler.send_header("Location", session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        lines = "".join(
            f"<li>{html.escape(line['price_data']['product_data']['name'])}: "
            f"{int(line['price_data']['unit_amount']) / 100:.2f}</li>"
            for line in session["line_items_shown"]
        )
        methods = "".join(
            f'<label><input type="radio" name="method" value="{m}"{" checked" if i == 0 else ""}> {m}</label><br>'
            for i, m in enumerate(session["payment_method_types"])
        )
        _send_page(
            handler,
            200,
            f"<h1>Stripe Checkout — local stand-in</h1><p>Nothing is charged: paying here sends the events "
            f"Stripe would send.</p><ul>{lines}</ul><p><strong>{amount}</strong></p>"
            f'<form method="post" action="/checkout/{session_id}/pay">{methods}'
            f'<button type="submit" id="standin-pay">Pay {amount}</button></form>'
            f'<p><a href="{html.escape(session.get("cancel_url") or "/")}">Back</a></p>',
        )

    def _onboarding_page(self, handler: BaseHTTPRequestHandler, link_id: str, complete: bool) -> None:
        """An account link's page: a link used or expired sends the business
        to its refresh_url, as Stripe's does; finishing sends it to its
        return_url, once the account.updated event went out."""
        with self._lock:
            link = self.links.get(link_id)
            usable = link is not None and not link["used"] and link["expires_at"] > time.time()
            if usable and complete and handler.command == "POST":
                link["used"] = True
        if link is None:
            _send_page(handler, 404, "<p>No such account link.</p>")
            return
        if not usable:
            _redirect(handler, link["refresh_url"])
            return
        if complete and handler.command == "POST":
            self.complete_onboarding(link["account"])
            _redirect(handler, link["return_url"])
            return
        _send_page(
            handler,
            200,
            f"<h1>Stripe Connect onboarding — local stand-in</h1><p>Account {html.escape(link['account'])}: "
            "finishing here submits its details, and Stripe enables its payments.</p>"
            f'<form method="post" action="/connect/onboarding/{link_id}/complete">'
            '<button type="submit" id="standin-onboard">Finish onboarding</button></form>',
        )


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (a[b][0][c]=v) back into nested values."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = [name or index for name, index in _KEY.findall(key)]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        items = {key: _lists(item) for key, item in value.items()}
        if items and all(key.isdigit() for key in items):
            return [items[key] for key in sorted(items, key=int)]
        return items
    return value


def _session_problem(params: dict[str, Any]) -> str | None:
    if params.get("mode") != "payment":
        return "mode: this stand-in takes payment sessions only"
    lines = params.get("line_items")
    if not isinstance(lines, list) or not lines:
        return "Missing required param: line_items."
    currencies = {line.get("price_data", {}).get("currency") for line in lines}
    if len(currencies) != 1:
        return "line_items: all lines must be in one currency"
    for line in lines:
        amount = line.get("price_data", {}).get("unit_amount", "")
        if not str(amount).isdigit():
            return "line_items: unit_amount must be a non-negative integer (minor units)"
    if not params.get("success_url"):
        return "Missing required param: success_url."
    types = params.get("payment_method_types") or ["card"]
    if set(types) - {"card", "customer_balance"}:
        return f"payment_method_types: {types} is not offered here"
    if params.get("customer") and params.get("customer_creation"):
        return "customer_creation cannot be used with customer"
    if "customer_balance" in types and not (params.get("customer") or params.get("customer_creation") == "always"):
        return "customer_balance requires a customer (customer, or customer_creation=always)"
    saving = (params.get("payment_intent_data") or {}).get("setup_future_usage")
    if saving is not None:
        if saving not in ("off_session", "on_session"):
            return f"payment_intent_data[setup_future_usage]: {saving} is not off_session or on_session"
        if "customer_balance" in types:
            return "payment_intent_data[setup_future_usage] cannot be used with customer_balance"
        if not (params.get("customer") or params.get("customer_creation") == "always"):
            return "payment_intent_data[setup_future_usage] requires a customer (customer, or customer_creation)"
    return None


def _setup_session_problem(params: dict[str, Any]) -> str | None:
    """A Checkout Session in setup mode, as Stripe checks one: no amount,
    a customer to save the method to, the types it can save."""
    if params.get("line_items") or params.get("payment_intent_data"):
        return "line_items and payment_intent_data are for payment mode, not setup mode"
    if not params.get("customer"):
        return "Missing required param: customer (the method is saved to a customer)."
    if not params.get("success_url"):
        return "Missing required param: success_url."
    types = params.get("payment_method_types") or ["card"]
    if not isinstance(types, list) or not types or set(types) - {"card", "sepa_debit"}:
        return f"payment_method_types: {types} cannot be saved here"
    for name in ("metadata", "setup_intent_data"):
        if not isinstance(params.get(name) or {}, dict):
            return f"Invalid {name}: an object."
    return None


def _intent(
    amount: int, currency: str, metadata: dict[str, Any], types: list[str], customer: str | None
) -> dict[str, Any]:
    return {
        "id": "pi_" + secrets.token_hex(12),
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": currency,
        "status": "succeeded",
        "metadata": dict(metadata),
        "payment_method_types": list(types),
        "customer": customer,
        "latest_charge": "ch_" + secrets.token_hex(12),
        "livemode": False,
        "created": int(time.time()),
    }


def _event(kind: str, obj: dict[str, Any], account: str | None) -> dict[str, Any]:
    event = {"id": "evt_" + secrets.token_hex(12), "object": "event", "type": kind, "created": int(time.time()),
             "livemode": False, "data": {"object": obj}}  # fmt: skip
    if account:
        event["account"] = account
    return event


def _public(session: dict[str, Any]) -> dict[str, Any]:
    hidden = ("line_items_shown", "payment_intent_data", "setup_intent_data")
    return {key: value for key, value in session.items() if key not in hidden}


def _error(kind: str, code: str | None, message: str) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return {"error": error}


def _send_json(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Request-Id", "req_" + secrets.token_hex(8))
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


def _redirect(handler: BaseHTTPRequestHandler, location: str) -> None:
    handler.send_response(303)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def _send_page(handler: BaseHTTPRequestHandler, status: int, content: str) -> None:
    payload = (
        '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>Stripe (local)</title></head><body>{content}</body></html>"
    ).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)
