"""Saved payment methods (SPEC §12): a setup link on the business's
connected account, the card or IBAN recorded from Stripe's signed events,
listed, chosen as the default, detached — checked against the local
stand-in for Stripe's API."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import html
import time
from urllib.parse import urlencode

import pytest

from invoicing.adapters import live
from invoicing.logic import payment_methods
from tests.conftest import CUSTOMER, SPEC_INVOICE
from tests.connect import deliver, onboard

pytestmark = pytest.mark.integration


@pytest.fixture
def customer(api, account) -> dict:
    """acme's customer, on a business whose Stripe account takes payments."""
    reply = api.post("/customers", CUSTOMER)
    assert reply.status == 201, reply.body
    return reply.body


def setup(api, customer: dict, types: list[str] | None = None, **kw):
    body = {"types": types} if types is not None else None
    return api.post(f"/customers/{customer['id']}/payment-methods/setup", body, **kw)


def methods(api, customer: dict, **kw) -> list[dict]:
    reply = api.get(f"/customers/{customer['id']}/payment-methods", **kw)
    assert reply.status == 200, reply.body
    return reply.body["items"]


def save(api, standin, customer: dict, method: str = "pm_card_visa", types: list[str] | None = None) -> list[dict]:
    """The client saves a method on a new setup link's page; Stripe's events, delivered."""
    link = setup(api, customer, types or ["card", "sepa_debit"])
    assert link.status == 201, link.body
    events = standin.complete_setup(link.body["id"], method)
    for event in events:
        assert deliver(api, event).status == 200
    return events


def detached_event(standin, payment_method: str) -> dict:
    """Sent by the stand-in just after it answered the detach."""
    for _ in range(100):
        found = [e for e in standin.sent_events if e["type"] == "payment_method.detached"
                 and e["data"]["object"]["id"] == payment_method]  # fmt: skip
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no payment_method.detached for {payment_method}")


# -- the setup link -------------------------------------------------------------------


def test_the_setup_link_is_a_checkout_session_in_setup_mode_for_a_stripe_customer_of_the_account(
    api, customer, stripe_standin, account
):
    reply = setup(api, customer, ["card", "sepa_debit"])

    assert reply.status == 201, reply.body
    assert set(reply.body) == {"id", "url", "expires_at"}
    assert reply.body["url"] == f"{stripe_standin.url}/checkout/{reply.body['id']}"
    (made,) = stripe_standin.requests_to("/v1/customers")
    assert made.account == account
    assert made.params["metadata"] == {"tenant_id": "acme", "customer_id": customer["id"]}
    assert made.idempotency_key.startswith("customer-")
    (request,) = stripe_standin.requests_to("/v1/checkout/sessions")
    assert request.account == account
    params = request.params
    stripe_customer = api.get(f"/customers/{customer['id']}").body["stripe_customer_id"]
    assert (params["mode"], params["customer"]) == ("setup", stripe_customer)
    assert params["payment_method_types"] == ["card", "sepa_debit"]
    assert params["metadata"] == {"tenant_id": "acme", "customer_id": customer["id"]}
    assert params["setup_intent_data"] == {"metadata": {"tenant_id": "acme", "customer_id": customer["id"]}}
    assert params["success_url"] == "http://127.0.0.1:3000/?payment_method_setup=done"
    assert params["cancel_url"] == "http://127.0.0.1:3000/?payment_method_setup=cancelled"
    assert "line_items" not in params


def test_the_stripe_customer_is_recorded_on_the_customer_and_made_once(api, customer, stripe_standin, account):
    assert setup(api, customer).status == 201
    assert setup(api, customer).status == 201

    assert len(stripe_standin.requests_to("/v1/customers")) == 1
    stored = api.get(f"/customers/{customer['id']}").body
    assert stored["stripe_customer_id"].startswith("cus_")
    assert stored["stripe_customer_account"] == account
    (_, second) = stripe_standin.requests_to("/v1/checkout/sessions")
    assert second.params["customer"] == stored["stripe_customer_id"]
    assert second.params["payment_method_types"] == ["card"]  # by default


def test_a_stripe_customer_of_another_account_is_replaced_by_one_of_the_business_s(
    api, customer, stripe_standin, account
):
    store = api.fakes.store
    doc = store.get("acme", "customer", customer["id"])
    old = {**doc, "stripe_customer_id": "cus_OLD", "stripe_customer_account": "acct_1Earlier", "version": 2}
    store.replace("acme", "customer", old, expected_version=1, old_name=None, new_name=None)

    assert setup(api, customer).status == 201

    stored = api.get(f"/customers/{customer['id']}").body
    assert stored["stripe_customer_id"] not in ("cus_OLD", None)
    assert stored["stripe_customer_account"] == account
    (request,) = stripe_standin.requests_to("/v1/checkout/sessions")
    assert request.params["customer"] == stored["stripe_customer_id"]


def test_a_typed_in_stripe_customer_is_taken_as_the_account_s(api, account, stripe_standin):
    stripe_standin._new_customer(account, {"name": "Dupont & Fils"})
    (known,) = stripe_standin.customers
    typed = api.post("/customers", {**CUSTOMER, "stripe_customer_id": known}).body

    assert setup(api, typed).status == 201

    assert stripe_standin.requests_to("/v1/customers") == []
    (request,) = stripe_standin.requests_to("/v1/checkout/sessions")
    assert request.params["customer"] == known


def test_a_typed_in_stripe_customer_stripe_does_not_know_there_is_replaced(api, account, stripe_standin):
    typed = api.post("/customers", {**CUSTOMER, "stripe_customer_id": "cus_Typed1"}).body

    assert setup(api, typed).status == 201

    (made,) = stripe_standin.requests_to("/v1/customers")
    assert made.account == account
    stored = api.get(f"/customers/{typed['id']}").body
    assert stored["stripe_customer_id"] in stripe_standin.customers
    assert stored["stripe_customer_account"] == account
    (_, request) = stripe_standin.requests_to("/v1/checkout/sessions")
    assert request.params["customer"] == stored["stripe_customer_id"]


def test_an_unknown_type_is_a_422_naming_types_and_nothing_is_asked_of_stripe(api, customer, stripe_standin):
    for types in (["card", "paypal"], [], ["card", "card"]):
        reply = setup(api, customer, types)
        assert reply.status == 422, types
        assert reply.error_fields == ["types"]
    assert setup(api, customer, None, headers={}).status == 201  # no body: a card
    assert len(stripe_standin.requests_to("/v1/checkout/sessions")) == 1


def test_a_return_url_elsewhere_than_the_frontend_is_a_422(api, customer, stripe_standin):
    reply = api.post(f"/customers/{customer['id']}/payment-methods/setup", {"return_url": "https://evil.example/"})

    assert (reply.status, reply.error_fields) == (422, ["return_url"])
    assert stripe_standin.received == []


def test_without_an_account_taking_payments_the_setup_is_a_409(api, business, stripe_standin):
    onboard(api, stripe_standin, complete=False)
    plain = api.post("/customers", CUSTOMER).body
    stripe_standin.received.clear()

    reply = setup(api, plain)

    assert reply.status == 409
    assert "POST /business/stripe/onboarding" in reply.body["error"]["message"]
    assert stripe_standin.received == []


def test_payments_not_configured_is_a_503(api, customer, stripe_standin):
    live.install(dataclasses.replace(live.installed(), stripe_secrets={"secret_key": "", "webhook_secret": ""}))

    reply = setup(api, customer)

    assert reply.status == 503
    assert reply.body["error"]["code"] == "payments_not_configured"
    assert stripe_standin.received == []


def test_an_unknown_customer_is_a_404(api, account, stripe_standin):
    missing = {"id": "cus_00000000000000000000000000"}
    assert setup(api, missing).status == 404
    assert api.get(f"/customers/{missing['id']}/payment-methods").status == 404
    assert stripe_standin.received == []


# -- what Stripe's events record ------------------------------------------------------------


def test_a_card_saved_on_the_page_is_listed_as_the_default(api, customer, stripe_standin):
    events = save(api, stripe_standin, customer, "pm_card_visa")

    assert [event["type"] for event in events] == ["checkout.session.completed", "setup_intent.succeeded"]
    (card,) = methods(api, customer)
    assert card["id"] == events[1]["data"]["object"]["payment_method"]
    assert (card["type"], card["brand"], card["last4"], card["exp_month"]) == ("card", "visa", "4242", 12)
    assert card["exp_year"] >= 2027
    assert (card["mandate"], card["default"]) == (None, True)
    (expanded,) = [r for r in stripe_standin.received if r.path.startswith("/v1/setup_intents/")][:1]
    assert expanded.params == {"expand": ["payment_method"]}


def test_an_iban_saved_carries_its_sepa_mandate(api, customer, stripe_standin):
    events = save(api, stripe_standin, customer, "FR1420041010050500013M02606", ["sepa_debit"])

    (iban,) = methods(api, customer)
    mandate = events[1]["data"]["object"]["mandate"]
    assert mandate.startswith("mandate_")
    assert (iban["type"], iban["last4"], iban["mandate"], iban["country"]) == ("sepa_debit", "2606", mandate, "FR")
    assert (iban["brand"], iban["exp_month"], iban["default"]) == (None, None, True)
    default = payment_methods.default_method(live.deps(), "acme", customer["id"])
    assert (default["id"], default["mandate"], default["type"]) == (iban["id"], mandate, "sepa_debit")
    assert default["stripe_customer"] == api.get(f"/customers/{customer['id']}").body["stripe_customer_id"]


def test_each_event_delivered_twice_records_the_method_once(api, customer, stripe_standin):
    events = save(api, stripe_standin, customer)

    outcomes = [deliver(api, event).body["outcome"] for event in events]
    fresh = [deliver(api, {**event, "id": event["id"] + "x"}).body["outcome"] for event in events]

    assert outcomes == ["already processed", "already processed"]
    assert fresh == ["already recorded", "already recorded"]
    assert len(methods(api, customer)) == 1


def test_the_events_delivered_at_once_record_the_method_once(api, customer, stripe_standin):
    link = setup(api, customer).body
    events = stripe_standin.complete_setup(link["id"])
    copies = [{**event, "id": f"{event['id']}_{n}"} for event in events for n in range(4)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda event: deliver(api, event), copies))

    assert {reply.status for reply in replies} == {200}
    assert sorted(reply.body["outcome"] for reply in replies).count("payment method recorded") == 1
    (card,) = methods(api, customer)
    assert card["default"] is True


def test_a_forged_signature_is_a_400_and_records_nothing(api, customer, stripe_standin):
    link = setup(api, customer).body
    events = stripe_standin.complete_setup(link["id"])

    for event in events:
        assert deliver(api, event, secret="whsec_someone_else").status == 400

    assert methods(api, customer) == []


def test_an_event_from_another_tenant_s_account_naming_acme_s_customer_is_parked(api, customer, stripe_standin):
    assert api.put("/business", {"legal_name": "Other SAS"}, tenant="other").status == 200
    theirs = onboard(api, stripe_standin, tenant="other")
    link = setup(api, customer).body
    (_, succeeded) = stripe_standin.complete_setup(link["id"])

    reply = deliver(api, {**succeeded, "account": theirs})

    assert reply.body["outcome"].startswith("parked")
    assert methods(api, customer) == []


# -- the default, and detaching -----------------------------------------------------------------


def test_the_first_saved_stays_the_default_until_another_is_chosen(api, customer, stripe_standin):
    first = save(api, stripe_standin, customer, "pm_card_visa")[1]["data"]["object"]["payment_method"]
    second = save(api, stripe_standin, customer, "pm_card_mastercard")[1]["data"]["object"]["payment_method"]

    assert [(m["id"], m["default"]) for m in methods(api, customer)] == [(first, True), (second, False)]
    chosen = api.post(f"/customers/{customer['id']}/payment-methods/{second}/default")
    assert chosen.status == 200
    assert (chosen.body["id"], chosen.body["default"], chosen.body["brand"]) == (second, True, "mastercard")
    assert [(m["id"], m["default"]) for m in methods(api, customer)] == [(first, False), (second, True)]
    assert payment_methods.default_method(live.deps(), "acme", customer["id"])["id"] == second


def test_removing_the_default_makes_the_newest_remaining_the_default(api, customer, stripe_standin):
    ids = [save(api, stripe_standin, customer, name)[1]["data"]["object"]["payment_method"]
           for name in ("pm_card_visa", "pm_card_mastercard", "pm_card_visa")]  # fmt: skip
    assert api.post(f"/customers/{customer['id']}/payment-methods/{ids[1]}/default").status == 200

    assert api.delete(f"/customers/{customer['id']}/payment-methods/{ids[1]}").status == 204

    assert [(m["id"], m["default"]) for m in methods(api, customer)] == [(ids[0], False), (ids[2], True)]


def test_deleting_detaches_at_stripe_then_forgets_and_no_late_event_brings_it_back(
    api, customer, stripe_standin, account
):
    events = save(api, stripe_standin, customer)
    card = methods(api, customer)[0]["id"]

    reply = api.delete(f"/customers/{customer['id']}/payment-methods/{card}")

    assert reply.status == 204
    (detach,) = stripe_standin.requests_to(f"/v1/payment_methods/{card}/detach")
    assert detach.account == account
    assert methods(api, customer) == []
    assert deliver(api, detached_event(stripe_standin, card)).body["outcome"] == "already removed"
    late = {**events[1], "id": events[1]["id"] + "_late"}
    assert deliver(api, late).body["outcome"] == "detached since"
    assert methods(api, customer) == []
    assert payment_methods.default_method(live.deps(), "acme", customer["id"]) is None
    assert api.delete(f"/customers/{customer['id']}/payment-methods/{card}").status == 404


def test_a_method_detached_at_stripe_is_removed_by_its_event(api, customer, stripe_standin, account):
    from invoicing.adapters.stripe_api import StripeApi

    save(api, stripe_standin, customer)
    card = methods(api, customer)[0]["id"]
    StripeApi(lambda: "sk_test_dashboard").detach_payment_method(account, card)  # the business, on Stripe

    event = detached_event(stripe_standin, card)
    outcomes = [deliver(api, event).body["outcome"], deliver(api, {**event, "id": event["id"] + "b"}).body["outcome"]]

    assert outcomes == ["payment method removed", "already removed"]
    assert methods(api, customer) == []


def test_an_unknown_method_is_a_404_on_delete_and_default(api, customer, stripe_standin):
    save(api, stripe_standin, customer)
    path = f"/customers/{customer['id']}/payment-methods/pm_unknown"

    assert api.delete(path).status == 404
    assert api.post(f"{path}/default").status == 404
    assert stripe_standin.requests_to("/v1/payment_methods/pm_unknown/detach") == []


# -- the hosted page's "save my card" ------------------------------------------------------------


def issue(api, customer: dict) -> dict:
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"]}).body
    return api.post(f"/invoices/{draft['id']}/mark-sent").body


def path_of(invoice: dict) -> str:
    return invoice["payment_link"].removeprefix("http://127.0.0.1:3000")


def test_the_page_offers_to_save_the_card_only_when_the_business_allows_it(api, customer, stripe_standin):
    invoice = issue(api, customer)
    label = "Enregistrer ma carte pour les prochaines factures"

    assert label not in html.unescape(api.call("GET", path_of(invoice), tenant=None).body)
    assert api.patch("/business", {"save_payment_methods": True}).status == 200
    assert label in html.unescape(api.call("GET", path_of(invoice), tenant=None).body)


def test_paying_with_the_box_ticked_saves_the_card_to_the_client(api, customer, stripe_standin, account):
    assert api.patch("/business", {"save_payment_methods": True}).status == 200
    invoice = issue(api, customer)
    form = urlencode({"target": "balance", "save_card": "1"})

    reply = api.call("POST", f"{path_of(invoice)}/checkout", raw=form, tenant=None,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    assert reply.status == 303
    (request,) = stripe_standin.requests_to("/v1/checkout/sessions")
    params = request.params
    assert params["payment_intent_data"]["setup_future_usage"] == "off_session"
    assert params["payment_intent_data"]["metadata"]["customer_id"] == customer["id"]
    assert (params["payment_method_types"], params["customer_creation"]) == (["card"], "always")
    (session_id,) = stripe_standin.sessions
    events = stripe_standin.complete(session_id)
    assert [deliver(api, event).status for event in [*events, *events]] == [200] * 4
    after = api.get(f"/invoices/{invoice['id']}").body
    assert (after["status"], after["amount_due"]) == ("paid", "0.00")
    (card,) = methods(api, customer)
    assert (card["id"], card["default"]) == (events[1]["data"]["object"]["payment_method"], True)
    stored = api.get(f"/customers/{customer['id']}").body
    assert (stored["stripe_customer_id"], stored["stripe_customer_account"]) == (events[1]["data"]["object"]
                                                                                ["customer"], account)  # fmt: skip


def test_paying_without_the_box_saves_nothing(api, customer, stripe_standin):
    assert api.patch("/business", {"save_payment_methods": True}).status == 200
    invoice = issue(api, customer)

    api.call("POST", f"{path_of(invoice)}/checkout", raw=urlencode({"target": "balance"}), tenant=None,
             headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    (request,) = stripe_standin.requests_to("/v1/checkout/sessions")
    assert "setup_future_usage" not in request.params["payment_intent_data"]
    (session_id,) = stripe_standin.sessions
    for event in stripe_standin.complete(session_id):
        deliver(api, event)
    assert methods(api, customer) == []


def test_the_box_is_ignored_when_the_business_does_not_allow_it(api, customer, stripe_standin):
    invoice = issue(api, customer)

    api.call("POST", f"{path_of(invoice)}/checkout", raw=urlencode({"save_card": "1"}), tenant=None,
             headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    (request,) = stripe_standin.requests_to("/v1/checkout/sessions")
    assert "setup_future_usage" not in request.params["payment_intent_data"]
