"""Outgoing webhooks' deliveries (SPEC §13): each event of the table's stream
(invoicing.events.webhook_events_of) to each endpoint that takes it, at least
once, signed as the Standard Webhooks specification says.

`fan_out` runs on the bus's "Webhook Event": it writes one delivery per
endpoint — its id derived from the endpoint and the event, so an event
handed over twice makes none twice — with the body it will always send (the
resource as the API returns it when the event is fanned out), and queues a
message for each. `work` runs on that message: one attempt (10 s, no
redirects, the name resolved and every address checked first). A failure
keeps the message, hidden until the next attempt (the queue's visibility:
5 s, 1 min, 5 min … 12 h; never a wait inside a function), until three days
after the first failure; then the delivery is `failed`. An endpoint that
has done nothing but fail for three days is disabled and its business told
by e-mail.

A delivery's schedule belongs to one message (`owner`), claimed by the first
to come before any attempt: a second message for it (the fan-out retried,
once or twice at once) is dropped. A manual retry (`retry`) makes one
attempt now, and the owning message keeps the schedule.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from datetime import UTC, datetime
from typing import Any

from invoicing.domain import webhooks
from invoicing.domain.errors import NotFound, StaleVersion
from invoicing.logic import webhooks as endpoints_of
from invoicing.logic.common import Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.logic.webhooks import DELIVERY
from invoicing.ports import ConditionFailed, Doc, Messenger, WebhookOutcome

logger = logging.getLogger(__name__)

KEPT_DAYS = 30  # a delivery's record, then the table's TTL removes it
# SQS hides a message 12 hours at most from when it was received; an attempt takes up to 10 s of
# that (and the batch's others): a longer wait comes back early, and is hidden again for the rest.
MAX_HIDE_S = 12 * 3600 - 15 * 60
INTERNAL = frozenset({"body", "owner", "expires_epoch", "version", "first_failed_at", "backoff_from"})


def present(delivery: Doc) -> Doc:
    return {key: value for key, value in delivery.items() if key not in INTERNAL}


# -- the fan-out -------------------------------------------------------------------------


def fan_out(deps: Deps, detail: dict[str, Any]) -> int:
    """Deliveries of one event to the tenant's endpoints that take it, and
    their messages; how many were queued."""
    tenant, type = detail["tenant_id"], detail["type"]
    targets = [
        endpoint
        for endpoint in endpoints_of.endpoints(deps, tenant)
        if endpoint["status"] == "enabled" and ("*" in endpoint["events"] or type in endpoint["events"])
    ]
    if not targets:
        return 0
    created_at = detail.get("created_at") or deps.timestamp()
    envelope = {"id": detail["event_id"], "type": type, "created_at": created_at,
                "data": {"object": resource(deps, tenant, detail["object"])}}  # fmt: skip
    body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
    messages = []
    for endpoint in targets:
        # its id from the event's own time only, never this run's clock: the event handed over again makes none twice
        doc = new_delivery(deps, endpoint["id"], detail["event_id"], type, detail.get("created_at"), body)
        try:
            deps.store.create(tenant, DELIVERY, doc, name=None)
        except ConditionFailed:  # the event came again: queued again only if nothing was tried yet
            known = deps.store.get(tenant, DELIVERY, doc["id"])
            if known is None or known["status"] != "pending" or known["attempts"] > 0:
                continue
        messages.append({"tenant_id": tenant, "delivery_id": doc["id"]})
    _queue(deps).send_all(messages)
    return len(messages)


def new_delivery(deps: Deps, endpoint_id: str, event_id: str, type: str, created_at: str | None, body: str) -> Doc:
    now = deps.timestamp()
    return {
        # newest first in the endpoint's list: the event's time leads its id
        "id": f"{endpoint_id}.{_compact(created_at)}{event_id.removeprefix('evt_')}",
        "endpoint_id": endpoint_id,
        "event_id": event_id,
        "event_type": type,
        "status": "pending",
        "attempts": 0,
        "last_status_code": None,
        "last_error": None,
        "last_attempt_at": None,
        "next_attempt_at": None,
        "delivered_at": None,
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "body": body,
        "owner": None,
        "first_failed_at": None,
        "expires_epoch": int(deps.now().timestamp()) + KEPT_DAYS * 86400,
    }


def resource(deps: Deps, tenant: str, ref: dict[str, Any]) -> Doc:
    """What an event is about, as the API returns it now."""
    from invoicing.logic import credit_notes, estimates, invoices

    kind = ref["kind"]
    if kind == "estimate":
        doc = deps.store.get(tenant, "estimate", ref["id"])
        return estimates.present(deps, tenant, doc) if doc else _gone(ref)
    if kind == "credit_note":
        doc = deps.store.get(tenant, "credit_note", ref["id"])
        return credit_notes.present(doc) if doc else _gone(ref)
    if kind == "delivery":
        from invoicing.logic.delivery import shown

        doc = deps.store.get(tenant, "delivery", ref["id"])
        return shown(doc) if doc else _gone(ref)
    invoice_id = ref["invoice_id"] if kind == "payment" else ref["id"]
    doc = deps.store.get(tenant, "invoice", invoice_id)
    if doc is None:
        return _gone(ref)
    shown_invoice = invoices.present(deps, tenant, doc)
    if kind == "payment":
        payment = next((item for item in shown_invoice["payments"] if item["id"] == ref["id"]), None)
        return {**payment, "invoice_id": invoice_id} if payment else _gone(ref)
    return shown_invoice


def _gone(ref: dict[str, Any]) -> Doc:
    """A deleted draft (or a document gone since): its id, marked deleted."""
    return {key: value for key, value in ref.items() if key != "kind"} | {"object": ref["kind"], "deleted": True}


# -- one attempt -------------------------------------------------------------------------


def work(deps: Deps, messenger: Messenger | None, message: dict[str, Any], receipt: str, message_id: str) -> str:
    """One message of the queue: an attempt if one is due; what became of it.
    "kept": the message stays, hidden until the next attempt (the caller
    reports it failed, so the queue keeps it)."""
    tenant = message["tenant_id"]
    delivery = deps.store.get(tenant, DELIVERY, message["delivery_id"])
    if delivery is None or delivery["status"] != "pending":
        return "done already"
    if delivery["owner"] is None:  # the first message to come has it; a second (the fan-out retried) is dropped
        delivery = _claimed(deps, tenant, delivery, message_id)
    if delivery is None or delivery["owner"] != message_id:
        return "another message has it"
    wait = _seconds_until(deps, delivery["next_attempt_at"])
    if wait > 1:  # early (a manual retry moved the schedule): hidden until then
        _queue(deps).postpone(receipt, min(wait, MAX_HIDE_S))
        return "kept"
    endpoint = endpoints_of.find(deps, tenant, delivery["endpoint_id"])
    if endpoint is None or endpoint["status"] != "enabled":
        why = "the endpoint was deleted" if endpoint is None else "the endpoint is disabled"
        _give_up(deps, tenant, delivery, why)
        return "given up"
    outcome = attempt(deps, endpoint, delivery)
    recorded = record(deps, tenant, delivery, outcome)
    _health(deps, messenger, tenant, endpoint, outcome)
    if recorded is None:  # another attempt was recorded meanwhile (a manual retry): the schedule is still ours
        recorded = deps.store.get(tenant, DELIVERY, delivery["id"])
        if recorded is None or recorded["owner"] != message_id:
            return "another message has it"
    if recorded["status"] == "pending":
        _queue(deps).postpone(receipt, max(1, min(_seconds_until(deps, recorded["next_attempt_at"]), MAX_HIDE_S)))
        return "kept"
    return str(recorded["status"])


def attempt(deps: Deps, endpoint: Doc, delivery: Doc) -> WebhookOutcome:
    """One signed POST of the delivery's body (the same at every attempt;
    the timestamp and signatures are the attempt's)."""
    assert deps.webhooks is not None
    body = delivery["body"].encode()
    now = deps.now()
    secrets = endpoints_of.signing_secrets(endpoint, now)
    headers = webhooks.headers(secrets, delivery["event_id"], int(now.timestamp()), body)
    outcome = deps.webhooks.post(endpoint["url"], headers, body)
    logger.info("webhook attempt", extra={"delivery": delivery["id"], "status": outcome.status, "ms": outcome.ms})
    return outcome


def record(deps: Deps, tenant: str, seen: Doc, outcome: WebhookOutcome) -> Doc | None:
    """The attempt written on the delivery, with its next one (or `failed`,
    the three days over): over `seen` first, read again only when another
    write came between. None when another attempt was recorded since
    `seen` (a manual retry, another message's): this one is counted, a
    success recorded, the schedule left as the other set it."""
    known: list[Doc | None] = [seen]

    def write() -> Doc | None:
        doc = known[0] or deps.store.get(tenant, DELIVERY, seen["id"])
        if doc is None:
            return None
        other = doc["attempts"] != seen["attempts"]
        if other and doc["status"] == "delivered":
            return None
        # delivered (or given up) before, or another attempt set the schedule since: this one only counted
        if (doc["status"] != "pending" or other) and not outcome.ok:
            new = {**doc, "attempts": doc["attempts"] + 1, "last_status_code": outcome.status,
                   "last_error": outcome.error, "last_attempt_at": deps.timestamp(),
                   "version": doc["version"] + 1}  # fmt: skip
            known[0] = None
            _replace(deps, tenant, doc, new)
            return None if other else new
        now = deps.now()
        stamp = deps.timestamp()
        new = {**doc, "attempts": doc["attempts"] + 1, "last_status_code": outcome.status,
               "last_error": outcome.error, "last_attempt_at": stamp, "updated_at": stamp,
               "version": doc["version"] + 1}  # fmt: skip
        if outcome.ok:
            new.update(status="delivered", delivered_at=stamp, next_attempt_at=None)
        else:
            first = datetime.fromisoformat(doc.get("first_failed_at") or stamp)
            # the failures since its schedule began (again, if it was retried after it was given up)
            following = webhooks.next_attempt(first, new["attempts"] - doc.get("backoff_from", 0), now)
            new.update(first_failed_at=first.isoformat(), next_attempt_at=_iso(following))
            if following is None:
                new["status"] = "failed"
        known[0] = None  # lost: read it again
        _replace(deps, tenant, doc, new)
        return None if other else new

    return until_written(write, f"webhook delivery {seen['id']} too busy to record now")


def retry(deps: Deps, tenant: str, endpoint_id: str, delivery_id: str, messenger: Messenger | None) -> Doc:
    """One attempt now, whatever its schedule (a delivery given up too)."""
    endpoint = endpoints_of.load(deps, tenant, endpoint_id)
    delivery = deps.store.get(tenant, DELIVERY, delivery_id)
    if delivery is None or delivery["endpoint_id"] != endpoint_id:
        raise NotFound("webhook delivery")
    if delivery["status"] == "failed" and delivery["event_type"] != webhooks.PING:
        delivery = _reopened(deps, tenant, delivery)  # three more days, from 5 s, if it fails now
    outcome = attempt(deps, endpoint, delivery)
    record(deps, tenant, delivery, outcome)
    if delivery["event_type"] != webhooks.PING:  # a test counts for nothing
        _health(deps, messenger, tenant, endpoint, outcome)
    found = deps.store.get(tenant, DELIVERY, delivery_id)
    assert found is not None
    if found["status"] == "pending" and found["owner"] is None:  # reopened: no message holds its schedule
        _queue(deps).send_all([{"tenant_id": tenant, "delivery_id": delivery_id}])
    return present(found)


def ping(deps: Deps, tenant: str, endpoint_id: str) -> Doc:
    """A `ping` to the endpoint now, recorded among its deliveries; not
    retried, and not counted against its health."""
    endpoint = endpoints_of.load(deps, tenant, endpoint_id)
    event_id = deps.new_id("evt")
    created_at = deps.timestamp()
    envelope = {"id": event_id, "type": webhooks.PING, "created_at": created_at,
                "data": {"object": {"object": "webhook_endpoint", "id": endpoint_id}}}  # fmt: skip
    body = json.dumps(envelope, separators=(",", ":"))
    doc = new_delivery(deps, endpoint_id, event_id, webhooks.PING, created_at, body)
    outcome = attempt(deps, endpoint, doc)
    stamp = deps.timestamp()
    doc.update(attempts=1, last_status_code=outcome.status, last_error=outcome.error, last_attempt_at=stamp,
               status="delivered" if outcome.ok else "failed", delivered_at=stamp if outcome.ok else None)  # fmt: skip
    deps.store.create(tenant, DELIVERY, doc, name=None)
    return present(doc)


def deliveries(deps: Deps, tenant: str, endpoint_id: str, limit: int, cursor: str | None) -> Doc:
    endpoints_of.load(deps, tenant, endpoint_id)
    page = deps.store.children_page(tenant, DELIVERY, endpoint_id, limit=limit, cursor=cursor)
    return {"items": [present(doc) for doc in page.items], "next_cursor": page.cursor}


# -- the endpoint's health ---------------------------------------------------------------


def _health(deps: Deps, messenger: Messenger | None, tenant: str, endpoint: Doc, outcome: WebhookOutcome) -> None:
    """`failing_since` kept (written only when it changes, over `endpoint`
    as read before the attempt); past three days of failures, the endpoint
    disabled and its business told, once."""
    told: list[Doc] = []
    known: list[Doc | None] = [endpoint]

    def write() -> None:
        doc = known[0] or endpoints_of.find(deps, tenant, endpoint["id"])
        if doc is None or doc["status"] != "enabled":
            return
        stamp = deps.timestamp()
        if outcome.ok:
            if doc.get("failing_since") is None:
                return
            new = {**doc, "failing_since": None}
        elif doc.get("failing_since") is None:
            new = {**doc, "failing_since": stamp}
        elif deps.now() - datetime.fromisoformat(doc["failing_since"]) < webhooks.ENDPOINT_DISABLED_AFTER:
            return
        else:
            new = {**doc, "status": "disabled", "disabled_at": stamp,
                   "disabled_reason": "every delivery failed for three days"}  # fmt: skip
        known[0] = None  # lost: read it again
        endpoints_of.write(deps, tenant, doc, {**new, "updated_at": stamp, "version": doc["version"] + 1})
        if new["status"] == "disabled":
            told.append(new)

    until_written(write, f"webhook endpoint {endpoint['id']} too busy to record its health now")
    if told and messenger is not None:
        _tell_business(deps, messenger, tenant, told[0])


def _tell_business(deps: Deps, messenger: Messenger, tenant: str, endpoint: Doc) -> None:
    """An e-mail to the business's profile address that its endpoint is off."""
    from email.message import EmailMessage

    from invoicing.logic import catalog, sender

    recipient = catalog.get_business(deps, tenant).get("email")
    if not recipient:
        logger.warning("webhook endpoint disabled, no e-mail to tell", extra={"endpoint": endpoint["id"]})
        return
    message = EmailMessage()
    message["From"], message["To"] = sender.platform_sender(), recipient
    message["Subject"] = "Webhook désactivé : vos événements ne sont plus envoyés"
    message.set_content(
        f"Bonjour,\n\nDepuis trois jours, chaque envoi d'événements vers {endpoint['url']} échoue.\n"
        f"Ce webhook ({endpoint['id']}) est désactivé : rien n'y est plus envoyé.\n\n"
        "Corrigez le point d'accès, puis réactivez-le (PATCH /webhook-endpoints/{id} "
        '{"status": "enabled"}) ; les envois échoués peuvent être relancés un par un.\n'
    )
    messenger.send_email(sender.platform_sender(), recipient, message.as_bytes(), tenant=tenant)


# -- helpers -----------------------------------------------------------------------------


def _give_up(deps: Deps, tenant: str, delivery: Doc, why: str) -> None:
    stamp = deps.timestamp()
    new = {**delivery, "status": "failed", "last_error": why, "next_attempt_at": None, "updated_at": stamp,
           "version": delivery["version"] + 1}  # fmt: skip
    with contextlib.suppress(LostRace):  # another attempt got there: the next message reads it again
        _replace(deps, tenant, delivery, new)


def _claimed(deps: Deps, tenant: str, delivery: Doc, message_id: str) -> Doc | None:
    """The delivery, its schedule this message's; None if another took it first."""
    new = {**delivery, "owner": message_id, "version": delivery["version"] + 1}
    try:
        _replace(deps, tenant, delivery, new)
    except LostRace:
        return deps.store.get(tenant, DELIVERY, delivery["id"])
    return new


def _reopened(deps: Deps, tenant: str, delivery: Doc) -> Doc:
    new = {**delivery, "status": "pending", "first_failed_at": None, "owner": None, "next_attempt_at": None,
           "backoff_from": delivery["attempts"], "version": delivery["version"] + 1}  # fmt: skip
    _replace(deps, tenant, delivery, new)
    return new


def _replace(deps: Deps, tenant: str, old: Doc, new: Doc) -> None:
    try:
        deps.store.replace(tenant, DELIVERY, new, expected_version=old["version"], old_name=None, new_name=None)
    except (StaleVersion, ConditionFailed):
        raise LostRace from None


def _seconds_until(deps: Deps, when: str | None) -> int:
    """Whole seconds, rounded up: a message hidden so long never comes early."""
    if not when:
        return 0
    return math.ceil((datetime.fromisoformat(when) - deps.now()).total_seconds())


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat(timespec="milliseconds") if when else None


def _compact(stamp: str | None) -> str:
    """An ISO time as id characters (UTC, to the millisecond), sorting as the time does;
    zeros for an event that has no time of its own (listed last)."""
    if not stamp:
        return "0" * 17
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:17]


def _queue(deps: Deps) -> Any:
    assert deps.deliveries is not None, "only the hooks function queues webhook deliveries"
    return deps.deliveries
