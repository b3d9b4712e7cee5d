"""The hosted page in a real browser (issue 5 §4): Debian's Chromium,
headless, on a phone-sized screen, driven by Playwright through the local
runtime — the page, then Pay, then the local stand-in's Checkout page, then
back, with the payment recorded from the webhook events it sent."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from infra import wiring
from tests.conftest import SPEC_INVOICE
from tests.e2e.test_connect_onboarding import onboarded

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# No connection anywhere but loopback (the machine's network is closed).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
PHONE = {"width": 390, "height": 844}
SCHEDULE = {"type": "percentage", "instalments": [
    {"due_date": "2026-12-10", "value": "30"}, {"due_date": "2026-12-20", "value": "30"},
    {"due_date": "2026-12-27", "value": "40"},
]}  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def invoice(client: Any, ready: dict[str, Any]) -> dict[str, Any]:
    onboarded(client)  # acme's Stripe account, through Stripe's onboarding on the stand-in
    body = {**SPEC_INVOICE, "customer_id": ready["customer"]["id"], "payment_schedule": SCHEDULE,
            "tips": {"enabled": True, "percentages": ["5", "10"]}}  # fmt: skip
    draft = client.post("/invoices", body).body
    issued = client.post(f"/invoices/{draft['id']}/mark-sent").body
    assert issued["payment_link"], issued
    return dict(issued)


def test_the_page_on_a_phone_shows_the_number_the_amount_due_the_instalments_and_pay(phone, invoice):
    response = phone.goto(invoice["payment_link"])

    assert response.status == 200
    assert invoice["number"] in phone.title()
    assert phone.text_content("#amount-due") == "1\u202f398,00\u00a0€"
    rows = phone.locator("tr.instalment")
    assert rows.count() == 3
    assert "419,40\u00a0€" in rows.nth(0).inner_text()
    assert phone.locator("#pay-button").is_visible()
    assert phone.locator("input[name=tip]").count() == 3  # none, 5 %, 10 %
    # nothing wider than the phone: the lines table scrolls inside its box
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_forged_token_is_a_404_page(phone, client, invoice):
    forged = invoice["payment_link"].rsplit("/", 1)[0] + "/" + "A" * 43

    response = phone.goto(forged)

    assert response.status == 404
    assert "Lien introuvable" in phone.text_content("h1")


def test_paying_the_next_instalment_with_a_tip_goes_through_checkout_and_comes_back_recorded(
    phone, client, invoice, runtime
):
    phone.goto(invoice["payment_link"])
    phone.check("input[name=tip][value='10']")

    phone.click("#pay-button")  # the form posts, the page sends the browser on to Checkout
    phone.wait_for_selector("#standin-pay")
    assert "461,34" in phone.content().replace(".", ",")  # 419.40 + a 10 % tip of 41.94
    phone.click("#standin-pay")  # the stand-in sends the signed events, then back to the page
    phone.wait_for_url(f"{invoice['payment_link']}?paid=1")

    assert "Merci ! Votre paiement sera pris en compte" in phone.text_content("#pay")
    assert phone.text_content("#amount-due") == "978,60\u00a0€"
    assert "Payée" in phone.locator("tr.instalment").nth(0).inner_text()
    stored = client.get(f"/invoices/{invoice['id']}").body
    (payment,) = stored["payments"]
    assert (payment["amount"], payment["tip"], payment["instalment_id"]) == ("419.40", "41.94", "ins_1")


def test_swagger_ui_shows_every_operation_offline(browser: Any, runtime: Any) -> None:
    """SPEC §6.2: its files come from a package the runtime serves, not a CDN (this machine has no network)."""
    page = browser.new_page()
    hosts = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))

    page.goto(f"{runtime.url}/swagger")
    page.wait_for_selector("#operations-Invoices-createInvoice", timeout=20_000)

    assert hosts == {runtime.url.split("/")[2]}
    assert page.locator(".opblock").count() == len([route for route in wiring.ROUTES if route.path != "/openapi.json"])
    page.close()
