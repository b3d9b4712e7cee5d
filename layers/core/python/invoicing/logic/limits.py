"""What a tenant may send (SPEC §15): the platform's address and SMS
sender are shared by every tenant, so one tenant must not be able to turn
them into a relay for spam or SMS pumping.

- **Who**: a document's messages go to its customer's own addresses, plus
  at most `extra_recipients` others over the document's life; SMS go only
  to mobile numbers of the allowed countries (never premium or special
  ranges, never international networks).
- **How many**: a day (UTC), a tenant sends at most `emails_per_day`
  e-mails and `sms_per_day` SMS, and at most `per_recipient_per_day`
  messages to one recipient; all tenants together send at most
  `platform_per_recipient_per_day` to one address that is not the
  document's customer's (a stranger; a big client's accounts address,
  billed by many businesses, is not locked for all by a few). Beyond, a
  request is a 429 with Retry-After (tomorrow) and nothing is queued. The
  reminders and receipts the tenant's settings and payments set off count
  and are refused alike, as they go (recorded failed, "not sent: …"): a
  tenant chooses its customers' addresses, so they are no way around.

- **Reputation**: SES's bounce and complaint events (tagged with the
  tenant) are counted; a tenant whose hard bounces or complaints pass SES's
  review thresholds over `window_days` is suspended: it sends no e-mail and
  no SMS (403) until the platform lifts it (`lift`), so one tenant's bad
  list cannot get the platform's SES account paused for all.

The limits are the platform's settings (`SENDING_LIMITS`), never a tenant's.
Counts live in the table (`Store.spend`), one counter per limit and day,
spent all or none, so concurrent requests cannot pass a limit together.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from invoicing.domain.errors import Conflict, FieldError, Forbidden, InvalidInput, TooSoon
from invoicing.domain.tenants import is_tenant_name
from invoicing.logic.common import Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.ports import FEEDBACK_TAG, Allowance, ConditionFailed, Doc
from invoicing.settings import settings

logger = logging.getLogger(__name__)

CHANNEL_NAMES = {"email": "e-mails", "sms": "SMS"}
FIELDS = {"email": "emails", "sms": "phones"}  # of the request's `to`


STANDING = "standing"  # the store's kind: the tenant's standing with the platform
SENDING = "sending"
FEEDBACK = {"Bounce": "bounces", "Complaint": "complaints"}
SUPPRESSED = ("OnAccountSuppressionList", "Suppressed")  # bounces SES made up itself, from its suppression lists


def spend(deps: Deps, tenant: str, pairs: Iterable[tuple[str, str]], own: Iterable[str] = ()) -> list[Allowance]:
    """Count the (channel, recipient) messages about to be queued or sent,
    or refuse them all (429, nothing counted). Every message counts against
    the tenant's day and the recipient's day from the tenant; one to an
    address that is not the document's customer's (`own`) also against the
    recipient's day from every tenant. What was spent, to `give_back` if
    what it was for does not happen."""
    pairs = list(dict.fromkeys((channel, normalized(recipient)) for channel, recipient in pairs))
    if not pairs:
        return []
    check_standing(deps, tenant)
    own = {normalized(recipient) for recipient in own}
    limits = settings().sending_limits
    now = deps.now().astimezone(UTC)
    tomorrow = datetime.combine(now.date() + timedelta(days=1), time.min, UTC)
    day, expires = now.date().isoformat(), int(tomorrow.timestamp()) + 86_400
    kept = int(tomorrow.timestamp()) + limits.window_days * 86_400  # what a tenant sent: its bounce rate's base
    allowances: list[Allowance] = []
    reasons: list[str] = []
    for channel, per_day in (("email", limits.emails_per_day), ("sms", limits.sms_per_day)):
        count = sum(1 for each, _ in pairs if each == channel)
        if count:
            allowances.append(Allowance(f"tenant:{tenant}:{channel}", day, count, per_day, kept))
            reasons.append(f"this business may send {per_day} {CHANNEL_NAMES[channel]} a day")
    for _, recipient in pairs:
        hashed = digest(recipient)
        allowances.append(Allowance(f"to:{tenant}:{hashed}", day, 1, limits.per_recipient_per_day, expires))
        reasons.append(f"{recipient} may receive {limits.per_recipient_per_day} messages a day from this business")
        if recipient not in own:  # a stranger to the document: shielded from every tenant together
            allowances.append(Allowance(f"to:{hashed}", day, 1, limits.platform_per_recipient_per_day, expires))
            reasons.append(f"{recipient} may receive no more messages today from this platform")
    charge(deps, allowances, reasons, int((tomorrow - now).total_seconds()) + 1)
    return allowances


def charge(
    deps: Deps, allowances: list[Allowance], reasons: list[str], wait_s: int, refusal: type[TooSoon] | None = None
) -> None:
    """Spend every allowance or none: `refusal` (SendingLimitReached, 429,
    Retry-After `wait_s`) naming the reasons of those past their limit. A
    transaction lost to a concurrent spender is tried again."""

    def attempt() -> None:
        try:
            deps.store.spend(allowances)
        except ConditionFailed as refused:
            over = [i for i in refused.failed if _over(deps, allowances[i])]
            if not over:  # another spender's transaction held a counter: nothing is over, try again
                raise LostRace from None
            raise (refusal or SendingLimitReached)("; ".join(reasons[i] for i in over), wait_s) from None

    until_written(attempt, "too many messages are being sent at once")


def give_back(deps: Deps, spent: list[Allowance]) -> None:
    """Uncount what `spend` counted for messages that will not go (the send
    failed after it): best effort, an error only logged (counting too much
    is the safe side)."""
    if not spent:
        return
    try:
        deps.store.spend([allowance._replace(amount=-allowance.amount, limit=None) for allowance in spent])
    except Exception:
        logger.warning("sending allowance not given back", exc_info=True)


class SendingLimitReached(TooSoon):
    """A daily sending limit is spent (429, Retry-After: tomorrow)."""

    code = "sending_limit_reached"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(f"daily sending limit reached, nothing was sent: {message}", retry_after_s)


def _over(deps: Deps, allowance: Allowance) -> bool:
    limit = allowance.limit
    return limit is not None and deps.store.counted(allowance.key, allowance.period) + allowance.amount > limit


def normalized(recipient: str) -> str:
    """One spelling per recipient: lower case, an e-mail's domain in its
    ASCII (IDNA) form, so that each address has one counter."""
    local, at, domain = recipient.strip().lower().rpartition("@")
    if not at:
        return recipient.strip().lower()
    with contextlib.suppress(UnicodeError):  # left as written: the address was checked on the way in
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def digest(recipient: str) -> str:
    """Recipients are personal data: counters are keyed by a digest."""
    return hashlib.sha256(normalized(recipient).encode()).hexdigest()[:32]


def check_recipients(pairs: list[tuple[str, str]], own: set[str], earlier: Callable[[], set[str]]) -> None:
    """A 422 naming the field when the request reaches beyond the document:
    SMS to numbers that are not mobiles of the allowed countries, or more
    than `extra_recipients` addresses besides the customer's (`own`, in
    lower case) over the document's life (`earlier`: the recipients of its
    deliveries so far, read only when the request names others)."""
    limits = settings().sending_limits
    phones = [phone for channel, phone in pairs if channel == "sms"]
    problems = [FieldError("to.phones", problem) for phone in phones if (problem := sms_problem(phone))]
    own = {normalized(recipient) for recipient in own}
    extra = {normalized(recipient) for _, recipient in pairs} - own
    if extra:
        others = {normalized(recipient) for recipient in earlier()} - own
        if len(extra | others) > limits.extra_recipients:
            fields = sorted({f"to.{FIELDS[channel]}" for channel, r in pairs if normalized(r) in extra})
            message = (
                f"an invoice goes to its customer's addresses and at most {limits.extra_recipients} others"
                f" ({len(others)} already): put the recipient on the customer instead"
            )
            problems += [FieldError(field, message) for field in fields]
    if problems:
        raise InvalidInput(problems)


def sms_problem(phone: str) -> str | None:
    """Why no SMS may go to the number (not a mobile, not of an allowed country), or None."""
    import phonenumbers

    limits = settings().sending_limits
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return f"{phone} is not a phone number"
    region = phonenumbers.region_code_for_number(number)
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return f"{phone} is not a mobile number: SMS go to mobile numbers only"
    if region not in limits.sms_countries:
        where = "international networks" if region == "001" else region
        return f"{phone}: this platform sends no SMS to numbers of {where}"
    return None


# -- reputation -----------------------------------------------------------------


def check_standing(deps: Deps, tenant: str) -> None:
    """403 while the platform has suspended the tenant's sending."""
    standing = deps.store.get(tenant, STANDING, SENDING)
    if standing and standing.get("suspended"):
        raise Forbidden(
            "sending_suspended",
            f"sending is suspended since {standing['suspended_at'][:10]}: {standing['reason']}. Nothing was sent; "
            "remove the addresses that bounce or complain, then ask the platform to lift the suspension",
        )


def record_feedback(deps: Deps, detail: dict[str, Any]) -> str:
    """Count one SES event (EventBridge's "Email Bounced" or "Email
    Complaint Received", the message tagged with its tenant) once, whatever
    its repetitions; then suspend the tenant if its rates pass the
    thresholds. What was done: counted, duplicate, ignored."""
    counter = FEEDBACK.get(detail.get("eventType") or "")
    mail = detail.get("mail") or {}
    tenant = next(iter((mail.get("tags") or {}).get(FEEDBACK_TAG) or []), None)
    if counter is None or not tenant or not is_tenant_name(tenant) or not mail.get("messageId"):
        return "ignored"
    bounce = detail.get("bounce") or {}
    if counter == "bounces" and bounce.get("bounceType") != "Permanent":
        return "ignored"  # a full mailbox, a server down: SES's bounce rate counts hard bounces only
    if counter == "bounces" and bounce.get("bounceSubType") in SUPPRESSED:
        return "ignored"  # an address another sender burned: SES never tried it, its rate leaves it out
    limits = settings().sending_limits
    now = deps.now().astimezone(UTC)
    expires = int(now.timestamp()) + (limits.window_days + 1) * 86_400
    marker = Allowance(f"feedback:{counter}:{mail['messageId']}", "once", 1, 1, expires)
    allowances = [marker, Allowance(f"{counter}:{tenant}", now.date().isoformat(), 1, None, expires)]

    def attempt() -> str:
        try:
            deps.store.spend(allowances)
        except ConditionFailed:
            if deps.store.counted(marker.key, marker.period):
                return "duplicate"
            raise LostRace from None
        return "counted"

    outcome = until_written(attempt, "too many SES events at once")
    if outcome == "counted":
        _judge(deps, tenant)
    return outcome


def _judge(deps: Deps, tenant: str) -> None:
    """Suspend the tenant when its hard bounces or complaints over the
    window (since it was last lifted) pass the platform's thresholds."""
    limits = settings().sending_limits
    today = deps.now().astimezone(UTC).date()

    def attempt() -> None:
        standing = deps.store.get(tenant, STANDING, SENDING) or {"id": SENDING, "suspended": False, "version": 0}
        if standing["suspended"]:
            return
        sent, bounces, complaints = _since_lifted(deps, tenant, standing, today)
        reason = None
        if bounces >= limits.min_bounces and bounces * 100 >= sent * limits.bounce_percent:
            reason = f"{bounces} of the {sent} e-mails sent over {limits.window_days} days bounced for good"
        elif complaints >= limits.min_complaints and complaints * 100 >= sent * limits.complaint_percent:
            reason = f"{complaints} of the {sent} e-mails sent over {limits.window_days} days were reported as spam"
        if reason is None:
            return
        suspended = {**standing, "suspended": True, "reason": reason, "suspended_at": deps.timestamp(),
                     "version": standing["version"] + 1}  # fmt: skip
        _write(deps, tenant, suspended, standing["version"])
        logger.warning("sending suspended", extra={"tenant": tenant, "sent": sent, "bounces": bounces,
                                                   "complaints": complaints})  # fmt: skip

    until_written(attempt, "the tenant's standing is changing too often")


COUNTERS = ("email", "bounces", "complaints")  # what the rates are made of, a counter each a day


def _counter(tenant: str, counted: str) -> str:
    return f"tenant:{tenant}:email" if counted == "email" else f"{counted}:{tenant}"


def _since_lifted(deps: Deps, tenant: str, standing: Doc, today: date) -> tuple[int, ...]:
    """E-mails sent, hard bounces and complaints over the window, counted
    from the moment the suspension was last lifted (the counts of that day
    until then, kept at the lift, taken off)."""
    limits = settings().sending_limits
    lifted_on, baseline = standing.get("lifted_on") or "", standing.get("baseline") or {}
    days = [day.isoformat() for day in (today - timedelta(days=n) for n in range(limits.window_days))]
    return tuple(
        sum(deps.store.counted(_counter(tenant, counted), day) for day in days if day >= lifted_on)
        - (baseline.get(counted, 0) if lifted_on in days else 0)
        for counted in COUNTERS
    )


def lift(deps: Deps, tenant: str) -> Doc:
    """The platform lifts a suspension: the tenant sends again, and its
    rates count afresh from now. A tenant that is not suspended: 409."""

    def attempt() -> Doc:
        standing = deps.store.get(tenant, STANDING, SENDING)
        if not standing or not standing["suspended"]:
            raise Conflict(f"{tenant}'s sending is not suspended: nothing to lift")
        today = deps.now().astimezone(UTC).date().isoformat()
        baseline = {counted: deps.store.counted(_counter(tenant, counted), today) for counted in COUNTERS}
        lifted = {**standing, "suspended": False, "lifted_on": today, "lifted_at": deps.timestamp(),
                  "baseline": baseline, "version": standing["version"] + 1}  # fmt: skip
        _write(deps, tenant, lifted, standing["version"])
        return lifted

    return until_written(attempt, "the tenant's standing is changing too often")


def _write(deps: Deps, tenant: str, standing: Doc, expected: int) -> None:
    try:
        if expected == 0:
            deps.store.create(tenant, STANDING, standing, name=None)
        else:
            deps.store.replace(tenant, STANDING, standing, expected_version=expected, old_name=None, new_name=None)
    except (ConditionFailed, Conflict):
        raise LostRace from None
