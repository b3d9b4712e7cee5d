"""The estimate's page in a real browser (SPEC §11): Debian's Chromium,
headless, on a phone-sized screen, driven by Playwright through the local
runtime — the estimate sent by e-mail, its link opened, the name typed, the
"Bon pour accord" box ticked, Accept; then the confirmation, the API's
accepted estimate, and the business's e-mail."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.test_pay_in_browser import PHONE, browser  # noqa: F401  (the module's browser, shared)
from tests.e2e.test_sending import outbox
from tests.integration.test_estimates import LINES

pytestmark = pytest.mark.e2e


@pytest.fixture
def phone(browser: Any) -> Any:  # noqa: F811
    context = browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def estimate(client: Any, ready: dict[str, Any], runtime: Any) -> dict[str, Any]:
    """D-1, sent to its client by e-mail through the runtime's HTTP API; the
    business has an address of its own (the outbox is every tenant's)."""
    assert client.patch("/business", {"email": f"contact@{client.tenant}.example"}).status == 200
    body = {"name": "Salle de bains Dupont", "customer_id": ready["customer"]["id"], "lines": LINES,
            "deposit": {"type": "percentage", "value": "30"}}  # fmt: skip
    draft = client.post("/estimates", body).body
    sent = client.post(f"/estimates/{draft['id']}/send", {"channels": ["email"]})
    assert sent.status == 202, sent.body
    assert runtime.drain(timeout_s=60)
    return dict(sent.body)


def test_the_client_accepts_on_a_phone_and_the_business_is_told(phone, client, estimate, runtime):
    (sent,) = [email for email in outbox(client)["emails"] if estimate["quote_link"] in email["text"]]
    assert sent["to"] == ["compta@dupont.example"]
    assert sent["subject"] == "Devis D-1 d'Acme SAS"

    response = phone.goto(estimate["quote_link"])

    assert response.status == 200
    assert "D-1" in phone.title()
    assert phone.text_content("#total") == "1\u202f026,00\u00a0€"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # the lines scroll in their box
    phone.fill("#name", "Jean Dupont")
    phone.check("#agree")
    phone.click("#accept-button")  # posts the form; 303 back to the page
    phone.wait_for_selector("#notice")

    assert phone.url == estimate["quote_link"]
    notice = phone.text_content("#notice")
    said = r"Ce devis a été accepté le \d\d/\d\d/\d{4} à \d\d:\d\d \(heure de Paris\) par Jean Dupont\."
    assert re.fullmatch(said, notice)
    assert phone.locator("#accept").count() == 0
    assert phone.locator("#decline").count() == 0
    accepted = client.get(f"/estimates/{estimate['id']}").body
    assert accepted["status"] == "accepted"
    assert accepted["acceptance"]["name"] == "Jean Dupont"
    assert accepted["acceptance"]["ip"] == "127.0.0.1"
    assert "HeadlessChrome" in accepted["acceptance"]["user_agent"]
    assert runtime.drain(timeout_s=60)
    told = [email for email in outbox(client)["emails"] if email["to"] == [f"contact@{client.tenant}.example"]]
    assert [email["subject"] for email in told] == ["Devis D-1 accepté par Jean Dupont"]


def test_without_the_box_ticked_the_browser_does_not_post(phone, client, estimate):
    phone.goto(estimate["quote_link"])
    phone.fill("#name", "Jean Dupont")

    phone.click("#accept-button")  # the box is required: the form is not sent

    assert phone.url == estimate["quote_link"]
    assert client.get(f"/estimates/{estimate['id']}").body["status"] == "sent"


def test_the_client_declines_with_a_reason(phone, client, estimate):
    phone.goto(estimate["quote_link"])
    phone.fill("#reason", "Trop cher pour nous")
    phone.click("#decline-button")
    phone.wait_for_selector("#notice")

    assert re.fullmatch(r"Ce devis a été refusé le \d\d/\d\d/\d{4}\.", phone.text_content("#notice"))
    declined = client.get(f"/estimates/{estimate['id']}").body
    assert (declined["status"], declined["decline"]["reason"]) == ("declined", "Trop cher pour nous")
