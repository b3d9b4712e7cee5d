"""The business logo (issue 3 §2: "logo when the business has one"):
uploaded like an attachment, on every document issued after it, and frozen
on those issued before a change."""

from __future__ import annotations

import io
import os

import boto3
import pypdf
import pytest

from tests.conftest import BUSINESS

pytestmark = pytest.mark.integration

BUCKET = os.environ["DOCUMENTS_BUCKET"]


def png(color: str = "red", size: tuple[int, int] = (120, 40)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_logo(api, data: bytes, content_type: str = "image/png", declared: int | None = None, tenant="acme"):
    """Reserve, store where the form would, confirm: the confirm reply."""
    form = api.post("/business/logo", {"content_type": content_type, "size": declared or len(data)}, tenant=tenant)
    assert form.status == 201, form.body
    api.upload(form.body["upload"]["fields"]["key"], data)
    return api.post("/business/logo/confirm", {"id": form.body["id"]}, tenant=tenant)


def pdf_images(api, invoice_id: str) -> int:
    link = api.get(f"/invoices/{invoice_id}/pdf").body
    key = f"acme/invoices/{invoice_id}/v{link['version']}.pdf"
    data = api.objects()[key]
    return sum(len(page.images) for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def issue(api, customer, name: str) -> dict:
    from tests.conftest import SPEC_INVOICE

    draft = api.post("/invoices", {**SPEC_INVOICE, "name": name, "customer_id": customer["id"]}).body
    reply = api.post(f"/invoices/{draft['id']}/mark-sent")
    assert reply.status == 200, reply.body
    return reply.body


def test_a_logo_uploaded_is_on_the_profile_the_preview_and_the_pdf(api, business, customer):
    confirmed = upload_logo(api, png())

    assert confirmed.status == 200, confirmed.body
    assert confirmed.body["logo"]["content_type"] == "image/png"
    assert confirmed.body["version"] == business["version"] + 1
    invoice = issue(api, customer, "A")
    assert invoice["business"]["logo"] == confirmed.body["logo"]
    assert "data:image/png;base64," in api.get(f"/invoices/{invoice['id']}/preview").body
    assert pdf_images(api, invoice["id"]) == 1


def test_an_issued_invoice_keeps_the_logo_it_was_issued_with(api, business, customer):
    first = upload_logo(api, png("red")).body["logo"]
    before = issue(api, customer, "Before")

    second = upload_logo(api, png("blue")).body["logo"]
    api.delete("/business/logo")
    after = issue(api, customer, "After")

    assert first["id"] != second["id"]
    assert api.get(f"/invoices/{before['id']}").body["business"]["logo"] == first
    assert pdf_images(api, before["id"]) == 1
    assert after["business"]["logo"] is None
    assert pdf_images(api, after["id"]) == 0


def test_saving_the_profile_keeps_the_logo(api, business):
    logo = upload_logo(api, png()).body["logo"]

    saved = api.patch("/business", {"payment_terms_days": 15})

    assert saved.body["logo"] == logo


@pytest.mark.on_aws
def test_a_logo_over_512_kib_is_refused_declared_or_stored(api, business):
    declared = api.post("/business/logo", {"content_type": "image/png", "size": 512 * 1024 + 1})
    stored = upload_logo(api, png() + b"\0" * (600 * 1024), declared=1000)

    assert (declared.status, declared.error_fields) == (413, ["size"])
    assert (stored.status, stored.error_fields) == (413, ["size"])
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    assert api.get("/business").body["logo"] is None


@pytest.mark.on_aws
@pytest.mark.parametrize("data", [b"GIF89a" + b"\0" * 100, b"MZ\x90\x00" + b"\0" * 100, b"<svg></svg>"])
def test_anything_but_png_or_jpeg_bytes_is_refused_and_deleted(api, business, data):
    reply = upload_logo(api, data)

    assert (reply.status, reply.error_fields) == (415, ["content_type"])
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_jpeg_is_taken_even_when_declared_as_png(api, business):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (50, 50), "green").save(buffer, format="JPEG")

    reply = upload_logo(api, buffer.getvalue())

    assert reply.body["logo"]["content_type"] == "image/jpeg"  # what the bytes are


def test_a_broken_image_behind_a_png_signature_leaves_the_pdf_without_logo(api, business, customer):
    assert upload_logo(api, b"\x89PNG\r\n\x1a\n" + b"garbage" * 50).status == 200
    invoice = issue(api, customer, "Broken")

    assert pdf_images(api, invoice["id"]) == 0


@pytest.mark.on_aws
def test_confirming_twice_answers_the_same_profile(api, business):
    form = api.post("/business/logo", {"content_type": "image/png", "size": 100}).body
    boto3.client("s3").put_object(Bucket=BUCKET, Key=form["upload"]["fields"]["key"], Body=png())

    first = api.post("/business/logo/confirm", {"id": form["id"]})
    second = api.post("/business/logo/confirm", {"id": form["id"]})

    assert first.status == second.status == 200
    assert second.body["version"] == first.body["version"]


@pytest.mark.on_aws
def test_a_logo_needs_a_saved_profile_an_upload_and_a_well_formed_id(api):
    form = api.post("/business/logo", {"content_type": "image/png", "size": 100}).body
    boto3.client("s3").put_object(Bucket=BUCKET, Key=form["upload"]["fields"]["key"], Body=png())

    assert api.post("/business/logo/confirm", {"id": form["id"]}).status == 409  # no profile yet
    api.put("/business", BUSINESS)
    assert api.post("/business/logo/confirm", {"id": "logo_" + "0" * 26}).status == 409  # nothing uploaded
    bad = api.post("/business/logo/confirm", {"id": "../../etc/passwd"})
    assert (bad.status, bad.error_fields) == (422, ["id"])


def test_an_empty_logo_is_refused(api, business):
    reply = upload_logo(api, b"", declared=100)

    assert (reply.status, reply.error_fields) == (422, ["size"])


def test_a_png_too_large_to_decode_for_every_document_is_refused(api, business):
    """A few kilobytes can declare a huge image; its header says so."""
    reply = upload_logo(api, png("white", (5000, 10)))

    assert (reply.status, reply.error_fields) == (422, ["size"])
    assert api.get("/business").body["logo"] is None


def test_a_jpeg_too_large_to_decode_is_left_out_of_the_pdf(api, business, customer):
    """A JPEG's size is read by the renderer, which leaves such a logo out."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (4500, 20), 255).save(buffer, format="JPEG")
    assert upload_logo(api, buffer.getvalue(), "image/jpeg").status == 200

    invoice = issue(api, customer, "Huge")

    assert pdf_images(api, invoice["id"]) == 0


@pytest.mark.on_aws
def test_the_logo_is_kept_under_the_logos_folder(api, business):
    logo = upload_logo(api, png()).body["logo"]

    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]

    assert [item["Key"] for item in listed] == [f"logos/acme/{logo['id']}"]
