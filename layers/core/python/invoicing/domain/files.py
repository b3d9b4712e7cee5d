"""Which files an invoice may carry, and how to tell what a file really is.

A file is taken when its declared type is one of TYPES, its name ends with
one of that type's extensions, and its first bytes are that type's
signature. The name and the declared type come from the client; the bytes
are what was stored, so they decide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

MAX_BYTES = 20 * 1024 * 1024  # 20 MiB per file
MAX_PER_INVOICE = 10  # pending uploads included
SNIFF_BYTES = 128  # an OpenDocument's media type ends near byte 80

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office (Compound File Binary)


def _starts(*signatures: bytes) -> Callable[[bytes], bool]:
    return lambda head: any(head.startswith(signature) for signature in signatures)


def _webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _open_document(mimetype: bytes) -> Callable[[bytes], bool]:
    """An OpenDocument file is a zip whose first entry is `mimetype`,
    stored uncompressed, holding its media type: both sit in the first bytes."""
    return lambda head: head.startswith(_ZIP) and head[30:38] == b"mimetype" and mimetype in head


class FileType(NamedTuple):
    extensions: tuple[str, ...]
    matches: Callable[[bytes], bool]
    label: str


_OOXML = "application/vnd.openxmlformats-officedocument"
_ODF = "application/vnd.oasis.opendocument"
TYPES: dict[str, FileType] = {
    "application/pdf": FileType((".pdf",), _starts(b"%PDF-"), "PDF"),
    "image/png": FileType((".png",), _starts(b"\x89PNG\r\n\x1a\n"), "PNG"),
    "image/jpeg": FileType((".jpg", ".jpeg"), _starts(b"\xff\xd8\xff"), "JPEG"),
    "image/gif": FileType((".gif",), _starts(b"GIF87a", b"GIF89a"), "GIF"),
    "image/webp": FileType((".webp",), _webp, "WebP"),
    f"{_OOXML}.wordprocessingml.document": FileType((".docx",), _starts(_ZIP), "Word"),
    f"{_OOXML}.spreadsheetml.sheet": FileType((".xlsx",), _starts(_ZIP), "Excel"),
    f"{_OOXML}.presentationml.presentation": FileType((".pptx",), _starts(_ZIP), "PowerPoint"),
    f"{_ODF}.text": FileType((".odt",), _open_document(f"{_ODF}.text".encode()), "OpenDocument text"),
    f"{_ODF}.spreadsheet": FileType((".ods",), _open_document(f"{_ODF}.spreadsheet".encode()), "OpenDocument sheet"),
    f"{_ODF}.presentation": FileType(
        (".odp",), _open_document(f"{_ODF}.presentation".encode()), "OpenDocument presentation"
    ),
    "application/msword": FileType((".doc",), _starts(_OLE), "Word 97-2003"),
    "application/vnd.ms-excel": FileType((".xls",), _starts(_OLE), "Excel 97-2003"),
    "application/vnd.ms-powerpoint": FileType((".ppt",), _starts(_OLE), "PowerPoint 97-2003"),
}


def declared_problem(filename: str, content_type: str) -> tuple[str, str] | None:
    """(field, reason) when the declared name and type are not taken."""
    kind = TYPES.get(content_type)
    if kind is None:
        return "content_type", "not a type invoices take: PDF, images (PNG, JPEG, GIF, WebP) or office documents"
    if not filename.lower().endswith(kind.extensions):
        return "filename", f"a {kind.label} file's name ends with {' or '.join(kind.extensions)}"
    return None


def content_matches(content_type: str, head: bytes) -> bool:
    """Whether the stored bytes start as the declared type's files do."""
    kind = TYPES.get(content_type)
    return kind is not None and kind.matches(head)


MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_PIXELS = 4000  # per side: a small file can declare a huge image, to be decoded at every render
LOGO_TYPES = ("image/png", "image/jpeg")


def logo_type(head: bytes) -> str | None:
    """The logo's type from its first bytes: PNG or JPEG, what fpdf2 and every browser draw."""
    return next((kind for kind in LOGO_TYPES if TYPES[kind].matches(head)), None)


def png_dimensions(head: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's header chunk (IHDR, always first)."""
    if not TYPES["image/png"].matches(head) or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
