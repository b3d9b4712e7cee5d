"""Use cases of attachments (SPEC §5): files a business joins to a draft —
a purchase order, a timesheet, photos of the work.

The client uploads straight to S3 with a pre-signed POST, then confirms. An
upload is reserved on the invoice first (`uploads`, not shown) so that the
limit of 10 per invoice counts pending ones; confirming measures the stored
object and reads its first bytes, because neither the emulation nor a
client can be trusted to have kept to the POST policy. What breaks a limit
is deleted and refused. Confirmed files are listed on the invoice (and its
PDF) and move out of `pending/`, where unconfirmed uploads expire.

Attachments belong to the document: they change with a draft, like its
lines, and are frozen when it is issued. Every change bumps the invoice's
version under the same optimistic lock as a PATCH, so concurrent requests
can neither exceed the limit nor lose a file.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from invoicing.domain import files, lifecycle
from invoicing.domain.errors import Conflict, InvalidInput, NotFound, StaleVersion, TooLarge, UnsupportedType
from invoicing.domain.lifecycle import Status
from invoicing.logic.common import Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.models.invoices import AttachmentIn
from invoicing.ports import BlobStore, Doc, MissingBlob

UPLOAD_FORM_TTL_S = 900
PENDING_TTL = timedelta(days=1)  # the bucket's lifecycle rule expires pending/ objects after a day
LINK_TTL_S = 300


def pending_key(tenant: str, invoice_id: str, attachment_id: str) -> str:
    return f"pending/{tenant}/invoices/{invoice_id}/attachments/{attachment_id}"


def stored_key(tenant: str, invoice_id: str, attachment_id: str) -> str:
    """Under attachments/: the bucket expires what is deleted there (its
    noncurrent versions) a few weeks later, and nothing else."""
    return f"{invoice_prefix(tenant, invoice_id)}{attachment_id}"


def invoice_prefix(tenant: str, invoice_id: str) -> str:
    return f"attachments/{tenant}/invoices/{invoice_id}/"


def request_upload(deps: Deps, tenant: str, invoice_id: str, data: AttachmentIn) -> Doc:
    """Reserve a place for the file and answer the form that uploads it."""
    if data.size > files.MAX_BYTES:
        raise TooLarge(f"a file is at most {files.MAX_BYTES:,} bytes (20 MiB)", "size")
    problem = files.declared_problem(data.filename, data.content_type)
    if problem:
        raise UnsupportedType(problem[1], problem[0])
    attachment_id = deps.new_id("att")
    now = deps.now()
    upload = {
        "id": attachment_id,
        "filename": data.filename,
        "content_type": data.content_type,
        "size": data.size,
        "requested_at": deps.timestamp(),
        "expires_at": (now + PENDING_TTL).isoformat(),
    }

    def reserve(invoice: Doc) -> Doc | None:
        uploads = _live_uploads(invoice, now)
        if len(uploads) + len(invoice.get("attachments", [])) >= files.MAX_PER_INVOICE:
            raise Conflict(
                f"an invoice has at most {files.MAX_PER_INVOICE} attachments, uploads not yet confirmed "
                "included (those expire after a day); delete one first"
            )
        return {**invoice, "uploads": [*uploads, upload]}

    _change(deps, tenant, invoice_id, reserve)
    form = _blobs(deps).upload_form(
        pending_key(tenant, invoice_id, attachment_id), data.content_type, files.MAX_BYTES, UPLOAD_FORM_TTL_S
    )
    shown = {key: upload[key] for key in ("id", "filename", "content_type", "size")}
    return {**shown, "status": "pending", "upload": form, "expires_in": UPLOAD_FORM_TTL_S}


def confirm(deps: Deps, tenant: str, invoice_id: str, attachment_id: str) -> Doc:
    """Check the uploaded file and list it on the invoice. Confirming again
    answers the same attachment."""
    blobs = _blobs(deps)
    invoice = _load(deps, tenant, invoice_id)
    done = _confirmed(invoice, attachment_id)
    if done:
        return done
    lifecycle.ensure_editable(Status(invoice["status"]))
    upload = _upload(invoice, attachment_id, deps.now())
    source = pending_key(tenant, invoice_id, attachment_id)
    target = stored_key(tenant, invoice_id, attachment_id)
    try:
        size = _checked_copy(deps, tenant, invoice_id, upload, source, target)
    except MissingBlob:
        # Nothing uploaded yet — or a concurrent confirm listed it and moved
        # the file, or a concurrent delete took it.
        current = _load(deps, tenant, invoice_id)
        done = _confirmed(current, attachment_id)
        if done:
            return done
        _upload(current, attachment_id, deps.now())
        raise Conflict("nothing was uploaded for this attachment yet: POST the file to upload.url first") from None
    attachment = {
        "id": attachment_id,
        "filename": upload["filename"],
        "content_type": upload["content_type"],
        "size": size,
        "uploaded_at": deps.timestamp(),
    }

    def list_it(current: Doc) -> Doc | None:
        if _confirmed(current, attachment_id):
            return None  # a concurrent confirm did it
        _upload(current, attachment_id, deps.now())
        return {
            **current,
            "uploads": [item for item in current.get("uploads", []) if item["id"] != attachment_id],
            "attachments": [*current.get("attachments", []), attachment],
        }

    try:
        invoice = _change(deps, tenant, invoice_id, list_it)
    except (Conflict, NotFound):
        if not _confirmed(deps.store.get(tenant, "invoice", invoice_id) or {}, attachment_id):
            blobs.delete(target)  # the copy of a file the invoice does not list
        raise
    blobs.delete(source)
    return _confirmed(invoice, attachment_id) or attachment


def list_attachments(deps: Deps, tenant: str, invoice_id: str) -> list[Doc]:
    attachments: list[Doc] = _load(deps, tenant, invoice_id).get("attachments", [])
    return attachments


def link(deps: Deps, tenant: str, invoice_id: str, attachment_id: str) -> Doc:
    """The attachment and a short-lived link that downloads it."""
    attachment = _confirmed(_load(deps, tenant, invoice_id), attachment_id)
    if attachment is None:
        raise NotFound("attachment")
    url = _blobs(deps).download_url(
        stored_key(tenant, invoice_id, attachment_id),
        attachment["filename"],
        LINK_TTL_S,
        content_type=attachment["content_type"],
        inline=False,
    )
    return {**attachment, "url": url, "expires_in": LINK_TTL_S}


def delete(deps: Deps, tenant: str, invoice_id: str, attachment_id: str) -> None:
    """Take a file off a draft (confirmed, or a pending upload)."""
    invoice = _load(deps, tenant, invoice_id)
    if not _confirmed(invoice, attachment_id):
        _upload(invoice, attachment_id, deps.now())  # 404 when it is neither

    def drop(current: Doc) -> Doc | None:
        kept = [item for item in current.get("attachments", []) if item["id"] != attachment_id]
        uploads = [item for item in current.get("uploads", []) if item["id"] != attachment_id]
        if len(kept) == len(current.get("attachments", [])) and len(uploads) == len(current.get("uploads", [])):
            raise NotFound("attachment")  # a concurrent delete took it
        return {**current, "attachments": kept, "uploads": uploads}

    _change(deps, tenant, invoice_id, drop)
    blobs = _blobs(deps)
    blobs.delete(stored_key(tenant, invoice_id, attachment_id))
    blobs.delete(pending_key(tenant, invoice_id, attachment_id))


def purge(deps: Deps, tenant: str, invoice_id: str) -> int:
    """A draft was deleted: take its files out of the bucket (their bytes
    expire with the bucket's rule for deleted attachments). Only once the
    invoice is gone, so an event can never empty a live invoice. The
    number of files deleted."""
    if deps.store.get(tenant, "invoice", invoice_id) is not None:
        return 0
    blobs = _blobs(deps)
    keys = blobs.list_keys(invoice_prefix(tenant, invoice_id))
    for key in keys:
        blobs.delete(key)
    return len(keys)


# -- helpers ------------------------------------------------------------------


def _checked_copy(deps: Deps, tenant: str, invoice_id: str, upload: Doc, source: str, target: str) -> int:
    """Measure and sniff the upload; refuse (delete, free its place) what
    breaks a limit, else copy it out of pending/. Its size; MissingBlob
    when there is no upload."""
    blobs = _blobs(deps)
    stored = blobs.stat(source)
    if stored is None:
        raise MissingBlob(source)
    if stored.size == 0:
        _refuse(deps, tenant, invoice_id, upload["id"])
        raise InvalidInput.of("size", "the uploaded file is empty; it was deleted")
    if stored.size > files.MAX_BYTES:
        _refuse(deps, tenant, invoice_id, upload["id"])
        raise TooLarge(
            f"the file is {stored.size:,} bytes, over the {files.MAX_BYTES:,} (20 MiB) limit; it was deleted", "size"
        )
    head = blobs.head_bytes(source, files.SNIFF_BYTES, stored.version)
    if not files.content_matches(upload["content_type"], head):
        _refuse(deps, tenant, invoice_id, upload["id"])
        raise UnsupportedType(
            f"the file's content is not {upload['content_type']} as declared; it was deleted", "content_type"
        )
    # The version checked, not whatever the upload form (valid a while longer) stored since.
    blobs.copy(source, target, upload["content_type"], stored.version)
    return stored.size


def _refuse(deps: Deps, tenant: str, invoice_id: str, attachment_id: str) -> None:
    """Delete the upload and give its place back."""
    _blobs(deps).delete(pending_key(tenant, invoice_id, attachment_id))

    def forget(current: Doc) -> Doc | None:
        uploads = [item for item in current.get("uploads", []) if item["id"] != attachment_id]
        if len(uploads) == len(current.get("uploads", [])):
            return None
        return {**current, "uploads": uploads}

    _change(deps, tenant, invoice_id, forget)


def _change(deps: Deps, tenant: str, invoice_id: str, edit: Any) -> Doc:
    """Apply `edit` (current draft → new document, or None for no change)
    under the invoice's version, reading again when another write won."""

    def attempt() -> Doc:
        current = _load(deps, tenant, invoice_id)
        lifecycle.ensure_editable(Status(current["status"]))
        changed = edit(current)
        if changed is None:
            return current
        doc = {**changed, "version": current["version"] + 1, "updated_at": deps.timestamp()}
        try:
            deps.store.replace(
                tenant,
                "invoice",
                doc,
                expected_version=current["version"],
                old_name=None,
                new_name=None,
                require_draft=True,
            )
        except StaleVersion:
            raise LostRace from None
        return doc

    return until_written(attempt, "the invoice is changing too often to add or remove a file now")


def _load(deps: Deps, tenant: str, invoice_id: str) -> Doc:
    invoice = deps.store.get(tenant, "invoice", invoice_id)
    if invoice is None:
        raise NotFound("invoice")
    return invoice


def _blobs(deps: Deps) -> BlobStore:
    assert deps.blobs is not None, "the attachments function has a bucket"
    return deps.blobs


def _confirmed(invoice: Doc, attachment_id: str) -> Doc | None:
    return next((item for item in invoice.get("attachments", []) if item["id"] == attachment_id), None)


def _live_uploads(invoice: Doc, now: datetime) -> list[Doc]:
    return [item for item in invoice.get("uploads", []) if datetime.fromisoformat(item["expires_at"]) > now]


def _upload(invoice: Doc, attachment_id: str, now: datetime) -> Doc:
    upload = next((item for item in _live_uploads(invoice, now) if item["id"] == attachment_id), None)
    if upload is None:
        raise NotFound("attachment")
    return upload
