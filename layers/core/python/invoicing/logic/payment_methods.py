"""Payment methods the business's clients save with Stripe (SPEC §12): a
card or an IBAN (SEPA Direct Debit, with its mandate), kept for charging
later invoices without the client (logic.auto_charge).

A client saves one through a setup link (Stripe Checkout in setup mode on
the business's connected account, `setup`), or by ticking "save my card"
on the hosted invoice page (logic.paypage). Nothing is written when the
link is made: Stripe's signed events say what was saved, and the method is
recorded from them (`from_event`, called by logic.stripe_events) —
checkout.session.completed in setup mode and setup_intent.succeeded (the
SetupIntent asked of Stripe, its payment method expanded: the events carry
no card details), payment_intent.succeeded of a payment that saved its
card, payment_method.detached.

Stored under the tenant, kind `payment_method`, as children of the
customer: id `{customer id}.{Stripe's pm id}`, so a method is recorded
once however many events name it, and however concurrently. The client as
a Stripe customer is the customer's `stripe_customer_id`, on the account
`stripe_customer_account`; each method keeps the Stripe customer and the
account it was saved on (a business that changes accounts keeps them, but
they can only be charged there).

One method is the customer's default whenever any is saved: the one most
recently chosen (`default_at`: the first saved, a POST .../default, or the
newest remaining when the default is removed); with none chosen, the
newest. Deriving it, rather than keeping a flag on each, means no write
ever leaves two defaults or none, whatever runs at once.

Whose method an event records is the owner of the account it comes from
(logic.stripe_accounts), checked against the metadata the system put on
what it created (`tenant_id`, `customer_id`): never the metadata alone.
A removed method is remembered under the platform (`method:{pm}`,
detached), so an event that comes late never brings it back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from invoicing.domain.errors import Busy, Conflict, InvalidInput, NotFound, ProviderRefused, StaleVersion
from invoicing.domain.tenants import is_tenant_name
from invoicing.logic import stripe_accounts
from invoicing.logic.catalog import BUSINESS_ID
from invoicing.logic.common import PLATFORM, Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.logic.stripe_accounts import KIND as STRIPE_KIND
from invoicing.logic.stripe_accounts import CannotApply, metadata_of
from invoicing.ports import ConditionFailed, Doc, PaymentGateway, StripeRefused, StripeUnavailable
from invoicing.settings import settings

logger = logging.getLogger(__name__)

KIND = "payment_method"
TYPES = ("card", "sepa_debit")  # what a setup link may offer (Stripe's payment_method_types)
SETUP_QUERY = "payment_method_setup"  # ?payment_method_setup=done|cancelled on the frontend, by default
STRIPE_LOCALES = {"fr": "fr", "en": "en"}
SHOWN = ("type", "brand", "last4", "exp_month", "exp_year", "mandate", "country", "created_at")
# Stripe's answer to detaching a method that no longer is attached: it is gone already
GONE = ("resource_missing", "payment_method_unexpected_state")

Gateway = Callable[[], PaymentGateway]


# -- the setup link ------------------------------------------------------------------------


def setup(
    deps: Deps, stripe: PaymentGateway, tenant: str, customer_id: str, types: list[str], return_url: str | None
) -> Doc:
    """A link to Stripe's page where the client saves a card or an IBAN
    (`types`) for the business's later invoices: `{id, url, expires_at}`.
    The client becomes a Stripe customer of the business's account first,
    if it is not one there yet. Stripe sends the client to `return_url`
    (by default the frontend's, `?payment_method_setup=done`)."""
    customer = _customer(deps, tenant, customer_id)
    account = _chargeable(deps, tenant)
    done, cancelled = return_urls(return_url)
    stripe_customer = stripe_customer_on(deps, stripe, tenant, customer, account)
    business = deps.store.get(tenant, "business", BUSINESS_ID) or {}
    locale = str(business.get("locale") or "fr-FR")
    metadata = {"tenant_id": tenant, "customer_id": customer_id}
    params = {
        "mode": "setup",
        "customer": stripe_customer,
        "payment_method_types": list(dict.fromkeys(types)),
        "success_url": done,
        "cancel_url": cancelled,
        "locale": STRIPE_LOCALES["fr" if locale.startswith("fr") else "en"],
        "metadata": dict(metadata),
        "setup_intent_data": {"metadata": dict(metadata)},
    }
    # a link each time it is asked (a client may open one, lose it, ask again); the key covers
    # the library's own retries of this request, and the API's Idempotency-Key the client's
    seed = json.dumps([account, params, deps.new_id("setup")], sort_keys=True)
    key = "setup-" + hashlib.sha256(seed.encode()).hexdigest()[:48]
    try:
        session = _ask(lambda: stripe.create_checkout_session(account, params, key), "the setup link", quiet=True)
    except StripeRefused as refused:
        typed_in = customer.get("stripe_customer_id") and not customer.get("stripe_customer_account")
        if refused.code != "resource_missing" or not typed_in:
            raise _refusal(refused, "the setup link") from None
        # an id typed in that Stripe does not know on this account: the client becomes a customer there
        fresh = {**customer, "stripe_customer_id": None}
        params["customer"] = stripe_customer_on(deps, stripe, tenant, fresh, account)
        session = _ask(lambda: stripe.create_checkout_session(account, params, key + "-2"), "the setup link")
    return {"id": session["id"], "url": session["url"], "expires_at": _iso(int(session["expires_at"]))}


def return_urls(return_url: str | None) -> tuple[str, str]:
    """Where Stripe sends the client back: a URL of the frontend's origins
    or of the platform's public address (422 naming return_url otherwise);
    by default the frontend's first origin."""
    allowed = [origin.rstrip("/") for origin in settings().frontend_origins]
    if settings().public_base_url:
        parts = urlsplit(settings().public_base_url)
        allowed.append(f"{parts.scheme}://{parts.netloc}")
    if return_url is None:
        home = (settings().frontend_origins or (settings().public_base_url or "",))[0].rstrip("/")
        if not home:
            raise InvalidInput.of("return_url", "the platform has no frontend origin: send where to come back")
        return f"{home}/?{SETUP_QUERY}=done", f"{home}/?{SETUP_QUERY}=cancelled"
    parts = urlsplit(return_url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if parts.scheme not in ("https", "http") or origin not in [item.lower() for item in allowed]:
        raise InvalidInput.of("return_url", f"a URL of the frontend ({', '.join(allowed) or 'none configured'})")
    return return_url, return_url


def stripe_customer_on(deps: Deps, stripe: PaymentGateway, tenant: str, customer: Doc, account: str) -> str:
    """The client as a Stripe customer of `account`: the one recorded when
    it lives there (an id typed in, without its account, is taken to —
    as the field says), else created there and recorded. Created once:
    the key is the (deployment, tenant, customer, account)'s, so
    concurrent setups and retries get the same Stripe customer."""
    known = customer.get("stripe_customer_id")
    if known and customer.get("stripe_customer_account", account) == account:
        return str(known)
    params = {
        "name": customer["name"],
        "metadata": {"tenant_id": tenant, "customer_id": customer["id"]},
        **({"email": customer["email"]} if customer.get("email") else {}),
    }
    seed = json.dumps([settings().table or "", tenant, customer["id"], account])
    key = "customer-" + hashlib.sha256(seed.encode()).hexdigest()[:48]
    created = _ask(lambda: stripe.create_customer(account, params, key), "the client as a Stripe customer")
    stripe_customer = created.get("id")
    if not isinstance(stripe_customer, str) or not stripe_customer.startswith("cus_"):
        raise ProviderRefused("Stripe answered the customer's creation without a customer id")
    adopt(deps, tenant, customer["id"], stripe_customer, account, replace=True)
    return stripe_customer


def adopt(deps: Deps, tenant: str, customer_id: str, stripe_customer: str, account: str, *, replace: bool) -> None:
    """Record the Stripe customer (and its account) on the customer: when it
    has none on `account`, or — `replace` — whatever it had."""

    def attempt() -> None:
        current = deps.store.get(tenant, "customer", customer_id)
        if current is None:
            return
        same = (current.get("stripe_customer_id"), current.get("stripe_customer_account")) == (stripe_customer, account)
        on_account = current.get("stripe_customer_id") and current.get("stripe_customer_account", account) == account
        if same or (on_account and not replace):
            return
        doc = {**current, "stripe_customer_id": stripe_customer, "stripe_customer_account": account,
               "version": current["version"] + 1, "updated_at": deps.timestamp()}  # fmt: skip
        try:
            deps.store.replace(tenant, "customer", doc, expected_version=current["version"], old_name=None,
                               new_name=None)  # fmt: skip
        except StaleVersion:
            raise LostRace from None
        except NotFound:
            return

    until_written(attempt, f"customer {customer_id} too busy to record its Stripe customer now")


# -- listing, choosing, removing -------------------------------------------------------------


def list_methods(deps: Deps, tenant: str, customer_id: str) -> list[Doc]:
    """The customer's saved methods, oldest first, the default marked."""
    _customer(deps, tenant, customer_id)
    return [shown(method) for method in _marked(_stored(deps, tenant, customer_id))]


def default_method(deps: Deps, tenant: str, customer_id: str) -> Doc | None:
    """The customer's default method, as stored (`id`: Stripe's pm id;
    `type`, `stripe_customer`, `account`, `mandate`…), None without any."""
    marked = [method for method in _marked(_stored(deps, tenant, customer_id)) if method["default"]]
    return marked[0] if marked else None


def choose_default(deps: Deps, tenant: str, customer_id: str, payment_method: str) -> Doc:
    """Make the method the customer's default (chosen now)."""
    _customer(deps, tenant, customer_id)

    def attempt() -> None:
        current = deps.store.get(tenant, KIND, child_id(customer_id, payment_method))
        if current is None:
            raise NotFound("payment method")
        _write(deps, tenant, {**current, "default_at": deps.timestamp()}, current["version"])

    until_written(attempt, f"the payment methods of {customer_id} too busy to change now")
    return next(item for item in list_methods(deps, tenant, customer_id) if item["id"] == payment_method)


def detach(deps: Deps, stripe: PaymentGateway, tenant: str, customer_id: str, payment_method: str) -> None:
    """Detach the method at Stripe (it can never be charged again), then
    forget it; the newest remaining becomes the default if it was."""
    _customer(deps, tenant, customer_id)
    current = deps.store.get(tenant, KIND, child_id(customer_id, payment_method))
    if current is None:
        raise NotFound("payment method")
    try:
        stripe.detach_payment_method(current["account"], payment_method)
    except StripeRefused as refused:
        if refused.code not in GONE:
            logger.error("stripe refused a detach", extra={"code": refused.code, "status": refused.status})
            raise ProviderRefused("Stripe refused to detach the payment method") from None
    except StripeUnavailable:
        raise Busy("Stripe did not answer; try again in a moment", retry_after_s=5) from None
    forget(deps, tenant, customer_id, payment_method, current["account"])


def forget(deps: Deps, tenant: str, customer_id: str, payment_method: str, account: str | None) -> str:
    """The method is detached: remembered so (no late event brings it back),
    removed, and if it was the default, the newest remaining chosen."""
    _remember(deps, payment_method, tenant, customer_id, account, detached=True)
    before = _marked(_stored(deps, tenant, customer_id))
    removed = next((method for method in before if method["id"] == payment_method), None)
    if removed is None:
        return "already removed"
    with contextlib.suppress(StaleVersion, NotFound, ConditionFailed):  # removed meanwhile: by another
        deps.store.delete(tenant, KIND, child_id(customer_id, payment_method), expected_version=None, name=None)
    if removed["default"]:
        _promote_newest(deps, tenant, customer_id)
    return "payment method removed"


def _promote_newest(deps: Deps, tenant: str, customer_id: str) -> None:
    def attempt() -> None:
        remaining = _stored(deps, tenant, customer_id)
        if not remaining:
            return
        newest = max(remaining, key=lambda method: (method["created_at"], method["id"]))
        _write(deps, tenant, {**newest, "default_at": deps.timestamp()}, newest["version"])

    with contextlib.suppress(NotFound):  # removed meanwhile as well: the next remaining is the newest
        until_written(attempt, f"the payment methods of {customer_id} too busy to change now")


# -- recording what Stripe says was saved ------------------------------------------------------


def from_event(deps: Deps, event: dict[str, Any], stripe: Gateway | None) -> str | None:
    """What the event did to saved methods; None when it is not about them
    (logic.stripe_events applies it then)."""
    kind = event.get("type")
    obj = (event.get("data") or {}).get("object") or {}
    if kind == "checkout.session.completed" and obj.get("mode") == "setup":
        setup_intent = _id(obj.get("setup_intent"), "setup_intent")
        if not is_tenant_name(metadata_of(obj).get("tenant_id")):
            return "no customer of ours"
        return _from_setup_intent(deps, event, setup_intent, stripe)
    if kind == "setup_intent.succeeded":
        _id(obj.get("id"), "id")
        if not is_tenant_name(metadata_of(obj).get("tenant_id")):
            return "no customer of ours"
        return _from_setup_intent(deps, event, obj["id"], stripe)
    if kind == "payment_method.detached":
        return _detached(deps, event, _id(obj.get("id"), "id"))
    return None


def saved_with_payment(deps: Deps, event: dict[str, Any], intent: dict[str, Any], stripe: Gateway | None) -> str:
    """A payment the client asked to save its card with (the hosted page's
    box: setup_future_usage): the card, recorded as the SetupIntent's are."""
    metadata = metadata_of(intent)
    tenant, customer_id = metadata.get("tenant_id"), metadata.get("customer_id")
    payment_method = intent.get("payment_method")
    if isinstance(payment_method, dict):
        payment_method = payment_method.get("id")
    if not is_tenant_name(tenant) or not isinstance(customer_id, str) or not isinstance(payment_method, str):
        return "no method saved"
    account = stripe_accounts.owned_account(deps, event, tenant, "a customer")
    gateway = _gateway(stripe)
    method = _stripe(lambda: gateway.retrieve_payment_method(account, payment_method))
    return _record_attached(deps, tenant, customer_id, method, intent.get("customer"), account, None)


def _from_setup_intent(deps: Deps, event: dict[str, Any], setup_intent_id: str, stripe: Gateway | None) -> str:
    """The SetupIntent as Stripe has it now (its method expanded): the
    events carry no card details, and a method detached since shows none."""
    account = event.get("account")
    if not account:
        raise CannotApply("no_account", "an event of the platform's own account, not of a business's")
    gateway = _gateway(stripe)
    setup_intent = _stripe(lambda: gateway.retrieve_setup_intent(account, setup_intent_id))
    metadata = metadata_of(setup_intent)
    tenant, customer_id = metadata.get("tenant_id"), metadata.get("customer_id")
    if not is_tenant_name(tenant) or not isinstance(customer_id, str) or not customer_id:
        return "no customer of ours"
    account = stripe_accounts.owned_account(deps, event, tenant, "a customer")
    if setup_intent.get("status") != "succeeded":
        return f"setup {setup_intent.get('status')}"
    method = setup_intent.get("payment_method")
    if isinstance(method, str):  # not expanded after all
        method = _stripe(lambda: gateway.retrieve_payment_method(account, str(method)))
    if not isinstance(method, dict):
        raise InvalidInput.of("data.object.payment_method", "the method the setup saved")
    mandate = setup_intent.get("mandate")
    mandate = mandate.get("id") if isinstance(mandate, dict) else mandate
    return _record_attached(deps, tenant, customer_id, method, setup_intent.get("customer"), account, mandate)


def _record_attached(
    deps: Deps, tenant: str, customer_id: str, method: dict[str, Any], stripe_customer: Any, account: str,
    mandate: str | None,
) -> str:  # fmt: skip
    if deps.store.get(tenant, "customer", customer_id) is None:
        raise CannotApply("unknown_customer", f"{tenant} has no customer {customer_id}")
    attached = method.get("customer")
    if not attached:
        return "detached since"  # Stripe says so now: a detached method is never attached again
    if stripe_customer and attached != stripe_customer:
        raise CannotApply("customer_mismatch", f"{method.get('id')} is saved to another Stripe customer")
    adopt(deps, tenant, customer_id, str(attached), account, replace=False)
    return record(deps, tenant, customer_id, method, account, mandate)


def record(
    deps: Deps, tenant: str, customer_id: str, method: dict[str, Any], account: str, mandate: str | None = None
) -> str:
    """Keep Stripe's PaymentMethod as the customer's, once (a second event,
    or a concurrent one, finds it kept); the customer's default when it is
    the first."""
    payment_method = _id(method.get("id"), "payment_method.id")
    kind = method.get("type")
    if kind not in TYPES:
        return f"a {kind} method: not kept"
    if _is_detached(deps, payment_method):
        return "detached since"
    _remember(deps, payment_method, tenant, customer_id, account, detached=False)
    details = method.get(kind) or {}
    now = deps.timestamp()
    first = not _stored(deps, tenant, customer_id)
    doc = {
        "id": child_id(customer_id, payment_method),
        "payment_method": payment_method,
        "customer_id": customer_id,
        "type": kind,
        "brand": details.get("brand") if kind == "card" else None,
        "last4": details.get("last4"),
        "exp_month": details.get("exp_month") if kind == "card" else None,
        "exp_year": details.get("exp_year") if kind == "card" else None,
        "bank_code": details.get("bank_code") if kind == "sepa_debit" else None,
        "country": details.get("country"),
        "mandate": mandate if kind == "sepa_debit" else None,
        "stripe_customer": method.get("customer"),
        "account": account,
        "default_at": now if first else None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    try:
        deps.store.create(tenant, KIND, doc, name=None)
    except ConditionFailed:
        return _complete(deps, tenant, doc)
    if _is_detached(deps, payment_method):  # detached while it was being kept: not kept
        forget(deps, tenant, customer_id, payment_method, account)
        return "detached since"
    return "payment method recorded"


def _complete(deps: Deps, tenant: str, doc: Doc) -> str:
    """Kept already: only a mandate learnt since is added."""
    current = deps.store.get(tenant, KIND, doc["id"])
    if current is None or current.get("mandate") or not doc["mandate"]:
        return "already recorded"
    with contextlib.suppress(StaleVersion, NotFound):  # changed meanwhile: the next event completes it
        _write(deps, tenant, {**current, "mandate": doc["mandate"]}, current["version"], lost=False)
    return "mandate recorded"


def _detached(deps: Deps, event: dict[str, Any], payment_method: str) -> str:
    known = deps.store.get(PLATFORM, STRIPE_KIND, f"method:{payment_method}")
    if known is None:
        return "no method of ours"
    if known.get("account") != event.get("account"):
        raise CannotApply("account_mismatch", f"{payment_method} was saved on another account than the event's")
    return forget(deps, known["tenant_id"], known["customer_id"], payment_method, known.get("account"))


# -- helpers -------------------------------------------------------------------------------------


def child_id(customer_id: str, payment_method: str) -> str:
    return f"{customer_id}.{payment_method}"


def shown(method: Doc) -> Doc:
    """A method as the API shows it: `id` is Stripe's."""
    return {"id": method["id"], **{key: method.get(key) for key in SHOWN}, "default": method["default"]}


def _stored(deps: Deps, tenant: str, customer_id: str) -> list[Doc]:
    return deps.store.children(tenant, KIND, customer_id)


def _marked(stored: list[Doc]) -> list[Doc]:
    """Oldest first, `id` Stripe's, `default` on exactly one."""
    chosen = [method for method in stored if method.get("default_at")]
    if chosen:
        default = max(chosen, key=lambda method: (method["default_at"], method["created_at"], method["id"]))
    else:
        default = max(stored, key=lambda method: (method["created_at"], method["id"]), default=None)
    ordered = sorted(stored, key=lambda method: (method["created_at"], method["id"]))
    return [{**method, "id": method["payment_method"], "default": method is default} for method in ordered]


def _write(deps: Deps, tenant: str, doc: Doc, version: int, *, lost: bool = True) -> None:
    updated = {**doc, "version": version + 1, "updated_at": deps.timestamp()}
    try:
        deps.store.replace(tenant, KIND, updated, expected_version=version, old_name=None, new_name=None)
    except StaleVersion:
        if lost:
            raise LostRace from None
        raise


def _remember(
    deps: Deps, payment_method: str, tenant: str, customer_id: str, account: str | None, *, detached: bool
) -> None:
    """Whose the method is (Stripe's detached event names none), and once
    detached, that it is for good."""
    record_id = f"method:{payment_method}"

    def attempt() -> None:
        known = deps.store.get(PLATFORM, STRIPE_KIND, record_id)
        if known is not None and (known.get("detached") or not detached):
            return
        now = deps.timestamp()
        doc = {"id": record_id, "tenant_id": tenant, "customer_id": customer_id, "account": account,
               "detached": detached, "version": (known or {}).get("version", 0) + 1,
               "created_at": (known or {}).get("created_at", now), "updated_at": now}  # fmt: skip
        try:
            if known is None:
                deps.store.create(PLATFORM, STRIPE_KIND, doc, name=None)
            else:
                deps.store.replace(PLATFORM, STRIPE_KIND, doc, expected_version=known["version"], old_name=None,
                                   new_name=None)  # fmt: skip
        except (ConditionFailed, StaleVersion):
            raise LostRace from None

    until_written(attempt, f"{payment_method} is being recorded too often at once (Stripe retries)")


def _is_detached(deps: Deps, payment_method: str) -> bool:
    known = deps.store.get(PLATFORM, STRIPE_KIND, f"method:{payment_method}")
    return bool(known and known.get("detached"))


def _customer(deps: Deps, tenant: str, customer_id: str) -> Doc:
    customer = deps.store.get(tenant, "customer", customer_id)
    if customer is None:
        raise NotFound("customer")
    return customer


def _chargeable(deps: Deps, tenant: str) -> str:
    account = stripe_accounts.chargeable(deps, tenant)
    if not account:
        raise Conflict(
            "the business has no Stripe account taking payments to save the client's card or IBAN on: link one "
            "with POST /business/stripe/onboarding (its stripe_status becomes active)"
        )
    return account


def _gateway(stripe: Gateway | None) -> PaymentGateway:
    if stripe is None:
        raise CannotApply("no_gateway", "recording a saved method asks Stripe: replay it from the webhook")
    return stripe()


def _stripe(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Stripe's answer; down, the event fails (Stripe delivers it again);
    refused (an object not on that account), the event is parked."""
    try:
        return call()
    except StripeRefused as refused:
        raise CannotApply("stripe_refused", f"Stripe refused to say what was saved: {refused}") from None


def _ask(call: Callable[[], dict[str, Any]], what: str, *, quiet: bool = False) -> dict[str, Any]:
    """Stripe's answer, or what it means for the business: Stripe down is a
    503 (try again), a refusal a 502 (`quiet`: raised as it came)."""
    try:
        return call()
    except StripeUnavailable:
        raise Busy(f"Stripe did not answer ({what}); try again in a moment", retry_after_s=5) from None
    except StripeRefused as refused:
        if quiet:
            raise
        raise _refusal(refused, what) from None


def _refusal(refused: StripeRefused, what: str) -> ProviderRefused:
    logger.error("stripe refused %s", what, extra={"code": refused.code, "status": refused.status})
    return ProviderRefused(f"Stripe refused {what}: see the business's Stripe account")


def _id(value: Any, field: str) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str) and 0 < len(value) <= 255:
        return value
    raise InvalidInput.of(f"data.object.{field}", "an id, a string")


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
