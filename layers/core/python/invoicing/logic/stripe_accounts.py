"""A business's Stripe connected account (SPEC §8, §15): created by the
platform for the business and linked through Stripe's onboarding, never
typed in — a typed-in id let a tenant charge another's clients and have
another account's payments credited to it.

Two records say which account is whose:
- under the platform's partition (kind "stripe"), `account:{id}` names the
  tenant an account belongs to — one tenant, for good: the record stays
  when the business links another, so that what is paid on an account it
  had before is still its — and what Stripe last said of the account;
- the business profile shows the account its clients pay now,
  `stripe_account_id`, and its `stripe_status` (domain.connected_accounts),
  both read-only.

Webhooks find the tenant from the event's `account` through the first
record, never from the metadata alone (logic.stripe_events).

A profile that had an account id typed in before this existed keeps it,
shown `unverified`: nobody can say whose it is, so no payment is taken on
it any more (the pay page offers none, a saved card is not charged), while
what its clients already paid on it is still recorded (the payments of
sessions opened before). Onboarding gives the business an account of its
own; the typed-in one is then remembered as its earlier account, not
verified.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from invoicing.domain import connected_accounts
from invoicing.domain.connected_accounts import AccountState, NotAnAccount
from invoicing.domain.errors import Busy, Conflict, InvalidInput, NotFound, ProviderRefused
from invoicing.domain.tenants import is_tenant_name
from invoicing.logic.catalog import BUSINESS_ID
from invoicing.logic.common import PLATFORM, Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.ports import ConditionFailed, Doc, PaymentGateway, StripeRefused, StripeUnavailable
from invoicing.settings import settings

logger = logging.getLogger(__name__)

KIND = "stripe"  # the platform's records of Stripe (logic.stripe_events keeps its own there too)
# A Standard account, in Stripe's controller properties: the business has Stripe's full
# Dashboard, pays Stripe's fees and answers its disputes itself; Stripe collects what it must know.
CONTROLLER = {"stripe_dashboard": {"type": "full"}, "fees": {"payer": "account"}, "losses": {"payments": "stripe"}}
ONBOARDING_QUERY = "stripe_onboarding"  # ?stripe_onboarding=return|refresh on the frontend, by default


class CannotApply(Exception):
    """A signed, well-formed Stripe event this system cannot apply as it
    stands — an account no tenant has, an invoice that is not there, an
    amount that does not fit what was received: kept (parked) until its
    cause is fixed, never dropped. `reason` is a short code."""

    def __init__(self, reason: str, detail: str, field: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.field = field


# -- who owns an account ---------------------------------------------------------------


def owner(deps: Deps, account: str, named: str | None = None) -> str | None:
    """The tenant the account belongs to, as recorded. An account no
    onboarding recorded is `named`'s only while its profile still shows it
    typed in (payments of sessions opened before accounts were linked)."""
    record = _record(deps, account)
    if record is not None:  # made by the platform for its tenant
        return str(record["tenant_id"])
    if is_tenant_name(named):
        if deps.store.get(PLATFORM, KIND, f"typed:{account}:{named}") is not None:
            return named  # typed in by `named` before it onboarded, kept as its earlier account
        business = deps.store.get(named, "business", BUSINESS_ID)
        if business is not None and business.get("stripe_account_id") == account:
            return named
    return None


def chargeable(deps: Deps, tenant: str) -> str | None:
    """The account the business's clients pay on, once Stripe enabled its
    charges; None without one (nothing is offered, nothing charged)."""
    business = deps.store.get(tenant, "business", BUSINESS_ID)
    account = (business or {}).get("stripe_account_id")
    if not account:
        return None
    record = _record(deps, account)
    if record is None or record["tenant_id"] != tenant or not record.get("verified"):
        return None
    return str(account) if record.get("charges_enabled") else None


# -- onboarding ---------------------------------------------------------------------------


def onboard(deps: Deps, stripe: PaymentGateway, tenant: str, return_url: str | None, refresh_url: str | None) -> Doc:
    """A link to Stripe's onboarding of the business's account, created the
    first time (one account per tenant, however many calls come at once)
    and the same account every time after. Stripe sends the business back
    to `return_url` when it is done, to `refresh_url` when the link expired
    or was used (ask for another): on the frontend's origin."""
    returning, refreshing = onboarding_urls(return_url, refresh_url)
    business = deps.store.get(tenant, "business", BUSINESS_ID)
    if business is None:
        raise Conflict("save the business profile first (PUT /business): the Stripe account is the business's")
    account = business.get("stripe_account_id")
    if account and _verified(deps, tenant, account):
        _refresh(deps, stripe, tenant, account)
    else:
        account = _open(deps, stripe, tenant, typed_in=account)
    params = {"account": account, "type": "account_onboarding", "return_url": returning, "refresh_url": refreshing}
    link = _ask(lambda: stripe.create_account_link(params), "an onboarding link")
    shown = deps.store.get(tenant, "business", BUSINESS_ID) or {}
    return {
        "url": link["url"],
        "expires_at": _iso(int(link["expires_at"])),
        "stripe_account_id": account,
        "stripe_status": shown.get("stripe_status"),
    }


def onboarding_urls(return_url: str | None, refresh_url: str | None) -> tuple[str, str]:
    """Where Stripe sends the business back: URLs of the frontend's origins
    (FRONTEND_ORIGINS) or of the platform's public address, never elsewhere
    (422 naming the field); by default the frontend's first origin, with
    `?stripe_onboarding=return` or `=refresh`."""
    allowed = [origin.rstrip("/") for origin in settings().frontend_origins]
    if settings().public_base_url:
        parts = urlsplit(settings().public_base_url)
        allowed.append(f"{parts.scheme}://{parts.netloc}")
    home = (settings().frontend_origins or (settings().public_base_url or "",))[0].rstrip("/")
    chosen = []
    for field, given, default in (("return_url", return_url, "return"), ("refresh_url", refresh_url, "refresh")):
        if given is None:
            if not home:
                raise InvalidInput.of(field, "the platform has no frontend origin: send where to come back")
            chosen.append(f"{home}/?{ONBOARDING_QUERY}={default}")
            continue
        parts = urlsplit(given)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if parts.scheme not in ("https", "http") or origin not in [item.lower() for item in allowed]:
            raise InvalidInput.of(field, f"a URL of the frontend ({', '.join(allowed) or 'none configured'})")
        chosen.append(given)
    return chosen[0], chosen[1]


def _open(deps: Deps, stripe: PaymentGateway, tenant: str, typed_in: str | None) -> str:
    """Create the business's account, once: Stripe answers every request
    with the same key with the account it made first — concurrent ones
    included, which it asks to retry (idempotency_key_in_use) — so two
    clicks, two tabs or a retry after a crash make one account. The key is
    the tenant's in this deployment (its table): two deployments sharing a
    Stripe platform never share an account."""
    params = {"controller": CONTROLLER, "metadata": {"tenant_id": tenant}}
    seed = f"{settings().table or ''}|{tenant}"
    key = "account-" + hashlib.sha256(seed.encode()).hexdigest()[:48]

    def attempt() -> dict[str, Any]:
        try:
            return stripe.create_account(params, key)
        except StripeRefused as refused:
            if refused.code in ("idempotency_key_in_use", "lock_timeout") or refused.status == 409:
                raise LostRace from None  # the same request, still running at Stripe: ask again
            raise

    created = _ask(lambda: until_written(attempt, "Stripe is still creating the business's account"), "an account")
    account = created.get("id")
    if not isinstance(account, str) or not account.startswith("acct_"):
        raise ProviderRefused("Stripe answered the account's creation without an account id")
    if (created.get("metadata") or {}).get("tenant_id") != tenant:
        raise RuntimeError(f"Stripe answered {account}, whose metadata names another tenant")
    # Stripe answers a retried creation with the account as it was made: what it is now, asked
    current = _ask(lambda: stripe.retrieve_account(account), "the account")
    state = connected_accounts.state_of(current)
    now = int(deps.now().timestamp())
    _claim(deps, account, tenant, state, connected_accounts.as_of(now, state, ""))
    if typed_in and typed_in != account:  # its earlier account, as typed in: never verified, never owned
        _claim_typed(deps, typed_in, tenant)
    _link(deps, tenant, account)
    return account


def _refresh(deps: Deps, stripe: PaymentGateway, tenant: str, account: str) -> None:
    """What Stripe says of the account now (the business may come back from
    its onboarding before Stripe's event does)."""
    retrieved = _ask(lambda: stripe.retrieve_account(account), "the account")
    state = connected_accounts.state_of(retrieved)
    _record_state(deps, account, state, connected_accounts.as_of(int(deps.now().timestamp()), state, ""))
    show_status(deps, tenant, account)


# -- Stripe's account.updated ----------------------------------------------------------------


def updated(deps: Deps, event: dict[str, Any], obj: dict[str, Any]) -> str:
    """Stripe's `account.updated` (a Connect event: `account` is the
    account): what Stripe now says of the account, kept if it is newer than
    what was kept (domain.connected_accounts rule 3), and the business's
    `stripe_status` from it. An account no tenant has, or whose metadata
    names another tenant than its owner, changes nothing (CannotApply)."""
    account = event.get("account") or obj.get("id")
    if obj.get("id") != account or not isinstance(account, str):
        raise InvalidInput.of("data.object.id", "the account the event is about, its `account`")
    try:
        state = connected_accounts.state_of(obj)
    except NotAnAccount as bad:
        raise InvalidInput.of(f"data.object.{bad.field}", str(bad)) from None
    named = (obj.get("metadata") or {}).get("tenant_id")
    tenant = owner(deps, account)
    if tenant is None:
        if is_tenant_name(named):  # the platform made it for a tenant, yet none recorded it
            raise CannotApply("unknown_account", f"{account} (metadata: {named}) is no tenant's recorded account")
        return "not an account of ours"
    if named is not None and named != tenant:
        logger.warning("account.updated of %s names another tenant than its owner: not applied", account)
        raise CannotApply("account_of_another_tenant", f"{account} is {tenant}'s, its metadata names {named}")
    changed = _record_state(deps, account, state, connected_accounts.as_of(event["created"], state, event["id"]))
    show_status(deps, tenant, account)
    return "account updated" if changed else "account state older or the same: kept"


def show_status(deps: Deps, tenant: str, account: str) -> None:
    """The business's `stripe_status`, from the account's record, while the
    account is the one its profile shows. The profile read first, then the
    record: of concurrent updates, the last to write read the latest
    record, so the profile ends as the record does."""

    def attempt() -> None:
        business = deps.store.get(tenant, "business", BUSINESS_ID)
        if business is None or business.get("stripe_account_id") != account:
            return
        record = _record(deps, account)
        verified = record is not None and record["tenant_id"] == tenant and record.get("verified")
        status = record["status"] if record is not None and verified else "unverified"
        if business.get("stripe_status") != status:
            _save_business(deps, tenant, business, {"stripe_status": status})

    until_written(attempt, "the business profile is changing too often to show its Stripe status now")


# -- the records -------------------------------------------------------------------------


def _record(deps: Deps, account: str) -> Doc | None:
    return deps.store.get(PLATFORM, KIND, f"account:{account}")


def _verified(deps: Deps, tenant: str, account: str) -> bool:
    record = _record(deps, account)
    return record is not None and record["tenant_id"] == tenant and bool(record.get("verified"))


def _state(state: AccountState | None, as_of: list[Any] | None) -> Doc:
    if state is None:
        return {"verified": False, "charges_enabled": False, "details_submitted": False, "status": "unverified",
                "as_of": None}  # fmt: skip
    return {"verified": True, "charges_enabled": state.charges_enabled, "details_submitted": state.details_submitted,
            "status": state.status, "as_of": as_of}  # fmt: skip


def _claim(deps: Deps, account: str, tenant: str, state: AccountState | None, as_of: list[Any] | None) -> None:
    """Record the account as the tenant's: verified when the platform made
    it for the tenant (`state`), not when it was typed in. An account
    recorded as another tenant's stays theirs."""

    def attempt() -> None:
        record = _record(deps, account)
        now = deps.timestamp()
        if record is None:
            doc = {"id": f"account:{account}", "tenant_id": tenant, **_state(state, as_of), "version": 1,
                   "created_at": now, "updated_at": now}  # fmt: skip
            try:
                deps.store.create(PLATFORM, KIND, doc, name=None)
            except ConditionFailed:
                raise LostRace from None
            return
        if record["tenant_id"] != tenant:
            if state is not None:
                raise RuntimeError(f"Stripe made {account} for {tenant}, yet it is recorded as another tenant's")
            logger.warning("a typed-in account is recorded as another tenant's: left theirs")
            return
        if state is not None and not record.get("verified"):
            _replace(deps, record, _state(state, as_of))

    until_written(attempt, "the Stripe account is being recorded too often at once")


def _claim_typed(deps: Deps, account: str, tenant: str) -> None:
    """Keep that the tenant had typed the account in (payments of sessions
    opened on it before are still its). One claim per tenant, owning
    nothing: another tenant that typed in the same id keeps its own claim,
    and the account's verified owner, if the platform ever makes one, wins."""
    now = deps.timestamp()
    doc = {"id": f"typed:{account}:{tenant}", "tenant_id": tenant, "version": 1, "created_at": now, "updated_at": now}
    with contextlib.suppress(ConditionFailed):  # kept already
        deps.store.create(PLATFORM, KIND, doc, name=None)


def _record_state(deps: Deps, account: str, state: AccountState, as_of: list[Any]) -> bool:
    """Keep what Stripe said of the account as of `as_of`, if nothing newer
    is kept; whether it was kept."""

    def attempt() -> bool:
        record = _record(deps, account)
        if record is None or not connected_accounts.newer(as_of, record.get("as_of")):
            return False
        _replace(deps, record, {**_state(state, as_of), "verified": record.get("verified", False)})
        return True

    return until_written(attempt, "the Stripe account's state is changing too often to keep now")


def _replace(deps: Deps, record: Doc, changes: Doc) -> None:
    doc = {**record, **changes, "version": record["version"] + 1, "updated_at": deps.timestamp()}
    if not doc.get("verified"):
        doc["status"] = "unverified"
    try:
        deps.store.replace(PLATFORM, KIND, doc, expected_version=record["version"], old_name=None, new_name=None)
    except (Conflict, NotFound):
        raise LostRace from None


def _link(deps: Deps, tenant: str, account: str) -> None:
    """The profile shows the account (in place of a typed-in one) and its status."""

    def attempt() -> None:
        business = deps.store.get(tenant, "business", BUSINESS_ID)
        if business is None:
            raise Conflict("the business profile was removed meanwhile")
        record = _record(deps, account) or {}
        status = record.get("status", "pending")
        if business.get("stripe_account_id") == account and business.get("stripe_status") == status:
            return
        _save_business(deps, tenant, business, {"stripe_account_id": account, "stripe_status": status})

    until_written(attempt, "the business profile is changing too often to link its Stripe account now")


def _save_business(deps: Deps, tenant: str, business: Doc, changes: Doc) -> None:
    doc = {**business, **changes, "version": business["version"] + 1, "updated_at": deps.timestamp()}
    try:
        deps.store.replace(tenant, "business", doc, expected_version=business["version"], old_name=None,
                           new_name=None)  # fmt: skip
    except (Conflict, NotFound):
        raise LostRace from None


# -- helpers -------------------------------------------------------------------------------


def _ask(call: Callable[[], dict[str, Any]], what: str) -> dict[str, Any]:
    """Stripe's answer, or what it means for the business: Stripe down is a
    503 (try again), a refusal a 502 (the platform's Connect settings)."""
    try:
        return call()
    except StripeUnavailable:
        raise Busy(f"Stripe did not answer ({what}); try again in a moment", retry_after_s=5) from None
    except StripeRefused as refused:
        logger.error("stripe refused %s", what, extra={"code": refused.code, "status": refused.status})
        raise ProviderRefused(f"Stripe refused {what}: see the platform's Stripe Connect settings") from None


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def metadata_of(obj: dict[str, Any]) -> dict[str, Any]:
    """A Stripe object's metadata, checked: an object (or none)."""
    value = obj.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput.of("data.object.metadata", "an object of strings")
    return value


def owned_account(deps: Deps, event: dict[str, Any], tenant: str, what: str) -> str:
    """The event's account, once it is `tenant`'s, now or before (a connected
    account's event carries `account`; the platform's own, none). `what` the
    event names of the tenant's (an invoice, a customer), for the log."""
    account = event.get("account")
    if not account:
        raise CannotApply("no_account", "an event of the platform's own account, not of a business's")
    found = owner(deps, account, tenant)
    if found is None:
        raise CannotApply("unknown_account", f"{account} is no tenant's account")
    if found != tenant:
        logger.warning("an event of %s names %s of another tenant than its owner: not applied", account, what)
        raise CannotApply("account_of_another_tenant", f"{account} is not the account of {tenant}")
    return str(account)
