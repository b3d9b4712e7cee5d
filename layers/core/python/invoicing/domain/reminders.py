"""Payment reminders (SPEC §6 schedule, issue 6): before and after each
instalment's due date (the invoice's own, without a schedule), each at most
once, never for what is paid.

Pure, `today` an argument. A reminder is named by its instalment and its
offset (`ins_2:-3`: three days before the second instalment), the key that
makes it once. When the sweep did not run for a while, only the latest
reminder due for each instalment goes out; the older ones are passed over
(three messages at once about one instalment would help nobody).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import NamedTuple

DEFAULT_OFFSETS = (-3, 0, 7)


class Deadline(NamedTuple):
    id: str  # the instalment's id, or "invoice"
    due_date: date
    paid: bool


class Reminder(NamedTuple):
    key: str  # "{deadline id}:{offset}"
    deadline: str
    offset: int
    on: date


def reminders_of(deadlines: list[Deadline], offsets: tuple[int, ...]) -> list[Reminder]:
    """Every reminder of the unpaid deadlines, in date order."""
    found = [
        Reminder(f"{deadline.id}:{offset}", deadline.id, offset, deadline.due_date + timedelta(days=offset))
        for deadline in deadlines
        if not deadline.paid
        for offset in sorted(set(offsets))
    ]
    return sorted(found, key=lambda reminder: (reminder.on, reminder.key))


def due_now(deadlines: list[Deadline], offsets: tuple[int, ...], done: set[str], today: date) -> tuple[
    list[Reminder], list[str]
]:  # fmt: skip
    """What goes out today, and the older keys passed over: for each unpaid
    deadline, the latest reminder due and not done yet."""
    latest: dict[str, Reminder] = {}
    passed: list[str] = []
    for reminder in reminders_of(deadlines, offsets):
        if reminder.on > today or reminder.key in done:
            continue
        earlier = latest.get(reminder.deadline)
        if earlier is not None:
            passed.append(earlier.key)
        latest[reminder.deadline] = reminder
    return list(latest.values()), passed


def next_reminder_date(deadlines: list[Deadline], offsets: tuple[int, ...], done: set[str]) -> date | None:
    """The day of the next reminder not done; None when there is none left."""
    pending = [reminder.on for reminder in reminders_of(deadlines, offsets) if reminder.key not in done]
    return min(pending) if pending else None
