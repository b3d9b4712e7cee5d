"""Use cases of the business's sender address (SPEC §7: the invoices' e-mails
come from the business's address once it proved it reads it).

SES verifies an address for the whole AWS account, not for one tenant: once
any business had it verified, every tenant could send from it. So a tenant
first proves it reads the address (a six-digit code e-mailed to it), and the
address is recorded as that tenant's in the platform's own partition of the
table. Deliveries use it only while that record names their tenant; a later
business that proves it reads the same mailbox takes it over. Until then, and
whenever SES refuses it, e-mails go from the platform's address in the
business's name, with replies to the business.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta

from invoicing.domain.errors import Busy, Conflict, InvalidInput, NotFound, TooSoon
from invoicing.logic import catalog, limits
from invoicing.logic.common import PLATFORM, Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.ports import Allowance, ConditionFailed, Doc, Messenger, SendRejected, SendThrottled
from invoicing.settings import settings

logger = logging.getLogger(__name__)

KIND = "sender"
RECORD_ID = "sender"  # the tenant's one record
CODE_TTL_S = 1800
RESEND_AFTER_S = 60
MAX_WRONG_CODES = 5
CODES_PER_TENANT = 10  # a day
CODES_PER_ADDRESS = 5  # a day, whoever asks
LOCAL_PLATFORM_SENDER = "factures@invoicing.local"


def platform_sender() -> str:
    """The platform's own verified address."""
    return settings().platform_sender or LOCAL_PLATFORM_SENDER


def status(deps: Deps, messenger: Messenger, tenant: str) -> Doc:
    record = _record(deps, tenant)
    return _shown(deps, tenant, record, _verified(messenger, record["email"]) if record["email"] else None)


def request_code(deps: Deps, messenger: Messenger, tenant: str, email: str) -> Doc:
    """E-mail a code to the address. Nothing is sent when it is the
    business's confirmed address already. Codes are rationed (429): one a
    minute to an address, CODES_PER_TENANT a day from a tenant and
    CODES_PER_ADDRESS a day to an address whoever asks, so guessing
    (MAX_WRONG_CODES a code) stays hopeless and the platform's address
    cannot be turned against an inbox."""
    email = normalized(email)
    if email.rpartition("@")[2] == platform_sender().rpartition("@")[2]:
        raise InvalidInput.of("email", "an address of the platform's own domain cannot be a business's")
    limits.check_standing(deps, tenant)  # the code is an e-mail too
    record = _record(deps, tenant)
    if (record["email"] or "").lower() == email.lower() and _owner(deps, email) == tenant:
        return _shown(deps, tenant, record, None)
    now = deps.now()
    pending = record.get("pending")
    if pending and pending["email"].lower() == email.lower():
        wait = (_at(pending["requested_at"]) + timedelta(seconds=RESEND_AFTER_S) - now).total_seconds()
        if wait > 0:
            raise TooSoon(f"a code was e-mailed to this address less than {RESEND_AFTER_S} s ago", int(wait) + 1)
    _spend(deps, [
        (f"codes:tenant:{tenant}", CODES_PER_TENANT, "this business asked for too many codes today"),
        (f"codes:address:{limits.digest(email)}", CODES_PER_ADDRESS, "too many codes were sent to this address today"),
    ])  # fmt: skip
    code = f"{secrets.randbelow(10**6):06d}"
    requested = {
        **record,
        "pending": {
            "email": email,
            "code_hash": _hash(tenant, email, code),
            "requested_at": deps.timestamp(),
            "expires_at": _stamp(now + timedelta(seconds=CODE_TTL_S)),
            "wrong_codes": 0,
        },
    }
    # Recorded first: of two requests at once, one stores its code and mails
    # it, the other is a 409 and mails nothing.
    requested = _save(deps, tenant, requested, record["version"])
    business = catalog.get_business(deps, tenant)
    from invoicing.documents import messages

    mime = messages.sender_code(
        business.get("locale") or "fr-FR", business.get("legal_name") or "", code, CODE_TTL_S // 60,
        platform_sender(), email,
    )  # fmt: skip
    try:
        messenger.send_email(platform_sender(), email, mime)  # untagged: not the tenant's mail, not its bounce rate
    except Exception as error:  # no code went out: none waits, and asking again is not "too soon"
        _save(deps, tenant, {**requested, "pending": None}, requested["version"], quiet=True)
        if isinstance(error, SendThrottled):
            raise Busy("the e-mail service is busy; ask for the code again in a minute", retry_after_s=60) from None
        if isinstance(error, SendRejected):
            raise InvalidInput.of("email", f"the code could not be e-mailed to this address ({error})") from None
        raise
    return _shown(deps, tenant, requested, None)


def normalized(email: str) -> str:
    """One spelling per address: its domain in lower case (the part before
    the @ is the mail server's to interpret, but compared without case)."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def confirm(deps: Deps, messenger: Messenger, tenant: str, code: str) -> Doc:
    """The right code makes the address the business's (taken over from any
    other tenant) and asks SES to verify it. A wrong code counts: after
    MAX_WRONG_CODES the code is spent. The same code again once it is
    confirmed (a second click, a retry, a concurrent request) answers the
    address as it stands."""

    def attempt() -> Doc:
        record = _record(deps, tenant)
        pending = record.get("pending")
        done = record.get("confirmed_code_hash")
        if pending is None and done and record["email"] and done == _hash(tenant, record["email"], code):
            return _shown(deps, tenant, record, _verified(messenger, record["email"]))
        if pending is None:
            raise Conflict("no code is waiting: ask for one with POST /business/sender")
        if deps.now() >= _at(pending["expires_at"]):
            raise InvalidInput.of("code", "the code expired: ask for a new one")
        if pending["wrong_codes"] >= MAX_WRONG_CODES:
            raise InvalidInput.of("code", "too many wrong codes: ask for a new one")
        if not hmac.compare_digest(pending["code_hash"], _hash(tenant, pending["email"], code)):
            wrong = {**record, "pending": {**pending, "wrong_codes": pending["wrong_codes"] + 1}}
            try:
                _save(deps, tenant, wrong, record["version"])
            except Conflict:
                raise LostRace from None  # counted under the version it read, so concurrent guesses all count
            raise InvalidInput.of("code", "wrong code")
        email = pending["email"]
        _register(messenger, email)  # before any write: SES failing leaves everything as it was
        _take(deps, tenant, email)
        confirmed = {**record, "email": email, "confirmed_at": deps.timestamp(), "pending": None,
                     "confirmed_code_hash": pending["code_hash"]}  # fmt: skip
        try:
            confirmed = _save(deps, tenant, confirmed, record["version"])
        except Conflict:
            raise LostRace from None  # changed meanwhile: the next turn finds it confirmed, or tries again
        return _shown(deps, tenant, confirmed, _verified(messenger, email))

    return until_written(attempt, "the sender address is changing too often to confirm it now")


def remove(deps: Deps, tenant: str) -> None:
    """Back to the platform's address; the address is released for others.
    The business's record first: if it changed meanwhile (409), nothing did."""
    record = _record(deps, tenant)
    if not record["version"]:
        return
    _save(deps, tenant, {**record, "email": None, "confirmed_at": None, "pending": None,
                     "confirmed_code_hash": None}, record["version"])  # fmt: skip
    if record["email"]:
        guard = deps.store.get(PLATFORM, KIND, record["email"].lower())
        if guard and guard["owner"] == tenant:
            with contextlib.suppress(Conflict, NotFound):  # taken over or released meanwhile: not ours to release
                deps.store.delete(PLATFORM, KIND, guard["id"], expected_version=guard["version"], name=None)


def sending_address(deps: Deps, tenant: str) -> str | None:
    """The business's own address, while it is confirmed and still its."""
    record = deps.store.get(tenant, KIND, RECORD_ID)
    if not record or not record.get("email"):
        return None
    return record["email"] if _owner(deps, record["email"]) == tenant else None


# -- helpers ------------------------------------------------------------------


def _record(deps: Deps, tenant: str) -> Doc:
    return deps.store.get(tenant, KIND, RECORD_ID) or {
        "id": RECORD_ID,
        "email": None,
        "confirmed_at": None,
        "pending": None,
        "version": 0,
    }


def _register(messenger: Messenger, email: str) -> None:
    try:
        messenger.register_sender(email)
    except SendThrottled:
        raise Busy("the e-mail service is busy; confirm the code again in a minute", retry_after_s=60) from None
    except SendRejected as rejected:
        raise InvalidInput.of("code", f"SES refused the address ({rejected}); ask for a code to another") from None


def _verified(messenger: Messenger, email: str) -> bool | None:
    """What SES says of the address; None when it cannot say now."""
    try:
        return messenger.sender_verified(email)
    except Exception:
        logger.warning("SES verification status unavailable", exc_info=True)
        return None


def _spend(deps: Deps, allowances: list[tuple[str, int, str]]) -> None:
    """Count one against each daily allowance, all or none (a refusal
    costs nothing); 429 once one is spent."""
    today = deps.now().astimezone(UTC)
    tomorrow = datetime.combine(today.date() + timedelta(days=1), datetime.min.time(), UTC)
    spent = [Allowance(key, today.date().isoformat(), 1, limit, int(tomorrow.timestamp()) + 86_400)
             for key, limit, _ in allowances]  # fmt: skip
    reasons = [f"{message} (at most {limit})" for _, limit, message in allowances]
    limits.charge(deps, spent, reasons, int((tomorrow - today).total_seconds()) + 1, refusal=TooSoon)


def _owner(deps: Deps, email: str) -> str | None:
    guard = deps.store.get(PLATFORM, KIND, email.lower())
    return guard["owner"] if guard else None


def _take(deps: Deps, tenant: str, email: str) -> None:
    """Record the address as the tenant's, whoever had it."""

    def attempt() -> None:
        guard = deps.store.get(PLATFORM, KIND, email.lower())
        now = deps.timestamp()
        if guard is None:
            doc = {"id": email.lower(), "owner": tenant, "version": 1, "created_at": now, "updated_at": now}
            try:
                deps.store.create(PLATFORM, KIND, doc, name=None)
            except ConditionFailed:
                raise LostRace from None
            return
        if guard["owner"] == tenant:
            return
        taken = {**guard, "owner": tenant, "version": guard["version"] + 1, "updated_at": now}
        try:
            deps.store.replace(PLATFORM, KIND, taken, expected_version=guard["version"], old_name=None, new_name=None)
        except (Conflict, NotFound):  # changed or released meanwhile: look again
            raise LostRace from None

    until_written(attempt, "the address is changing hands too often to take it now")


def _save(deps: Deps, tenant: str, doc: Doc, expected: int, quiet: bool = False) -> Doc:
    now = deps.timestamp()
    saved = {**doc, "version": expected + 1, "updated_at": now, "created_at": doc.get("created_at") or now}
    try:
        deps.store.replace(tenant, KIND, saved, expected_version=expected, old_name=None, new_name=None)
    except Conflict:
        if quiet:
            return doc
        raise Conflict("the sender address changed meanwhile: read it again and retry") from None
    return saved


def _shown(deps: Deps, tenant: str, record: Doc, verified: bool | None) -> Doc:
    pending = record.get("pending")
    own = record["email"] if record["email"] and _owner(deps, record["email"]) == tenant else None
    return {
        "email": record["email"],
        "confirmed_at": record.get("confirmed_at"),
        "sending_from": own or platform_sender(),
        "ses_verified": verified,
        "pending_email": pending["email"] if pending else None,
        "code_expires_at": pending["expires_at"] if pending else None,
    }


def _hash(tenant: str, email: str, code: str) -> str:
    return hashlib.sha256(f"{tenant}|{email.lower()}|{code}".encode()).hexdigest()


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
