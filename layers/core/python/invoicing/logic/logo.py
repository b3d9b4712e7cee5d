"""Use cases of the business's logo: uploaded like an attachment (a
pre-signed POST under pending/, then a confirm that measures and sniffs
it), kept under a key of its own that is never overwritten or deleted —
an issued invoice names the logo it was issued with, for ever."""

from __future__ import annotations

from typing import Any

from invoicing.domain import files
from invoicing.domain.errors import Conflict, InvalidInput, StaleVersion, TooLarge, UnsupportedType
from invoicing.logic import catalog
from invoicing.logic.common import Deps
from invoicing.logic.retry import LostRace, until_written
from invoicing.models.resources import LogoIn
from invoicing.ports import BlobStore, Doc, MissingBlob

UPLOAD_FORM_TTL_S = 900


def pending_key(tenant: str, logo_id: str) -> str:
    return f"pending/{tenant}/business/logo/{logo_id}"


def stored_key(tenant: str, logo_id: str) -> str:
    return f"logos/{tenant}/{logo_id}"


def request_upload(deps: Deps, tenant: str, data: LogoIn) -> Doc:
    """The form that uploads a logo. Nothing is written: the confirm finds
    the file by its id and tells its type from its bytes."""
    if data.size > files.MAX_LOGO_BYTES:
        raise TooLarge(f"a logo is at most {files.MAX_LOGO_BYTES:,} bytes (512 KiB)", "size")
    logo_id = deps.new_id("logo")
    form = _blobs(deps).upload_form(
        pending_key(tenant, logo_id), data.content_type, files.MAX_LOGO_BYTES, UPLOAD_FORM_TTL_S
    )
    return {"id": logo_id, "content_type": data.content_type, "upload": form, "expires_in": UPLOAD_FORM_TTL_S}


def confirm(deps: Deps, tenant: str, logo_id: str) -> Doc:
    """Check the uploaded logo and make it the business's. The business
    profile answers, with its new version."""
    blobs = _blobs(deps)
    business = catalog.get_business(deps, tenant)
    if (business.get("logo") or {}).get("id") == logo_id:
        return business  # confirmed already
    if not business["version"]:
        raise Conflict("save the business profile (PUT /business) before its logo")
    source = pending_key(tenant, logo_id)
    try:
        stored = blobs.stat(source)
        if stored is None:
            raise MissingBlob(source)
        head = blobs.head_bytes(source, files.SNIFF_BYTES, stored.version)
        problem = _problem(stored.size, head)
        if problem:
            blobs.delete(source)
            raise problem
        content_type = files.logo_type(head)
        assert content_type is not None  # _problem checked it
        # The version checked, not whatever the upload form stored since.
        blobs.copy(source, stored_key(tenant, logo_id), content_type, stored.version)
    except MissingBlob:
        business = catalog.get_business(deps, tenant)
        if (business.get("logo") or {}).get("id") == logo_id:
            return business  # a concurrent confirm moved it
        raise Conflict("nothing was uploaded for this logo: POST the file to upload.url first") from None
    size = stored.size
    logo = {"id": logo_id, "content_type": content_type, "size": size, "uploaded_at": deps.timestamp()}
    business = _set_logo(deps, tenant, logo)
    blobs.delete(source)
    return business


def remove(deps: Deps, tenant: str) -> None:
    """The documents issued from now on have no logo; those issued before
    keep theirs (its object stays)."""
    if catalog.get_business(deps, tenant).get("logo"):
        _set_logo(deps, tenant, None)


def logo_bytes(deps: Deps, tenant: str, logo: dict[str, Any] | None) -> bytes | None:
    """The image a document shows, or None (no logo, or its file is gone)."""
    if not logo or deps.blobs is None:
        return None
    try:
        return deps.blobs.read(stored_key(tenant, logo["id"]))
    except MissingBlob:
        return None


def _problem(size: int, head: bytes) -> Exception | None:
    """Why the stored file cannot be the logo, if it cannot."""
    if size == 0:
        return InvalidInput.of("size", "the uploaded logo is empty; it was deleted")
    if size > files.MAX_LOGO_BYTES:
        return TooLarge(f"the logo is {size:,} bytes, over {files.MAX_LOGO_BYTES:,} (512 KiB); it was deleted", "size")
    if files.logo_type(head) is None:
        return UnsupportedType("a logo is a PNG or a JPEG image; the file was deleted", "content_type")
    dimensions = files.png_dimensions(head)
    if dimensions and max(dimensions) > files.MAX_LOGO_PIXELS:
        return InvalidInput.of(
            "size", f"a logo is at most {files.MAX_LOGO_PIXELS} pixels wide and high; it was deleted"
        )
    return None


def _set_logo(deps: Deps, tenant: str, logo: Doc | None) -> Doc:
    def attempt() -> Doc:
        current = catalog.get_business(deps, tenant)
        doc = {**current, "logo": logo, "version": current["version"] + 1, "updated_at": deps.timestamp()}
        try:
            deps.store.replace(
                tenant, "business", doc, expected_version=current["version"], old_name=None, new_name=None
            )
        except StaleVersion:
            raise LostRace from None
        return doc

    return until_written(attempt, "the business profile is changing too often to set its logo now")


def _blobs(deps: Deps) -> BlobStore:
    assert deps.blobs is not None, "the function has a bucket"
    return deps.blobs
