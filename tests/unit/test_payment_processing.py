"""A payment on its way (SPEC §12: a SEPA Direct Debit takes days): while an
invoice shows one, the sweeps do not chase its client; once it is gone
(paid, or failed), they catch up. And the client's message when an
automatic payment failed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from invoicing.domain.invoice import Invoice, planned
from tests.unit.test_invoice_core import MONTHLY_FEES, item

pytestmark = pytest.mark.unit

PROCESSING = {"stripe_payment_intent": "pi_1", "method": "sepa_debit", "amount": "1200.00",
              "since": "2027-01-20T10:00:00Z"}  # fmt: skip
REMINDING = {"enabled": True, "offsets": [-3, 0, 7], "channels": ["email"]}


def overdue(**fields: Any) -> dict[str, Any]:
    """Due on 2026-12-27, with late fees and reminders on."""
    return item(late_fees=MONTHLY_FEES, reminders=REMINDING, **fields)


def test_given_a_debit_processing_when_the_late_fee_sweep_looks_then_no_fee_is_due():
    today = date(2027, 2, 1)

    assert Invoice.of(overdue()).late_fees_due(today) != []
    assert Invoice.of(overdue(payment_processing=PROCESSING)).late_fees_due(today) == []


def test_given_a_debit_processing_when_the_reminder_sweep_looks_then_no_reminder_is_due():
    today = date(2026, 12, 27)  # the due date: the reminder of the day

    assert Invoice.of(overdue()).reminders_due(today)[0] != []
    assert Invoice.of(overdue(payment_processing=PROCESSING)).reminders_due(today) == ([], [])


def test_while_a_debit_is_processing_the_sweeps_have_no_day_for_it_then_have_theirs_back():
    processing = planned(overdue(payment_processing=PROCESSING))
    cleared = planned({**processing, "payment_processing": None})

    assert (processing["sweep_late_fees_on"], processing["sweep_reminders_on"]) == (None, None)
    assert cleared["sweep_late_fees_on"] == "2026-12-28"
    assert cleared["sweep_reminders_on"] == "2026-12-24"
    assert cleared["next_due_date"] == processing["next_due_date"] == "2026-12-27"  # still due: it may fail


def test_the_payment_failed_message_says_so_in_french_with_the_page_to_pay():
    from email import message_from_bytes, policy

    from invoicing.documents import messages

    view = {
        "text": _french(),
        "number": "INV-7",
        "seller": {"name": "Acme SAS"},
        "lang": "fr",
        "totals": [{"label": "Net à payer", "amount": "1 398,00 €", "strong": True}],
        "due_date": "27/12/2026",
    }
    mime = messages.email(view, "https://pay.example/p/abc", "factures@invoicing.local", "compta@dupont.example",
                          b"%PDF-1.7", "INV-7.pdf", kind="payment_failed")  # fmt: skip

    message = message_from_bytes(mime, policy=policy.default)
    assert message["Subject"] == "Paiement non abouti : facture INV-7 d'Acme SAS, 1 398,00 € à régler"
    body = message.get_body(("plain",)).get_content()
    assert "Le paiement automatique de la facture INV-7 d'Acme SAS n'a pas abouti" in body
    assert "Voir et payer la facture : https://pay.example/p/abc" in body


def _french() -> dict[str, str]:
    import json
    from pathlib import Path

    from invoicing.documents import html

    text: dict[str, str] = json.loads((Path(html.TEMPLATES).parent / "locales" / "fr.json").read_text("utf-8"))
    return text
