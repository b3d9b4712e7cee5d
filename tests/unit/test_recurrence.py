"""When a recurring invoice bills, and which period (domain.recurrence, SPEC §12)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoicing.domain import recurrence
from invoicing.domain.errors import IllegalTransition
from invoicing.domain.recurrence import Frequency, Schedule, Status


def monthly(day: int | str = 1, start: date = date(2027, 1, 1), **end: object) -> Schedule:
    return Schedule(Frequency.MONTH, 1, day, start, end.get("after"), end.get("until"))  # type: ignore[arg-type]


def dates(schedule: Schedule, count: int = 5) -> list[str]:
    return [item.on.isoformat() for item in recurrence.upcoming(schedule, 0, count)]


def test_a_monthly_retainer_bills_each_month_from_its_first_to_its_last_day():
    first, second = recurrence.upcoming(monthly(), 0, 2)

    assert (first.on, first.start, first.end) == (date(2027, 1, 1), date(2027, 1, 1), date(2027, 1, 31))
    assert (second.on, second.start, second.end) == (date(2027, 2, 1), date(2027, 2, 1), date(2027, 2, 28))


def test_the_last_day_of_the_month_follows_the_months_lengths():
    assert dates(monthly("last", date(2027, 1, 10)), 4) == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]


def test_a_day_before_the_start_begins_the_next_month():
    assert dates(monthly(5, date(2027, 1, 10)), 2) == ["2027-02-05", "2027-03-05"]


def test_every_two_weeks_on_a_weekday():
    schedule = Schedule(Frequency.WEEK, 2, "friday", date(2027, 1, 1))  # a Friday

    found = recurrence.upcoming(schedule, 0, 3)

    assert [item.on.isoformat() for item in found] == ["2027-01-01", "2027-01-15", "2027-01-29"]
    assert found[0].end == date(2027, 1, 14)


def test_a_yearly_schedule_keeps_the_start_dates_month():
    schedule = Schedule(Frequency.YEAR, 1, "last", date(2027, 2, 1))

    assert dates(schedule, 3) == ["2027-02-28", "2028-02-29", "2029-02-28"]


def test_a_quarterly_schedule_is_every_three_months():
    assert dates(Schedule(Frequency.MONTH, 3, 15, date(2027, 1, 1)), 3) == ["2027-01-15", "2027-04-15", "2027-07-15"]


def test_an_end_after_n_or_until_a_date_stops_it():
    assert dates(monthly(after=3), 10) == ["2027-01-01", "2027-02-01", "2027-03-01"]
    assert dates(monthly(until=date(2027, 3, 1)), 10) == ["2027-01-01", "2027-02-01", "2027-03-01"]


def test_missed_days_are_all_due_once_each():
    due = recurrence.due(monthly(), 1, date(2027, 4, 3))

    assert [(item.number, item.on.isoformat()) for item in due] == [(1, "2027-02-01"), (2, "2027-03-01"),
                                                                    (3, "2027-04-01")]  # fmt: skip
    assert recurrence.due(monthly(), 4, date(2027, 4, 3)) == []


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        (monthly(31), "day"),
        (monthly(0), "day"),
        (monthly("friday"), "day"),
        (Schedule(Frequency.WEEK, 1, 3, date(2027, 1, 1)), "day"),
        (monthly(until=date(2026, 12, 1)), "end.until"),
        (monthly(5, date(2027, 1, 10), until=date(2027, 2, 1)), "end.until"),
    ],
)
def test_a_schedule_that_cannot_be_is_refused_naming_its_field(schedule, field):
    assert [found for found, _ in recurrence.problems(schedule)] == [field]


def test_the_default_day_is_the_start_dates():
    assert recurrence.default_day(Frequency.MONTH, date(2027, 1, 30)) == "last"
    assert recurrence.default_day(Frequency.MONTH, date(2027, 1, 12)) == 12
    assert recurrence.default_day(Frequency.WEEK, date(2027, 1, 1)) == "friday"


def test_pause_resume_cancel_and_their_retries():
    assert recurrence.moved(Status.ACTIVE, "pause") is Status.PAUSED
    assert recurrence.moved(Status.PAUSED, "pause") is Status.PAUSED
    assert recurrence.moved(Status.PAUSED, "resume") is Status.ACTIVE
    assert recurrence.moved(Status.PAUSED, "cancel") is Status.CANCELLED
    with pytest.raises(IllegalTransition):
        recurrence.moved(Status.CANCELLED, "resume")
    with pytest.raises(IllegalTransition):
        recurrence.moved(Status.COMPLETED, "pause")


@settings(max_examples=200, deadline=None)
@given(
    frequency=st.sampled_from(list(Frequency)),
    interval=st.integers(1, 12),
    start=st.dates(date(2026, 1, 1), date(2030, 12, 31)),
    day=st.one_of(st.integers(1, 28), st.just("last")),
    weekday=st.sampled_from(recurrence.WEEKDAYS),
)
def test_periods_follow_one_another_without_gap_or_overlap(frequency, interval, start, day, weekday):
    schedule = Schedule(frequency, interval, weekday if frequency is Frequency.WEEK else day, start)

    found = recurrence.upcoming(schedule, 0, 6)

    assert found[0].on >= start
    assert all(item.start == item.on <= item.end for item in found)
    assert all(later.start == earlier.end + timedelta(days=1) for earlier, later in zip(found, found[1:], strict=False))
    assert [item.number for item in found] == list(range(6))
