"""When a failed webhook delivery is tried again (SPEC §13): seconds at
first, then hours, never longer than SQS can hide a message (12 h), and
not after 3 days from the first failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.domain.webhooks import BACKOFF_S, RETRY_WINDOW, next_attempt

pytestmark = pytest.mark.unit

FIRST = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SQS_MAX_VISIBILITY = timedelta(hours=12)


def schedule(first: datetime = FIRST) -> list[datetime]:
    """Every attempt when each fails at once: the first, then each retry."""
    attempts = [first]
    while (after := next_attempt(first, len(attempts), attempts[-1])) is not None:
        attempts.append(after)
        assert len(attempts) < 100, "the schedule does not end"
    return attempts


def test_the_first_retries_come_after_seconds_then_minutes():
    attempts = schedule()
    waits = [(later - earlier).total_seconds() for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert waits[:8] == [5, 60, 300, 1800, 7200, 18000, 36000, 43200]


def test_the_schedule_rises_and_ends_on_the_third_day_at_the_latest():
    attempts = schedule()
    assert attempts == sorted(set(attempts))
    assert attempts[-1] == FIRST + RETRY_WINDOW  # one last try at the limit
    assert len(attempts) == 13


def test_no_wait_is_longer_than_sqs_can_hide_a_message():
    assert max(BACKOFF_S) == SQS_MAX_VISIBILITY.total_seconds()
    attempts = schedule()
    assert all(later - earlier <= SQS_MAX_VISIBILITY for earlier, later in zip(attempts, attempts[1:], strict=False))


def test_given_the_window_is_over_then_it_gives_up():
    assert next_attempt(FIRST, 3, FIRST + RETRY_WINDOW) is None
    assert next_attempt(FIRST, 3, FIRST + RETRY_WINDOW + timedelta(seconds=1)) is None


def test_given_a_retry_near_the_end_then_the_next_is_at_the_end():
    now = FIRST + RETRY_WINDOW - timedelta(minutes=1)
    assert next_attempt(FIRST, 20, now) == FIRST + RETRY_WINDOW


def test_a_late_attempt_waits_from_when_it_was_made():
    """A worker that ran late (a queue backlog) waits from its own attempt."""
    now = FIRST + timedelta(hours=5)
    assert next_attempt(FIRST, 1, now) == now + timedelta(seconds=5)


def test_there_is_no_zeroth_failure():
    with pytest.raises(ValueError):
        next_attempt(FIRST, 0, FIRST)


@given(
    attempts=st.integers(min_value=1, max_value=200),
    since=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4)),
)
def test_any_retry_is_after_now_within_12_hours_and_within_the_window(attempts, since):
    now = FIRST + since
    after = next_attempt(FIRST, attempts, now)
    if now >= FIRST + RETRY_WINDOW:
        assert after is None
    else:
        assert after is not None
        assert now < after <= FIRST + RETRY_WINDOW
        assert after - now <= SQS_MAX_VISIBILITY
