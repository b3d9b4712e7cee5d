"""Reminders as of a day (issue 6 §3): each (deadline, offset) once, the
latest of those missed only, none for what is paid."""

from __future__ import annotations

from datetime import date

import pytest

from invoicing.domain.reminders import Deadline, due_now, next_reminder_date

pytestmark = pytest.mark.unit

OFFSETS = (-3, 0, 7)
TWO = [Deadline("ins_1", date(2027, 1, 10), paid=False), Deadline("ins_2", date(2027, 2, 10), paid=False)]


def keys(found) -> list[str]:
    return [reminder.key for reminder in found]


def test_three_days_before_on_the_day_and_a_week_after():
    assert keys(due_now(TWO, OFFSETS, set(), date(2027, 1, 6))[0]) == []
    assert keys(due_now(TWO, OFFSETS, set(), date(2027, 1, 7))[0]) == ["ins_1:-3"]
    assert keys(due_now(TWO, OFFSETS, {"ins_1:-3"}, date(2027, 1, 7))[0]) == []  # once
    assert keys(due_now(TWO, OFFSETS, {"ins_1:-3"}, date(2027, 1, 10))[0]) == ["ins_1:0"]
    assert keys(due_now(TWO, OFFSETS, {"ins_1:-3", "ins_1:0"}, date(2027, 1, 17))[0]) == ["ins_1:7"]


def test_missed_ones_are_passed_over_for_the_latest():
    sent, passed = due_now(TWO, OFFSETS, set(), date(2027, 1, 18))

    assert keys(sent) == ["ins_1:7"]
    assert passed == ["ins_1:-3", "ins_1:0"]


def test_none_for_a_paid_instalment_and_the_next_date_skips_it():
    paid_first = [Deadline("ins_1", date(2027, 1, 10), paid=True), TWO[1]]

    assert keys(due_now(paid_first, OFFSETS, set(), date(2027, 1, 10))[0]) == []
    assert next_reminder_date(paid_first, OFFSETS, set()) == date(2027, 2, 7)
    assert next_reminder_date(paid_first, OFFSETS, {"ins_2:-3", "ins_2:0", "ins_2:7"}) is None
