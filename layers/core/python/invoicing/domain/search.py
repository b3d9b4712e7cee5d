"""What a search finds (SPEC §14): a document's words folded as a person
reads them — "Société Générale", "SOCIETE generale" and "société
générale" are the same words — so `q` matches whatever case and accents
the business types.

The folded text is stored beside each listed document (its number, its
name, its customer's name); `q` matches when every one of its words is
part of that text ("gén inv-4" finds INV-42 of Société Générale).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from invoicing.domain.errors import InvalidInput

MAX_WORDS = 6  # of a query: each is one more condition on every item read
MAX_QUERY = 100  # characters


def fold(text: str) -> str:
    """Lower case, no accents, no ligatures (œ → oe), single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss").split())


def words(query: str) -> tuple[str, ...]:
    """The words of a search, folded, each once, in their order; more than
    MAX_WORDS is refused (a search would silently find more than asked)."""
    found = tuple(dict.fromkeys(fold(query).split()))
    if len(found) > MAX_WORDS:
        raise InvalidInput.of("q", f"{MAX_WORDS} words at most")
    return found


def searchable(doc: Mapping[str, Any]) -> str:
    """What a listed document is found by: its number, its name, its
    customer's name (the snapshot once issued; a draft keeps the name its
    customer had when it was chosen), and a product's or customer's own
    name and e-mail."""
    customer = doc.get("customer") or {}
    parts = (
        doc.get("number"),
        doc.get("name"),
        customer.get("name") or doc.get("draft_customer_name"),
        doc.get("legal_name"),
        doc.get("email"),
    )
    return fold(" ".join(part for part in parts if isinstance(part, str)))


def matches(doc: Mapping[str, Any], found_by: tuple[str, ...]) -> bool:
    text = searchable(doc)
    return all(word in text for word in found_by)


def due_of(doc: Mapping[str, Any]) -> str | None:
    """The day a list's due-date range and order read: an invoice's due
    date, an estimate's last valid day."""
    due = doc.get("due_date") or doc.get("valid_until")
    return due if isinstance(due, str) else None
