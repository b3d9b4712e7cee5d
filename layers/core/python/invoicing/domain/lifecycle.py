"""The invoice's lifecycle and the rules around it (SPEC §6).

draft → open → partially_paid → paid; open | partially_paid → void.
Only drafts change; an issued invoice is a legal document and changes only
through payments, late fees and voiding. Overdue is derived, never stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from invoicing.domain.errors import FieldError, IllegalTransition, InvoiceNotEditable

BUSINESS_TIMEZONE = ZoneInfo("Europe/Paris")  # where the businesses are: their days are France's


class Status(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


ISSUED = frozenset({Status.OPEN, Status.PARTIALLY_PAID, Status.PAID})
UNPAID = frozenset({Status.OPEN, Status.PARTIALLY_PAID})


def ensure_editable(status: Status) -> None:
    if status is not Status.DRAFT:
        raise InvoiceNotEditable(status)


def needs_finalization(status: Status) -> bool:
    """Whether finalizing changes anything: a draft is finalized, an issued
    invoice is already final (finalizing again is a no-op), a void one can
    never be."""
    if status is Status.VOID:
        raise IllegalTransition("finalize", status)
    return status is Status.DRAFT


def ensure_voidable(status: Status) -> None:
    if status not in UNPAID:
        raise IllegalTransition("void", status)


def finalization_problems(
    *,
    has_business: bool,
    has_customer: bool,
    line_count: int,
    issue_date: date,
    due_date: date,
    today: date,
    last_issue_date: date | None,
) -> list[FieldError]:
    """What stops a draft from becoming a legal invoice, every reason at once."""
    problems = numbering_problems("invoice", has_business, has_customer, line_count, issue_date, today, last_issue_date)
    if due_date < issue_date:
        problems.append(FieldError("due_date", "the due date is before the issue date"))
    return problems


def numbering_problems(
    document: str,
    has_business: bool,
    has_customer: bool,
    line_count: int,
    issue_date: date,
    today: date,
    last_issue_date: date | None,
) -> list[FieldError]:
    """What stops a draft document (an invoice, an estimate) from taking the
    next number of its series. Numbers follow dates (French law wants
    numbering continuous and chronological): no issue date before the last
    numbered document's, none in the future."""
    article = "an" if document[:1] in "aeiou" else "a"
    problems = []
    if issue_date > today:
        problems.append(FieldError("issue_date", f"{article} {document} cannot be issued with a future date"))
    if last_issue_date is not None and issue_date < last_issue_date:
        problems.append(
            FieldError(
                "issue_date",
                f"before the last issued {document}'s date ({last_issue_date.isoformat()}): numbers must follow dates",
            )
        )
    if not has_business:
        problems.append(FieldError("business.legal_name", "set the business profile (PUT /business) first"))
    if not has_customer:
        problems.append(FieldError("customer_id", f"{article} {document} is issued to a customer"))
    if line_count == 0:
        problems.append(FieldError("lines", f"{article} {document} has at least one line"))
    return problems


def legal_problems(
    business: Mapping[str, Any], customer: Mapping[str, Any], lines: Sequence[Mapping[str, Any]] = ()
) -> list[FieldError]:
    """What a French invoice must name and the profiles lack (CGI ann. II
    art. 242 nonies A, C. com. L441-9): the seller's address and SIREN (a
    French seller's), its VAT number unless it is under franchise en base,
    the client's address, and a French business client's SIREN (CGI art.
    242 nonies A as the e-invoicing reform amends it, rule BR-FR-12). Every missing item at once. A seller under
    franchise en base charges no VAT (art. 293 B du CGI): no line may."""
    problems = []
    if business.get("vat_franchise"):
        problems += [
            FieldError(f"lines.{i}.taxes", "the business is under franchise en base (vat_franchise): it charges no VAT")
            for i, line in enumerate(lines)
            if any(Decimal(str(tax["rate"])) for tax in line.get("taxes") or [])
        ]
    address = business.get("address")
    if not address:
        problems.append(FieldError("business.address", "the seller's address is a mandatory mention: PUT /business"))
    if not business.get("siren") and (not address or address.get("country") == "FR"):
        problems.append(FieldError("business.siren", "a French seller's SIREN is a mandatory mention: PUT /business"))
    if not business.get("vat_number") and not business.get("vat_franchise"):
        problems.append(
            FieldError(
                "business.vat_number",
                "the seller's VAT number is a mandatory mention, unless it is under franchise en base "
                "(vat_franchise: true): PUT /business",
            )
        )
    if not customer.get("address"):
        problems.append(
            FieldError("customer.address", "the client's address is a mandatory mention: PATCH the customer")
        )
    french = (customer.get("address") or {}).get("country") == "FR"
    if french and customer.get("kind", "business") == "business" and not customer.get("siren"):
        problems.append(
            FieldError(
                "customer.siren",
                "a French business client's SIREN is a mandatory mention (e-invoicing reform): PATCH the customer, "
                "or make it kind individual if it is a private person",
            )
        )
    return problems


def default_due_date(issue_date: date, payment_terms_days: int) -> date:
    return issue_date + timedelta(days=payment_terms_days)


def invoice_number(prefix: str, sequence: int) -> str:
    """`{prefix}{sequence}`: INV-1, INV-2, … (strictly increasing, no gaps)."""
    return f"{prefix}{sequence}"


def amount_due(total: Decimal, *, late_fees_total: Decimal, amount_paid: Decimal, credited: Decimal) -> Decimal:
    return total + late_fees_total - amount_paid - credited


def is_overdue(status: Status, due_date: date | None, amount_due: Decimal, today: date) -> bool:
    return status in UNPAID and due_date is not None and due_date < today and amount_due > 0


# Characters that change no letter a reader sees (variation selectors, which
# emoji need and names may keep; Mongolian and Khmer ones that show nothing):
# a name with them is the same name as without.
_IGNORED = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef\u180b-\u180f\u17b4\u17b5]")


def name_key(name: str) -> str:
    """The form under which names are unique per tenant: "Acme  SAS",
    "acme sas" and "Acme SAS" with a variation selector are the same name
    to a person, so they are to us."""
    return " ".join(_IGNORED.sub("", unicodedata.normalize("NFKC", name)).casefold().split())


def numbered_name(name: str, attempt: int, max_length: int = 200) -> str:
    """ "X (2)", "X (3)", … — the original shortened if need be."""
    suffix = f" ({attempt})"
    return name[: max_length - len(suffix)].rstrip() + suffix


def copy_name(name: str, attempt: int, max_length: int = 200) -> str:
    """Name of a duplicate: "X (copie)", then "X (copie 2)", … — the original
    shortened if need be, so the suffix always fits."""
    suffix = " (copie)" if attempt == 1 else f" (copie {attempt})"
    return name[: max_length - len(suffix)].rstrip() + suffix
