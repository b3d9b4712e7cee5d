"""The estimate's documents through the API (SPEC §11): its HTML preview,
its PDF link, and the PDFs the bus stores when it is sent and accepted —
in the tenant's prefix, never locked (an estimate is no invoice), and
another tenant's a 404."""

from __future__ import annotations

import html
import io
import re
from typing import Any

import pypdf
import pytest

from tests.conftest import BUSINESS, not_hooks

pytestmark = pytest.mark.integration

LINES = [
    {"name": "Pose de carrelage", "quantity": "12", "unit_price": "45.00", "unit": "m²",
     "taxes": [{"name": "TVA", "rate": "10"}]},
    {"name": "Fourniture carrelage", "quantity": "12", "unit_price": "30.00", "unit": "m²",
     "taxes": [{"name": "TVA", "rate": "20"}]},
]  # fmt: skip
OTHER = "other"


def text_of(page: str) -> str:
    """What a reader sees: tags dropped, entities decoded, spaces unified."""
    visible = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S)))
    return " ".join(visible.replace("\u202f", " ").replace("\xa0", " ").split())


def pdf_text(data: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text().replace("\u202f", " ").replace("\xa0", " ").split()) for page in pages)


def create(api: Any, customer: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": "Salle de bains Dupont", "customer_id": customer["id"], "lines": LINES, "notes": "Travaux en mars"}
    reply = api.post("/estimates", {**body, **fields})
    assert reply.status == 201, reply.body
    return reply.body


@pytest.fixture
def draft(api: Any, business: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    """A draft estimate of 540 at 10 % and 360 at 20 %: 1,026.00 TTC."""
    return create(api, customer)


@pytest.fixture
def sent(api: Any, draft: dict[str, Any]) -> dict[str, Any]:
    """The draft, numbered D-1."""
    reply = api.post(f"/estimates/{draft['id']}/mark-sent")
    assert reply.status == 200, reply.body
    return reply.body


def day(iso: str) -> str:
    return "/".join(reversed(iso.split("-")))


def accept(estimate: dict[str, Any], name: str = "Jean Dupont") -> dict[str, Any]:
    """Record its client's acceptance as the public page will (logic.quotes): a new version."""
    from invoicing.adapters.live import deps

    store = deps().store
    stored = store.get("acme", "estimate", estimate["id"])
    assert stored is not None
    accepted = {**stored, "status": "accepted", "version": stored["version"] + 1,
                "acceptance": {"name": name, "accepted_at": "2027-01-05T13:03:00Z", "ip": "203.0.113.7",
                               "user_agent": "Mozilla/5.0"}}  # fmt: skip
    store.replace("acme", "estimate", accepted, expected_version=stored["version"], old_name=None, new_name=None)
    return accepted


def test_the_preview_of_a_sent_estimate_shows_the_devis_its_validity_totals_deposit_and_block(api, sent):
    reply = api.get(f"/estimates/{sent['id']}/preview")

    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    page = text_of(reply.body)
    for expected in (
        "Devis N° D-1",
        f"Date d'émission {day(sent['issue_date'])}",
        f"Valable jusqu'au {day(sent['valid_until'])}",
        "Acme SAS", "Dupont & Fils",
        "Pose de carrelage 12 m² 45,00 € 10 % 540,00 €",
        "Total HT 900,00 € TVA 20 % 72,00 € TVA 10 % 54,00 € Total TTC 1 026,00 €",
        "Travaux en mars",
        "Bon pour accord Mention manuscrite « Bon pour accord » Date Nom Signature",
    ):  # fmt: skip
        assert expected in page, expected
    for absent in ("Net à payer", "pénalités", "Acompte"):
        assert absent not in page, absent


def test_the_deposit_asked_is_shown_under_the_totals(api, business, customer):
    estimate = create(api, customer, deposit={"type": "percentage", "value": "30"})
    sent = api.post(f"/estimates/{estimate['id']}/mark-sent").body

    page = text_of(api.get(f"/estimates/{sent['id']}/preview").body)

    assert "Total TTC 1 026,00 € Acompte demandé à la commande : 30 %, soit 307,80 € TTC" in page


def test_the_preview_of_a_draft_is_titled_as_one_and_follows_the_business(api, draft):
    assert api.patch("/business", {"legal_name": "Acme Renommée SAS"}).status == 200

    page = text_of(api.get(f"/estimates/{draft['id']}/preview").body)

    assert "Devis (brouillon)" in page
    assert "Acme Renommée SAS" in page
    assert "D-1" not in page


def test_the_pdf_link_renders_the_sent_version_into_the_tenants_prefix_unlocked(api, fakes, sent):
    reply = api.get(f"/estimates/{sent['id']}/pdf")

    assert reply.status == 200, reply.body
    assert (reply.body["expires_in"], reply.body["version"]) == (300, sent["version"])
    key = f"acme/estimates/{sent['id']}/v{sent['version']}.pdf"
    assert reply.body["url"].startswith(f"{fakes.blobs.URL}/{key}?")
    assert "D-1.pdf" in reply.body["url"]
    stored = fakes.blobs.objects[key]
    assert stored.retain_until is None
    text = pdf_text(stored.data)
    for expected in ("Devis N° D-1", "Total TTC 1 026,00 €", "Date Nom Signature"):
        assert expected in text, expected


def test_a_drafts_pdf_is_a_preview_of_its_own_keyed_by_the_business_and_customer_shown(api, fakes, draft):
    reply = api.get(f"/estimates/{draft['id']}/pdf")

    assert reply.status == 200, reply.body
    (key,) = [key for key in fakes.blobs.objects if key.startswith(f"acme/estimates/{draft['id']}/")]
    assert re.fullmatch(rf"acme/estimates/{draft['id']}/v1-draft-b\d+-c\d+\.pdf", key)
    assert "Devis (brouillon)" in pdf_text(fakes.blobs.objects[key].data)


def test_sending_then_accepting_stores_each_version_the_accepted_one_with_the_block_filled(api, fakes, sent):
    assert not_hooks(api.deliver_events()) == [("documents", {"outcome": "rendered"})]
    accepted = accept(sent)
    delivered = api.deliver_events()

    assert ("documents", {"outcome": "rendered"}) in delivered
    sent_pdf = pdf_text(fakes.blobs.objects[f"acme/estimates/{sent['id']}/v{sent['version']}.pdf"].data)
    accepted_pdf = pdf_text(fakes.blobs.objects[f"acme/estimates/{sent['id']}/v{accepted['version']}.pdf"].data)
    assert "Date Nom Signature" in sent_pdf
    assert "Accepté en ligne le 05/01/2027 à 14:03 (heure de Paris) par Jean Dupont — bon pour accord" in accepted_pdf
    assert "Signature" not in accepted_pdf
    link = api.get(f"/estimates/{sent['id']}/pdf")
    assert link.body["version"] == accepted["version"]


def test_an_event_delivered_again_stores_nothing_twice(api, fakes, sent):
    api.deliver_events()
    event = {"detail-type": "Estimate Sent", "source": "invoicing", "id": "e-2",
             "detail": {"tenant_id": "acme", "estimate_id": sent["id"], "version": sent["version"]}}  # fmt: skip

    assert api.invoke_function("documents", event) == {"outcome": "present"}
    assert len(fakes.blobs.versions[f"acme/estimates/{sent['id']}/v{sent['version']}.pdf"]) == 1


def test_a_drafts_pdf_is_never_stored_as_a_version_of_the_estimate(api, draft):
    from invoicing.adapters.live import deps
    from invoicing.domain.errors import IllegalTransition
    from invoicing.logic.documents import store_estimate_pdf

    with pytest.raises(IllegalTransition):
        store_estimate_pdf(deps(), "acme", draft["id"])


def test_an_unknown_estimate_is_a_404(api, business):
    for path in ("/estimates/est_nope/preview", "/estimates/est_nope/pdf"):
        reply = api.get(path)
        assert (reply.status, reply.body["error"]["code"]) == (404, "not_found"), path
        assert reply.body["error"]["message"] == "estimate not found"


def test_another_tenants_estimate_preview_and_pdf_are_a_404(api, fakes, sent):
    assert api.put("/business", {**BUSINESS, "legal_name": "Other SAS"}, tenant=OTHER).status == 200

    for path in (f"/estimates/{sent['id']}/preview", f"/estimates/{sent['id']}/pdf"):
        reply = api.get(path, tenant=OTHER)
        assert reply.status == 404, path
    assert not [key for key in fakes.blobs.objects if sent["id"] in key]


def test_a_queued_render_of_an_estimate_stores_its_version(api, fakes, sent):
    """A long estimate's PDF is queued as an invoice's (logic.documents._link): the queue names its kind."""
    from invoicing.adapters.live import deps
    from invoicing.logic.documents import render_queued

    message = {"tenant_id": "acme", "kind": "estimate", "id": sent["id"], "version": sent["version"]}

    assert render_queued(deps(), message) == "rendered"
    assert render_queued(deps(), message) == "present"
    assert "Devis N° D-1" in pdf_text(fakes.blobs.objects[f"acme/estimates/{sent['id']}/v{sent['version']}.pdf"].data)
