"""Attachments (SPEC §5, issue 3 §5): a pre-signed POST, a confirm that
re-checks the stored object's size and bytes, at most 10 per invoice,
listed on the invoice and its PDF, frozen once the invoice is issued."""

from __future__ import annotations

import os

import boto3
import pytest

from tests.conftest import not_hooks
from tests.integration.conftest import PDF_BYTES, attach

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
BUCKET = os.environ["DOCUMENTS_BUCKET"]


def keys(prefix: str = "") -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def reserve(api, invoice_id: str, **body):
    payload = {"filename": "bon.pdf", "content_type": "application/pdf", "size": 1000, **body}
    return api.post(f"/invoices/{invoice_id}/attachments", payload)


@pytest.mark.on_aws
def test_a_pdf_uploaded_and_confirmed_is_listed_on_the_invoice_and_downloadable(api, draft):
    reserved = attach(api, draft["id"], confirm=False)
    form = reserved.body["upload"]

    confirmed = api.post(f"/invoices/{draft['id']}/attachments/{reserved.body['id']}/confirm")

    assert reserved.headers["Location"].endswith(f"/invoices/{draft['id']}/attachments/{reserved.body['id']}")
    assert form["fields"]["key"] == f"pending/acme/invoices/{draft['id']}/attachments/{reserved.body['id']}"
    assert form["fields"]["Content-Type"] == "application/pdf"
    assert "policy" in form["fields"]
    assert confirmed.status == 200, confirmed.body
    assert confirmed.body["filename"] == "bon-de-commande.pdf"
    assert confirmed.body["size"] == len(PDF_BYTES)
    invoice = api.get(f"/invoices/{draft['id']}").body
    assert [item["id"] for item in invoice["attachments"]] == [reserved.body["id"]]
    assert "uploads" not in invoice
    assert api.get(f"/invoices/{draft['id']}/attachments").body["items"] == invoice["attachments"]
    assert keys() == [f"attachments/acme/invoices/{draft['id']}/{reserved.body['id']}"]  # out of pending/
    link = api.get(f"/invoices/{draft['id']}/attachments/{reserved.body['id']}")
    assert link.status == 200
    assert "X-Amz-Signature=" in link.body["url"]
    assert "response-content-disposition=attachment" in link.body["url"]


@pytest.mark.on_aws
def test_the_upload_policy_fixes_the_key_the_type_and_the_20_mib_limit(api, draft):
    import base64
    import json

    form = reserve(api, draft["id"]).body["upload"]

    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    assert ["content-length-range", 1, 20 * MiB] in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert {"key": form["fields"]["key"]} in policy["conditions"]


def test_a_declared_size_over_20_mib_is_refused_at_once_and_nothing_is_reserved(api, draft):
    reply = reserve(api, draft["id"], size=20 * MiB + 1)

    assert reply.status == 413
    assert reply.error_fields == ["size"]
    assert api.get(f"/invoices/{draft['id']}").body["version"] == draft["version"]


@pytest.mark.on_aws
def test_a_21_mib_upload_is_refused_at_confirm_and_the_object_is_gone(api, draft):
    reserved = attach(api, draft["id"], data=b"%PDF-1.7\n" + b"0" * (21 * MiB), confirm=False, declared_size=MiB)

    reply = api.post(f"/invoices/{draft['id']}/attachments/{reserved.body['id']}/confirm")

    assert reply.status == 413
    assert reply.error_fields == ["size"]
    assert keys() == []
    assert api.get(f"/invoices/{draft['id']}").body["attachments"] == []
    # its place is given back: ten more fit
    for _ in range(10):
        assert reserve(api, draft["id"]).status == 201


def test_a_pdf_named_like_an_executable_is_refused_when_reserved(api, draft):
    reply = reserve(api, draft["id"], filename="facture.pdf.exe")

    assert reply.status == 415
    assert reply.error_fields == ["filename"]


@pytest.mark.on_aws
def test_an_executable_declared_as_a_pdf_is_refused_at_confirm_and_deleted(api, draft):
    executable = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 500
    reserved = attach(api, draft["id"], data=executable, filename="facture.pdf", confirm=False)

    reply = api.post(f"/invoices/{draft['id']}/attachments/{reserved.body['id']}/confirm")

    assert reply.status == 415
    assert reply.error_fields == ["content_type"]
    assert keys() == []
    assert api.get(f"/invoices/{draft['id']}/attachments").body["items"] == []


@pytest.mark.parametrize(
    ("content_type", "filename"),
    [("application/x-msdownload", "setup.exe"), ("text/html", "page.html"), ("image/svg+xml", "logo.svg")],
)
def test_types_outside_pdf_images_and_office_are_refused(api, draft, content_type, filename):
    reply = reserve(api, draft["id"], content_type=content_type, filename=filename)

    assert reply.status == 415
    assert reply.error_fields == ["content_type"]


@pytest.mark.parametrize(
    ("content_type", "filename", "head"),
    [
        ("image/png", "photo.png", b"\x89PNG\r\n\x1a\n"),
        ("image/jpeg", "photo.JPG", b"\xff\xd8\xff\xe0"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "temps.xlsx", b"PK\x03\x04"),
        ("application/msword", "devis.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    ],
)
def test_images_and_office_documents_are_taken(api, draft, content_type, filename, head):
    reply = attach(api, draft["id"], data=head + b"\x00" * 100, filename=filename, content_type=content_type)

    assert reply.status == 200, reply.body


def test_an_open_document_is_taken_and_a_plain_zip_declared_as_one_is_not(api, draft):
    import io
    import zipfile

    def odt(mimetype: str) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)
            archive.writestr("content.xml", "<office:document-content/>")
        return buffer.getvalue()

    kind = "application/vnd.oasis.opendocument.text"
    assert attach(api, draft["id"], odt(kind), "lettre.odt", kind).status == 200
    assert attach(api, draft["id"], odt("application/x-evil"), "autre.odt", kind).status == 415


def test_the_11th_attachment_is_a_409_pending_uploads_included(api, draft):
    for _ in range(5):
        assert attach(api, draft["id"]).status == 200
    for _ in range(5):
        assert reserve(api, draft["id"]).status == 201

    eleventh = reserve(api, draft["id"])

    assert eleventh.status == 409
    assert "at most 10" in eleventh.body["error"]["message"]


def test_an_expired_upload_no_longer_takes_a_place(api, draft):
    from invoicing.adapters.live import deps

    for _ in range(10):
        assert reserve(api, draft["id"]).status == 201
    store = deps().store
    doc = store.get("acme", "invoice", draft["id"])
    expired = [{**item, "expires_at": "2020-01-01T00:00:00+00:00"} for item in doc["uploads"]]
    store.replace(
        "acme", "invoice", {**doc, "uploads": expired, "version": doc["version"] + 1},
        expected_version=doc["version"], old_name=None, new_name=None,
    )  # fmt: skip

    assert reserve(api, draft["id"]).status == 201
    assert len(store.get("acme", "invoice", draft["id"])["uploads"]) == 1  # the expired ones are dropped


def test_confirming_before_uploading_is_a_409_and_confirming_twice_answers_the_same(api, draft):
    reserved = reserve(api, draft["id"])
    early = api.post(f"/invoices/{draft['id']}/attachments/{reserved.body['id']}/confirm")
    assert early.status == 409
    assert "upload" in early.body["error"]["message"]

    done = attach(api, draft["id"])
    again = api.post(f"/invoices/{draft['id']}/attachments/{done.body['id']}/confirm")

    assert again.status == 200
    assert again.body == done.body
    assert len(api.get(f"/invoices/{draft['id']}").body["attachments"]) == 1


def test_an_unknown_attachment_is_a_404(api, draft):
    for reply in (
        api.post(f"/invoices/{draft['id']}/attachments/att_nope/confirm"),
        api.get(f"/invoices/{draft['id']}/attachments/att_nope"),
        api.delete(f"/invoices/{draft['id']}/attachments/att_nope"),
    ):
        assert reply.status == 404


def test_a_pending_upload_cannot_be_downloaded(api, draft):
    reserved = attach(api, draft["id"], confirm=False)

    assert api.get(f"/invoices/{draft['id']}/attachments/{reserved.body['id']}").status == 404


@pytest.mark.on_aws
def test_deleting_an_attachment_takes_it_off_the_draft_and_out_of_the_bucket(api, draft):
    done = attach(api, draft["id"])

    reply = api.delete(f"/invoices/{draft['id']}/attachments/{done.body['id']}")

    assert reply.status == 204
    assert api.get(f"/invoices/{draft['id']}").body["attachments"] == []
    assert keys() == []


def test_an_issued_invoice_keeps_its_attachments_and_takes_no_new_one(api, business, draft):
    done = attach(api, draft["id"])
    pending = attach(api, draft["id"], confirm=False)
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body

    assert [item["id"] for item in issued["attachments"]] == [done.body["id"]]
    for reply in (
        reserve(api, draft["id"]),
        api.post(f"/invoices/{draft['id']}/attachments/{pending.body['id']}/confirm"),
        api.delete(f"/invoices/{draft['id']}/attachments/{done.body['id']}"),
    ):
        assert reply.status == 409, reply.body
        assert reply.body["error"]["code"] == "invoice_not_editable"
    assert api.get(f"/invoices/{draft['id']}/attachments/{done.body['id']}").status == 200  # still downloadable


@pytest.mark.on_aws
def test_an_empty_upload_is_refused_at_confirm_and_gives_its_place_back(api, draft):
    """The emulation takes an empty POST despite the policy's 1-byte minimum."""
    reserved = attach(api, draft["id"], data=b"", confirm=False, declared_size=10)

    reply = api.post(f"/invoices/{draft['id']}/attachments/{reserved.body['id']}/confirm")

    assert (reply.status, reply.error_fields) == (422, ["size"])
    assert keys() == []
    for _ in range(10):
        assert reserve(api, draft["id"]).status == 201


@pytest.mark.on_aws
def test_the_file_checked_is_the_file_kept_even_if_the_form_is_used_again(api, draft, monkeypatch):
    """The upload form stays valid a while: a second POST after the check
    must not slip an unchecked file in. Confirm copies the version it checked."""
    from invoicing.adapters.s3 import S3Blobs

    reserved = attach(api, draft["id"], confirm=False)
    key = reserved.body["upload"]["fields"]["key"]
    original_copy = S3Blobs.copy

    def swap_then_copy(self, source, target, content_type, version=None):
        boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"MZ\x90\x00 an executable")
        return original_copy(self, source, target, content_type, version)

    monkeypatch.setattr(S3Blobs, "copy", swap_then_copy)
    reply = api.post(f"/invoices/{draft['id']}/attachments/{reserved.body['id']}/confirm")

    assert reply.status == 200
    stored = f"attachments/acme/invoices/{draft['id']}/{reserved.body['id']}"
    assert boto3.client("s3").get_object(Bucket=BUCKET, Key=stored)["Body"].read() == PDF_BYTES


@pytest.mark.on_aws
def test_deleting_a_draft_removes_its_files_through_the_bus(api, draft):
    done = attach(api, draft["id"])
    other = api.post("/invoices", {"name": "Autre", "lines": []}).body
    kept = attach(api, other["id"])
    api.deliver_events()

    assert api.delete(f"/invoices/{draft['id']}").status == 204
    delivered = not_hooks(api.deliver_events())

    assert delivered == [("attachments", {"deleted": 1})]
    assert keys() == [f"attachments/acme/invoices/{other['id']}/{kept.body['id']}"]
    assert done.body["id"] not in " ".join(keys())


@pytest.mark.on_aws
def test_a_purge_event_for_a_live_invoice_deletes_nothing(api, draft):
    attach(api, draft["id"])
    event = {"detail-type": "Invoice Deleted", "source": "invoicing",
             "detail": {"tenant_id": "acme", "invoice_id": draft["id"], "version": 1}}  # fmt: skip

    assert api.invoke_function("attachments", event) == {"deleted": 0}
    assert len(keys("attachments/")) == 1


def test_deleting_a_draft_without_files_publishes_nothing(api):
    draft = api.post("/invoices", {"name": "Vide", "lines": []}).body

    assert api.delete(f"/invoices/{draft['id']}").status == 204
    assert not_hooks(api.deliver_events()) == []  # only the CRM's invoice.created and invoice.deleted


def test_a_duplicate_starts_without_attachments(api, draft):
    attach(api, draft["id"])

    copy = api.post(f"/invoices/{draft['id']}/duplicate").body

    assert copy["attachments"] == []


def test_a_reservation_retried_with_the_same_idempotency_key_takes_one_place(api, draft):
    headers = {"Idempotency-Key": "attach-1"}
    body = {"filename": "bon.pdf", "content_type": "application/pdf", "size": 1000}

    first = api.post(f"/invoices/{draft['id']}/attachments", body, headers=headers)
    second = api.post(f"/invoices/{draft['id']}/attachments", body, headers=headers)

    assert first.status == second.status == 201
    assert first.body["id"] == second.body["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    from invoicing.adapters.live import deps

    assert len(deps().store.get("acme", "invoice", draft["id"])["uploads"]) == 1


@pytest.mark.on_aws
def test_the_pdf_and_the_preview_list_the_attachments(api, business, draft):
    import io

    import pypdf

    attach(api, draft["id"], filename="Bon de commande été.pdf")
    issued = api.post(f"/invoices/{draft['id']}/mark-sent").body

    preview = api.get(f"/invoices/{draft['id']}/preview").body
    link = api.get(f"/invoices/{draft['id']}/pdf").body
    key = f"acme/invoices/{draft['id']}/v{issued['version']}.pdf"
    data = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)

    assert link["version"] == issued["version"]
    assert "Bon de commande été.pdf" in preview
    assert "Bon de commande été.pdf" in text
    assert "Pièces jointes" in text
