"""Search and sort of lists (SPEC §14): `q`, date ranges and `sort` on
invoices and estimates, `q` on customers and products.

The store answers what its indexes can: a range of issue dates and the
issue-date order (`by_date`: numbers follow dates, so the order of
numbers is the same), every other filter beside each item read of the
tenant's partition. Due dates and amounts due are no index's order: a
list sorted by them reads every matching document of the tenant (at
most MAX_SORTED; more must be narrowed first) and answers a page of the
sorted whole, its cursor an offset.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from invoicing.domain.errors import FieldError, InvalidInput
from invoicing.domain.search import due_of, words
from invoicing.logic.common import Deps, every_page
from invoicing.logic.retry import time_left_ms
from invoicing.ports import Doc, InvoiceQuery, PageOf

MAX_SORTED = 2_000  # documents a list sorted by due date or amount reads at most
_INDEXED = {"issue_date": "issue_date", "-issue_date": "-issue_date", "number": "issue_date", "-number": "-issue_date"}
_READ = 200  # per query while reading a list to sort
_RESERVE_MS = 3_000  # what a request sorting a list keeps to answer


class Search(NamedTuple):
    """What a list was asked to find and in which order (its query's words
    not folded yet)."""

    q: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    due_from: date | None = None
    due_to: date | None = None
    sort: str | None = None
    due_name: str = "due"  # the due range's parameters: an estimate's are valid_from and valid_to

    def narrowed(self, query: InvoiceQuery) -> InvoiceQuery:
        """The store's query with these filters (ranges checked)."""
        _check_range("issued", self.issued_from, self.issued_to)
        _check_range(self.due_name, self.due_from, self.due_to)
        return query._replace(
            words=words(self.q or ""),
            issued_from=_iso(self.issued_from),
            issued_to=_iso(self.issued_to),
            due_from=_iso(self.due_from),
            due_to=_iso(self.due_to),
            order=_INDEXED.get(self.sort or ""),
        )


def find(
    deps: Deps, tenant: str, kind: str, query: InvoiceQuery, search: Search, *, limit: int, cursor: str | None
) -> PageOf:
    """A page of the tenant's documents of `kind` that the query and the search find, in the order asked."""
    narrowed = search.narrowed(query)
    if search.sort is None or search.sort in _INDEXED:
        return deps.store.list(tenant, kind, limit=limit, cursor=cursor, query=narrowed)
    found = _all(deps, tenant, kind, narrowed, search.sort)
    found.sort(key=_SORT_KEYS[search.sort.lstrip("-")], reverse=search.sort.startswith("-"))
    if search.sort.lstrip("-") == "due_date":  # those without a due date last, whichever the direction
        found = [doc for doc in found if due_of(doc)] + [doc for doc in found if not due_of(doc)]
    start = _offset(cursor, search.sort)
    end = start + limit
    return PageOf(found[start:end], _cursor(search.sort, end) if end < len(found) else None)


def _all(deps: Deps, tenant: str, kind: str, query: InvoiceQuery, sort: str) -> list[Doc]:
    def read(cursor: str | None) -> PageOf:
        left = time_left_ms()
        if left is not None and left < _RESERVE_MS:  # reading them would outlast the request
            raise InvalidInput.of("sort", f"too many documents to sort by {sort.lstrip('-')} in time: narrow them "
                                  "(q, dates, status, customer), or sort by issue_date")  # fmt: skip
        return deps.store.list(tenant, kind, limit=_READ, cursor=cursor, query=query)

    found: list[Doc] = []
    for doc in every_page(read):
        found.append(doc)
        if len(found) > MAX_SORTED:
            raise InvalidInput.of(
                "sort", f"more than {MAX_SORTED:,} documents match: narrow them (q, dates, status, customer) "
                f"to sort by {sort.lstrip('-')}, or sort by issue_date",
            )  # fmt: skip
    return found


def _due_key(doc: Doc) -> tuple[str, str]:
    return (due_of(doc) or "", doc["id"])


def _amount_key(doc: Doc) -> tuple[Decimal, str]:
    return (Decimal(doc.get("amount_due") or (doc.get("totals") or {}).get("total") or 0), doc["id"])


_SORT_KEYS: dict[str, Callable[[Doc], tuple]] = {"due_date": _due_key, "amount_due": _amount_key}  # type: ignore[type-arg]


def _cursor(sort: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(["sorted", sort, offset]).encode()).decode().rstrip("=")


def _offset(cursor: str | None, sort: str) -> int:
    if cursor is None:
        return 0
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        parts = None
    if not (isinstance(parts, list) and len(parts) == 3 and parts[:2] == ["sorted", sort]
            and type(parts[2]) is int and parts[2] >= 0):  # fmt: skip
        raise InvalidInput.of("cursor", "not a cursor this list returned")
    offset: int = parts[2]
    return offset


def _check_range(name: str, start: date | None, end: date | None) -> None:
    if start and end and start > end:
        raise InvalidInput([FieldError(f"{name}_from", f"after {name}_to ({end.isoformat()})")])


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
