"""When a recurring invoice bills, and what (SPEC §12): pure dates.

A schedule repeats every `interval` weeks, months or years from its start
date: on a weekday for weeks, on a day of the month (1–28, or the last) for
months and years (a year's month is the start date's). Its occurrences are
the dates from the start on, numbered from 0, until its end: after `n` of
them, on or before a date, or never. Each bills the period from its date to
the day before the next one ("Période du 01/01/2027 au 31/01/2027"): a
monthly retainer is billed at the start of the month it covers.

active → paused → active; active | paused → cancelled; active → completed
when the last occurrence is billed.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta
from enum import StrEnum
from typing import NamedTuple

from invoicing.domain.errors import IllegalTransition

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LAST = "last"
SHOWN = 5  # next dates a response shows
FAR = 2_000  # occurrences looked through at most (a weekly schedule: 38 years)


class Status(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class Frequency(StrEnum):
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class Schedule(NamedTuple):
    frequency: Frequency
    interval: int
    day: int | str  # 1–28 or "last" (months, years); a weekday's name (weeks)
    start: date
    after: int | None = None  # the number of occurrences, when it ends after n
    until: date | None = None  # the last day an occurrence may fall on

    @classmethod
    def of(cls, doc: dict[str, object]) -> Schedule:
        """The schedule as stored (ISO dates, `end` as the API writes it)."""
        end = doc.get("end") or {}
        assert isinstance(end, dict)
        until = end.get("until")
        return cls(
            Frequency(str(doc["frequency"])),
            int(str(doc["interval"])),
            _day(doc["day"]),
            date.fromisoformat(str(doc["start_date"])),
            int(end["after"]) if end.get("after") is not None else None,
            date.fromisoformat(str(until)) if until else None,
        )


class Occurrence(NamedTuple):
    number: int  # from 0
    on: date  # the day it is due
    start: date  # the period it bills
    end: date


def _day(value: object) -> int | str:
    return value if isinstance(value, str) else int(str(value))


def default_day(frequency: Frequency, start: date) -> int | str:
    """The day a schedule falls on when none is given: the start date's."""
    if frequency is Frequency.WEEK:
        return WEEKDAYS[start.weekday()]
    return start.day if start.day <= 28 else LAST


def problems(schedule: Schedule) -> list[tuple[str, str]]:
    """What is wrong with the schedule, as (field under `schedule`, message)."""
    found = []
    if schedule.frequency is Frequency.WEEK:
        if schedule.day not in WEEKDAYS:
            found.append(("day", f"a weekly schedule falls on a weekday: one of {', '.join(WEEKDAYS)}"))
    elif not (schedule.day == LAST or (isinstance(schedule.day, int) and 1 <= schedule.day <= 28)):
        found.append(("day", 'a day of the month from 1 to 28, or "last" (every month has them)'))
    if schedule.until is not None and schedule.until < schedule.start:
        found.append(("end.until", "the schedule ends before it starts"))
    if not found and first(schedule) is None:
        found.append(("end.until", "no occurrence falls between the start and this date"))
    return found


def _nth(schedule: Schedule, n: int) -> date:
    """The n-th date on the schedule's grid (the first may be before the start)."""
    if schedule.frequency is Frequency.WEEK:
        assert isinstance(schedule.day, str)
        shift = (WEEKDAYS.index(schedule.day) - schedule.start.weekday()) % 7
        return schedule.start + timedelta(days=shift + 7 * schedule.interval * n)
    months = schedule.interval * n * (12 if schedule.frequency is Frequency.YEAR else 1)
    year, month = divmod(schedule.start.month - 1 + months, 12)
    year += schedule.start.year
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if schedule.day == LAST else min(int(schedule.day), last))


def _grid(schedule: Schedule) -> Iterator[date]:
    """The dates on or after the start, in order."""
    n = 0 if _nth(schedule, 0) >= schedule.start else 1
    while True:
        yield _nth(schedule, n)
        n += 1


def occurrences(schedule: Schedule) -> Iterator[Occurrence]:
    """Every occurrence, in order, until the schedule ends (at most FAR)."""
    dates = _grid(schedule)
    following = next(dates)
    for index in range(FAR):
        on, following = following, next(dates)
        if (schedule.after is not None and index >= schedule.after) or (
            schedule.until is not None and on > schedule.until
        ):
            return
        yield Occurrence(index, on, on, following - timedelta(days=1))


def first(schedule: Schedule) -> Occurrence | None:
    return next(occurrences(schedule), None)


def upcoming(schedule: Schedule, next_index: int | None, count: int = SHOWN) -> list[Occurrence]:
    """The next `count` occurrences from the one numbered `next_index`."""
    if next_index is None:
        return []
    found = []
    for item in occurrences(schedule):
        if item.number >= next_index:
            found.append(item)
            if len(found) == count:
                break
    return found


def due(schedule: Schedule, next_index: int | None, today: date) -> list[Occurrence]:
    """The occurrences due by `today` from `next_index` on: more than one
    when days were missed (each billed once, on the day of catching up)."""
    if next_index is None:
        return []
    found = []
    for item in occurrences(schedule):
        if item.on > today:
            break
        if item.number >= next_index:
            found.append(item)
    return found


_MOVES = {
    "pause": ({Status.ACTIVE}, Status.PAUSED),
    "resume": ({Status.PAUSED}, Status.ACTIVE),
    "cancel": ({Status.ACTIVE, Status.PAUSED}, Status.CANCELLED),
}


def moved(status: Status, action: str) -> Status:
    """The status after `action`; the same status when already there (a
    retry), IllegalTransition when the schedule cannot do it."""
    allowed, target = _MOVES[action]
    if status is target:
        return status
    if status not in allowed:
        raise IllegalTransition(action, status.value, "recurring invoice")
    return target
