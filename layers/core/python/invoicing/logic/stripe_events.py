"""Stripe's webhook events (SPEC §8): verified, then recorded from the signed
object itself with Stripe's cumulative fields, so a duplicated, late or
reordered event converges on the same state without calling Stripe back.

A card or bank-transfer payment is one payment per PaymentIntent on the
invoice its metadata names: `amount_received` only grows, and so does
`amount_refunded`, so each event sets the payment to the larger of what it
knew and what the event says. A refund that arrives before its payment is
kept (in the platform's partition) until the payment comes.

The signature makes an event authentic, not sound: its body is read as the
API reads its own (a JSON error, never a RecursionError), and what it says
is checked before anything is written — amounts are whole numbers of the
currency's smallest unit, a payment's above zero; a refund is at most its
charge and at most what the payment received (never a "tip refund" of
money that never came); an instalment the invoice does not have is not
kept, and the payment falls on the earliest unpaid ones.

Whose invoice an event pays is the owner of the account it comes from
(`account`, logic.stripe_accounts), never the metadata alone: a business
could write another's ids into the metadata of a payment on its own
account. An account a business had before still is its own, and each
PaymentIntent is remembered with the account it was made on, so a payment
or a refund made there after the business changed accounts is recorded.

No event is lost (SPEC §16): a signed, well-formed event that cannot be
applied — from an account no tenant has, naming an invoice that is not
there, an amount that does not fit — is parked under the platform with its
reason, counted (the metric StripeEventsParked, which has an alarm), and
replayed once its cause is fixed (`replay`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from invoicing import json_body
from invoicing.domain import stripe_money
from invoicing.domain.errors import Conflict, DomainError, InvalidInput, NotFound, StaleVersion
from invoicing.domain.invoice import instalments_shown, planned
from invoicing.domain.money import format_amount
from invoicing.domain.tenants import is_tenant_name
from invoicing.logic import delivery, payment_methods, payments, stripe_accounts
from invoicing.logic.common import BUSINESS_TIMEZONE, PLATFORM, Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.logic.stripe_accounts import KIND, CannotApply, metadata_of  # KIND: under the platform
from invoicing.ports import ConditionFailed, Doc, PageOf, PaymentGateway

TOLERANCE_S = 300
PARKED = "stripe_parked"  # under the platform: the events that could not be applied, by event id
PARKED_METRIC = "StripeEventsParked"  # counted by the webhook (namespace Invoicing): its alarm calls an operator
EVENT_RETENTION_S = 30 * 86_400  # Stripe retries an event for three days
MAX_FAILURES = 20
MAX_MINOR = 999_999_999_999  # Stripe's amounts have at most 12 digits
LATEST_CREATED = 10**11  # seconds since 1970: an event's `created` is before the year 5000
_STAMP = re.compile(r"[0-9]{1,12}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")

logger = logging.getLogger(__name__)


class BadSignature(DomainError):
    code = "bad_signature"


class MalformedEvent(DomainError):
    """A signed body that is not JSON (400, as the API answers its own)."""

    code = "malformed_json"


def verify(payload: bytes, header: str | None, secret: str, now: float) -> None:
    """Stripe's scheme: `t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload">`
    (several v1 while a secret is rolled), at most TOLERANCE_S old."""
    if not secret:
        raise RuntimeError("the webhook signing secret is empty: anyone could sign events")
    if not header:
        raise BadSignature("no Stripe-Signature header")
    pairs = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value.strip() for key, value in pairs if key.strip() == "t"]
    signatures = [value.strip() for key, value in pairs if key.strip() == "v1" and _HEX64.fullmatch(value.strip())]
    if len(stamps) != 1 or not _STAMP.fullmatch(stamps[0]) or not signatures:
        raise BadSignature("the Stripe-Signature header is not t=<seconds>,v1=<64 hex digits>")
    stamp = int(stamps[0])
    if abs(now - stamp) > TOLERANCE_S:
        raise BadSignature(f"the signature is more than {TOLERANCE_S} s away from now")
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise BadSignature("the signature does not match the body")


def sign(payload: bytes, secret: str, stamp: int) -> str:
    """The header Stripe would send (for the local tools and the tests)."""
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def receive(
    deps: Deps, payload: bytes, signature: str | None, secret: str, now: float,
    stripe: Callable[[], PaymentGateway] | None = None,
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """A delivery of Stripe's webhook: verified, applied once, remembered.
    What was done (for the log) and the event. An event seen before is
    answered at once; one that fails half-way is not remembered, so Stripe's
    retry applies the rest (each step is idempotent). `stripe`: Stripe's API,
    for what the events do not say (a saved method's details)."""
    verify(payload, signature, secret, now)
    try:
        event = json_body.parse(payload)
    except json.JSONDecodeError:
        raise MalformedEvent("the body is not valid JSON") from None
    event_id = _envelope(event)
    if seen(deps, event_id):
        return "already processed", event
    try:
        outcome = handle(deps, event, stripe)
    except CannotApply as cannot:  # counted once: a concurrent delivery of it finds it parked already
        outcome = f"parked: {cannot.reason}" if park(deps, event, cannot) else f"already parked: {cannot.reason}"
    done(deps, event_id)
    return outcome, event


def seen(deps: Deps, event_id: str) -> bool:
    return deps.store.get(PLATFORM, KIND, f"event:{event_id}") is not None


def _envelope(event: Any) -> str:
    """The event's id, once its envelope is Stripe's: an object with an id,
    a type, a `created` time and `data.object` an object (422 naming what is
    not)."""
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        raise InvalidInput.of("body", "not a Stripe event (an object with an id)")
    if not isinstance(event.get("type"), str):
        raise InvalidInput.of("type", "the event's type, a string")
    created = event.get("created")
    if type(created) is not int or not 0 <= created < LATEST_CREATED:
        raise InvalidInput.of("created", "when the event was created, in whole seconds since 1970")
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        raise InvalidInput.of("data.object", "the object the event is about")
    if not isinstance(event.get("account"), str | None):
        raise InvalidInput.of("account", "the connected account's id, a string")
    return str(event["id"])


def handle(deps: Deps, event: dict[str, Any], stripe: Callable[[], PaymentGateway] | None = None) -> str:
    """Apply the event; what was done, for the log. What the object says is
    checked before anything is written (422 naming the field)."""
    kind = event.get("type")
    obj = (event.get("data") or {}).get("object") or {}
    saved = payment_methods.from_event(deps, event, stripe)  # a card or an IBAN saved, or detached
    if saved is not None:
        return saved
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if obj.get("payment_status") != "paid":
            return "awaiting payment"  # a bank transfer: payment_intent.succeeded will say when it arrives
        intent = _text(obj, "payment_intent", required=False) or _text(obj, "id")
        # a session offers several ways; only a bank transfer (customer_balance) is paid later
        delayed = kind == "checkout.session.async_payment_succeeded"
        methods = ["customer_balance"] if delayed else obj.get("payment_method_types")
        return _paid(deps, event, metadata_of(obj), intent, _minor_units(obj, "amount_total"), _currency(obj), methods)
    if kind == "payment_intent.succeeded":
        outcome = _paid(deps, event, metadata_of(obj), _text(obj, "id"), _minor_units(obj, "amount_received"),
                        _currency(obj), obj.get("payment_method_types"))  # fmt: skip
        if obj.get("setup_future_usage"):  # the client asked to save the card it paid with
            logger.info("card saved with a payment: %s", payment_methods.saved_with_payment(deps, event, obj, stripe))
        return outcome
    if kind == "payment_intent.payment_failed":
        return _failed(deps, event, obj)
    if kind == "payment_intent.processing":
        return _processing(deps, event, obj)
    if kind == "charge.refunded":
        return _refunded(deps, event, obj)
    if kind == "account.updated":
        metadata_of(obj)
        return stripe_accounts.updated(deps, event, obj)
    return "ignored"


def done(deps: Deps, event_id: str) -> None:
    """Remember the event (a repeat is answered at once); kept a month."""
    now = deps.timestamp()
    doc = {
        "id": f"event:{event_id}",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "expires_epoch": int(deps.now().timestamp()) + EVENT_RETENTION_S,
    }
    with contextlib.suppress(ConditionFailed):  # a concurrent delivery of it got there first
        deps.store.create(PLATFORM, KIND, doc, name=None)


# -- events parked, and replayed ---------------------------------------------------------


def park(deps: Deps, event: dict[str, Any], cannot: CannotApply) -> bool:
    """Keep the event, with why it could not be applied, until it is
    replayed; False when a concurrent delivery of it parked it first."""
    now = deps.timestamp()
    obj = event["data"]["object"]
    doc = {
        "id": str(event["id"]),
        "type": event.get("type"),
        "account": event.get("account"),
        "object_id": obj.get("id") if isinstance(obj.get("id"), str) else None,
        "reason": cannot.reason,
        "detail": cannot.detail,
        "field": cannot.field,
        "event": json.dumps(event, separators=(",", ":")),
        "replays": 0,
        "parked_at": now,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    try:
        deps.store.create(PLATFORM, PARKED, doc, name=None)
    except ConditionFailed:
        return False
    logger.warning("stripe event parked", extra={"event_id": doc["id"], "type": doc["type"],
                                                 "account": doc["account"], "reason": cannot.reason})  # fmt: skip
    return True


def parked(deps: Deps, limit: int = 50, cursor: str | None = None) -> PageOf:
    """The events parked, a page at a time (each without its body)."""
    found = deps.store.list(PLATFORM, PARKED, limit=limit, cursor=cursor)
    return PageOf([{key: value for key, value in doc.items() if key != "event"} for doc in found.items], found.cursor)


def replay(deps: Deps, event_id: str, stripe: Callable[[], PaymentGateway] | None = None) -> str:
    """Apply a parked event again, now that its cause is fixed (the account
    recorded, the invoice there): what was done. Applied, it leaves the
    parked events; still not applicable, it stays, with the reason now."""
    kept = deps.store.get(PLATFORM, PARKED, event_id)
    if kept is None:
        raise NotFound("parked event")
    try:
        outcome = handle(deps, json.loads(kept["event"]), stripe)
    except CannotApply as still:
        tried = {**kept, "reason": still.reason, "detail": still.detail, "field": still.field,
                 "replays": kept["replays"] + 1, "version": kept["version"] + 1,
                 "updated_at": deps.timestamp()}  # fmt: skip
        with contextlib.suppress(Conflict, NotFound):  # replayed meanwhile: the other replay says
            deps.store.replace(PLATFORM, PARKED, tried, expected_version=kept["version"], old_name=None,
                               new_name=None)  # fmt: skip
        return f"still parked: {still.reason}"
    with contextlib.suppress(Conflict, NotFound):
        deps.store.delete(PLATFORM, PARKED, event_id, expected_version=kept["version"], name=None)
    return outcome


# -- the events -----------------------------------------------------------------


def _paid(
    deps: Deps, event: dict[str, Any], metadata: dict[str, Any], intent: str, received: int, currency: str,
    methods: list[str] | None,
) -> str:  # fmt: skip
    target = _target(deps, event, metadata) or _known_intent(deps, event, intent)
    if target is None:
        return "no invoice of ours"
    tenant, invoice_id = target
    account = event.get("account")
    _remember_intent(deps, intent, tenant, invoice_id, account)

    def attempt() -> str:
        invoice = deps.store.get(tenant, "invoice", invoice_id)
        if invoice is None:
            raise CannotApply("unknown_invoice", f"{tenant} has no invoice {invoice_id}")
        code = invoice["currency"]
        if currency.upper() != code:
            raise CannotApply("currency", f"paid in {currency.upper()}, not in the invoice's {code}",
                              "data.object.currency")  # fmt: skip
        existing = next((p for p in invoice.get("payments") or [] if p.get("stripe_payment_intent") == intent), None)
        # Each a maximum (Stripe's amounts only grow), and the amount what they leave: any order converges.
        received_total = max(_amount(received, code), Decimal((existing or {}).get("stripe_amount_received") or 0))
        tip = min(
            received_total, max(_amount(_minor(metadata.get("tip")), code), Decimal((existing or {}).get("tip") or 0))
        )
        toward = received_total - tip
        early = _amount(_early_refund(deps, intent, account), code)
        if early > received_total:  # the charge and the payment disagree: the payment is sure, the refund is not
            logger.warning("a refund kept for %s is more than its payment received: not recorded", intent)
            early = Decimal(0)
        refunded = max(early, _refunded_total(existing))
        payment = {
            "id": existing["id"] if existing else deps.new_id("pay"),
            "method": _method(methods, existing),
            "amount": format_amount(toward, code),
            "paid_at": existing["paid_at"] if existing else _day(event),
            "instalment_id": _instalment(invoice, metadata.get("instalment_id"), intent)
            or _instalment(invoice, (existing or {}).get("instalment_id"), intent),
            "source": "stripe",
            "tip": format_amount(tip, code),
            **_refund_split(refunded, toward, code),
            "status": "succeeded",
            "stripe_payment_intent": intent,
            "stripe_amount_received": format_amount(received_total, code),
            "recorded_at": existing["recorded_at"] if existing else deps.timestamp(),
        }
        if existing == payment and not _processing_of(invoice, intent):
            return "already recorded"
        listed = invoice.get("payments") or []
        # in its place: the order of payments decides the instalments they fill
        updated = [payment if p is existing else p for p in listed] if existing else [*listed, payment]
        payments.save(deps, tenant, _not_processing(invoice, intent), updated)
        return "recorded" if existing is None else "updated"

    return until_written(attempt, f"invoice {invoice_id} too busy to record {intent} now (Stripe retries)")


def _refunded(deps: Deps, event: dict[str, Any], charge: dict[str, Any]) -> str:
    intent = _text(charge, "payment_intent", required=False)
    if not intent:
        return "not a payment intent's charge"
    amount_refunded = _minor_units(charge, "amount_refunded", least=0)
    if amount_refunded > _minor_units(charge, "amount"):
        raise InvalidInput.of("data.object.amount_refunded", "more than the charge's amount")
    metadata = metadata_of(charge)
    _keep_early_refund(deps, intent, amount_refunded, event.get("account"))
    remembered = _known_intent(deps, event, intent)
    target = remembered or _target(deps, event, metadata)
    if target is None:
        return "refund kept until its payment"
    tenant, invoice_id = target

    def attempt() -> str:
        invoice = deps.store.get(tenant, "invoice", invoice_id)
        if invoice is None:
            raise CannotApply("unknown_invoice", f"{tenant} has no invoice {invoice_id}")
        existing = next((p for p in invoice.get("payments") or [] if p.get("stripe_payment_intent") == intent), None)
        if existing is None and remembered:
            # its payment is being written now (the intent is remembered first), maybe
            # without this refund: fail, so that Stripe delivers the refund again
            raise RuntimeError(f"the payment of {intent} is being recorded; Stripe will retry the refund")
        if existing is None:
            return "refund kept until its payment"
        code = invoice["currency"]
        received = Decimal(existing.get("stripe_amount_received") or Decimal(existing["amount"]) + _tip(existing))
        if _amount(amount_refunded, code) > received:
            raise CannotApply("amount", f"refunded more than the payment received ({format_amount(received, code)} "
                              f"{code}): not recorded", "data.object.amount_refunded")  # fmt: skip
        refunded = max(_amount(amount_refunded, code), _refunded_total(existing))
        payment = {**existing, **_refund_split(refunded, Decimal(existing["amount"]), code)}
        if payment == existing:
            return "already recorded"
        payments.save(deps, tenant, invoice, [payment if p is existing else p for p in invoice["payments"]])
        return "refund recorded"

    return until_written(attempt, f"invoice {invoice_id} too busy to record a refund of {intent} now (Stripe retries)")


def _failed(deps: Deps, event: dict[str, Any], intent: dict[str, Any]) -> str:
    """Shown to the business on the invoice (`payment_failures`), newest
    last; nothing is paid, and a payment that was processing is no longer.

    A PaymentIntent the system made to collect the invoice on its own
    (logic.auto_charge, `metadata.auto_charge`) is tried once: its failure
    is recorded once, whichever tells it first (Stripe's answer to the
    charge, its event, a retry of either), and its client is sent the
    invoice's page to pay it there, once (logic.delivery)."""
    intent_id = _text(intent, "id")
    error = intent.get("last_payment_error") or {}
    if not isinstance(error, dict):
        raise InvalidInput.of("data.object.last_payment_error", "the error, an object")
    metadata = metadata_of(intent)
    target = _target(deps, event, metadata)
    if target is None:
        return "no invoice of ours"
    tenant, invoice_id = target
    automatic = metadata.get("auto_charge") == "true"
    failure = {
        "stripe_payment_intent": intent["id"],
        "event_id": event.get("id"),
        "code": error.get("decline_code") or error.get("code"),
        "message": str(error.get("message") or "the payment failed")[:500],
        "failed_at": _stamp(event),
    }

    def attempt() -> str:
        invoice = deps.store.get(tenant, "invoice", invoice_id)
        if invoice is None:
            raise CannotApply("unknown_invoice", f"{tenant} has no invoice {invoice_id}")
        known = invoice.get("payment_failures") or []
        # an automatic charge fails once: its intent says which failure it is, an event may not
        same = "stripe_payment_intent" if automatic else "event_id"
        recorded = any(item.get(same) == failure[same] for item in known)
        if recorded and not _processing_of(invoice, intent_id):
            return "already recorded"
        listed = known if recorded else sorted([*known, failure], key=lambda item: item["failed_at"])[-MAX_FAILURES:]
        doc = planned({**_not_processing(invoice, intent_id), "payment_failures": listed,
                       "version": invoice["version"] + 1, "updated_at": deps.timestamp()})  # fmt: skip
        try:
            deps.store.replace(
                tenant, "invoice", doc, expected_version=invoice["version"], old_name=None, new_name=None
            )
        except StaleVersion:
            raise LostRace from None
        return "failure recorded"

    outcome = until_written(attempt, f"invoice {invoice_id} too busy to record a failure now (Stripe retries)")
    if automatic:  # after the failure is written: a retry of the event, or of the charge, sends what is missing
        delivery.request_payment_failed_notice(deps, tenant, invoice_id, intent_id)
    return outcome


def _processing(deps: Deps, event: dict[str, Any], intent: dict[str, Any]) -> str:
    """A payment on its way: a SEPA Direct Debit takes days to succeed or
    fail. The invoice shows it (`payment_processing`) until the intent's
    payment is recorded or its failure is; an event older than its
    intent's failure, or about a payment already recorded, changes nothing."""
    intent_id = _text(intent, "id")
    amount, currency = _minor_units(intent, "amount"), _currency(intent)
    target = _target(deps, event, metadata_of(intent)) or _known_intent(deps, event, intent_id)
    if target is None:
        return "no invoice of ours"
    tenant, invoice_id = target
    _remember_intent(deps, intent_id, tenant, invoice_id, event.get("account"))
    since = _stamp(event)
    types = intent.get("payment_method_types") or []

    def attempt() -> str:
        invoice = deps.store.get(tenant, "invoice", invoice_id)
        if invoice is None:
            raise CannotApply("unknown_invoice", f"{tenant} has no invoice {invoice_id}")
        code = invoice["currency"]
        if currency.upper() != code:
            raise CannotApply("currency", f"paid in {currency.upper()}, not in the invoice's {code}",
                              "data.object.currency")  # fmt: skip
        if any(p.get("stripe_payment_intent") == intent_id for p in invoice.get("payments") or []):
            return "already paid"
        failures = invoice.get("payment_failures") or []
        if any(f.get("stripe_payment_intent") == intent_id and f["failed_at"] >= since for f in failures):
            return "already failed"
        if _processing_of(invoice, intent_id):
            return "already processing"
        shown = {"stripe_payment_intent": intent_id, "method": "sepa_debit" if "sepa_debit" in types else "card",
                 "amount": format_amount(_amount(amount, code), code), "since": since}  # fmt: skip
        doc = planned({**invoice, "payment_processing": shown, "version": invoice["version"] + 1,
                       "updated_at": deps.timestamp()})  # fmt: skip
        try:
            deps.store.replace(
                tenant, "invoice", doc, expected_version=invoice["version"], old_name=None, new_name=None
            )
        except StaleVersion:
            raise LostRace from None
        return "processing"

    return until_written(attempt, f"invoice {invoice_id} too busy to show {intent_id} processing (Stripe retries)")


def _processing_of(invoice: Doc, intent: str) -> bool:
    """Whether the invoice shows this intent's payment on its way."""
    return (invoice.get("payment_processing") or {}).get("stripe_payment_intent") == intent


def _not_processing(invoice: Doc, intent: str) -> Doc:
    """The invoice, no longer showing this intent's payment on its way
    (its payment came, or it failed); another's stays."""
    if not _processing_of(invoice, intent):
        return invoice
    return {**invoice, "payment_processing": None}


# -- helpers ------------------------------------------------------------------


def _minor_units(obj: dict[str, Any], key: str, least: int = 1) -> int:
    """An amount of the object: a whole number of the currency's smallest
    unit (never a float, a string or a boolean), `least` at least."""
    value = obj.get(key)
    if type(value) is not int or not least <= value <= MAX_MINOR:
        kind = "a positive" if least > 0 else "a"
        raise InvalidInput.of(f"data.object.{key}", f"{kind} whole number of the currency's smallest unit")
    return value


def _currency(obj: dict[str, Any]) -> str:
    value = obj.get("currency")
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise InvalidInput.of("data.object.currency", "a three-letter ISO 4217 code")
    return value


def _text(obj: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = obj.get(key)
    if (value is None and not required) or (isinstance(value, str) and 0 < len(value) <= 255):
        return value or ""
    raise InvalidInput.of(f"data.object.{key}", "an id, a string")


def _instalment(invoice: Doc, named: Any, intent: str) -> str | None:
    """The instalment `named`, if the invoice has it. Another is not kept:
    the money came all the same, and it falls on the earliest instalments
    not yet paid, as a payment that names none (SPEC §6)."""
    if not named:
        return None
    if named in [item["id"] for item in instalments_shown(invoice) or []]:
        return str(named)
    logger.warning("the payment %s names an instalment its invoice does not have: not kept", intent)
    return None


def _target(deps: Deps, event: dict[str, Any], metadata: dict[str, Any]) -> tuple[str, str] | None:
    """The invoice the metadata names — None when it names none of ours —
    once the event's account is that invoice's business's: any business
    could write another's ids into the metadata of a payment on its own
    account. CannotApply when the event cannot pay it."""
    tenant, invoice_id = metadata.get("tenant_id"), metadata.get("invoice_id")
    if not is_tenant_name(tenant) or not isinstance(invoice_id, str) or not invoice_id:
        return None
    stripe_accounts.owned_account(deps, event, tenant, "an invoice")
    if deps.store.get(tenant, "invoice", invoice_id) is None:
        raise CannotApply("unknown_invoice", f"{tenant} has no invoice {invoice_id}")
    return tenant, invoice_id


def _known_intent(deps: Deps, event: dict[str, Any], intent: str) -> tuple[str, str] | None:
    """The invoice a PaymentIntent was remembered for, when the event comes
    from the account it was made on."""
    known = deps.store.get(PLATFORM, KIND, f"intent:{intent}")
    if not known:
        return None
    if "account" in known:
        if known["account"] != event.get("account"):
            raise CannotApply("account_mismatch", f"{intent} was made on another account than the event's")
    else:  # remembered before its account was
        stripe_accounts.owned_account(deps, event, known["tenant_id"], "an invoice")
    return known["tenant_id"], known["invoice_id"]


def _remember_intent(deps: Deps, intent: str, tenant: str, invoice_id: str, account: str | None) -> None:
    """Which invoice a PaymentIntent pays, and on which account it was made,
    for the events that do not say (a charge's refund)."""
    now = deps.timestamp()
    doc = {"id": f"intent:{intent}", "tenant_id": tenant, "invoice_id": invoice_id, "account": account,
           "version": 1, "created_at": now, "updated_at": now}  # fmt: skip
    with contextlib.suppress(ConditionFailed):
        deps.store.create(PLATFORM, KIND, doc, name=None)


def _early_refund(deps: Deps, intent: str, account: str | None) -> int:
    """What was refunded of the intent on `account` before its payment came
    (and, kept before refunds named their account, on any)."""
    kept = [deps.store.get(PLATFORM, KIND, f"refund:{intent}@{account or ''}"),
            deps.store.get(PLATFORM, KIND, f"refund:{intent}")]  # fmt: skip
    return max((int(item["amount_refunded"]) for item in kept if item), default=0)


def _keep_early_refund(deps: Deps, intent: str, amount_refunded: int, account: str | None) -> None:
    """The largest cumulative refund seen for the intent on the account (minor units)."""
    refund_id = f"refund:{intent}@{account or ''}"

    def attempt() -> None:
        kept = deps.store.get(PLATFORM, KIND, refund_id)
        if kept and int(kept["amount_refunded"]) >= amount_refunded:
            return
        now = deps.timestamp()
        version = kept["version"] if kept else 0
        doc = {"id": refund_id, "amount_refunded": amount_refunded, "version": version + 1,
               "created_at": (kept or {}).get("created_at", now), "updated_at": now}  # fmt: skip
        try:
            deps.store.replace(PLATFORM, KIND, doc, expected_version=version, old_name=None, new_name=None)
        except StaleVersion:
            raise LostRace from None

    until_written(attempt, f"the refund of {intent} is being recorded too often at once (Stripe retries)")


def _method(offered: list[str] | None, existing: Doc | None) -> str:
    """How it was paid: certain when the object offered one way only (a
    bank transfer is Stripe's customer_balance); otherwise as first known."""
    if offered == ["customer_balance"]:
        return "bank_transfer"
    if offered == ["sepa_debit"]:
        return "sepa_debit"
    if offered == ["card"] or existing is None:
        return "card"
    return str(existing["method"])


def _refund_split(refunded: Decimal, toward: Decimal, currency: str) -> dict[str, str]:
    """A refund gives back the invoice's part first, then the tip."""
    of_invoice = min(refunded, toward)
    return {
        "amount_refunded": format_amount(of_invoice, currency),
        "tip_refunded": format_amount(refunded - of_invoice, currency),
    }


def _tip(payment: Doc) -> Decimal:
    return Decimal(payment.get("tip") or 0)


def _refunded_total(payment: Doc | None) -> Decimal:
    if payment is None:
        return Decimal(0)
    return Decimal(payment.get("amount_refunded") or 0) + Decimal(payment.get("tip_refunded") or 0)


def _amount(minor: int, currency: str) -> Decimal:
    return stripe_money.from_stripe(minor, currency)


def _minor(value: Any) -> int:
    try:
        return max(0, int(str(value))) if value not in (None, "") else 0
    except ValueError:
        return 0


def _day(event: dict[str, Any]) -> str:
    created = datetime.fromtimestamp(int(event.get("created") or time.time()), UTC)
    return created.astimezone(BUSINESS_TIMEZONE).date().isoformat()


def _stamp(event: dict[str, Any]) -> str:
    created = datetime.fromtimestamp(int(event.get("created") or time.time()), UTC)
    return created.isoformat(timespec="seconds").replace("+00:00", "Z")
