"""A business's Stripe connected account, as the platform reads it (SPEC §15).

Rules:
1. The status the business sees comes from Stripe's Account object:
   `active` — charges are enabled and nothing is past due;
   `pending` — the business has not finished Stripe's onboarding (details
   not submitted), or has and Stripe is verifying them with nothing asked
   of it (`requirements.pending_verification`): no payments yet;
   `restricted` — Stripe wants something more: charges disabled once the
   details were submitted, requirements past due, or a reason to disable it;
   `unverified` — an account id typed into the profile before accounts were
   linked through Stripe: never used to take a payment.
2. Clients pay only on an account whose charges Stripe enabled
   (`charges_enabled`); a `restricted` account may still take them until
   Stripe disables them.
3. Stripe's `account.updated` events come late, twice, and out of order.
   Each state is kept with when it was true (`as_of`): the event's
   `created` second, then how far onboarding had gone (several updates
   share a second while a business finishes it, and they only move
   forward then), then the event's id; the latest wins, whatever the order
   of delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

Status = Literal["unverified", "pending", "restricted", "active"]
PENDING_VERIFICATION = "requirements.pending_verification"
STATUSES: tuple[Status, ...] = ("unverified", "pending", "restricted", "active")


class AccountState(NamedTuple):
    charges_enabled: bool
    details_submitted: bool
    past_due: tuple[str, ...]
    disabled_reason: str | None

    @property
    def status(self) -> Status:
        if self.charges_enabled and not self.past_due and not self.disabled_reason:
            return "active"
        if not self.details_submitted and not self.charges_enabled:
            return "pending"
        if self.disabled_reason == PENDING_VERIFICATION and not self.past_due:
            return "pending"  # the business has done its part: Stripe is checking it
        return "restricted"

    @property
    def progress(self) -> int:
        """How far onboarding went: details submitted, then charges enabled."""
        return 2 * self.charges_enabled + self.details_submitted


class NotAnAccount(ValueError):
    """The object is not a Stripe Account as Stripe sends one: `field` says what."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def state_of(account: Mapping[str, Any]) -> AccountState:
    """What Stripe's Account object says of the account's payments."""
    flags = {}
    for name in ("charges_enabled", "details_submitted"):
        value = account.get(name, False)
        if not isinstance(value, bool):
            raise NotAnAccount(name, "true or false")
        flags[name] = value
    requirements = account.get("requirements") or {}
    if not isinstance(requirements, Mapping):
        raise NotAnAccount("requirements", "an object")
    past_due = requirements.get("past_due") or []
    if not isinstance(past_due, list) or not all(isinstance(item, str) for item in past_due):
        raise NotAnAccount("requirements.past_due", "a list of strings")
    reason = requirements.get("disabled_reason")
    if reason is not None and not isinstance(reason, str):
        raise NotAnAccount("requirements.disabled_reason", "a string")
    return AccountState(flags["charges_enabled"], flags["details_submitted"], tuple(past_due), reason or None)


def as_of(created: int, state: AccountState, source: str) -> list[Any]:
    """When a state was true, comparable (rule 3): `source` is the event's
    id, or "" for what Stripe answered when asked."""
    return [created, state.progress, source]


def newer(candidate: list[Any], than: list[Any] | None) -> bool:
    """Whether a state as of `candidate` replaces one as of `than`."""
    return than is None or tuple(candidate) > tuple(than)
