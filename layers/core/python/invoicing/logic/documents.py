"""Use cases of documents: the invoice as the client will see it, in HTML
and in PDF, both from one view-model. The rendering libraries load here,
on first use, never in the other functions."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from invoicing.domain.errors import IllegalTransition, NotFound, RenderFailed
from invoicing.logic import catalog, invoices
from invoicing.logic.common import Deps
from invoicing.ports import MissingBlob
from invoicing.transient import is_transient

if TYPE_CHECKING:
    from invoicing.documents.pdf import FacturX

LINK_TTL_S = 300
JSON = "application/json"
# A request renders a missing PDF itself up to this much text (text_size), under a second here
# (`make bench`: 200 lines of 600 characters, 142,600, take 0.35 to 0.45 s; 1,000 of them, 713,000,
# 1.3 to 1.8 s); beyond, it is queued.
INLINE_CHARACTERS = 250_000
RETRY_AFTER_S = 2  # while a queued render runs
RENDER_ATTEMPTS = 2  # renders started for a queued version before it is recorded as failed
QUEUED_STALE_S = 30 * 60  # beyond its attempts (2 × the queue's 12-minute visibility timeout): queued again
FAILED_HOLD_S = 60 * 60  # a version whose render failed is tried again at most once an hour
RETENTION_YEARS = 11  # issued PDFs locked until 1 January of the issue year + this (_put_pdf)
MAX_RETENTION = timedelta(days=4_015)  # under the stack's cap (infra/constructs/functions.py: 11 × 366 days)
logger = logging.getLogger(__name__)


def preview(deps: Deps, tenant: str, invoice_id: str) -> str:
    """The invoice as HTML, drafts included (with today's business and
    customer; an issued invoice shows its snapshots)."""
    from invoicing.documents.html import render_html

    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    return render_html(view_model(deps, tenant, invoice, *parties(deps, tenant, invoice)))


def pdf(deps: Deps, tenant: str, invoice_id: str) -> bytes:
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    return _render(deps, tenant, invoice, *parties(deps, tenant, invoice))


@dataclass(frozen=True)
class Pending:
    """A PDF not stored yet, queued for rendering: ask again after `retry_after_s` (202)."""

    version: int
    retry_after_s: int


@dataclass(frozen=True)
class _Pdf:
    """A document's PDF: where its copy is stored, and how to render it."""

    kind: str  # "invoice" | "credit_note" | "estimate"
    document: dict[str, Any]
    key: str
    render: Callable[[], bytes]


def pdf_link(deps: Deps, tenant: str, invoice_id: str) -> dict[str, Any] | Pending:
    """A short-lived link to the PDF of the invoice's current version (see `_link`)."""
    return _link(deps, tenant, _invoice_pdf(deps, tenant, invoice_id))


def credit_note_link(deps: Deps, tenant: str, credit_note_id: str) -> dict[str, Any] | Pending:
    """A short-lived link to the credit note's PDF (one version: it never changes)."""
    return _link(deps, tenant, _credit_note_pdf(deps, tenant, credit_note_id))


def _link(deps: Deps, tenant: str, pdf: _Pdf) -> dict[str, Any] | Pending:
    """The stored copy, always, when there is one. Else, for a document of
    up to INLINE_CHARACTERS of text (under a second here), it is rendered
    now (its event was lost or is still on its way, or it is a draft); a
    larger one is queued, once, and the caller is told to come back
    (Pending). A render that failed is not tried again for FAILED_HOLD_S
    (RenderFailed, 503): a document that kills its render does not start a
    render at every request."""
    assert deps.blobs is not None, "the documents and pay functions have the bucket"
    if not deps.blobs.exists(pdf.key):
        state = _render_state(deps, pdf)
        if state and state["state"] == "failed" and (hold := state["at"] + FAILED_HOLD_S - _now_s(deps)) > 0:
            raise RenderFailed(f"the PDF could not be rendered ({state['reason']}); it will be tried again", hold)
        if text_size(pdf.document) > INLINE_CHARACTERS:
            return _queue(deps, tenant, pdf, state)
        data = _render_or_record(deps, pdf)  # AWS merely busy raises: 503 busy
        if data is None:
            raise RenderFailed("the PDF could not be rendered; it will be tried again", FAILED_HOLD_S)
        _put_pdf(deps, pdf, data)
    return {
        "url": deps.blobs.download_url(pdf.key, pdf_filename(pdf.document), LINK_TTL_S),
        "expires_in": LINK_TTL_S,
        "version": pdf.document["version"],
    }


def _queue(deps: Deps, tenant: str, pdf: _Pdf, state: dict[str, Any] | None) -> Pending:
    """Queue the render unless a live request has it queued already: the
    first request writes the version's render state if absent and queues
    it; the others only answer. A queued render that never concluded (its
    state older than QUEUED_STALE_S, its messages lost), or a failure whose
    hour is over, is queued again; requests that find it so at the same
    moment may each queue it (the render stores one PDF)."""
    assert deps.blobs is not None, "the function has the bucket"
    assert deps.renders is not None, "the function queues large PDFs (wiring: the render queue's producers)"
    pending = Pending(pdf.document["version"], RETRY_AFTER_S)
    if state and state["state"] == "queued" and _now_s(deps) - state["at"] < QUEUED_STALE_S:
        return pending
    if not _write_state(deps, pdf, {"state": "queued", "at": _now_s(deps)}, if_absent=state is None):
        return pending  # a concurrent request queued it
    try:
        deps.renders.send(
            {"tenant_id": tenant, "kind": pdf.kind, "id": pdf.document["id"], "version": pdf.document["version"]}
        )
    except Exception:
        deps.blobs.delete(_state_key(pdf.key))  # nothing queued: the next request tries again
        raise
    return pending


def render_queued(deps: Deps, message: dict[str, Any]) -> str:
    """Render a queued PDF (the documents function, from the render queue).
    Each render started is counted in the version's render state first: one
    that died with its function (the timeout, the memory) comes back from
    SQS, and once RENDER_ATTEMPTS were started without an end it is
    recorded as failed (a delivery throttled before it ran counts nothing).
    A render that raises is recorded as failed at once, unless AWS was only
    busy (then it raises, and SQS delivers it again). Stored only if
    absent: a message delivered twice stores nothing twice. A message for a
    version the document has since left renders nothing: a request for the
    new one queues its own."""
    assert deps.blobs is not None, "the documents function has the bucket"
    tenant = message["tenant_id"]
    documents = {"invoice": _invoice_pdf, "credit_note": _credit_note_pdf, "estimate": _estimate_pdf}
    try:
        pdf = documents[message["kind"]](deps, tenant, message["id"])
    except NotFound:
        return "gone"
    if pdf.document["version"] != message["version"]:
        return "superseded"
    if deps.blobs.exists(pdf.key):
        return "present"
    state = _render_state(deps, pdf) or {"state": "queued", "at": _now_s(deps)}
    if state["state"] == "failed":
        return "held"  # a message delivered again after its render failed: no second try before the hour
    started = int(state.get("started", 0))
    if started >= RENDER_ATTEMPTS:
        _record_failure(deps, pdf, f"the render did not end within the function's time, {started} times")
        return "failed"
    _write_state(deps, pdf, {**state, "started": started + 1})
    try:
        data = _render_or_record(deps, pdf)
    except Exception:  # AWS merely busy: not a render that died; SQS delivers it again, uncounted
        _write_state(deps, pdf, state)
        raise
    if data is None:
        return "failed"
    _put_pdf(deps, pdf, data)
    return "rendered"


def text_size(document: dict[str, Any]) -> int:
    """How much a document's PDF lays out: the characters of its lines,
    notes and terms, and a hundred per line for its cells."""
    lines = document.get("lines") or []
    return sum(len(line.get("name") or "") + len(line.get("description") or "") + 100 for line in lines) + sum(
        len(document.get(field) or "") for field in ("notes", "terms")
    )


def _render_state(deps: Deps, pdf: _Pdf) -> dict[str, Any] | None:
    """The version's render state, if a render was queued or failed: `state`
    (queued | failed), `at` (epoch seconds), `reason` of a failure."""
    assert deps.blobs is not None
    try:
        return dict(json.loads(deps.blobs.read(_state_key(pdf.key))))
    except MissingBlob:
        return None


def _render_or_record(deps: Deps, pdf: _Pdf) -> bytes | None:
    """The document's PDF, or None once its failure is recorded for the
    version. An AWS error worth a retry (transient) is no failure of the
    document's: it raises, nothing recorded."""
    try:
        return pdf.render()
    except Exception as error:
        if is_transient(error):
            raise
        logger.exception("render failed", extra={"key": pdf.key})
        _record_failure(deps, pdf, type(error).__name__)
        return None


def _record_failure(deps: Deps, pdf: _Pdf, reason: str) -> None:
    _write_state(deps, pdf, {"state": "failed", "at": _now_s(deps), "reason": reason})


def _write_state(deps: Deps, pdf: _Pdf, state: dict[str, Any], if_absent: bool = False) -> bool:
    """Write the version's render state (`if_absent`: False if one is there, nothing written)."""
    assert deps.blobs is not None
    return deps.blobs.put(_state_key(pdf.key), json.dumps(state).encode(), JSON, if_absent=if_absent)


def _state_key(pdf_key: str) -> str:
    """`renders/{tenant}/…`: under a prefix of their own, which the bucket
    expires after a day (infra/constructs/storage.py), when the longest
    state (a failure, held an hour) means nothing any more."""
    tenant, rest = pdf_key.split("/", 1)
    return f"renders/{tenant}/{rest.removesuffix('.pdf')}.json"


def _now_s(deps: Deps) -> int:
    return int(deps.now().timestamp())


def _invoice_pdf(deps: Deps, tenant: str, invoice_id: str) -> _Pdf:
    """The PDF of the invoice's current version: one object per version,
    `{tenant}/invoices/{id}/v{version}.pdf`, so that a link never shows an
    amount the invoice no longer has. A draft shows today's business and
    customer, so their versions are in its key too."""
    invoice = invoices.get_invoice(deps, tenant, invoice_id)
    business, customer = parties(deps, tenant, invoice)
    key = pdf_key(tenant, invoice_id, invoice["version"])
    if invoice["status"] == "draft":
        key = key.removesuffix(".pdf") + f"-draft-b{business['version']}-c{(customer or {}).get('version', 0)}.pdf"
    return _Pdf("invoice", invoice, key, lambda: _render(deps, tenant, invoice, business, customer))


def _credit_note_pdf(deps: Deps, tenant: str, credit_note_id: str) -> _Pdf:
    note = deps.store.get(tenant, "credit_note", credit_note_id)
    if note is None:
        raise NotFound("credit note")
    key = f"{tenant}/credit-notes/{credit_note_id}.pdf"
    return _Pdf("credit_note", note, key, lambda: render_credit_note(deps, tenant, note))


def store_pdf(deps: Deps, tenant: str, invoice_id: str) -> tuple[dict[str, Any], str, bool]:
    """Render the invoice's current version into the bucket unless it is
    there (`_store`): the invoice, the object's key, and whether this call
    rendered it."""
    pdf = _invoice_pdf(deps, tenant, invoice_id)
    return pdf.document, pdf.key, _store(deps, pdf)


def on_event(deps: Deps, detail: dict[str, Any]) -> str:
    """An invoice was finalized or its amounts changed: store the PDF of its
    current version (and of the credit note the event names). Re-reads the
    invoice, so an event that arrives late, out of order or twice renders at
    most what is missing. An estimate's event (sent, accepted) stores the
    estimate's (`on_estimate_event`). Returns what it did."""
    if "estimate_id" in detail:
        return on_estimate_event(deps, detail)
    tenant, invoice_id = detail["tenant_id"], detail["invoice_id"]
    try:
        invoice, key, rendered = store_pdf(deps, tenant, invoice_id)
    except NotFound:
        return "gone"  # a draft deleted since: nothing to render
    if invoice["version"] < detail["version"]:  # reads are consistent: versions only grow
        raise RuntimeError(f"read version {invoice['version']}, older than the event's {detail['version']}")
    if detail.get("credit_note_id"):  # after the invoice's: a credit note that fails does not hold it up
        store_credit_note_pdf(deps, tenant, detail["credit_note_id"])
    return "rendered" if rendered else "present"


def store_credit_note_pdf(deps: Deps, tenant: str, credit_note_id: str) -> tuple[dict[str, Any], str]:
    """Render the credit note into the bucket unless it is there."""
    pdf = _credit_note_pdf(deps, tenant, credit_note_id)
    _store(deps, pdf)
    return pdf.document, pdf.key


def _store(deps: Deps, pdf: _Pdf) -> bool:
    """Render the PDF into the bucket unless it is there; whether this call
    stored it. Written only if absent: a repeated or concurrent render
    stores nothing twice."""
    assert deps.blobs is not None, "the function has the bucket"
    return not deps.blobs.exists(pdf.key) and _put_pdf(deps, pdf, pdf.render())


def _put_pdf(deps: Deps, pdf: _Pdf, data: bytes) -> bool:
    """Store the PDF once (only if absent); an issued invoice's or a credit
    note's locked until 1 January, eleven years after its issue year: the
    Code de commerce (art. L123-22) keeps accounting documents ten years
    from the close of the financial year, here taken as the calendar year
    of issue. Never longer than the stack lets a function lock an object
    (eleven years from today: an issue date in the future is locked for as
    long as that); one whose ten years are over already is not locked
    (S3 refuses a date past). A draft's PDF is a preview: never locked; nor
    is an estimate's, which is no accounting document."""
    assert deps.blobs is not None, "the function has the bucket"
    retain_until = None
    if pdf.kind == "credit_note" or (pdf.kind == "invoice" and pdf.document.get("status") != "draft"):
        issued, today = date.fromisoformat(pdf.document["issue_date"]), deps.now().date()
        retain_until = min(date(issued.year + RETENTION_YEARS, 1, 1), today + MAX_RETENTION)
        if retain_until <= today:  # a document issued over ten years back (a migration): kept as long as law asked
            retain_until = None
    return deps.blobs.put(pdf.key, data, "application/pdf", if_absent=True, retain_until=retain_until)


def render_credit_note(deps: Deps, tenant: str, note: dict[str, Any]) -> bytes:
    from invoicing.documents.pdf import render_pdf
    from invoicing.documents.view import credit_note_view
    from invoicing.logic.logo import logo_bytes

    view = credit_note_view(note, logo_bytes(deps, tenant, note["business"].get("logo")))
    credited = {"number": note["invoice_number"], "issue_date": note["invoice_issue_date"]}
    return render_pdf(view, facturx_of(note, view, credit_note_of=credited, notes=view["legal_notes"]))


def pdf_filename(invoice: dict[str, Any]) -> str:
    """The file's name as the client saves it: its number (a draft's name)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", invoice.get("number") or invoice["name"])[:80] + ".pdf"


def pdf_key(tenant: str, invoice_id: str, version: int) -> str:
    return f"{tenant}/invoices/{invoice_id}/v{version}.pdf"


def _render(
    deps: Deps, tenant: str, invoice: dict[str, Any], business: dict[str, Any], customer: dict[str, Any] | None
) -> bytes:
    from invoicing.documents.pdf import render_pdf

    view = view_model(deps, tenant, invoice, business, customer)
    if invoice["status"] == "draft":
        return render_pdf(view)  # not an invoice yet: no number, nothing to declare
    return render_pdf(view, facturx_of(invoice, view, payment_terms=view["payment_terms"], notes=view["legal_notes"]))


def facturx_of(document: dict[str, Any], view: dict[str, Any], **cii: Any) -> FacturX | None:
    """The document's EN 16931 data, for its PDF to carry (Factur-X),
    embedded as the PDF is written (no second pass over the file). None for
    a document the standard cannot express (a line with two taxes): its PDF
    stays a plain PDF/A, and the log says why."""
    from invoicing.documents.facturx import cii_xml
    from invoicing.documents.pdf import FacturX
    from invoicing.domain.einvoice import NotRepresentable, cii_data

    try:
        data = cii_data(document, **cii)
    except NotRepresentable as reason:
        logger.warning("no Factur-X data", extra={"number": document.get("number"), "reason": str(reason)})
        return None
    seller = view["seller"]["name"] or ""
    return FacturX(cii_xml(data), subject=f"{view['title']} {document['number']} — {seller}")


def parties(deps: Deps, tenant: str, invoice: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The business and the customer as they are now (an issued invoice
    shows its snapshots instead)."""
    customer = deps.store.get(tenant, "customer", invoice["customer_id"]) if invoice.get("customer_id") else None
    return catalog.get_business(deps, tenant), customer


def view_model(
    deps: Deps, tenant: str, invoice: dict[str, Any], business: dict[str, Any], customer: dict[str, Any] | None
) -> dict[str, Any]:
    from invoicing.documents.view import invoice_view
    from invoicing.logic.logo import logo_bytes

    seller = invoice.get("business") or business
    return invoice_view(invoice, business, customer, logo=logo_bytes(deps, tenant, seller.get("logo")))


# -- Estimates (devis, SPEC §11): the invoice's documents, without Factur-X or an Object Lock ------------


def estimate_preview(deps: Deps, tenant: str, estimate_id: str) -> str:
    """The estimate as HTML, drafts included (with today's business and
    customer; a numbered estimate shows its snapshots)."""
    from invoicing.documents.html import render_html
    from invoicing.logic.estimates import load

    estimate = load(deps, tenant, estimate_id)
    return render_html(estimate_view_model(deps, tenant, estimate, *_estimate_parties(deps, tenant, estimate)))


def estimate_pdf_link(deps: Deps, tenant: str, estimate_id: str) -> dict[str, Any] | Pending:
    """A short-lived link to the PDF of the estimate's current version (as
    an invoice's: `_link`)."""
    return _link(deps, tenant, _estimate_pdf(deps, tenant, estimate_id))


def store_estimate_pdf(deps: Deps, tenant: str, estimate_id: str) -> tuple[dict[str, Any], str]:
    """Render the estimate's current version into the bucket unless it is
    there: the estimate, and the object's key (what its e-mail attaches and
    its public page links). A draft is no document yet: it is rendered on
    demand (`estimate_preview`, `estimate_pdf_link`), never stored as a
    version of the estimate."""
    pdf = _estimate_pdf(deps, tenant, estimate_id)
    if pdf.document["status"] == "draft":
        raise IllegalTransition("store the PDF of", "draft", "estimate")
    _store(deps, pdf)
    return pdf.document, pdf.key


def on_estimate_event(deps: Deps, detail: dict[str, Any]) -> str:
    """An estimate was sent (numbered) or accepted: store the PDF of its
    current version, the one its client received, then the one with the
    "Bon pour accord" block filled. Re-reads the estimate, as `on_event`
    does an invoice: a late or repeated event renders at most what is
    missing."""
    tenant, estimate_id = detail["tenant_id"], detail["estimate_id"]
    try:
        pdf = _estimate_pdf(deps, tenant, estimate_id)
    except NotFound:
        return "gone"
    if pdf.document["version"] < detail["version"]:  # reads are consistent: versions only grow
        raise RuntimeError(f"read version {pdf.document['version']}, older than the event's {detail['version']}")
    return "rendered" if _store(deps, pdf) else "present"


def estimate_pdf_key(tenant: str, estimate_id: str, version: int) -> str:
    return f"{tenant}/estimates/{estimate_id}/v{version}.pdf"


def estimate_view_model(
    deps: Deps,
    tenant: str,
    estimate: dict[str, Any],
    business: dict[str, Any] | None = None,
    customer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The estimate's view-model (documents.view.estimate_view), with the
    seller's logo; `business` and `customer` are a draft's, as they are now."""
    from invoicing.documents.view import estimate_view
    from invoicing.logic.logo import logo_bytes

    seller = estimate.get("business") or business or {}
    return estimate_view(estimate, logo_bytes(deps, tenant, seller.get("logo")), business, customer)


def _estimate_parties(
    deps: Deps, tenant: str, estimate: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A draft's business and customer as they are now; a numbered estimate
    has its snapshots, and nothing is read."""
    return parties(deps, tenant, estimate) if estimate["status"] == "draft" else (None, None)


def _estimate_pdf(deps: Deps, tenant: str, estimate_id: str) -> _Pdf:
    """The PDF of the estimate's current version, `{tenant}/estimates/{id}/v{version}.pdf`:
    accepting it makes a new version, so the PDF with the block filled sits
    beside the one the client received, never over it. A draft's shows
    today's business and customer: their versions are in its key, as in an
    invoice draft's."""
    from invoicing.logic.estimates import load  # its models load with it: only when an estimate is asked

    estimate = load(deps, tenant, estimate_id)
    business, customer = _estimate_parties(deps, tenant, estimate)
    key = estimate_pdf_key(tenant, estimate_id, estimate["version"])
    if business is not None:
        key = key.removesuffix(".pdf") + f"-draft-b{business['version']}-c{(customer or {}).get('version', 0)}.pdf"
    return _Pdf("estimate", estimate, key, lambda: _render_estimate(deps, tenant, estimate, business, customer))


def _render_estimate(
    deps: Deps,
    tenant: str,
    estimate: dict[str, Any],
    business: dict[str, Any] | None,
    customer: dict[str, Any] | None,
) -> bytes:
    from invoicing.documents.pdf import render_estimate

    return render_estimate(estimate_view_model(deps, tenant, estimate, business, customer))
