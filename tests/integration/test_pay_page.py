"""The hosted invoice page (issue 5 §4, SPEC §5 and §8): the invoice for its
client behind an unguessable link, and the Pay button's Checkout Session on
the business's connected account, checked by the local stand-in for
Stripe's API."""

from __future__ import annotations

import concurrent.futures
import html
import json
import time
from urllib.parse import urlencode

import pytest

from invoicing.logic.stripe_events import sign
from tests.conftest import CUSTOMER, SPEC_INVOICE
from tests.connect import onboard

pytestmark = pytest.mark.integration

SCHEDULE = {"type": "percentage", "instalments": [
    {"due_date": "2026-12-10", "value": "30"}, {"due_date": "2026-12-20", "value": "30"},
    {"due_date": "2026-12-27", "value": "40"},
]}  # fmt: skip


@pytest.fixture
def connected(api, business, stripe_standin) -> str:
    """acme's Stripe account, onboarded on the stand-in (which then forgets
    those requests: what it received after is the test's)."""
    account = onboard(api, stripe_standin)
    stripe_standin.received.clear()
    return account


def issue(api, **fields) -> dict:
    customer = next(iter(api.get("/customers").body["items"]), None) or api.post("/customers", CUSTOMER).body
    draft = api.post("/invoices", {**SPEC_INVOICE, "customer_id": customer["id"], **fields}).body
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body
    assert issued["status"] == "open", issued
    return issued


def page_of(api, invoice: dict, query: str = "") -> str:
    reply = api.call("GET", path_of(invoice) + query, tenant=None)
    assert reply.status == 200
    return html.unescape(reply.body)


def path_of(invoice: dict) -> str:
    return invoice["payment_link"].removeprefix("http://127.0.0.1:3000")


def pay(api, invoice: dict, **form: str):
    return api.call("POST", f"{path_of(invoice)}/checkout", raw=urlencode(form), tenant=None,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip


def deliver(api, event: dict):
    payload = json.dumps(event).encode()
    header = sign(payload, "whsec_local_dev", int(time.time()))
    return api.call("POST", "/webhooks/stripe", raw=payload.decode(), headers={"Stripe-Signature": header}, tenant=None)


# -- the page -----------------------------------------------------------------------


def test_the_page_shows_the_invoice_its_amount_due_in_french_and_a_pay_button(api, connected):
    invoice = issue(api)

    page = api.call("GET", path_of(invoice), tenant=None)

    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "INV-1" in page.body
    assert "1\u202f398,00\u00a0€" in page.body  # Babel's fr_FR: narrow no-break space, then € after a no-break space
    assert 'id="pay-button"' in page.body
    assert "carte bancaire ou virement bancaire" in page.body
    assert f'action="http://127.0.0.1:3000{path_of(invoice)}/checkout"' in page.body
    assert "<script" not in page.body


def test_the_page_forbids_scripts_framing_caching_and_referers_that_would_carry_the_token(api, connected):
    headers = api.call("GET", path_of(issue(api)), tenant=None).headers

    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self' https://checkout.stripe.com" in policy
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_the_page_lists_each_instalment_with_what_it_still_needs(api, connected):
    invoice = issue(api, payment_schedule=SCHEDULE)
    api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "419.40"})

    page = page_of(api, invoice)

    assert page.count('class="instalment"') == 3
    assert "Payée" in page  # the first, 30 % of 1 398,00
    assert "L'échéance du 20/12/2026 : 419,40\u00a0€" in page  # the next, offered first
    assert "Le solde : 978,60\u00a0€" in page


def test_a_forged_or_malformed_token_is_a_404_page_that_says_nothing_of_any_invoice(api, connected):
    issue(api)
    for path in ("/pay/" + "A" * 43, "/pay/short", "/pay/" + "A" * 43 + "/pdf"):
        reply = api.call("GET", path, tenant=None)
        assert reply.status == 404
        assert "Lien introuvable" in reply.body
        assert "INV-1" not in reply.body


def test_voiding_the_invoice_revokes_its_link(api, connected):
    invoice = issue(api)

    voided = api.post(f"/invoices/{invoice['id']}/void").body

    assert voided["payment_link"] is None
    assert api.call("GET", path_of(invoice), tenant=None).status == 404
    assert pay(api, invoice).status == 404


def test_the_link_is_the_same_wherever_the_invoice_is_read(api, connected):
    invoice = issue(api)

    assert api.get(f"/invoices/{invoice['id']}").body["payment_link"] == invoice["payment_link"]
    (listed,) = api.get("/invoices").body["items"]
    assert listed["payment_link"] == invoice["payment_link"]


def test_the_pdf_link_redirects_to_a_short_lived_link_of_the_current_version(api, connected):
    invoice = issue(api)

    reply = api.call("GET", f"{path_of(invoice)}/pdf", tenant=None)

    assert reply.status == 302
    assert f"acme/invoices/{invoice['id']}/v{invoice['version']}.pdf" in reply.headers["Location"]


def test_without_a_connected_stripe_account_there_is_no_pay_button(api, business):
    invoice = issue(api)

    page = page_of(api, invoice)

    assert 'id="pay-button"' not in page
    assert "Le paiement en ligne n'est pas proposé" in page
    assert pay(api, invoice).status == 409


# -- the Pay button ---------------------------------------------------------------------


def test_pay_opens_a_checkout_session_on_the_connected_account_for_the_amount_due(api, connected, stripe_standin):
    invoice = issue(api)

    reply = pay(api, invoice, target="balance")

    assert reply.status == 303
    (request,) = stripe_standin.requests_to("/v1/checkout/sessions")
    (session,) = stripe_standin.sessions.values()
    assert reply.headers["Location"] == session["url"]
    assert request.account == connected
    assert request.idempotency_key.startswith("checkout-")
    params = request.params
    assert params["mode"] == "payment"
    assert params["line_items"] == [{"price_data": {"currency": "eur", "unit_amount": "139800",
                                     "product_data": {"name": "Facture INV-1"}}, "quantity": "1"}]  # fmt: skip
    assert params["payment_method_types"] == ["card", "customer_balance"]
    assert params["payment_method_options"]["customer_balance"]["bank_transfer"]["type"] == "eu_bank_transfer"
    assert params["customer_creation"] == "always"
    assert params["customer_email"] == CUSTOMER["email"]
    expected = {"tenant_id": "acme", "invoice_id": invoice["id"], "invoice_number": "INV-1"}
    assert params["metadata"] == expected
    assert params["payment_intent_data"]["metadata"] == expected
    assert params["success_url"] == f"{invoice['payment_link']}?paid=1"
    assert params["cancel_url"] == invoice["payment_link"]
    assert params["locale"] == "fr"


def test_the_next_instalment_with_a_tip_is_two_lines_and_the_metadata_names_both(api, connected, stripe_standin):
    invoice = issue(api, payment_schedule=SCHEDULE, tips={"enabled": True, "percentages": ["5", "10"]})

    assert pay(api, invoice, target="ins_1", tip="10").status == 303

    (request,) = stripe_standin.requests_to("/v1/checkout/sessions")
    lines = request.params["line_items"]
    assert [line["price_data"]["unit_amount"] for line in lines] == ["41940", "4194"]  # 30 % of 1398.00, and 10 %
    assert lines[0]["price_data"]["product_data"]["name"] == "Facture INV-1, échéance du 2026-12-10"
    assert lines[1]["price_data"]["product_data"]["name"] == "Pourboire"
    assert request.params["metadata"] | {} == {
        "tenant_id": "acme", "invoice_id": invoice["id"], "invoice_number": "INV-1",
        "instalment_id": "ins_1", "tip": "4194",
    }  # fmt: skip


def test_only_the_invoices_payment_methods_are_offered(api, connected, stripe_standin):
    invoice = issue(api, payment_methods={"card": True, "bank_transfer": False})

    assert "virement" not in api.call("GET", path_of(invoice), tenant=None).body.split("</section>")[0]
    assert pay(api, invoice).status == 303

    (request,) = stripe_standin.requests_to("/v1/checkout/sessions")
    assert request.params["payment_method_types"] == ["card"]
    assert "customer_creation" not in request.params


def test_a_second_click_gets_the_same_session(api, connected, stripe_standin):
    invoice = issue(api)

    first, second = pay(api, invoice), pay(api, invoice)

    assert first.headers["Location"] == second.headers["Location"]
    keys = {request.idempotency_key for request in stripe_standin.requests_to("/v1/checkout/sessions")}
    assert len(keys) == 1
    assert len(stripe_standin.sessions) == 1


def test_clicks_at_once_get_one_session(api, connected, stripe_standin):
    invoice = issue(api)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda _: pay(api, invoice), range(6)))

    assert {reply.status for reply in replies} == {303}
    assert len({reply.headers["Location"] for reply in replies}) == 1
    assert len(stripe_standin.sessions) == 1


def test_a_tip_that_was_not_offered_is_refused_and_nothing_is_asked_of_stripe(api, connected, stripe_standin):
    invoice = issue(api, tips={"enabled": True, "percentages": ["5"]})
    plain = issue(api, name="Sans pourboire")

    for target, form in ((invoice, {"tip": "50"}), (invoice, {"tip": "abc"}), (invoice, {"tip": "sNaN"}),
                         (invoice, {"tip": "Infinity"}), (plain, {"tip": "5"})):  # fmt: skip
        reply = pay(api, target, **form)
        assert reply.status == 422
        assert "choose one of the tips offered" in html.unescape(reply.body)
    assert stripe_standin.received == []


def test_a_paid_invoice_shows_it_is_paid_and_pay_changes_nothing(api, connected, stripe_standin):
    invoice = issue(api)
    api.post(f"/invoices/{invoice['id']}/payments", {"method": "bank_transfer", "amount": "1398.00"})

    page = page_of(api, invoice)
    assert "Cette facture est réglée. Merci !" in page
    assert 'id="pay-button"' not in page
    assert pay(api, invoice).status == 409
    assert stripe_standin.received == []


def test_a_paid_instalment_chosen_from_a_stale_page_is_a_409_showing_what_remains(api, connected, stripe_standin):
    invoice = issue(api, payment_schedule=SCHEDULE)
    api.post(f"/invoices/{invoice['id']}/payments", {"method": "cash", "amount": "419.40"})

    reply = pay(api, invoice, target="ins_1")

    assert reply.status == 409
    assert "la facture a changé entre-temps" in html.unescape(reply.body)
    assert stripe_standin.received == []


def test_stripe_unreachable_is_a_503_page_and_nothing_changes(api, connected, monkeypatch):
    from invoicing import settings
    from invoicing.adapters import stripe_api

    monkeypatch.setenv(settings.STRIPE_API_BASE_ENV, "http://127.0.0.1:9")  # nothing listens there
    settings.reread()
    monkeypatch.setattr(stripe_api, "NETWORK_RETRIES", 0)
    stripe_api._client.cache_clear()
    invoice = issue(api)

    reply = pay(api, invoice)

    assert reply.status == 503
    assert "le service de paiement ne répond pas" in html.unescape(reply.body)
    assert api.get(f"/invoices/{invoice['id']}").body["version"] == invoice["version"]
    stripe_api._client.cache_clear()


def test_paying_on_stripe_records_the_payment_and_the_tip_through_the_webhook(api, connected, stripe_standin):
    invoice = issue(api, payment_schedule=SCHEDULE, tips={"enabled": True, "percentages": ["5"]})
    pay(api, invoice, target="ins_1", tip="5")
    (session_id,) = stripe_standin.sessions

    events = stripe_standin.complete(session_id)
    for event in [*events, *events]:  # Stripe repeats itself
        assert deliver(api, event).status == 200

    after = api.get(f"/invoices/{invoice['id']}").body
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("partially_paid", "419.40", "978.60")
    (payment,) = after["payments"]
    assert (payment["amount"], payment["tip"], payment["instalment_id"]) == ("419.40", "20.97", "ins_1")
    assert [item["status"] for item in after["payment_schedule"]["instalments"]] == ["paid", "pending", "pending"]
    assert "Merci ! Votre paiement sera pris en compte" in page_of(api, invoice, "?paid=1")


def test_an_unknown_target_is_a_422_naming_it(api, connected, stripe_standin):
    invoice = issue(api, payment_schedule=SCHEDULE)

    reply = pay(api, invoice, target="ins_9")

    assert reply.status == 422
    assert "target" in html.unescape(reply.body)
    assert stripe_standin.received == []


def test_a_new_stripe_customer_on_the_client_makes_a_new_session_not_an_idempotency_error(
    api, connected, stripe_standin
):
    invoice = issue(api)
    first = pay(api, invoice)
    (customer,) = api.get("/customers").body["items"]
    api.patch(f"/customers/{customer['id']}", {"stripe_customer_id": "cus_Q1dupont", "version": customer["version"]})

    second = pay(api, invoice)

    assert second.status == 303
    assert second.headers["Location"] != first.headers["Location"]
    (_, request) = stripe_standin.requests_to("/v1/checkout/sessions")
    assert request.params["customer"] == "cus_Q1dupont"
    assert "customer_email" not in request.params


def test_paying_by_bank_transfer_is_recorded_as_a_bank_transfer_when_the_money_arrives(api, connected, stripe_standin):
    invoice = issue(api)
    pay(api, invoice)
    (session_id,) = stripe_standin.sessions

    completed, succeeded, arrived = stripe_standin.complete(session_id, method="customer_balance")
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    assert succeeded["data"]["object"]["payment_method_types"] == ["card", "customer_balance"]
    for event in (completed, succeeded, arrived):
        assert deliver(api, event).status == 200

    (payment,) = api.get(f"/invoices/{invoice['id']}").body["payments"]
    assert (payment["method"], payment["amount"]) == ("bank_transfer", "1398.00")


def test_a_currency_stripe_counts_otherwise_is_charged_its_own_way(api, connected, stripe_standin):
    body = {**SPEC_INVOICE, "currency": "ISK", "discount": None,
            "lines": [{"name": "Ráðgjöf", "quantity": "2", "unit_price": "699", "taxes": []}]}  # fmt: skip
    invoice = issue(api, **body)
    assert invoice["amount_due"] == "1398"

    assert pay(api, invoice).status == 303

    (request,) = stripe_standin.requests_to("/v1/checkout/sessions")
    assert request.params["line_items"][0]["price_data"]["unit_amount"] == "139800"  # ISK with two decimals of 0
