"""The invoice lifecycle of SPEC §6."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from invoicing.domain import lifecycle
from invoicing.domain.errors import IllegalTransition, InvoiceNotEditable
from invoicing.domain.lifecycle import Status

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("status", [Status.OPEN, Status.PARTIALLY_PAID, Status.PAID, Status.VOID])
def test_only_drafts_are_editable(status):
    lifecycle.ensure_editable(Status.DRAFT)
    with pytest.raises(InvoiceNotEditable):
        lifecycle.ensure_editable(status)


def test_finalizing_a_draft_is_needed_an_issued_one_is_a_no_op_and_a_void_one_refused():
    assert lifecycle.needs_finalization(Status.DRAFT)
    assert not any(lifecycle.needs_finalization(s) for s in (Status.OPEN, Status.PARTIALLY_PAID, Status.PAID))
    with pytest.raises(IllegalTransition):
        lifecycle.needs_finalization(Status.VOID)


@pytest.mark.parametrize("status", [Status.DRAFT, Status.PAID, Status.VOID])
def test_only_unpaid_issued_invoices_can_be_voided(status):
    lifecycle.ensure_voidable(Status.OPEN)
    lifecycle.ensure_voidable(Status.PARTIALLY_PAID)
    with pytest.raises(IllegalTransition):
        lifecycle.ensure_voidable(status)


def test_finalization_lists_every_problem_at_once():
    problems = lifecycle.finalization_problems(
        has_business=False,
        has_customer=False,
        line_count=0,
        issue_date=date(2026, 11, 27),
        due_date=date(2026, 11, 1),
        today=date(2026, 11, 27),
        last_issue_date=None,
    )
    assert [p.field for p in problems] == ["business.legal_name", "customer_id", "lines", "due_date"]


def issue_date_problems(issue: date, last: date | None) -> list[str]:
    problems = lifecycle.finalization_problems(
        has_business=True,
        has_customer=True,
        line_count=1,
        issue_date=issue,
        due_date=issue,
        today=date(2026, 11, 27),
        last_issue_date=last,
    )
    return [p.field for p in problems]


def test_numbers_follow_dates_no_issue_date_before_the_last_one_nor_in_the_future():
    assert issue_date_problems(date(2026, 11, 27), date(2026, 11, 27)) == []
    assert issue_date_problems(date(2026, 11, 20), None) == []
    assert issue_date_problems(date(2026, 11, 20), date(2026, 11, 21)) == ["issue_date"]
    assert issue_date_problems(date(2026, 11, 28), None) == ["issue_date"]


def test_overdue_is_derived_from_due_date_balance_and_status():
    today = date(2026, 12, 1)
    assert lifecycle.is_overdue(Status.OPEN, date(2026, 11, 30), D("1"), today)
    assert not lifecycle.is_overdue(Status.OPEN, date(2026, 12, 1), D("1"), today)  # due today is not late
    assert not lifecycle.is_overdue(Status.OPEN, date(2026, 11, 30), D("0"), today)
    assert not lifecycle.is_overdue(Status.VOID, date(2026, 11, 30), D("1"), today)
    assert not lifecycle.is_overdue(Status.DRAFT, date(2026, 11, 30), D("1"), today)


def test_amount_due_counts_late_fees_payments_and_credit_notes():
    due = lifecycle.amount_due(D("100.00"), late_fees_total=D("1.50"), amount_paid=D("40.00"), credited=D("10.00"))
    assert due == D("51.50")


def test_names_are_unique_regardless_of_case_spacing_and_unicode_form():
    assert lifecycle.name_key("  Acme   SAS ") == lifecycle.name_key("acme sas")
    assert lifecycle.name_key("Cafe\u0301") == lifecycle.name_key("Café")
    # a variation selector changes no letter: "Dupont" with one is the same name (a look-alike otherwise)
    assert lifecycle.name_key("Dupont\ufe00") == lifecycle.name_key("Dupont")
    assert lifecycle.name_key("Dupont\U000e0100") == lifecycle.name_key("dupont")


def test_numbers_and_copy_names():
    assert lifecycle.invoice_number("F-2026-", 7) == "F-2026-7"
    assert [lifecycle.copy_name("Devis", n) for n in (1, 2)] == ["Devis (copie)", "Devis (copie 2)"]
    assert lifecycle.default_due_date(date(2026, 11, 27), 30) == date(2026, 12, 27)


FRENCH_ADDRESS = {"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"}


@pytest.mark.parametrize(
    ("business", "customer", "missing"),
    [
        ({"address": FRENCH_ADDRESS, "siren": "732829320", "vat_number": "FR44732829320"}, {"address": {"x": 1}}, []),
        ({}, {}, ["business.address", "business.siren", "business.vat_number", "customer.address"]),
        ({"address": FRENCH_ADDRESS, "vat_franchise": True}, {"address": {"x": 1}}, ["business.siren"]),
        ({"address": {**FRENCH_ADDRESS, "country": "BE"}, "vat_number": "BE0403170701"}, {"address": {"x": 1}}, []),
    ],
    ids=["complete", "name-only", "franchise-without-siren", "belgian-seller"],
)
def test_legal_problems_name_each_missing_mention(business, customer, missing):
    assert [problem.field for problem in lifecycle.legal_problems(business, customer)] == missing
