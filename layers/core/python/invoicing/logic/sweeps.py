"""The scheduled sweeps (SPEC §9, §11, §12, §13): late fees, payment
reminders, invoices newly overdue, the expiry of sent estimates, and the
invoices recurring invoices issue (their work on one is logic.recurring.bill_due).

Each issued, unpaid invoice says in `sweep_late_fees_on`,
`sweep_reminders_on` and `sweep_overdue_on` the day each sweep next has
work for it (or nothing), kept by `planned` on every write that changes
what it owes; a sent estimate says in `sweep_expiry_on` the day after its
last valid day, set when it is numbered. The store indexes those days
across tenants, so a sweep reads only the work due by today, missed days
included. Work on one document is one conditional write under the version
read: a second run, a retry or a concurrent run finds the fee's period, the
reminder's key, the invoice's `overdue_at` or the estimate's new status
already there and adds nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from invoicing.domain import reminders
from invoicing.domain.errors import StaleVersion
from invoicing.domain.estimate import EstimateStatus, lapsed
from invoicing.domain.invoice import Invoice, planned, settled
from invoicing.domain.money import format_amount
from invoicing.logic import recurring
from invoicing.logic.common import Deps, new_delivery
from invoicing.logic.retry import LostRace, until_written
from invoicing.ports import Candidate, ConditionFailed, Doc, WorkQueue
from invoicing.transient import is_transient

logger = logging.getLogger(__name__)

# -- the work on one invoice -------------------------------------------------------------


def apply_late_fees(deps: Deps, tenant: str, doc: Doc, today: date) -> int:
    """Apply the fees `doc` owes as of `today`; how many were applied.
    `doc` is the invoice as the index gave it: read again only when another
    write got there first."""

    def attempt(doc: Doc) -> int:
        fees = Invoice.of(doc).late_fees_due(today)
        currency, now = doc["currency"], deps.timestamp()
        entries = [*(doc.get("late_fee_entries") or []),
                   *({"period": fee.period, "amount": format_amount(fee.amount, currency),
                      "applied_on": today.isoformat(), "applied_at": now} for fee in fees)]  # fmt: skip
        total = sum((Decimal(entry["amount"]) for entry in entries), Decimal(0))
        updated = settled({**doc, "late_fee_entries": entries,
                                    "late_fees_total": format_amount(total, currency)}, now)  # fmt: skip
        if not fees and _same_plan(doc, updated):
            return 0
        _write(deps, tenant, "invoice", doc, updated)
        return len(fees)

    return _on_latest(deps, tenant, "invoice", doc, attempt, "late fees")


def send_reminders(deps: Deps, tenant: str, doc: Doc, today: date) -> int:
    """Queue the reminders `doc` owes as of `today` (one per unpaid
    deadline, to the customer's e-mail and/or phone as the invoice's
    settings say) and mark them done; how many deliveries were queued."""

    def attempt(doc: Doc) -> int:
        settings = doc.get("reminders") or {}
        done = set(doc.get("reminders_done") or [])
        due, passed = Invoice.of(doc).reminders_due(today)
        ids = [_queue(deps, tenant, doc, reminder, channel, recipient)
               for reminder in due for channel, recipient in _recipients(doc, settings)]  # fmt: skip
        marked = sorted(done | {reminder.key for reminder in due} | set(passed))
        updated = planned(
            {**doc, "reminders_done": marked, "updated_at": deps.timestamp(), "version": doc["version"] + 1}
        )
        if not due and not passed and _same_plan(doc, updated):
            return 0
        _write(deps, tenant, "invoice", doc, updated)
        return len(ids)

    return _on_latest(deps, tenant, "invoice", doc, attempt, "reminders")


def mark_overdue(deps: Deps, tenant: str, doc: Doc, today: date) -> int:
    """Mark `doc` overdue (`overdue_at`, once per invoice) if it is unpaid
    after its next payment's due date as of `today`; 1 if this call did.
    The write's change on the stream is the webhooks' `invoice.overdue`
    (invoicing.events), so it is never written twice. While a payment of it
    is on its way nothing is marked, as nothing is charged (`planned` keeps
    it out of the index then); a day the index holds that `planned` no
    longer gives is cleared, so that no invoice is read again every day."""

    def attempt(doc: Doc) -> int:
        invoice = Invoice.of(doc)
        marks = not doc.get("overdue_at") and not invoice.payment_processing and invoice.is_overdue(today)
        now = deps.timestamp()
        updated = planned({**doc, **({"overdue_at": now} if marks else {}), "updated_at": now,
                           "version": doc["version"] + 1})  # fmt: skip
        if not marks and updated.get("sweep_overdue_on") == doc.get("sweep_overdue_on"):
            return 0
        _write(deps, tenant, "invoice", doc, updated)
        return int(marks)

    return _on_latest(deps, tenant, "invoice", doc, attempt, "overdue mark")


def expire_estimate(deps: Deps, tenant: str, doc: Doc, today: date) -> int:
    """Expire `doc` if it is still sent and `today` is past its last valid
    day; 1 if this call did. The write takes it out of the index, and its
    change on the stream is the bus's `Estimate Expired`. An estimate its
    client accepted or declined since the index was read is left as it is."""

    def attempt(doc: Doc) -> int:
        valid_until = date.fromisoformat(doc["valid_until"]) if doc.get("valid_until") else None
        if not lapsed(EstimateStatus(doc["status"]), valid_until, today):
            return 0
        now = deps.timestamp()
        expired = {**doc, "status": EstimateStatus.EXPIRED.value, "expired_at": now, "sweep_expiry_on": None,
                   "updated_at": now, "version": doc["version"] + 1}  # fmt: skip
        _write(deps, tenant, "estimate", doc, expired)
        return 1

    return _on_latest(deps, tenant, "estimate", doc, attempt, "expiry")


# -- helpers ---------------------------------------------------------------------------


def _queue(deps: Deps, tenant: str, doc: Doc, reminder: reminders.Reminder, channel: str, recipient: str) -> str:
    """The reminder's delivery, created once (its id derives from the invoice,
    the reminder's key, the channel and the recipient)."""
    digest = hashlib.sha256(f"reminder|{reminder.key}|{channel}|{recipient.lower()}".encode()).hexdigest()[:24]
    now = deps.timestamp()
    due_date = (reminder.on - timedelta(days=reminder.offset)).isoformat()
    record = new_delivery(
        f"{doc['id']}.{digest}", doc["id"], doc["version"] + 1, channel, recipient, now, kind="reminder",
        reminder={"key": reminder.key, "due_date": due_date, "offset": reminder.offset},
    )  # fmt: skip
    with contextlib.suppress(ConditionFailed):  # queued by an earlier run that did not finish: it goes out once
        deps.store.create(tenant, "delivery", record, name=None)
    return str(record["id"])


def _recipients(doc: Doc, settings: dict[str, Any]) -> list[tuple[str, str]]:
    customer = doc.get("customer") or {}
    found = []
    for channel in settings.get("channels") or ["email"]:
        address = customer.get("email" if channel == "email" else "phone")
        if address:
            found.append((channel, address))
    return found


def _same_plan(before: Doc, after: Doc) -> bool:
    return all(before.get(f"sweep_{name}_on") == after.get(f"sweep_{name}_on") for name in ("late_fees", "reminders"))


def _write(deps: Deps, tenant: str, kind: str, before: Doc, after: Doc) -> None:
    try:
        deps.store.replace(tenant, kind, after, expected_version=before["version"], old_name=None, new_name=None)
    except StaleVersion:
        raise LostRace from None


def _on_latest(deps: Deps, tenant: str, kind: str, doc: Doc, work: Callable[[Doc], int], what: str) -> int:
    """`work` on `doc` as the index gave it, then, whenever another write got
    there first, on the document as the table holds it (gone: nothing to do)."""
    latest: Doc | None = doc

    def attempt() -> int:
        nonlocal latest
        if latest is None:
            return 0
        try:
            return work(latest)
        except LostRace:
            latest = deps.store.get(tenant, kind, doc["id"])
            raise

    return until_written(attempt, f"{kind} {doc['id']} too busy for its {what}; the sweep retries it")


# -- the sweep: fan out by shard, then a page at a time --------------------------------

PAGE = 100  # candidates per message: a page is a few seconds of conditional writes
TRANSIENT_ATTEMPTS = 2  # an invoice's work, while AWS answers it is busy (a page has a minute)
# What a page keeps for its last invoice: its worst case, AWS busy throughout
# (botocore's standard retries, about 8 s a call, twice), and queueing the rest.
RESERVE_MS = 20_000
WORK = {"late_fees": apply_late_fees, "reminders": send_reminders, "expiry": expire_estimate,
        "recurring": recurring.bill_due, "overdue": mark_overdue}  # fmt: skip
SWEPT = {"late_fees": "invoice", "reminders": "invoice", "expiry": "estimate", "recurring": "recurring",
         "overdue": "invoice"}  # fmt: skip


def fan_out(queue: WorkQueue, sweep: str, today: date) -> int:
    """One message per shard of the sweep's index; how many."""
    from invoicing.ports import SWEEP_SHARDS

    if sweep not in WORK:
        raise ValueError(f"no sweep {sweep!r}")
    for shard in range(SWEEP_SHARDS):
        queue.send({"sweep": sweep, "shard": shard, "today": today.isoformat(), "cursor": None})
    return SWEEP_SHARDS


def work_page(
    deps: Deps, queue: WorkQueue, message: dict[str, Any], time_left_ms: Callable[[], int] | None = None
) -> dict[str, int]:
    """Do a page of a shard's work, and queue the next page. A document
    whose work fails goes alone to the dead-letter queue and the page goes
    on (the index keeps it: the next run tries it again). What was done.

    The page stops while `time_left_ms()` still leaves an invoice's worst
    case (AWS busy, botocore's retries and ours), and queues the invoices it
    did not reach as a message of their own: a page that outlived its
    function would be received again whole, and its next page queued twice.
    A message of `invoices` (the documents a page left, estimates for the
    expiry sweep) reads each from the table and queues no next page."""
    sweep, today = message["sweep"], date.fromisoformat(message["today"])
    kind = SWEPT[sweep]
    if "invoices" in message:
        candidates = _left_over(deps, kind, message["invoices"])
    else:
        page = deps.store.sweep_candidates(sweep, int(message["shard"]), message["today"], message.get("cursor"), PAGE)
        if page.cursor:  # first: a page that fails does not hold up the rest of its shard
            queue.send({**message, "cursor": page.cursor})
        candidates = page.items
    done = {"candidates": len(candidates), "done": 0, "failed": 0, "deferred": 0}
    for index, candidate in enumerate(candidates):
        if time_left_ms is not None and time_left_ms() < RESERVE_MS:
            rest = [[later.tenant, later.invoice["id"]] for later in candidates[index:]]
            queue.send({"sweep": sweep, "today": message["today"], "shard": message["shard"], "invoices": rest})
            done["deferred"] = len(rest)
            logger.warning("sweep page out of time", extra={"sweep": sweep, "deferred": len(rest)})
            break
        try:
            done["done"] += _through_throttling(lambda c=candidate: WORK[sweep](deps, c.tenant, c.invoice, today))
        except Exception as error:  # one document never blocks the others
            logger.exception(
                "sweep failed on a document", extra={"sweep": sweep, f"{kind}_id": candidate.invoice["id"]}
            )
            queue.poison({f"poison_{kind}": True, "sweep": sweep, "today": message["today"],
                          "tenant_id": candidate.tenant, f"{kind}_id": candidate.invoice["id"],
                          "error": type(error).__name__})  # fmt: skip
            done["failed"] += 1
    return done


def _left_over(deps: Deps, kind: str, ids: list[list[str]]) -> list[Candidate]:
    """The documents a page left, as the table holds them now (gone: nothing to do)."""
    found = ((tenant, deps.store.get(tenant, kind, id)) for tenant, id in ids)
    return [Candidate(tenant, doc) for tenant, doc in found if doc is not None]


def _through_throttling(work: Callable[[], int], attempts: int = TRANSIENT_ATTEMPTS) -> int:
    """The work, tried again after a pause while AWS is busy (a throttled
    write wrote nothing, and the work is idempotent): a busy table delays an
    invoice, never sends it to the dead-letter queue."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as error:
            if attempt == attempts or not is_transient(error):
                raise
            time.sleep(random.uniform(0.05, 0.2))
    raise AssertionError("attempts is at least 1")
