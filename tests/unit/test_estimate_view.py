"""The estimate's documents (SPEC §11): its view-model, shared by the HTML
preview and the PDF, and the messages that carry it — from estimates
shaped as the store keeps them, no AWS."""

from __future__ import annotations

import email
import io
from email import policy
from typing import Any

import pypdf
import pytest

from invoicing.documents import messages
from invoicing.documents.view import estimate_view

pytestmark = pytest.mark.unit

LINE = {"name": "Développement", "quantity": "3", "unit": "jour", "unit_price": "450.00",
        "discount": {"type": "percentage", "value": "10"}, "taxes": [{"name": "TVA", "rate": "20"}]}  # fmt: skip
PARIS = {"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"}
BUSINESS = {
    "legal_name": "Acme",
    "legal_form": "SAS",
    "siren": "732829320",
    "vat_number": "FR44732829320",
    "address": PARIS,
}
CUSTOMER = {"name": "Dupont & Fils", "siren": "552100554", "kind": "business"}
ACCEPTANCE = {"name": "Jean Dupont", "accepted_at": "2027-01-05T13:03:00Z", "ip": "203.0.113.7", "user_agent": "x"}


def estimate(lines: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """Estimate D-1 as sent: SPEC §6.1's invoice (1,398.00 incl. VAT, with a
    50.00 discount), valid until 03/01/2027, a 30 % deposit."""
    from invoicing.logic.invoices import totals_of, totals_view

    lines = lines or [LINE]
    discount = {"type": "fixed", "value": "50.00"}
    totals = totals_view(totals_of(lines, discount, "EUR"))
    nets = totals.pop("line_nets")
    return {
        "id": "est_1", "name": "Site web", "status": "sent", "number": "D-1", "currency": "EUR",
        "customer_id": "cus_1", "issue_date": "2026-12-04", "valid_until": "2027-01-03",
        "lines": [{**line, "net": net} for line, net in zip(lines, nets, strict=True)], "discount": discount,
        "totals": totals, "deposit": {"type": "percentage", "value": "30"}, "deposit_amount": "419.40",
        "notes": "Merci pour votre confiance", "terms": "Travaux sous 15 jours",
        "business": BUSINESS, "customer": CUSTOMER, "acceptance": None, "decline": None, "version": 2,
        **fields,
    }  # fmt: skip


def test_a_sent_estimate_is_titled_devis_with_its_number_dates_and_the_invoices_totals():
    view = estimate_view(estimate())

    assert (view["title"], view["number"], view["banner"]) == ("Devis", "D-1", None)
    assert (view["issue_date"], view["validity"]) == ("04/12/2026", "Valable jusqu'au 03/01/2027")
    assert view["seller"]["name"] == "Acme SAS"
    assert view["buyer"]["details"] == ["SIREN 552 100 554"]
    assert [(row["label"], row["amount"]) for row in view["totals"]] == [
        ("Total HT", "1\u202f215,00\xa0€"),
        ("Remise", "−50,00\xa0€"),
        ("Total HT net", "1\u202f165,00\xa0€"),
        ("TVA 20 %", "233,00\xa0€"),
        ("Total TTC", "1\u202f398,00\xa0€"),
    ]
    assert view["lines"][0]["net"] == "1\u202f215,00\xa0€"


def test_nothing_is_owed_yet_no_due_date_no_late_fee_mention_no_payment_terms():
    view = estimate_view(estimate())

    assert (view["due_date"], view["payment_terms"], view["schedule"], view["legal_notes"]) == (None, None, [], [])
    assert view["mentions"] == []


def test_a_franchise_business_still_says_why_there_is_no_vat():
    view = estimate_view(estimate(business={**BUSINESS, "vat_franchise": True}))

    assert view["mentions"] == ["TVA non applicable, art. 293 B du CGI."]


def test_the_deposit_asked_is_its_share_and_its_amount_or_the_fixed_amount_or_nothing():
    share = estimate_view(estimate())["deposit_asked"]
    fixed = estimate_view(estimate(deposit={"type": "fixed", "value": "500"}, deposit_amount="500.00"))
    none = estimate_view(estimate(deposit=None, deposit_amount=None))

    assert share == "Acompte demandé à la commande : 30 %, soit 419,40\xa0€ TTC"
    assert fixed["deposit_asked"] == "Acompte demandé à la commande : 500,00\xa0€ TTC"
    assert none["deposit_asked"] is None


def test_an_estimate_awaiting_its_answer_has_empty_boxes_for_date_name_and_signature():
    approval = estimate_view(estimate())["approval"]

    assert approval == {
        "title": "Bon pour accord",
        "boxes": ["Date", "Nom", "Signature"],
        "lines": ["Mention manuscrite « Bon pour accord »"],
    }


def test_an_accepted_estimate_says_who_accepted_it_online_and_when_in_paris_time():
    winter = estimate_view(estimate(status="accepted", acceptance=ACCEPTANCE))
    summer = estimate_view(
        estimate(status="invoiced", acceptance={**ACCEPTANCE, "accepted_at": "2027-07-05T12:03:00+00:00"})
    )

    assert winter["approval"] == {
        "title": "Bon pour accord",
        "boxes": [],
        "lines": ["Accepté en ligne le 05/01/2027 à 14:03 (heure de Paris) par Jean Dupont — bon pour accord"],
    }
    assert summer["approval"]["lines"] == [
        "Accepté en ligne le 05/07/2027 à 14:03 (heure de Paris) par Jean Dupont — bon pour accord"
    ]
    assert winter["acceptance"] == {"name": "Jean Dupont", "date": "05/01/2027", "time": "14:03"}


def test_a_name_typed_over_lines_is_shown_on_one():
    view = estimate_view(estimate(status="accepted", acceptance={**ACCEPTANCE, "name": "Jean\r\nDupont "}))

    assert view["acceptance"]["name"] == "Jean Dupont"


def test_a_declined_estimate_says_so_with_the_reason_and_offers_no_box_to_sign():
    declined = {"reason": "Trop cher", "declined_at": "2027-01-05T23:30:00Z", "ip": "203.0.113.7", "user_agent": "x"}

    view = estimate_view(estimate(status="declined", decline=declined))
    silent = estimate_view(estimate(status="declined", decline={**declined, "reason": " "}))

    assert view["banner"] == "Devis refusé"
    assert view["approval"]["boxes"] == []
    assert view["approval"]["lines"] == ["Refusé le 06/01/2027.", "Motif : Trop cher"]  # 00:30 in Paris
    assert silent["approval"]["lines"] == ["Refusé le 06/01/2027."]


def test_an_expired_estimate_says_until_when_it_was_valid():
    view = estimate_view(estimate(status="expired", expired_at="2027-01-04T03:00:00Z"))

    assert view["banner"] == "Devis expiré"
    assert view["approval"]["lines"] == ["Ce devis a expiré : il était valable jusqu'au 03/01/2027."]
    assert view["approval"]["boxes"] == []


def test_a_draft_is_titled_as_one_and_shows_the_business_and_customer_as_they_are():
    draft = estimate(status="draft", number=None, issue_date=None, valid_until=None, business=None, customer=None)

    view = estimate_view(draft, business={**BUSINESS, "legal_name": "Acme Renommée"}, customer=CUSTOMER)

    assert (view["title"], view["number"], view["banner"], view["validity"]) == ("Devis (brouillon)", None, None, None)
    assert view["seller"]["name"] == "Acme Renommée SAS"
    assert view["buyer"]["name"] == "Dupont & Fils"
    assert view["approval"]["boxes"] == ["Date", "Nom", "Signature"]


def test_an_english_business_gets_its_estimate_in_english():
    view = estimate_view(
        estimate(status="accepted", acceptance=ACCEPTANCE, business={**BUSINESS, "locale": "en"}), logo=None
    )

    assert (view["lang"], view["title"], view["validity"]) == ("en", "Estimate", "Valid until 1/3/27")
    assert view["deposit_asked"] == "Deposit requested on acceptance: 30 %, i.e. €419.40 incl. VAT"
    assert [row["label"] for row in view["totals"]] == [
        "Subtotal",
        "Discount",
        "Net total excl. VAT",
        "TVA 20 %",  # the tax as the line names it
        "Total",
    ]
    assert view["approval"]["title"] == "Accepted and agreed"
    assert view["approval"]["lines"] == [
        "Accepted online on 1/5/27 at 2:03\u202fPM (Paris time) by Jean Dupont — accepted and agreed"
    ]


# -- The PDF: what a reader extracts ----------------------------------------------------------------


def pdf_text(view: dict[str, Any]) -> list[str]:
    from invoicing.documents.pdf import render_estimate

    data = render_estimate(view)
    assert data.startswith(b"%PDF-")
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    return [" ".join(page.extract_text().replace("\u202f", " ").replace("\xa0", " ").split()) for page in pages]


def test_the_pdf_carries_title_dates_parties_lines_totals_deposit_and_the_block_to_sign():
    (page,) = pdf_text(estimate_view(estimate()))

    for expected in (
        "Devis N° D-1", "Date d'émission : 04/12/2026", "Valable jusqu'au 03/01/2027",
        "Acme SAS", "SIREN 732 829 320", "Dupont & Fils", "SIREN 552 100 554",
        "Développement 3 jour 450,00 € 10 % 20 % 1 215,00 €",
        "Total HT 1 215,00 € Remise −50,00 € Total HT net 1 165,00 € TVA 20 % 233,00 € Total TTC 1 398,00 €",
        "Acompte demandé à la commande : 30 %, soit 419,40 € TTC",
        "Merci pour votre confiance", "Travaux sous 15 jours",
        "Bon pour accord Mention manuscrite « Bon pour accord » Date Nom Signature",
        "Acme SAS · SIREN 732 829 320 · TVA FR44732829320", "Page 1/1",
    ):  # fmt: skip
        assert expected in page, expected
    for absent in ("Net à payer", "Facture", "pénalités", "Indemnité", "Paiement à régler"):
        assert absent not in page, absent


def test_the_accepted_pdf_has_the_block_filled_and_no_box():
    (page,) = pdf_text(estimate_view(estimate(status="accepted", acceptance=ACCEPTANCE)))

    assert "Accepté en ligne le 05/01/2027 à 14:03 (heure de Paris) par Jean Dupont — bon pour accord" in page
    assert "Signature" not in page


def test_a_long_estimate_keeps_its_signature_boxes_whole_on_its_last_page():
    pages = pdf_text(estimate_view(estimate(lines=[LINE] * 34)))

    assert len(pages) == 2
    assert "Bon pour accord Mention manuscrite « Bon pour accord » Date Nom Signature" in pages[-1]
    assert "Total TTC" in pages[0]


def test_the_pdf_is_pdf_a_without_factur_x():
    from invoicing.documents.pdf import render_estimate

    reader = pypdf.PdfReader(io.BytesIO(render_estimate(estimate_view(estimate()))))

    assert "<pdfaid:part>3</pdfaid:part>" in reader.xmp_metadata.stream.get_data().decode()
    assert "/AF" not in reader.trailer["/Root"]


# -- The messages ---------------------------------------------------------------------------------------

LINK = "https://invoicing.example/quote/" + "q" * 43


def parsed(mime: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(mime, policy=policy.default)  # type: ignore[return-value]


def test_the_email_names_the_estimate_and_the_business_links_its_page_and_attaches_the_pdf():
    mime = messages.email(
        estimate_view(estimate()), LINK, "devis@acme.example", "compta@dupont.example", b"%PDF", "D-1.pdf",
        kind="estimate",
    )  # fmt: skip

    message = parsed(mime)
    body = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Devis D-1 d'Acme SAS"
    assert "le devis D-1 d'Acme SAS, d'un montant de 1\u202f398,00\xa0€, valable jusqu'au 03/01/2027" in body
    assert f"Consulter et accepter le devis : {LINK}" in body
    assert [part.get_filename() for part in message.iter_attachments()] == ["D-1.pdf"]


def test_the_sms_names_business_number_amount_validity_and_link():
    text = messages.sms(estimate_view(estimate()), LINK, kind="estimate")

    assert text == f"Acme SAS : devis D-1, 1 398,00 €, valable jusqu'au 03/01/2027. {LINK}"
    assert messages.segments(text) == 1


def test_the_business_learns_who_accepted_its_estimate_with_the_accepted_pdf():
    view = estimate_view(estimate(status="accepted", acceptance=ACCEPTANCE))

    message = parsed(
        messages.estimate_answered(view, "noreply@platform.example", "contact@acme.example", b"%PDF", "D-1.pdf")
    )

    assert message["Subject"] == "Devis D-1 accepté par Jean Dupont"
    body = message.get_body(("plain",)).get_content()
    assert "Jean Dupont a accepté en ligne le devis D-1 (Dupont & Fils, 1\u202f398,00\xa0€)" in body
    assert "le 05/01/2027 à 14:03 (heure de Paris)" in body
    assert [part.get_filename() for part in message.iter_attachments()] == ["D-1.pdf"]


def test_the_business_learns_its_estimate_was_declined_and_why():
    declined = {"reason": "Trop cher", "declined_at": "2027-01-06T09:00:00Z", "ip": "203.0.113.7", "user_agent": "x"}

    with_reason = parsed(messages.estimate_answered(
        estimate_view(estimate(status="declined", decline=declined)), "noreply@platform.example", "contact@acme.example"
    ))  # fmt: skip
    without = parsed(messages.estimate_answered(
        estimate_view(estimate(status="declined", decline={**declined, "reason": None})),
        "noreply@platform.example", "contact@acme.example",
    ))  # fmt: skip

    assert with_reason["Subject"] == "Devis D-1 refusé"
    assert "Dupont & Fils a refusé le devis D-1 (1\u202f398,00\xa0€) le 06/01/2027." in with_reason.get_content()
    assert "Motif donné : Trop cher" in with_reason.get_content()
    assert "Aucun motif n'a été donné." in without.get_content()
