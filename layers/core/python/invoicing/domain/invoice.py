"""An invoice as the domain reasons about it (SPEC §6): what it charges, how
it is to be paid, what was paid, credited and added in late fees — and what
follows from these: what it still owes, where each instalment stands, the
status its amounts give it, the day its next payment is due, whether it is
overdue, and the days the scheduled sweeps next have work for it.

`Invoice.of` is the one place that reads a stored invoice's amounts and
dates; `settled`, `planned` and `voided` are the one place that writes what
is derived from them back into the stored document. Every use case goes
through these: none re-derives "what does it owe".

Both an invoice and a credit note (`CreditNote`) are a `Document`
(domain.document): its number, lines, totals and groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from invoicing.domain import credits, late_fees, reminders, schedule
from invoicing.domain.document import Document, Item, document_fields
from invoicing.domain.lifecycle import BUSINESS_TIMEZONE, UNPAID, Status, amount_due, is_overdue
from invoicing.domain.money import ZERO, format_amount
from invoicing.domain.payments import InstalmentPosition, Paid, allocate, status_of


def day_of(timestamp: str) -> date:
    """The day in France of an ISO timestamp (…Z)."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(BUSINESS_TIMEZONE).date()


@dataclass(frozen=True)
class CreditNote(Document):
    """A credit note (avoir, SPEC §7): a numbered document of its own that
    takes its total off the invoice it names."""

    invoice_id: str

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> CreditNote:
        """The credit note a stored document holds."""
        return cls(**document_fields(item), invoice_id=item["invoice_id"])


class Payment(NamedTuple):
    id: str
    amount: Decimal
    refunded: Decimal
    instalment_id: str | None
    cancelled: bool

    @property
    def counted(self) -> Decimal:
        """What it pays toward the invoice: its amount less refunds; nothing once cancelled."""
        return ZERO if self.cancelled else self.amount - self.refunded


class Schedule(NamedTuple):
    kind: str  # "percentage" | "fixed" (domain.schedule)
    planned: tuple[schedule.Instalment, ...]


class Reminding(NamedTuple):
    """The invoice's reminder settings and the reminders already done."""

    enabled: bool
    offsets: tuple[int, ...]
    done: frozenset[str]


@dataclass(frozen=True)
class Invoice(Document):
    status: Status
    due_date: date | None
    credited: Decimal  # what its credit notes took off
    payments: tuple[Payment, ...]
    fees: tuple[late_fees.Fee, ...]  # the late fees applied, a period each
    schedule: Schedule | None
    late_fee_policy: late_fees.Policy | None
    reminding: Reminding
    fees_from: date | None  # no fee for periods before (its amount became unpaid again then)
    credited_groups: tuple[credits.Group, ...]  # what each credit note took, group by group

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Invoice:
        """The invoice a stored document holds."""
        plan = item.get("payment_schedule")
        settings = item.get("reminders") or {}
        return cls(
            **document_fields(item),
            status=Status(item["status"]),
            due_date=_date(item.get("due_date")),
            credited=Decimal(item.get("credited") or 0),
            payments=tuple(
                Payment(
                    p["id"],
                    Decimal(p["amount"]),
                    Decimal(p.get("amount_refunded") or 0),
                    p.get("instalment_id"),
                    p.get("status") == "cancelled",
                )
                for p in item.get("payments") or []
            ),
            fees=tuple(late_fees.Fee(e["period"], Decimal(e["amount"])) for e in item.get("late_fee_entries") or []),
            schedule=schedule_of(plan) if plan else None,  # fmt: skip
            late_fee_policy=policy_of(item.get("late_fees")),
            reminding=Reminding(
                bool(settings.get("enabled")),
                tuple(settings.get("offsets") or reminders.DEFAULT_OFFSETS),
                frozenset(item.get("reminders_done") or ()),
            ),
            fees_from=_date(item.get("fees_from")),
            credited_groups=tuple(
                credits.Group(
                    tuple((name, Decimal(rate)) for name, rate in entry["taxes"]),
                    Decimal(entry["base"]),
                    Decimal(entry["tax"]),
                )
                for entry in item.get("credited_groups") or ()
            ),
        )

    # -- what it owes ---------------------------------------------------------------

    @property
    def late_fees_total(self) -> Decimal:
        return sum((fee.amount for fee in self.fees), ZERO)

    @property
    def amount_paid(self) -> Decimal:
        return sum((payment.counted for payment in self.payments), ZERO)

    @property
    def balance(self) -> Decimal:
        """What it asks, late fees included, less what was paid and credited:
        negative when more was paid than it asks (two clients paying at once)."""
        return amount_due(self.total, late_fees_total=self.late_fees_total, amount_paid=self.amount_paid,
                          credited=self.credited)  # fmt: skip

    @property
    def amount_due(self) -> Decimal:
        return max(self.balance, ZERO)

    @property
    def amount_overpaid(self) -> Decimal:
        return max(-self.balance, ZERO)

    @property
    def left_to_credit(self) -> Decimal:
        """What credit notes may still take off it: its total less what they took."""
        return self.total - self.credited

    def groups_left(self) -> list[credits.Group]:
        """Its groups (lines by taxes), less what its credit notes took from each."""
        return credits.left(self.groups(), self.credited_groups)

    def credited_in_full_by(self, note: CreditNote) -> bool:
        """Whether this credit note takes off all its credit notes had left to take."""
        return note.total >= self.left_to_credit

    @property
    def principal_unpaid(self) -> Decimal:
        """What is unpaid of the invoice itself, late fees apart."""
        return self.total - self.amount_paid - self.credited

    def status_from_amounts(self) -> Status:
        """The status its amounts give an issued invoice (a draft or a void one keeps its own)."""
        return status_of(self.status, self.amount_paid, self.balance)

    def due_after(self, payment_id: str) -> Decimal:
        """What it still asked right after this payment: its amounts as they
        stand, less the payments up to this one (a receipt sent late still
        tells the client where that payment left the invoice)."""
        paid = ZERO
        for payment in self.payments:
            paid += payment.counted
            if payment.id == payment_id:
                break
        return max(self.total + self.late_fees_total - self.credited - paid, ZERO)

    # -- its schedule -----------------------------------------------------------------

    def instalments(self) -> list[InstalmentPosition]:
        """Each instalment with what it asks and has received (none without a
        schedule): the payments fill the instalment they name first, then the
        earliest unpaid; what a credit note took comes off the last ones."""
        if self.schedule is None:
            return []
        amounts = schedule.amounts(self.schedule.kind, self.schedule.planned, self.total, self.currency)
        amounts = schedule.less_credited(amounts, self.credited)
        return allocate(amounts, [Paid(p.counted, p.instalment_id) for p in self.payments if not p.cancelled])

    def _instalments_due(self) -> list[tuple[date, Decimal]]:
        """Each instalment's due date and what it still asks (none without a schedule)."""
        if self.schedule is None:
            return []
        positions = self.instalments()
        return [
            (item.due_date, position.amount_due)
            for item, position in zip(self.schedule.planned, positions, strict=True)
        ]

    def next_due_date(self) -> date | None:
        """The day its next payment is due: its earliest unpaid instalment's,
        else its own due date (None before it has one)."""
        if self.due_date is None:
            return None
        return schedule.next_due_date([(day, not due) for day, due in self._instalments_due()], self.due_date)

    def is_unpaid(self) -> bool:
        return self.status in UNPAID and self.amount_due > 0 and self.due_date is not None

    @property
    def payment_processing(self) -> bool:
        """A payment of it is on its way (a SEPA Direct Debit takes days to
        succeed or fail): nobody chases its client meanwhile — no late fee,
        no reminder — and once it fails, the sweeps catch up."""
        return bool(self.stored.get("payment_processing"))

    def is_overdue(self, today: date) -> bool:
        """Unpaid after the day its next payment was due (derived, never stored)."""
        next_due = self.next_due_date() if self.status in UNPAID else None
        return is_overdue(self.status, next_due, self.amount_due, today)

    def overdue_base(self, today: date) -> Decimal:
        """What a percentage late fee is charged on: what is unpaid of the
        invoice itself, or with a schedule, of the instalments already due."""
        due = self._instalments_due()
        if not due:
            return self.principal_unpaid
        return sum((left for day, left in due if day < today and left > 0), ZERO)

    def deadlines(self) -> list[reminders.Deadline]:
        """The instalments with their state, or the invoice's own due date."""
        if self.schedule is not None:
            return [
                reminders.Deadline(position.id, item.due_date, position.status == "paid")
                for item, position in zip(self.schedule.planned, self.instalments(), strict=True)
            ]
        assert self.due_date is not None
        return [reminders.Deadline("invoice", self.due_date, self.amount_due <= 0)]

    # -- the sweeps' work -------------------------------------------------------------

    def fee_periods(self) -> set[str]:
        """The periods already charged a late fee."""
        return {fee.period for fee in self.fees}

    def late_fees_due(self, today: date) -> list[late_fees.Fee]:
        """The late fees it owes as of `today` and has not been charged yet."""
        next_due = self.next_due_date()
        if self.late_fee_policy is None or self.status not in UNPAID or next_due is None or self.payment_processing:
            return []
        return late_fees.fees_due(self.late_fee_policy, next_due, self.fee_periods(), self.overdue_base(today),
                                  today, self.currency, self.fees_from)  # fmt: skip

    def reminders_due(self, today: date) -> tuple[list[reminders.Reminder], list[str]]:
        """The reminders to send today, and those whose day passed unsent (done, never sent late)."""
        if not self.reminding.enabled or self.status not in UNPAID or self.payment_processing:
            return [], []
        return reminders.due_now(self.deadlines(), self.reminding.offsets, set(self.reminding.done), today)

    def sweep_dates(self) -> tuple[date | None, date | None]:
        """The days the late-fee and reminder sweeps next have work for it (None: none)."""
        next_due = self.next_due_date() if self.is_unpaid() else None
        if next_due is None or self.payment_processing:
            return None, None
        fee_on = reminder_on = None
        policy = self.late_fee_policy
        # a fee that would be nothing (a value of 0, a rate of a tiny balance) is no work
        if policy is not None and late_fees.fee_amount(policy, self.principal_unpaid, self.currency) > 0:
            fee_on = late_fees.next_fee_date(policy, next_due, self.fee_periods(), self.fees_from)
        if self.reminding.enabled:
            reminder_on = reminders.next_reminder_date(
                self.deadlines(), self.reminding.offsets, set(self.reminding.done)
            )
        return fee_on, reminder_on

    def overdue_sweep_date(self) -> date | None:
        """The day the overdue sweep marks it overdue (`overdue_at`: SPEC §13's
        `invoice.overdue`, once per invoice): the day after its next payment
        was due, while it is unpaid and no payment of it is on its way (one
        that fails brings the day back, already past: the next run catches
        up). None once marked: nothing unmarks it."""
        next_due = self.next_due_date() if self.is_unpaid() else None
        if next_due is None or self.payment_processing or self.stored.get("overdue_at"):
            return None
        return next_due + timedelta(days=1)


def schedule_of(plan: Mapping[str, Any]) -> Schedule:
    """A document's `payment_schedule` (a draft's too: its instalments by date)."""
    return Schedule(
        plan["type"],
        tuple(
            schedule.Instalment(date.fromisoformat(i["due_date"]), Decimal(str(i["value"])))
            for i in plan["instalments"]
        ),
    )


def policy_of(settings: Mapping[str, Any] | None) -> late_fees.Policy | None:
    """The late-fee policy of an invoice's `late_fees` settings (None when off)."""
    if not settings or not settings.get("enabled"):
        return None
    frequency = settings.get("frequency") or {}
    return late_fees.Policy(
        kind=settings.get("type", "percentage"),
        value=Decimal(str(settings.get("value", 0))),
        interval=frequency.get("interval", "month"),
        interval_count=int(frequency.get("interval_count", 1)),
        grace_days=int(settings.get("grace_days", 0)),
        max_fees=settings.get("max_fees"),
    )


# -- writing back what is derived --------------------------------------------------------


def planned(item: Item) -> Item:
    """The document with the day its next payment is due (what overdue,
    late fees and reminders follow, SPEC §6.2) and the days the sweeps next
    have work for it."""
    invoice = Invoice.of(item)
    next_due = invoice.next_due_date() if invoice.is_unpaid() else None
    fee_on, reminder_on = invoice.sweep_dates()
    return {
        **item,
        "next_due_date": _iso(next_due),
        "sweep_late_fees_on": _iso(fee_on),
        "sweep_reminders_on": _iso(reminder_on),
        "sweep_overdue_on": _iso(invoice.overdue_sweep_date()),
    }


def settled(item: Item, now: str) -> Item:
    """The document, a new version as of `now`, with the amounts and status
    its payments, credits and late fees give it. An amount that became
    unpaid again after being settled (a refund) owes no fee for the periods
    before."""
    invoice = Invoice.of(item)  # its payments, credits and fees as they now are
    currency = invoice.currency
    status = invoice.status_from_amounts()
    after = {
        **item,
        "amount_paid": format_amount(invoice.amount_paid, currency),
        # Stripe may take more than is due (two clients paying at once): nothing is
        # due, and the business sees what to give back
        "amount_due": format_amount(invoice.amount_due, currency),
        "amount_overpaid": format_amount(invoice.amount_overpaid, currency),
        "status": status.value,
        "paid_at": (item.get("paid_at") or now) if status is Status.PAID else None,
        "updated_at": now,
        "version": item["version"] + 1,
    }
    # the stored amounts are those of the last version: what was unpaid before this change
    if _principal_stored(item) <= 0 < invoice.principal_unpaid and item.get("status") != Status.DRAFT.value:
        after["fees_from"] = day_of(now).isoformat()
    return planned(after)


def stored_groups(groups: list[credits.Group]) -> list[Item]:
    """Groups as an invoice's `credited_groups` keeps them (`Invoice.of` reads them back)."""
    return [
        {
            "taxes": [[name, f"{rate:f}"] for name, rate in group.taxes],
            "base": f"{group.base:f}",
            "tax": f"{group.tax:f}",
        }
        for group in groups
    ]


def _principal_stored(item: Item) -> Decimal:
    """What is unpaid of the invoice itself as the document says it."""
    paid = Decimal(item.get("amount_paid") or 0) + Decimal(item.get("credited") or 0)
    return Decimal(item["totals"]["total"]) - paid


def voided(item: Item, now: str) -> Item:
    """A void invoice asks nothing, its late fees included (they go with
    it); what its client paid beyond what its credit notes left is owed back."""
    currency = item["currency"]
    kept = Invoice.of(item).left_to_credit  # what its credit notes left of it
    return planned(
        {
            **item,
            "status": Status.VOID.value,
            "voided_at": now,
            "paid_at": None,
            "amount_due": format_amount(ZERO, currency),
            "amount_overpaid": format_amount(max(Decimal(item.get("amount_paid") or 0) - kept, ZERO), currency),
        }
    )


def instalments_shown(item: Item) -> list[Item] | None:
    """The schedule's instalments as the API shows them (SPEC §6.1): what
    each asks, has received and still needs; None without a schedule."""
    plan = item.get("payment_schedule")
    if not plan:
        return None
    currency = item["currency"]
    return [
        {
            **stored,
            "id": position.id,
            "amount": format_amount(position.amount, currency),
            "amount_paid": format_amount(position.amount_paid, currency),
            "amount_due": format_amount(position.amount_due, currency),
            "status": position.status,
        }
        for stored, position in zip(plan["instalments"], Invoice.of(item).instalments(), strict=True)
    ]


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
