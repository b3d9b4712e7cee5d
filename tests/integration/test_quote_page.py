"""The estimate's public page (SPEC §11): its client reads the estimate
behind an unguessable link, downloads its PDF, and accepts it (full name and
"Bon pour accord") or declines it (an optional reason) — once, whatever the
clicks, tabs and races; the business is told by e-mail."""

from __future__ import annotations

import concurrent.futures
import html
import io
import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pypdf
import pytest

from tests.conftest import BUSINESS
from tests.integration.test_estimates import estimate_body
from tests.integration.test_send import sent_emails

pytestmark = pytest.mark.integration

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"
TODAY = date.today()  # in UTC: never after the day in France, where issue dates are checked


@pytest.fixture
def estimate(api: Any, business: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    """D-1, sent: 540 at 10 % and 360 at 20 %, 1,026.00 all taxes included, asking a 30 % deposit."""
    return send(api, customer, deposit={"type": "percentage", "value": "30"})


def send(api: Any, customer: dict[str, Any], tenant: str = "acme", **fields: Any) -> dict[str, Any]:
    draft = api.post("/estimates", estimate_body(customer, **fields), tenant=tenant)
    assert draft.status == 201, draft.body
    sent = api.post(f"/estimates/{draft.body['id']}/mark-sent", tenant=tenant)
    assert sent.status == 200, sent.body
    return dict(sent.body)


def path_of(estimate: dict[str, Any]) -> str:
    return "/quote/" + estimate["quote_link"].split("/quote/", 1)[1]


def page_of(api: Any, estimate: dict[str, Any]) -> str:
    reply = api.call("GET", path_of(estimate), tenant=None)
    assert reply.status == 200, reply.body
    return html.unescape(reply.body)


def post(api: Any, path: str, **form: str) -> Any:
    return api.call("POST", path, raw=urlencode(form), tenant=None,
                    headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": BROWSER})  # fmt: skip


def accept(api: Any, estimate: dict[str, Any], name: str = "Jean Dupont", **form: str) -> Any:
    return post(api, f"{path_of(estimate)}/accept", **{"name": name, "agree": "on", **form})


def decline(api: Any, estimate: dict[str, Any], reason: str = "") -> Any:
    return post(api, f"{path_of(estimate)}/decline", reason=reason)


def read(api: Any, estimate: dict[str, Any], tenant: str = "acme") -> dict[str, Any]:
    reply = api.get(f"/estimates/{estimate['id']}", tenant=tenant)
    assert reply.status == 200, reply.body
    return dict(reply.body)


def text_of(reply: Any) -> str:
    """The page's words, as a reader sees them."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", reply.body)).split())


def french_day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


# -- the page -----------------------------------------------------------------------


def test_the_page_shows_the_estimate_its_total_validity_and_the_two_answers_in_french(api, estimate):
    reply = api.call("GET", path_of(estimate), tenant=None)

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    page = html.unescape(reply.body)
    assert '<html lang="fr">' in page
    assert "Devis N° D-1" in page
    assert "1\u202f026,00\u00a0€" in page  # Babel's fr_FR
    valid_until = date.fromisoformat(estimate["valid_until"])
    assert f"Valable jusqu'au {french_day(valid_until)}" in page
    assert "Acompte demandé à la commande : 30 %, soit 307,80\u00a0€ TTC" in page
    assert f'action="http://127.0.0.1:3000{path_of(estimate)}/accept"' in page
    assert f'action="http://127.0.0.1:3000{path_of(estimate)}/decline"' in page
    assert 'name="name"' in page
    assert 'type="checkbox" id="agree" name="agree"' in page
    assert "Bon pour accord : j'accepte le devis D-1 de Acme SAS, d'un total de 1\u202f026,00\u00a0€." in page
    assert "<script" not in page


def test_the_page_forbids_scripts_framing_caching_and_referers_as_the_pay_page_does(api, estimate):
    headers = api.call("GET", path_of(estimate), tenant=None).headers

    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_business_writing_in_english_gets_its_page_in_english(api, business, customer):
    assert api.patch("/business", {"locale": "en", "version": business["version"]}).status == 200
    estimate = send(api, customer)

    page = page_of(api, estimate)

    assert '<html lang="en">' in page
    for words in ("Accept the estimate", "Decline the estimate", "Your full name", "Reason (optional)"):
        assert words in page


def test_the_pdf_link_redirects_to_a_short_lived_link_of_the_current_version(api, estimate):
    reply = api.call("GET", f"{path_of(estimate)}/pdf", tenant=None)

    assert reply.status == 302
    assert f"acme/estimates/{estimate['id']}/v{estimate['version']}.pdf" in reply.headers["Location"]
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    stored = api.objects()[f"acme/estimates/{estimate['id']}/v{estimate['version']}.pdf"]
    assert "D-1" in pypdf.PdfReader(io.BytesIO(stored)).pages[0].extract_text()


def test_a_forged_or_malformed_token_is_a_404_page_that_says_nothing_of_any_estimate(api, estimate):
    forged = "/quote/" + "A" * 43
    for method, path in (("GET", forged), ("GET", "/quote/short"), ("GET", f"{forged}/pdf"),
                         ("GET", "/quote/" + "A" * 65), ("POST", f"{forged}/accept"), ("POST", f"{forged}/decline"),
                         ("GET", "/quote/" + path_of(estimate)[7:-1])):  # fmt: skip
        reply = (
            api.call(method, path, tenant=None) if method == "GET" else post(api, path, name="Jean Dupont", agree="on")
        )
        assert reply.status == 404, path
        assert "Lien introuvable" in html.unescape(reply.body)
        assert "D-1" not in reply.body
    assert read(api, estimate)["status"] == "sent"


def test_a_payment_links_token_is_no_estimates_and_another_tenants_token_reaches_only_its_own(api, estimate, customer):
    from invoicing.adapters.live import deps
    from invoicing.logic import paylinks, quotes

    assert api.put("/business", {**BUSINESS, "legal_name": "Globex SARL"}, tenant="globex").status == 200
    theirs = send(api, api.post("/customers", {"name": "Martin SA", "address": customer["address"],
                                               "siren": customer["siren"]}, tenant="globex").body,
                  tenant="globex", name="Cuisine Martin")  # fmt: skip
    for token in (
        quotes.token(deps(), "globex", estimate["id"]),  # acme's estimate, under the other tenant's name
        paylinks.token(deps(), "acme", estimate["id"]),  # a payment link's token for the same id
    ):
        assert api.call("GET", f"/quote/{token}", tenant=None).status == 404
        assert accept(api, {"quote_link": f"x/quote/{token}"}).status == 404
    assert "Cuisine Martin" not in page_of(api, estimate)
    assert "Globex SARL" in page_of(api, theirs)
    assert "Acme SAS" not in page_of(api, theirs)
    assert accept(api, theirs).status == 303
    assert read(api, theirs, tenant="globex")["status"] == "accepted"
    assert read(api, estimate)["status"] == "sent"
    assert api.get(f"/estimates/{theirs['id']}").status == 404  # nor does acme's token reach globex's through the API


# -- accepting ----------------------------------------------------------------------


def test_accepting_records_who_when_and_from_where_then_the_page_says_so(api, estimate):
    reply = accept(api, estimate, name="  Jean   Dupont ")

    assert reply.status == 303
    assert reply.headers["Location"] == estimate["quote_link"]  # a reload posts nothing twice
    accepted = read(api, estimate)
    assert accepted["status"] == "accepted"
    assert accepted["version"] == estimate["version"] + 1
    acceptance = accepted["acceptance"]
    assert acceptance["name"] == "Jean Dupont"
    assert acceptance["ip"] == "127.0.0.1"  # API Gateway's requestContext.identity.sourceIp
    assert acceptance["user_agent"] == BROWSER
    assert acceptance["accepted_at"].startswith(TODAY.isoformat()[:4])
    assert "sweep_expiry_on" not in accepted
    assert accepted["decline"] is None
    reply = api.call("GET", path_of(estimate), tenant=None)
    said = r"Ce devis a été accepté le \d\d/\d\d/\d{4} à \d\d:\d\d \(heure de Paris\) par Jean Dupont\."
    assert re.search(said, text_of(reply))
    assert "Accepté en ligne le" in text_of(reply)  # the "Bon pour accord" block, filled
    assert 'name="agree"' not in reply.body
    assert 'id="decline"' not in reply.body


def test_the_accepted_estimate_leaves_the_expiry_sweep(api, estimate):
    from invoicing.adapters.live import deps

    accept(api, estimate)

    stored = deps().store.get("acme", "estimate", estimate["id"])
    assert stored["sweep_expiry_on"] is None
    assert stored["quote_base_url"] == "http://127.0.0.1:3000"  # kept, never shown


def test_a_long_user_agent_is_kept_cut_to_500_characters(api, estimate):
    form = urlencode({"name": "Jean Dupont", "agree": "on"})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "x" * 2000}
    reply = api.call("POST", f"{path_of(estimate)}/accept", raw=form, tenant=None, headers=headers)

    assert reply.status == 303
    assert read(api, estimate)["acceptance"]["user_agent"] == "x" * 500


def test_accepting_twice_is_a_409_page_saying_when_and_by_whom(api, estimate):
    assert accept(api, estimate).status == 303

    again = accept(api, estimate, name="Paul Martin")

    assert again.status == 409
    assert again.headers["Content-Type"].startswith("text/html")
    assert re.search(r"Ce devis a déjà été accepté le \d\d/\d\d/\d{4} à \d\d:\d\d .* par Jean Dupont\.", text_of(again))
    assert read(api, estimate)["acceptance"]["name"] == "Jean Dupont"


def test_an_invoiced_estimate_is_accepted_already(api, estimate):
    assert accept(api, estimate).status == 303
    assert api.post(f"/estimates/{estimate['id']}/invoices", {"kind": "full"}).status == 201
    assert read(api, estimate)["status"] == "invoiced"

    assert accept(api, estimate, name="Paul Martin").status == 409
    reply = decline(api, estimate)
    assert reply.status == 409
    assert "Ce devis a déjà été accepté le" in text_of(reply)


def test_of_clicks_at_once_exactly_one_accepts_and_the_others_are_told(api, estimate):
    names = ["Jean Dupont", "Marie Dupont", "Jean Dupont", "Paul Martin", "Jean Dupont", "Luc Petit"]

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda name: accept(api, estimate, name=name), names))

    assert sorted(reply.status for reply in replies) == [303, 409, 409, 409, 409, 409]
    accepted = read(api, estimate)
    assert accepted["version"] == estimate["version"] + 1
    winner = names[[reply.status for reply in replies].index(303)]
    assert accepted["acceptance"]["name"] == winner
    for reply in replies:
        if reply.status == 409:
            assert f"par {winner}." in text_of(reply)


def test_accepted_here_and_declined_there_at_once_only_one_is_recorded(api, estimate):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        accepted, declined = pool.map(lambda answer: answer(api, estimate), (accept, decline))

    assert sorted([accepted.status, declined.status]) == [303, 409]
    final = read(api, estimate)
    assert final["status"] == ("accepted" if accepted.status == 303 else "declined")
    assert (final["acceptance"] is None) is (final["decline"] is not None)


@pytest.mark.parametrize(
    "name",
    ["", " ", "J", "  J  ", "12345", "-- --", "Jean\u200bDupont", "Jean\u202eDupont", "J" * 201],
    ids=["empty", "blank", "1 letter", "1 letter spaced", "digits", "no letter", "zero width", "bidi", "201 chars"],
)
def test_a_name_that_is_no_full_name_is_a_422_page_naming_the_field_and_nothing_is_recorded(api, estimate, name):
    reply = accept(api, estimate, name=name)

    assert reply.status == 422
    assert "Votre nom complet : tapez votre prénom et votre nom (de 2 à 200 caractères)." in text_of(reply)
    assert 'aria-invalid="true" aria-describedby="name-problem"' in reply.body
    assert "Bon pour accord : cochez" not in text_of(reply)
    assert read(api, estimate)["status"] == "sent"


def test_without_the_box_ticked_nothing_is_accepted_and_the_name_typed_stays(api, estimate):
    for form in ({"name": "Jean <b>Dupont</b>"}, {"name": "Jean <b>Dupont</b>", "agree": "off"}):
        reply = post(api, f"{path_of(estimate)}/accept", **form)

        assert reply.status == 422
        assert "Bon pour accord : cochez la case pour accepter le devis." in text_of(reply)
        assert "Votre nom complet :" not in text_of(reply)
        assert 'value="Jean &lt;b&gt;Dupont&lt;/b&gt;"' in reply.body  # typed again, as text
    assert read(api, estimate)["status"] == "sent"


def test_a_two_letter_name_and_a_name_of_200_characters_are_full_names(api, business, customer):
    first, second = send(api, customer, name="Premier"), send(api, customer, name="Second")

    assert accept(api, first, name="Lu").status == 303
    assert accept(api, second, name="É" * 200).status == 303


# -- declining ----------------------------------------------------------------------


def test_declining_records_the_reason_when_and_from_where_then_the_page_says_so(api, estimate):
    reply = decline(api, estimate, reason="  Trop cher pour nous.\r\nMerci quand même.  ")

    assert reply.status == 303
    assert reply.headers["Location"] == estimate["quote_link"]
    declined = read(api, estimate)
    assert declined["status"] == "declined"
    assert declined["acceptance"] is None
    refusal = declined["decline"]
    assert refusal["reason"] == "Trop cher pour nous.\nMerci quand même."
    assert (refusal["ip"], refusal["user_agent"]) == ("127.0.0.1", BROWSER)
    page = text_of(api.call("GET", path_of(estimate), tenant=None))
    assert re.search(r"Ce devis a été refusé le \d\d/\d\d/\d{4}\.", page)
    assert "Motif : Trop cher pour nous." in page
    assert "Accepter le devis" not in page


def test_a_decline_without_a_reason_records_none(api, estimate):
    assert decline(api, estimate).status == 303

    assert read(api, estimate)["decline"]["reason"] is None


def test_a_reason_over_1000_characters_is_a_422_page_and_the_text_stays(api, estimate):
    reply = decline(api, estimate, reason="a" * 1001)

    assert reply.status == 422
    assert "Motif : 1 000 caractères au plus." in text_of(reply)
    assert "a" * 1001 in reply.body
    assert read(api, estimate)["status"] == "sent"
    assert decline(api, estimate, reason="a" * 1000).status == 303


def test_a_declined_estimate_is_not_accepted_after(api, estimate):
    assert decline(api, estimate, reason="Trop cher").status == 303

    for reply in (accept(api, estimate), decline(api, estimate)):
        assert reply.status == 409
        assert re.search(r"Ce devis a été refusé le \d\d/\d\d/\d{4}\.", text_of(reply))
    assert read(api, estimate)["decline"]["reason"] == "Trop cher"


# -- expiry ---------------------------------------------------------------------------


def test_past_its_last_valid_day_it_is_expired_before_the_sweep_has_run(api, business, customer, monkeypatch):
    from invoicing.adapters import live

    last_day = TODAY
    estimate = send(api, customer, valid_until=last_day.isoformat())
    later = live.deps().now() + timedelta(days=10)  # ten days on, the sweep not run
    monkeypatch.setattr(live.deps(), "now", lambda: later)

    page = text_of(api.call("GET", path_of(estimate), tenant=None))
    expired_on = french_day(last_day + timedelta(days=1))
    assert f"Ce devis a expiré le {expired_on} : il était valable jusqu'au {french_day(last_day)}." in page
    assert "Accepter le devis" not in page
    for reply in (accept(api, estimate), decline(api, estimate)):
        assert reply.status == 409
        assert f"Ce devis a expiré le {expired_on}" in text_of(reply)
    assert read(api, estimate)["status"] == "expired"
    assert read(api, estimate)["acceptance"] is None


def test_on_its_last_valid_day_it_is_still_accepted(api, business, customer):
    estimate = send(api, customer, issue_date=(TODAY - timedelta(days=30)).isoformat(), valid_until=TODAY.isoformat())

    assert accept(api, estimate).status == 303


# -- the business is told ------------------------------------------------------------------


def test_the_business_gets_an_e_mail_naming_who_accepted_with_the_accepted_pdf(api, estimate):
    api.patch("/business", {"email": "contact@acme.example"})
    accept(api, estimate)

    api.deliver_events()

    (email,) = [email for email in sent_emails() if email["To"] == "contact@acme.example"]
    assert email["Subject"] == "Devis D-1 accepté par Jean Dupont"
    body = email.get_body(("plain",)).get_content()
    assert "Jean Dupont a accepté en ligne le devis D-1" in body
    (attachment,) = list(email.iter_attachments())
    text = pypdf.PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    assert "Jean Dupont" in text  # the "Bon pour accord" block, filled
    deliveries = read(api, estimate)["deliveries"]
    assert [(d["kind"], d["recipient"], d["status"]) for d in deliveries] == [
        ("estimate_answer", "contact@acme.example", "sent")
    ]


def test_the_business_gets_an_e_mail_with_the_reason_of_a_decline(api, estimate):
    api.patch("/business", {"email": "contact@acme.example"})
    decline(api, estimate, reason="Trop cher")

    api.deliver_events()

    (email,) = sent_emails()
    assert email["Subject"] == "Devis D-1 refusé"
    assert "Motif donné : Trop cher" in email.get_body(("plain",)).get_content()
    assert list(email.iter_attachments()) == []


def test_a_business_without_an_e_mail_is_told_nothing(api, estimate):
    accept(api, estimate)

    api.deliver_events()

    assert sent_emails() == []
    assert read(api, estimate)["deliveries"] == []


@pytest.mark.on_aws
def test_the_event_twice_and_at_once_sends_one_e_mail(api, estimate):
    from tests.conftest import published_events

    api.patch("/business", {"email": "contact@acme.example"})
    accept(api, estimate)
    (event,) = [event for event in published_events() if event["detail-type"] == "Estimate Accepted"]

    api.invoke_function("delivery", event)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: api.invoke_function("delivery", event), range(4)))

    assert [email["Subject"] for email in sent_emails()] == ["Devis D-1 accepté par Jean Dupont"]
