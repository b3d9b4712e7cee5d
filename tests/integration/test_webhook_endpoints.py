"""Outgoing webhooks (SPEC §13): endpoints, signed deliveries a CRM verifies
with the Standard Webhooks library, retries on the queue's own clock, an
endpoint disabled after three days of failures, SSRF refused.

On the fakes (the queue's messages handed to the hooks function by hand,
the clock moved by the test), a CRM's crm on loopback; the last tests
run on moto."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.conftest import BUSINESS, CUSTOMER
from tests.receiver import Receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def clock(fakes: Any) -> dict[str, datetime]:
    """The functions' clock, moved by the test."""
    from invoicing.adapters import live

    start = datetime.now(UTC).replace(microsecond=0)  # a CRM's library refuses a timestamp 5 minutes off
    now = {"at": start, "start": start}
    installed = live.installed()
    assert installed is not None
    installed.deps.now = lambda: now["at"]
    return now


def endpoint(api: Any, url: str, events: list[str] | None = None, tenant: str = "acme") -> dict[str, Any]:
    reply = api.post("/webhook-endpoints", {"url": url, "events": events or ["*"]}, tenant=tenant)
    assert reply.status == 201, reply.body
    return reply.body


def run_queue(api: Any, fakes: Any) -> dict[str, int]:
    """The deliveries' queue handed to the hooks function, as SQS would: the
    messages not hidden; those it reports failed stay (hidden by it)."""
    queue = fakes.deliveries
    visible = [record for record in queue.records() if queue.messages[record["receiptHandle"]]["hidden_s"] == 0]
    if not visible:
        return {}
    response = api.invoke_function("hooks", {"Records": visible})
    kept = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    for record in visible:
        if record["messageId"] not in kept:
            queue.delete(record["receiptHandle"])
    return dict(response["done"])


def time_passes(fakes: Any, clock: dict[str, datetime], by: timedelta) -> None:
    """The clock moves on; the messages hidden for less than that are visible again."""
    clock["at"] += by
    for held in fakes.deliveries.messages.values():
        held["hidden_s"] = max(0, held["hidden_s"] - int(by.total_seconds()))


def paid_invoice(api: Any) -> dict[str, Any]:
    assert api.put("/business", {**BUSINESS, "email": "compta@acme.example"}).status == 200
    customer = api.post("/customers", CUSTOMER).body
    draft = api.post("/invoices", {"name": "Audit", "customer_id": customer["id"],
                                   "lines": [{"name": "Audit", "unit_price": "100"}]}).body  # fmt: skip
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body
    assert issued.get("number"), issued
    reply = api.post(f"/invoices/{issued['id']}/payments", {"method": "bank_transfer", "amount": issued["amount_due"]})
    assert reply.status == 201, reply.body
    return api.get(f"/invoices/{issued['id']}").body


def verified(received: Any, secret: str) -> dict[str, Any]:
    """What a CRM does with a request: the library checks it was signed with the secret."""
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


# -- endpoints -----------------------------------------------------------------------


def test_an_endpoint_shows_its_secret_once(api, crm):
    made = endpoint(api, crm.url, ["invoice.paid"])
    assert made["secret"].startswith("whsec_")
    assert (made["status"], made["events"], made["failing_since"]) == ("enabled", ["invoice.paid"], None)
    shown = api.get(f"/webhook-endpoints/{made['id']}").body
    assert "secret" not in shown
    assert "secrets" not in json.dumps(shown)
    assert [item["id"] for item in api.get("/webhook-endpoints").body["items"]] == [made["id"]]
    changed = api.patch(f"/webhook-endpoints/{made['id']}", {"events": ["*"], "description": "CRM"})
    assert (changed.status, changed.body["events"], changed.body["description"]) == (200, ["*"], "CRM")
    assert api.delete(f"/webhook-endpoints/{made['id']}").status == 204
    assert api.get(f"/webhook-endpoints/{made['id']}").status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://crm.example.com/hooks", "events": ["*"]}, "url"),  # not https
        ({"url": "https://10.0.0.7/hooks", "events": ["*"]}, "url"),  # private
        ({"url": "https://169.254.169.254/latest/meta-data", "events": ["*"]}, "url"),  # the metadata service
        ({"url": "https://[::ffff:192.168.1.1]/hooks", "events": ["*"]}, "url"),  # private, mapped in IPv6
        ({"url": "https://crm.example.com/" + "a" * 2030, "events": ["*"]}, "url"),  # over 2,048 characters
        ({"url": "https://crm.example.com/hooks", "events": ["invoice.paied"]}, "events"),
        ({"url": "https://crm.example.com/hooks", "events": []}, "events"),
        ({"url": "https://crm.example.com/hooks", "events": ["ping"]}, "events"),  # not subscribable
    ],
)
def test_bad_endpoints_are_a_422_naming_the_field(api, body, field):
    reply = api.post("/webhook-endpoints", body)
    assert (reply.status, reply.error_fields) == (422, [field]), reply.body
    assert api.get("/webhook-endpoints").body["items"] == []


def test_a_name_resolving_to_a_private_address_is_refused(api, fakes, monkeypatch):
    from invoicing.adapters.webhook_http import HttpWebhooks

    def resolve(host: str, port: int, *args: Any) -> list[Any]:
        return [(2, 1, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(fakes_deps(), "webhooks", HttpWebhooks(allow_loopback=True, resolve=resolve))
    reply = api.post("/webhook-endpoints", {"url": "https://crm.example.com/hooks", "events": ["*"]})
    assert (reply.status, reply.error_fields) == (422, ["url"])
    assert "a private address" in reply.body["error"]["message"]
    assert "10.1.2.3" not in reply.body["error"]["message"]  # what a private resolver answers stays there


def test_loopback_only_where_the_local_runtime_allows_it(api, crm, monkeypatch):
    from invoicing import settings

    monkeypatch.setenv("LOCAL_WEBHOOKS_ALLOW_LOOPBACK", "0")
    settings.reread()
    reply = api.post("/webhook-endpoints", {"url": crm.url, "events": ["*"]})
    assert (reply.status, reply.error_fields) == (422, ["url"])
    monkeypatch.setenv("LOCAL_WEBHOOKS_ALLOW_LOOPBACK", "1")
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")  # inside Lambda: never
    settings.reread()
    assert api.post("/webhook-endpoints", {"url": crm.url, "events": ["*"]}).status == 422


def test_ten_endpoints_at_most_even_created_at_once(api, crm):
    for _ in range(8):
        endpoint(api, crm.url)
    replies: list[Any] = []
    threads = [threading.Thread(target=lambda: replies.append(
        api.post("/webhook-endpoints", {"url": crm.url, "events": ["*"]}))) for _ in range(4)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(reply.status for reply in replies) == [201, 201, 422, 422]
    assert len(api.get("/webhook-endpoints").body["items"]) == 10
    one = api.get("/webhook-endpoints").body["items"][0]["id"]
    assert api.delete(f"/webhook-endpoints/{one}").status == 204
    assert api.post("/webhook-endpoints", {"url": crm.url, "events": ["*"]}).status == 201


# -- deliveries ----------------------------------------------------------------------


def test_a_crm_receives_invoice_paid_signed_as_standard_webhooks_says(api, fakes, crm, clock):
    made = endpoint(api, crm.url, ["invoice.paid"])
    invoice = paid_invoice(api)
    api.deliver_events()
    assert run_queue(api, fakes) == {"delivered": 1}
    (received,) = crm.received
    payload = verified(received, made["secret"])
    assert payload["type"] == "invoice.paid"
    assert payload["id"] == received.headers["webhook-id"]
    assert payload["data"]["object"]["id"] == invoice["id"]
    assert payload["data"]["object"]["status"] == "paid"
    assert payload["data"]["object"]["amount_due"] == "0.00"
    with pytest.raises(WebhookVerificationError):
        verified(received, "whsec_" + "A" * 32)  # another secret
    (delivery,) = api.get(f"/webhook-endpoints/{made['id']}/deliveries").body["items"]
    assert delivery["event_id"] == payload["id"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 1, 200)
    assert "body" not in delivery


def test_each_endpoint_gets_the_types_it_takes(api, fakes, crm, clock):
    everything = endpoint(api, crm.url)
    only_paid = endpoint(api, crm.url, ["invoice.paid"])
    disabled = endpoint(api, crm.url)
    api.patch(f"/webhook-endpoints/{disabled['id']}", {"status": "disabled"})
    paid_invoice(api)
    api.deliver_events()
    run_queue(api, fakes)
    types = sorted(json.loads(item.body)["type"] for item in crm.received)
    assert types.count("invoice.paid") == 2  # everything's and only_paid's
    assert {"invoice.created", "invoice.issued", "payment.recorded"} <= set(types)
    deliveries = api.get(f"/webhook-endpoints/{only_paid['id']}/deliveries").body["items"]
    assert [item["event_type"] for item in deliveries] == ["invoice.paid"]
    assert api.get(f"/webhook-endpoints/{disabled['id']}/deliveries").body["items"] == []
    listed = api.get(f"/webhook-endpoints/{everything['id']}/deliveries").body["items"]
    assert [item["created_at"] for item in listed] == sorted((item["created_at"] for item in listed), reverse=True)


def test_an_event_handed_over_twice_is_sent_once(api, fakes, crm, clock):
    made = endpoint(api, crm.url, ["invoice.paid"])
    paid_invoice(api)
    from tests.conftest import published_events

    events = published_events()
    hooks = [event for event in events if event["detail-type"] == "Webhook Event"]
    api.deliver_events(events)
    for event in hooks:  # the bus delivers again (at least once)
        api.invoke_function("hooks", event)
    run_queue(api, fakes)
    assert len(crm.received) == 1
    assert len(api.get(f"/webhook-endpoints/{made['id']}/deliveries").body["items"]) == 1


def test_an_event_handed_over_twice_at_once_is_sent_once(api, fakes, crm, clock):
    endpoint(api, crm.url, ["invoice.paid"])
    paid_invoice(api)
    from tests.conftest import published_events

    events = published_events()
    (paid,) = [e for e in events if e["detail-type"] == "Webhook Event" and e["detail"]["type"] == "invoice.paid"]
    threads = [threading.Thread(target=api.invoke_function, args=("hooks", paid)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run_queue(api, fakes)
    run_queue(api, fakes)
    assert len(crm.received) == 1


def test_a_failing_endpoint_is_retried_on_the_queue_then_delivered(api, fakes, crm, clock):
    made = endpoint(api, crm.url, ["invoice.paid"])
    crm.status = 503
    paid_invoice(api)
    api.deliver_events()
    assert run_queue(api, fakes) == {"kept": 1}
    (held,) = fakes.deliveries.messages.values()
    assert held["hidden_s"] == 5  # the first retry, 5 s later, on the queue's clock
    (delivery,) = api.get(f"/webhook-endpoints/{made['id']}/deliveries").body["items"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("pending", 1, 503)
    assert datetime.fromisoformat(delivery["next_attempt_at"]) == clock["start"] + timedelta(seconds=5)
    assert api.get(f"/webhook-endpoints/{made['id']}").body["failing_since"] is not None
    assert run_queue(api, fakes) == {}  # hidden: nothing to do before then
    time_passes(fakes, clock, timedelta(seconds=5))
    assert run_queue(api, fakes) == {"kept": 1}
    assert next(iter(fakes.deliveries.messages.values()))["hidden_s"] == 60
    crm.status = 200
    time_passes(fakes, clock, timedelta(seconds=60))
    assert run_queue(api, fakes) == {"delivered": 1}
    assert fakes.deliveries.messages == {}
    first, second, third = crm.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == third.headers["webhook-id"]
    assert first.body == third.body  # the same event, signed at each attempt's time
    assert int(third.headers["webhook-timestamp"]) == int((clock["start"] + timedelta(seconds=65)).timestamp())
    (delivery,) = api.get(f"/webhook-endpoints/{made['id']}/deliveries").body["items"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 3)
    assert api.get(f"/webhook-endpoints/{made['id']}").body["failing_since"] is None


def test_three_days_of_failures_give_up_disable_the_endpoint_and_tell_the_business(api, fakes, crm, clock):
    made = endpoint(api, crm.url, ["invoice.paid"])
    crm.status = 500
    paid_invoice(api)
    api.deliver_events()
    attempts = 0
    while fakes.deliveries.messages and attempts < 40:
        run_queue(api, fakes)
        attempts += 1
        hidden = max((held["hidden_s"] for held in fakes.deliveries.messages.values()), default=0)
        assert hidden <= 12 * 3600
        time_passes(fakes, clock, timedelta(seconds=hidden))
    assert clock["at"] - clock["start"] <= timedelta(days=3)
    (delivery,) = api.get(f"/webhook-endpoints/{made['id']}/deliveries").body["items"]
    assert delivery["status"] == "failed"
    # 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, then every 12 h: 13 attempts, the last 3 days after the first
    assert delivery["attempts"] == len(crm.received) == 13
    assert attempts > 13  # some came back early (12 h from their receipt at most, SQS's limit) and waited again
    assert delivery["next_attempt_at"] is None
    shown = api.get(f"/webhook-endpoints/{made['id']}").body
    assert shown["status"] == "disabled"
    assert shown["disabled_reason"] == "every delivery failed for three days"
    (told,) = [mail for mail in fakes.messenger.emails if mail.recipient == "compta@acme.example"]
    message = email.message_from_bytes(told.mime, policy=email.policy.default)
    assert message["Subject"].startswith("Webhook désactivé")
    assert crm.url in message.get_content()
    # the business fixes it, turns it on again and sends the delivery again
    crm.status = 200
    enabled = api.patch(f"/webhook-endpoints/{made['id']}", {"status": "enabled"}).body
    assert (enabled["status"], enabled["failing_since"], enabled["disabled_at"]) == ("enabled", None, None)
    retried = api.post(f"/webhook-endpoints/{made['id']}/deliveries/{delivery['id']}/retry")
    assert (retried.status, retried.body["status"], retried.body["last_status_code"]) == (200, "delivered", 200)


def test_a_disabled_endpoint_gets_nothing_more(api, fakes, crm, clock):
    made = endpoint(api, crm.url, ["invoice.paid"])
    crm.status = 500
    paid_invoice(api)
    api.deliver_events()
    run_queue(api, fakes)
    api.patch(f"/webhook-endpoints/{made['id']}", {"status": "disabled"})
    time_passes(fakes, clock, timedelta(seconds=5))
    run_queue(api, fakes)
    assert len(crm.received) == 1
    (delivery,) = api.get(f"/webhook-endpoints/{made['id']}/deliveries").body["items"]
    assert (delivery["status"], delivery["last_error"]) == ("failed", "the endpoint is disabled")


def test_a_rotated_secret_signs_beside_the_new_one_for_24_hours(api, fakes, crm, clock):
    made = endpoint(api, crm.url)
    rotated = api.post(f"/webhook-endpoints/{made['id']}/rotate-secret")
    assert rotated.status == 200
    new = rotated.body["secret"]
    assert new != made["secret"]
    assert new.startswith("whsec_")
    assert api.post(f"/webhook-endpoints/{made['id']}/test").body["status"] == "delivered"
    (first,) = crm.received
    assert verified(first, made["secret"])["type"] == "ping"  # a CRM still holding the old one
    assert verified(first, new)["type"] == "ping"
    assert len(first.headers["webhook-signature"].split()) == 2
    clock["at"] += timedelta(hours=24, seconds=1)
    api.post(f"/webhook-endpoints/{made['id']}/test")
    second = crm.received[1]
    # a day later, only the new secret signs (checked with the library's own signing)
    stamp = datetime.fromtimestamp(int(second.headers["webhook-timestamp"]), UTC)
    expected = Webhook(new).sign(second.headers["webhook-id"], stamp, second.body)
    assert second.headers["webhook-signature"] == expected
    assert expected != Webhook(made["secret"]).sign(second.headers["webhook-id"], stamp, second.body)
    assert second.headers["webhook-signature"].count("v1,") == 1


def test_a_rotation_asked_twice_still_signs_with_the_secret_the_crm_holds(api, fakes, crm, clock):
    """A retried rotation (no Idempotency-Key) makes a secret nobody read:
    the one the CRM holds keeps its 24 hours all the same."""
    made = endpoint(api, crm.url)
    api.post(f"/webhook-endpoints/{made['id']}/rotate-secret")
    clock["at"] += timedelta(hours=1)
    newest = api.post(f"/webhook-endpoints/{made['id']}/rotate-secret").body["secret"]
    assert api.post(f"/webhook-endpoints/{made['id']}/test").body["status"] == "delivered"
    (received,) = crm.received
    assert len(received.headers["webhook-signature"].split()) == 3
    stamp = datetime.fromtimestamp(int(received.headers["webhook-timestamp"]), UTC)
    for secret in (made["secret"], newest):  # the one held since creation, and the latest
        assert (
            Webhook(secret).sign(received.headers["webhook-id"], stamp, received.body)
            in received.headers["webhook-signature"].split()
        )
    clock["at"] += timedelta(hours=23, seconds=1)  # 24 h after the first rotation: the original stops
    api.post(f"/webhook-endpoints/{made['id']}/test")
    later = crm.received[1]
    stamp = datetime.fromtimestamp(int(later.headers["webhook-timestamp"]), UTC)
    assert len(later.headers["webhook-signature"].split()) == 2
    original = Webhook(made["secret"]).sign(later.headers["webhook-id"], stamp, later.body)
    assert original not in later.headers["webhook-signature"].split()


def test_a_ping_reports_what_the_endpoint_answered(api, fakes, crm, clock):
    made = endpoint(api, crm.url)
    crm.status = 410
    reply = api.post(f"/webhook-endpoints/{made['id']}/test")
    assert reply.status == 200
    assert (reply.body["event_type"], reply.body["status"], reply.body["last_status_code"]) == ("ping", "failed", 410)
    assert api.get(f"/webhook-endpoints/{made['id']}").body["failing_since"] is None  # a test counts for nothing
    assert fakes.deliveries.messages == {}  # not retried


def test_no_redirect_is_followed(api, fakes, crm, clock):
    made = endpoint(api, crm.url)
    crm.status, crm.headers_out = 302, {"Location": "http://127.0.0.1:1/elsewhere"}
    reply = api.post(f"/webhook-endpoints/{made['id']}/test")
    assert (reply.body["status"], reply.body["last_status_code"]) == ("failed", 302)
    assert len(crm.received) == 1


def test_a_name_pointed_at_a_private_address_later_is_refused_at_delivery(api, fakes, clock, monkeypatch):
    """Checked when given, and again after resolving the name at each
    delivery: a name re-pointed at the metadata service gets nothing."""
    from invoicing.adapters.webhook_http import HttpWebhooks

    answer = {"address": "93.184.216.34"}  # public, when the endpoint is made
    connected: list[Any] = []

    def resolve(host: str, port: int, *args: Any) -> list[Any]:
        return [(2, 1, 6, "", (answer["address"], port))]

    monkeypatch.setattr(fakes_deps(), "webhooks", HttpWebhooks(allow_loopback=True, resolve=resolve))

    def connect(addresses: Any, deadline: float) -> Any:
        connected.append(addresses)
        raise OSError("a connection was tried")

    monkeypatch.setattr("invoicing.adapters.webhook_http._connect", connect)
    made = api.post("/webhook-endpoints", {"url": "https://crm.example.com/hooks", "events": ["invoice.paid"]})
    assert made.status == 201, made.body
    answer["address"] = "169.254.169.254"  # then re-pointed (DNS rebinding)
    paid_invoice(api)
    api.deliver_events()
    assert run_queue(api, fakes) == {"kept": 1}
    assert connected == []  # no connection was even tried
    (delivery,) = api.get(f"/webhook-endpoints/{made.body['id']}/deliveries").body["items"]
    assert delivery["last_status_code"] is None
    assert delivery["last_error"].startswith("refused: crm.example.com resolves to")


def test_a_manual_retry_during_the_queues_attempt_leaves_the_schedule_to_its_message(api, fakes, crm, clock):
    """The business retries while the queue's own attempt is under way: both
    fail, each is recorded, and the message keeps the schedule (never a
    delivery pending with nothing left to send it)."""
    made = endpoint(api, crm.url, ["invoice.paid"])
    crm.status = 503
    paid_invoice(api)
    api.deliver_events()
    (delivery_id,) = [item["id"] for item in api.get(f"/webhook-endpoints/{made['id']}/deliveries").body["items"]]
    retried: list[Any] = []
    started: list[bool] = []

    def retry_meanwhile(received: Any) -> None:
        if not started:  # during the queue's first attempt, before it is recorded (not during the retry's own)
            started.append(True)
            retried.append(api.post(f"/webhook-endpoints/{made['id']}/deliveries/{delivery_id}/retry"))

    crm.on_receive = retry_meanwhile
    assert run_queue(api, fakes) == {"kept": 1}
    assert retried[0].body["attempts"] == 1  # the retry's own, recorded first
    (held,) = fakes.deliveries.messages.values()
    assert held["hidden_s"] > 0
    (delivery,) = api.get(f"/webhook-endpoints/{made['id']}/deliveries").body["items"]
    assert (delivery["status"], delivery["attempts"]) == ("pending", 2)
    crm.status, crm.on_receive = 200, None
    time_passes(fakes, clock, timedelta(seconds=held["hidden_s"]))
    assert run_queue(api, fakes) == {"delivered": 1}


def test_retrying_a_ping_tries_it_once_more_and_counts_for_nothing(api, fakes, crm, clock):
    made = endpoint(api, crm.url)
    crm.status = 500
    ping = api.post(f"/webhook-endpoints/{made['id']}/test").body
    again = api.post(f"/webhook-endpoints/{made['id']}/deliveries/{ping['id']}/retry").body
    assert (again["status"], again["attempts"], again["next_attempt_at"]) == ("failed", 2, None)
    assert fakes.deliveries.messages == {}
    assert api.get(f"/webhook-endpoints/{made['id']}").body["failing_since"] is None


def test_deliveries_come_a_page_at_a_time_newest_first(api, fakes, crm, clock):
    made = endpoint(api, crm.url)
    for _ in range(3):
        clock["at"] += timedelta(seconds=1)
        api.post(f"/webhook-endpoints/{made['id']}/test")
    first = api.get(f"/webhook-endpoints/{made['id']}/deliveries?limit=2").body
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    rest = api.get(f"/webhook-endpoints/{made['id']}/deliveries?limit=2&cursor={first['next_cursor']}").body
    ids = [item["id"] for item in first["items"] + rest["items"]]
    assert len(set(ids)) == 3
    assert ids == sorted(ids, reverse=True)
    other = endpoint(api, crm.url)
    bad = api.get(f"/webhook-endpoints/{other['id']}/deliveries?cursor={first['next_cursor']}")
    assert (bad.status, bad.error_fields) == (400, ["cursor"])


def test_another_tenants_events_never_reach_the_endpoint(api, fakes, crm, clock):
    endpoint(api, crm.url)
    theirs = Receiver().start()
    try:
        endpoint(api, theirs.url, tenant="other")
        customer = api.post("/customers", {"name": "Martin"}, tenant="other").body
        made = api.post("/invoices", {"name": "Theirs", "customer_id": customer["id"]}, tenant="other")
        assert made.status == 201
        api.deliver_events()
        run_queue(api, fakes)
        assert crm.received == []
        (received,) = theirs.received  # theirs came, to their own endpoint
        assert json.loads(received.body)["data"]["object"]["id"] == made.body["id"]
    finally:
        theirs.stop()


@pytest.mark.parametrize("on", ["fakes", pytest.param("moto", marks=pytest.mark.on_aws)])
def test_the_hosted_page_opened_is_invoice_viewed_once_per_version(api, crm, on):
    made = endpoint(api, crm.url, ["invoice.viewed"])
    assert api.put("/business", BUSINESS).status == 200
    customer = api.post("/customers", CUSTOMER).body
    draft = api.post("/invoices", {"name": "Audit", "customer_id": customer["id"],
                                   "lines": [{"name": "Audit", "unit_price": "100"}]}).body  # fmt: skip
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body
    token = issued["payment_link"].rsplit("/", 1)[1]
    for _ in range(3):
        assert api.get(f"/pay/{token}", tenant=None).status == 200
    api.deliver_events()
    drain_queue(api)
    (received,) = crm.received
    payload = verified(received, made["secret"])
    assert payload["type"] == "invoice.viewed"
    shown = api.get(f"/invoices/{issued['id']}").body
    assert shown["viewed_at"] == payload["data"]["object"]["viewed_at"]
    assert shown["version"] == issued["version"]  # opening it is no new version of the document
    # a payment's new version, opened: viewed again; viewed_at stays the first opening's
    api.post(f"/invoices/{issued['id']}/payments", {"method": "cash", "amount": "1.00"})
    assert api.get(f"/pay/{token}", tenant=None).status == 200
    api.deliver_events()
    drain_queue(api)
    assert [json.loads(item.body)["type"] for item in crm.received] == ["invoice.viewed"] * 2
    again = api.get(f"/invoices/{issued['id']}").body
    assert (again["viewed_at"], again["viewed_version"]) == (shown["viewed_at"], again["version"])


def drain_queue(api: Any) -> None:
    """The deliveries' queue handed to the hooks function until it is empty
    (on the fakes, or on moto's SQS)."""
    if api.fakes is not None:
        while run_queue(api, api.fakes):
            pass
        return
    import os

    import boto3

    from infra import wiring

    sqs, url = boto3.client("sqs"), os.environ[wiring.WEBHOOK_QUEUE_ENV]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                    "eventSourceARN": "arn", "awsRegion": "eu-west-3"} for m in messages]  # fmt: skip
        response = api.invoke_function("hooks", {"Records": records})
        assert response["batchItemFailures"] == [], response
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def fakes_deps() -> Any:
    from invoicing.adapters import live

    installed = live.installed()
    assert installed is not None
    return installed.deps


# -- on moto: the queue's own visibility -------------------------------------------------


@pytest.mark.on_aws
def test_on_sqs_a_failed_attempt_stays_hidden_until_its_retry(api, crm):
    import os

    import boto3

    from infra import wiring

    endpoint(api, crm.url, ["invoice.paid"])
    crm.status = 500
    paid_invoice(api)
    api.deliver_events()
    sqs, url = boto3.client("sqs"), os.environ[wiring.WEBHOOK_QUEUE_ENV]
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
              "body": message["Body"], "attributes": {}, "messageAttributes": {}, "md5OfBody": "",
              "eventSource": "aws:sqs", "eventSourceARN": "arn", "awsRegion": "eu-west-3"}  # fmt: skip
    response = api.invoke_function("hooks", {"Records": [record]})
    assert response["batchItemFailures"] == [{"itemIdentifier": message["MessageId"]}]
    assert len(crm.received) == 1
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # hidden 5 s, not the queue's 3 minutes
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
