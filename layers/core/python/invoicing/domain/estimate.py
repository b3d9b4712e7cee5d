"""The estimate (devis, SPEC §11): its lifecycle and what may become of it.

draft → sent → accepted | declined | expired; accepted → invoiced.
Only a draft changes. Sending numbers it in its own gap-free series; its
client accepts or declines it on its public page until `valid_until`, after
which the daily sweep expires it. An accepted estimate is invoiced: deposit
invoices first if it asks a deposit, then the final invoice, which makes it
`invoiced`; or, without deposits, one invoice for the whole (`full`).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from invoicing.domain import lifecycle
from invoicing.domain.errors import FieldError, IllegalTransition, InvoiceNotEditable


class EstimateStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    INVOICED = "invoiced"


ANSWERABLE = frozenset({EstimateStatus.SENT})  # its client may still accept or decline it
SENDABLE = frozenset({EstimateStatus.DRAFT, EstimateStatus.SENT, EstimateStatus.ACCEPTED, EstimateStatus.INVOICED})

Kind = str  # "deposit" | "final" | "full": what an invoice made from an estimate is


def ensure_editable(status: EstimateStatus) -> None:
    if status is not EstimateStatus.DRAFT:
        raise InvoiceNotEditable(status, "estimate")


def ensure_sendable(status: EstimateStatus) -> None:
    """A declined or expired estimate is not sent again: the client said no, or it lapsed."""
    if status not in SENDABLE:
        raise IllegalTransition("send", status, "estimate")


def default_valid_until(issue_date: date, validity_days: int) -> date:
    return issue_date + timedelta(days=validity_days)


def expires_on(valid_until: date) -> date:
    """The day the sweep expires a sent estimate: the day after its last valid day."""
    return valid_until + timedelta(days=1)


def lapsed(status: EstimateStatus, valid_until: date | None, today: date) -> bool:
    """Sent and past its last valid day (expired, whether or not the sweep has run)."""
    return status is EstimateStatus.SENT and valid_until is not None and today > valid_until


def numbering_problems(
    *,
    has_business: bool,
    has_customer: bool,
    line_count: int,
    issue_date: date,
    valid_until: date,
    today: date,
    last_issue_date: date | None,
) -> list[FieldError]:
    """What stops a draft estimate from being numbered (sent), every reason
    at once: an invoice's (lifecycle.numbering_problems), and a validity
    that ends before it starts or is already over."""
    problems = lifecycle.numbering_problems(
        "estimate", has_business, has_customer, line_count, issue_date, today, last_issue_date
    )
    if valid_until < issue_date:
        problems.append(FieldError("valid_until", "before the issue date"))
    elif valid_until < today:
        problems.append(FieldError("valid_until", "already past: the estimate would be sent expired"))
    return problems


def conversion_problem(
    status: EstimateStatus, kind: Kind, made: list[Kind], deposit_left: Decimal | None
) -> str | None:
    """Why this estimate cannot be invoiced as `kind` now (None: it can).
    `made`: the kinds of the invoices already made from it; `deposit_left`:
    what of the total may still be asked as deposits (None: no deposit)."""
    if status is EstimateStatus.INVOICED:
        return "the estimate is invoiced already (its final invoice is made)"
    if status is not EstimateStatus.ACCEPTED:
        return f"only an accepted estimate is invoiced; this one is {status.value}"
    if kind == "full":
        if made:
            return "invoices were made from it already: make the final invoice (kind final)"
        return None
    if "full" in made or "final" in made:
        return "the estimate is invoiced already"
    if kind == "final":
        if "deposit" not in made:
            return "no deposit invoice was made from it: invoice the whole (kind full)"
        return None
    if deposit_left is not None and deposit_left <= 0:
        return "the deposit it asks is invoiced already: make the final invoice (kind final)"
    return None
