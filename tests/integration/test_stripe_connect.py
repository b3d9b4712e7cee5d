"""A business's Stripe account, linked through Stripe only (issue 19 §2, §3;
SPEC §15): `POST /business/stripe/onboarding` creates the account on the
platform, once, and answers Stripe's onboarding link; `account.updated`
keeps `stripe_status`; events find their tenant from the account they come
from; what cannot be applied is parked, counted and replayed. On the
in-memory fakes, with the local stand-in for Stripe."""

from __future__ import annotations

import concurrent.futures
import html
import json
import random
import time
import uuid
from urllib.parse import urlencode

import pytest

from invoicing.adapters import live
from invoicing.logic import stripe_accounts, stripe_events
from tests.conftest import BUSINESS, CLIENT_ADDRESS, CLIENT_SIREN, SPEC_INVOICE
from tests.connect import deliver, onboard

pytestmark = pytest.mark.integration


def issue(api, tenant: str = "acme", stripe_customer: str | None = None) -> dict:
    customer = api.post("/customers", {"name": "Dupont & Fils", "address": CLIENT_ADDRESS, "siren": CLIENT_SIREN,
                                       "stripe_customer_id": stripe_customer}, tenant=tenant).body  # fmt: skip
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}, tenant=tenant).body
    issued = api.post(f"/invoices/{draft['id']}/mark-sent", tenant=tenant).body
    assert issued["status"] == "open", issued
    return issued


def paid(invoice: dict, account: str | None, received: int = 139_800, intent: str = "pi_1", id: str = "evt_pi",
         tenant: str = "acme") -> dict:  # fmt: skip
    obj = {"id": intent, "object": "payment_intent", "amount_received": received, "currency": "eur",
           "metadata": {"tenant_id": tenant, "invoice_id": invoice["id"]},
           "payment_method_types": ["card"]}  # fmt: skip
    return {"id": id, "object": "event", "type": "payment_intent.succeeded", "account": account,
            "created": int(time.time()), "data": {"object": obj}}  # fmt: skip


def refunded(account: str | None, refunded_minor: int, intent: str = "pi_1", id: str = "evt_refund") -> dict:
    obj = {"id": "ch_1", "object": "charge", "payment_intent": intent, "amount": 139_800,
           "amount_refunded": refunded_minor, "currency": "eur", "metadata": {}}  # fmt: skip
    return {"id": id, "object": "event", "type": "charge.refunded", "account": account, "created": int(time.time()),
            "data": {"object": obj}}  # fmt: skip


def account_updated(standin, account: str, at: int, id: str | None = None, **changes) -> dict:
    """What Stripe would send about `account` as of `at`, with `changes` (not applied to the stand-in)."""
    obj = {**json.loads(json.dumps(standin.accounts[account])), **changes}
    return {"id": id or f"evt_{uuid.uuid4().hex[:16]}", "object": "event", "type": "account.updated",
            "account": account, "created": at, "data": {"object": obj}}  # fmt: skip


def charge(api, invoice: dict, tenant: str = "acme"):
    body = {"method": "card", "amount": "100.00", "payment_method_id": "pm_card_visa"}
    return api.post(f"/invoices/{invoice['id']}/payments", body, headers={"Idempotency-Key": str(uuid.uuid4())},
                    tenant=tenant)  # fmt: skip


def type_in(tenant: str, account: str) -> None:
    """The profile as the API wrote it before accounts were linked through
    Stripe: an id typed in, nothing else."""
    store = live.deps().store
    business = store.get(tenant, "business", "profile")
    typed = {**business, "stripe_account_id": account, "version": business["version"] + 1}
    store.replace(tenant, "business", typed, expected_version=business["version"], old_name=None, new_name=None)


def parked() -> list[dict]:
    return stripe_events.parked(live.deps()).items


NOTHING_DUE = {"currently_due": [], "eventually_due": [], "past_due": [], "disabled_reason": None}
DONE = {"details_submitted": True, "charges_enabled": True, "payouts_enabled": True, "requirements": NOTHING_DUE}


# -- onboarding ------------------------------------------------------------------------------


def test_onboarding_creates_the_account_on_the_platform_for_the_tenant_and_answers_stripes_link(
    api, business, stripe_standin
):
    reply = api.post("/business/stripe/onboarding")

    assert reply.status == 200, reply.body
    account = reply.body["stripe_account_id"]
    assert account.startswith("acct_")
    assert reply.body["stripe_status"] == "pending"
    (created,) = stripe_standin.requests_to("/v1/accounts")
    assert created.account is None  # on the platform, not on a connected account
    assert created.params["metadata"] == {"tenant_id": "acme"}
    assert created.params["controller"]["stripe_dashboard"] == {"type": "full"}
    assert created.idempotency_key.startswith("account-")
    (linked,) = stripe_standin.requests_to("/v1/account_links")
    assert linked.params == {"account": account, "type": "account_onboarding",
                             "return_url": "http://127.0.0.1:3000/?stripe_onboarding=return",
                             "refresh_url": "http://127.0.0.1:3000/?stripe_onboarding=refresh"}  # fmt: skip
    (link,) = stripe_standin.links.values()
    assert reply.body["url"] == link["url"]
    assert reply.body["expires_at"].endswith("Z")
    profile = api.get("/business").body
    assert (profile["stripe_account_id"], profile["stripe_status"]) == (account, "pending")
    assert profile["version"] == business["version"] + 1


def test_onboarding_again_is_the_same_account_and_a_fresh_link(api, business, stripe_standin):
    first = api.post("/business/stripe/onboarding").body
    second = api.post("/business/stripe/onboarding").body

    assert second["stripe_account_id"] == first["stripe_account_id"]
    assert second["url"] != first["url"]
    assert len(stripe_standin.accounts) == 1
    assert len(stripe_standin.requests_to("/v1/accounts")) == 1
    assert stripe_standin.requests_to(f"/v1/accounts/{first['stripe_account_id']}")  # its state asked again


def test_onboarding_asked_eight_times_at_once_makes_one_account(api, business, stripe_standin):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: api.post("/business/stripe/onboarding"), range(8)))

    assert [reply.status for reply in replies] == [200] * 8, [reply.body for reply in replies]
    (account,) = stripe_standin.accounts
    assert {reply.body["stripe_account_id"] for reply in replies} == {account}
    assert api.get("/business").body["stripe_account_id"] == account
    assert stripe_accounts.owner(live.deps(), account) == "acme"


def test_finishing_onboarding_makes_the_account_active_and_the_pay_page_offers_to_pay(api, business, stripe_standin):
    account = onboard(api, stripe_standin, complete=False)
    invoice = issue(api)
    assert 'id="pay-button"' not in api.call("GET", link_path(invoice), tenant=None).body  # pending: no payments yet

    for event in stripe_standin.complete_onboarding(account):
        assert deliver(api, event).body["outcome"] == "account updated"

    assert api.get("/business").body["stripe_status"] == "active"
    assert 'id="pay-button"' in api.call("GET", link_path(invoice), tenant=None).body


def link_path(invoice: dict) -> str:
    return invoice["payment_link"].removeprefix("http://127.0.0.1:3000")


def test_stripe_sends_the_business_back_to_the_frontend_only(api, business, stripe_standin, monkeypatch):
    from invoicing import settings

    monkeypatch.setenv("FRONTEND_ORIGINS", "https://app.example,https://admin.example")
    settings.reread()
    elsewhere = api.post("/business/stripe/onboarding", {"return_url": "https://evil.example/phish"})
    refresh_elsewhere = api.post("/business/stripe/onboarding", {"refresh_url": "javascript:alert(1)"})
    back = {"return_url": "https://admin.example/settings/stripe?done=1",
            "refresh_url": "https://app.example/settings/stripe"}  # fmt: skip
    chosen = api.post("/business/stripe/onboarding", back)
    default = api.post("/business/stripe/onboarding")

    assert (elsewhere.status, elsewhere.error_fields) == (422, ["return_url"])
    assert (refresh_elsewhere.status, refresh_elsewhere.error_fields) == (422, ["refresh_url"])
    assert chosen.status == default.status == 200
    first, second = (request.params for request in stripe_standin.requests_to("/v1/account_links"))
    assert (first["return_url"], first["refresh_url"]) == ("https://admin.example/settings/stripe?done=1",
                                                           "https://app.example/settings/stripe")  # fmt: skip
    assert second["return_url"] == "https://app.example/?stripe_onboarding=return"
    assert len(stripe_standin.requests_to("/v1/accounts")) == 1  # the refused requests asked Stripe nothing


@pytest.mark.parametrize("body", [{"return_url": 3}, {"refresh_url": "ftp://app.example/"}, {"other": "x"}, []])
def test_a_bad_body_is_a_4xx_naming_what_and_nothing_is_created(api, business, stripe_standin, body):
    reply = api.post("/business/stripe/onboarding", body)

    assert 400 <= reply.status < 500, reply.body
    assert stripe_standin.received == []
    assert api.get("/business").body["version"] == business["version"]


def test_onboarding_before_the_profile_is_saved_is_a_409_and_creates_nothing(api, stripe_standin):
    reply = api.post("/business/stripe/onboarding")

    assert reply.status == 409
    assert "PUT /business" in reply.body["error"]["message"]
    assert stripe_standin.received == []


# -- one account, one tenant -----------------------------------------------------------------


def test_each_tenant_sees_and_onboards_its_own_account_only(api, business, stripe_standin):
    acme = onboard(api, stripe_standin)
    assert api.put("/business", {**BUSINESS, "legal_name": "Globex SAS"}, tenant="globex").status == 200

    before = api.get("/business", tenant="globex").body
    globex = api.post("/business/stripe/onboarding", tenant="globex").body["stripe_account_id"]

    assert (before["stripe_account_id"], before["stripe_status"]) == (None, None)
    assert globex != acme
    assert api.get("/business").body["stripe_account_id"] == acme
    assert api.get("/business", tenant="globex").body["stripe_account_id"] == globex
    assert [stripe_standin.accounts[a]["metadata"] for a in (acme, globex)] == [{"tenant_id": "acme"},
                                                                               {"tenant_id": "globex"}]  # fmt: skip
    assert (stripe_accounts.owner(live.deps(), acme), stripe_accounts.owner(live.deps(), globex)) == ("acme", "globex")


def test_a_tenant_cannot_take_another_tenants_account_nor_charge_a_card_on_it(api, business, stripe_standin):
    """Issue 19 §2: globex typed acme's account id and charged a saved card on it (201)."""
    acme = onboard(api, stripe_standin)
    assert api.put("/business", {**BUSINESS, "legal_name": "Globex SAS"}, tenant="globex").status == 200
    invoice = issue(api, "globex", stripe_customer="cus_Q1dupont")

    taken = api.patch("/business", {"stripe_account_id": acme}, tenant="globex")
    charged = charge(api, invoice, tenant="globex")

    assert (taken.status, taken.error_fields) == (422, ["stripe_account_id"])
    assert api.get("/business", tenant="globex").body["stripe_account_id"] is None
    assert charged.status == 409
    assert stripe_standin.requests_to("/v1/payment_intents") == []


def test_an_event_from_another_tenants_account_does_not_pay_the_invoice_its_metadata_names(
    api, business, stripe_standin
):
    """Issue 19 §2: its webhooks were credited. The owner of the account is
    acme; the metadata names globex's invoice: parked, nothing paid."""
    acme = onboard(api, stripe_standin)
    assert api.put("/business", {**BUSINESS, "legal_name": "Globex SAS"}, tenant="globex").status == 200
    globex = onboard(api, stripe_standin, tenant="globex")
    invoice = issue(api, "globex")

    refused = deliver(api, paid(invoice, acme, tenant="globex"))
    recorded = deliver(api, paid(invoice, globex, tenant="globex", intent="pi_2", id="evt_2"))

    assert refused.body["outcome"] == "parked: account_of_another_tenant"
    assert recorded.body["outcome"] == "recorded"
    (payment,) = api.get(f"/invoices/{invoice['id']}", tenant="globex").body["payments"]
    assert payment["stripe_payment_intent"] == "pi_2"


# -- account.updated -------------------------------------------------------------------------


def test_account_updated_delivered_twice_and_out_of_order_ends_as_stripe_last_said(api, business, stripe_standin):
    account = onboard(api, stripe_standin, complete=False)
    now = int(time.time())
    submitted = account_updated(stripe_standin, account, now + 10, details_submitted=True)  # Stripe checks them
    enabled = account_updated(stripe_standin, account, now + 20, **DONE)

    outcomes = [deliver(api, event).body["outcome"] for event in (enabled, submitted, enabled, submitted)]

    assert outcomes == ["account updated", "account state older or the same: kept", "already processed",
                        "already processed"]  # fmt: skip
    assert api.get("/business").body["stripe_status"] == "active"


def test_account_updated_delivered_concurrently_converges_on_the_latest(api, business, stripe_standin):
    account = onboard(api, stripe_standin, complete=False)
    now = int(time.time())
    past_due = {"currently_due": ["external_account"], "past_due": ["external_account"], "disabled_reason": None}
    states = [
        account_updated(stripe_standin, account, now + 1, details_submitted=True),
        account_updated(stripe_standin, account, now + 2, **DONE),
        account_updated(stripe_standin, account, now + 3, **{**DONE, "requirements": past_due}),
        account_updated(stripe_standin, account, now + 4, **{**DONE, "charges_enabled": False}),
    ]
    deliveries = states * 4
    random.Random(19).shuffle(deliveries)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda event: deliver(api, event), deliveries))

    assert {reply.status for reply in replies} == {200}
    assert api.get("/business").body["stripe_status"] == "restricted"  # charges disabled, as of now + 4
    assert stripe_accounts.chargeable(live.deps(), "acme") is None
    record = live.deps().store.get("platform", "stripe", f"account:{account}")
    assert record["as_of"][0] == now + 4


def test_account_updated_naming_another_tenant_than_its_owner_is_parked_and_changes_nothing(
    api, business, stripe_standin
):
    account = onboard(api, stripe_standin, complete=False)
    forged = account_updated(stripe_standin, account, int(time.time()) + 5, metadata={"tenant_id": "globex"}, **DONE)

    reply = deliver(api, forged)

    assert reply.body["outcome"] == "parked: account_of_another_tenant"
    assert api.get("/business").body["stripe_status"] == "pending"


def test_account_updated_of_an_account_that_is_nobodys_is_ignored(api, business, stripe_standin):
    stranger = {"id": "evt_x", "object": "event", "type": "account.updated", "account": "acct_1Stranger",
                "created": int(time.time()), "data": {"object": {"id": "acct_1Stranger", "object": "account",
                                                                "charges_enabled": True, "metadata": {}}}}  # fmt: skip
    inconsistent = {**stranger, "id": "evt_y", "account": "acct_1Other"}

    assert deliver(api, stranger).body["outcome"] == "not an account of ours"
    assert (deliver(api, inconsistent).status, parked()) == (422, [])


# -- parked, counted, replayed -------------------------------------------------------------


def made_then_crashed(api, stripe_standin, monkeypatch) -> str:
    """Onboarding whose function dies after Stripe made the account, before it was recorded: its id."""

    def crash(*args, **kwargs):
        raise RuntimeError("the function died here")

    with monkeypatch.context() as patched:
        patched.setattr(stripe_accounts, "_claim", crash)
        assert api.post("/business/stripe/onboarding").status == 500
    (account,) = stripe_standin.accounts
    return account


def test_an_account_stripe_made_before_a_crash_parks_its_events_until_onboarding_records_it_then_replays(
    api, business, stripe_standin, monkeypatch, capsys
):
    """Stripe made the account; the function died before recording it. Its
    event is parked (and counted: StripeEventsParked), not dropped; asking
    again records the same account, and the replay applies the event."""

    account = made_then_crashed(api, stripe_standin, monkeypatch)
    (event,) = stripe_standin.complete_onboarding(account)
    capsys.readouterr()

    assert deliver(api, event).body["outcome"] == "parked: unknown_account"
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [m["StripeEventsParked"] for m in metrics if "StripeEventsParked" in m] == [[1.0]]
    assert metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Invoicing"
    (kept,) = parked()
    assert (kept["id"], kept["type"], kept["account"], kept["reason"]) == (event["id"], "account.updated", account,
                                                                           "unknown_account")  # fmt: skip
    assert "event" not in kept

    assert api.post("/business/stripe/onboarding").body["stripe_account_id"] == account  # the same account
    assert stripe_events.replay(live.deps(), event["id"]) in (
        "account updated",
        "account state older or the same: kept",
    )

    assert parked() == []
    assert api.get("/business").body["stripe_status"] == "active"


def test_a_parked_event_whose_cause_remains_stays_parked_when_replayed(api, business, stripe_standin):
    onboard(api, stripe_standin)
    invoice = issue(api)
    stray = paid(invoice, "acct_1NoTenants")
    assert deliver(api, stray).body["outcome"] == "parked: unknown_account"

    outcome = stripe_events.replay(live.deps(), stray["id"])

    assert outcome == "still parked: unknown_account"
    (kept,) = parked()
    assert (kept["reason"], kept["replays"]) == ("unknown_account", 1)
    assert api.get(f"/invoices/{invoice['id']}").body["payments"] == []
    with pytest.raises(Exception, match="not found"):
        stripe_events.replay(live.deps(), "evt_never_parked")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (lambda invoice, account: paid({"id": "inv_00000000000000000000000000"}, account), "unknown_invoice"),
        (lambda invoice, account: {**paid(invoice, account), "data": {"object": {
            **paid(invoice, account)["data"]["object"], "currency": "usd"}}}, "currency"),
        (lambda invoice, account: paid(invoice, None), "no_account"),
    ],
    ids=["unknown invoice", "another currency", "the platform's own"],
)  # fmt: skip
def test_a_signed_event_that_cannot_be_applied_is_parked_with_its_reason_not_dropped(
    api, business, stripe_standin, event, reason
):
    account = onboard(api, stripe_standin)
    invoice = issue(api)
    sent = event(invoice, account)

    reply = deliver(api, sent)

    assert (reply.status, reply.body["outcome"]) == (200, f"parked: {reason}")
    assert [(kept["id"], kept["reason"]) for kept in parked()] == [(sent["id"], reason)]
    assert api.get(f"/invoices/{invoice['id']}").body["payments"] == []
    assert deliver(api, sent).body["outcome"] == "already processed"  # Stripe's retry parks nothing twice


# -- a typed-in account, and the account switch ------------------------------------------------


def test_a_typed_in_account_shows_unverified_and_no_payment_is_taken_on_it(api, business, stripe_standin):
    type_in("acme", "acct_1TypedIn")
    invoice = issue(api, stripe_customer="cus_Q1dupont")

    profile = api.get("/business").body
    page = html.unescape(api.call("GET", link_path(invoice), tenant=None).body)
    checkout = api.call("POST", f"{link_path(invoice)}/checkout", raw=urlencode({"target": "balance"}), tenant=None,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    assert (profile["stripe_account_id"], profile["stripe_status"]) == ("acct_1TypedIn", "unverified")
    assert 'id="pay-button"' not in page
    assert checkout.status == 409
    assert charge(api, invoice).status == 409
    assert stripe_standin.received == []
    assert api.put("/business", profile).status == 200  # sent back as read: kept
    assert api.get("/business").body["stripe_account_id"] == "acct_1TypedIn"


def test_after_the_account_switch_a_payment_and_a_refund_on_the_earlier_account_are_still_recorded(
    api, business, stripe_standin
):
    """Issue 19 §3: a session opened on the account the business had before
    is paid after it changed accounts; the payment was acknowledged as "no
    invoice of ours" and lost. The earlier account stays the business's."""
    type_in("acme", "acct_1Earlier")
    invoice = issue(api)
    current = onboard(api, stripe_standin)  # the business links an account of its own

    payment = deliver(api, paid(invoice, "acct_1Earlier", received=50_000, intent="pi_earlier"))
    refund = deliver(api, refunded("acct_1Earlier", 10_000, intent="pi_earlier"))
    new_payment = deliver(api, paid(invoice, current, received=20_000, intent="pi_current", id="evt_current"))

    assert api.get("/business").body["stripe_account_id"] == current
    assert (payment.body["outcome"], refund.body["outcome"], new_payment.body["outcome"]) == (
        "recorded", "refund recorded", "recorded")  # fmt: skip
    after = api.get(f"/invoices/{invoice['id']}").body
    assert [(p["stripe_payment_intent"], p["amount"], p["amount_refunded"]) for p in after["payments"]] == [
        ("pi_earlier", "500.00", "100.00"), ("pi_current", "200.00", "0.00")]  # fmt: skip
    assert after["amount_paid"] == "600.00"
    intent = live.deps().store.get("platform", "stripe", "intent:pi_earlier")
    assert intent["account"] == "acct_1Earlier"  # the account it was made on, kept with it


def test_a_typed_in_account_still_records_what_its_sessions_opened_before_are_paid(api, business):
    type_in("acme", "acct_1TypedIn")
    invoice = issue(api)

    assert deliver(api, paid(invoice, "acct_1TypedIn")).body["outcome"] == "recorded"
    other = deliver(api, paid(invoice, "acct_1TypedIn", tenant="globex", id="evt_2"))  # not globex's account
    assert other.body["outcome"] == "parked: unknown_account"


def test_the_operator_lists_and_replays_parked_events_with_infra_admin(api, business, stripe_standin, capsys):
    from infra import admin

    account = onboard(api, stripe_standin)
    stray = paid({"id": "inv_00000000000000000000000000"}, account)
    assert deliver(api, stray).body["outcome"] == "parked: unknown_invoice"
    capsys.readouterr()

    assert admin.main(["stripe-parked"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["id"] == stray["id"]
    assert json.loads(line)["reason"] == "unknown_invoice"
    assert admin.main(["stripe-replay", stray["id"]]) == 1  # its invoice is still not there
    assert json.loads(capsys.readouterr().out) == {"event_id": stray["id"], "outcome": "still parked: unknown_invoice"}
    assert admin.main(["stripe-replay", "evt_never"]) == 2


def test_a_typed_in_id_two_tenants_shared_is_neither_ones_after_the_first_onboards(api, stripe_standin):
    """The review's scenario: before onboarding existed, globex typed in
    acme's real account id and acme typed it in too. globex onboarding first
    must not make the id globex's: acme's payments on it are still acme's."""
    for tenant in ("acme", "globex"):
        assert api.put("/business", {**BUSINESS, "version": 0}, tenant=tenant).status == 200
        type_in(tenant, "acct_1Shared")
    onboard(api, stripe_standin, tenant="globex")  # globex's own account now; acct_1Shared only its earlier one
    onboard(api, stripe_standin, tenant="acme")
    invoice = issue(api)

    assert deliver(api, paid(invoice, "acct_1Shared")).body["outcome"] == "recorded"
    assert api.get(f"/invoices/{invoice['id']}").body["amount_paid"] == "1398.00"


def test_onboarding_asked_again_after_a_crash_shows_the_account_as_it_is_now_not_as_made(
    api, business, stripe_standin, monkeypatch
):
    """Stripe answers a retried creation with the account as it was first
    made (pending): the state kept is what Stripe says when asked after."""

    account = made_then_crashed(api, stripe_standin, monkeypatch)
    stripe_standin.complete_onboarding(account)  # its event, parked or lost: not delivered here

    again = api.post("/business/stripe/onboarding")

    assert (again.body["stripe_account_id"], again.body["stripe_status"]) == (account, "active")
    assert api.get("/business").body["stripe_status"] == "active"


def test_a_parked_event_found_parked_again_is_counted_again(api, business, stripe_standin, capsys):
    """A delivery parked it, then failed before it was done: Stripe's retry
    finds it parked and still counts it, so the alarm cannot miss it."""
    account = onboard(api, stripe_standin)
    stray = paid({"id": "inv_00000000000000000000000000"}, account)
    stripe_events.park(live.deps(), stray, stripe_accounts.CannotApply("unknown_invoice", "no such invoice"))
    capsys.readouterr()

    assert deliver(api, stray).body["outcome"] == "already parked: unknown_invoice"
    assert '"StripeEventsParked":[1.0]' in capsys.readouterr().out.replace(" ", "")
