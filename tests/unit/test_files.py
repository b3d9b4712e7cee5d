"""Which files an invoice takes: declared name and type, then the bytes."""

from __future__ import annotations

import pytest

from invoicing.domain import files

pytestmark = pytest.mark.unit

PDF = "application/pdf"


@pytest.mark.parametrize(
    ("filename", "content_type", "problem"),
    [
        ("bon.pdf", PDF, None),
        ("BON.PDF", PDF, None),
        ("photo.jpeg", "image/jpeg", None),
        ("facture.pdf.exe", PDF, "filename"),
        ("setup.exe", "application/x-msdownload", "content_type"),
        ("page.html", "text/html", "content_type"),
    ],
)
def test_the_declared_name_must_end_as_the_declared_type_does(filename, content_type, problem):
    found = files.declared_problem(filename, content_type)

    assert (found[0] if found else None) == problem


@pytest.mark.parametrize(
    ("content_type", "head", "matches"),
    [
        (PDF, b"%PDF-1.7\n", True),
        (PDF, b"MZ\x90\x00", False),
        (PDF, b"", False),
        ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", True),
        ("image/webp", b"RIFF\x00\x00\x00\x00AVI LIST", False),
        ("image/gif", b"GIF89a", True),
        ("application/vnd.ms-excel", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", True),
        ("application/x-unknown", b"%PDF-", False),
    ],
)
def test_the_stored_bytes_decide(content_type, head, matches):
    assert files.content_matches(content_type, head) is matches


def test_a_logo_is_a_png_or_a_jpeg_and_a_png_tells_its_size():
    header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (5000).to_bytes(4, "big") + (10).to_bytes(4, "big")

    assert files.logo_type(header) == "image/png"
    assert files.logo_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert files.logo_type(b"GIF89a") is None
    assert files.png_dimensions(header) == (5000, 10)
    assert files.png_dimensions(b"\xff\xd8\xff\xe0") is None
