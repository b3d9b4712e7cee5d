"""The one "read, check, conditional write, again on conflict" loop: it
retries lost races, and stops while the function still has time to answer
(503 busy with Retry-After, never a timeout)."""

from __future__ import annotations

import pytest

from invoicing.domain.errors import Busy
from invoicing.logic import retry
from invoicing.logic.retry import LostRace, time_budget, until_written


class Clock:
    """A function's remaining time that each attempt spends `cost_ms` of."""

    def __init__(self, left_ms: int, cost_ms: int) -> None:
        self.left_ms = self.started_ms = left_ms
        self.cost_ms = cost_ms
        self.attempts = 0
        self.left_at_each: list[int] = []

    def remaining(self) -> int:
        return self.left_ms

    def elapsed_s(self) -> float:
        return (self.started_ms - self.left_ms) / 1000

    def losing_attempt(self) -> str:
        self.attempts += 1
        self.left_at_each.append(self.left_ms)
        self.left_ms -= self.cost_ms
        raise LostRace


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "sleep", lambda _seconds: None)


def test_given_two_lost_races_then_the_third_attempt_is_the_answer() -> None:
    outcomes = iter([LostRace(), LostRace(), "written"])

    def attempt() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert until_written(attempt, "busy") == "written"


def test_given_races_lost_until_the_budget_ends_then_busy_with_retry_after_while_time_is_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(left_ms=10_000, cost_ms=300)
    monkeypatch.setattr(retry, "monotonic", clock.elapsed_s)

    with time_budget(clock.remaining), pytest.raises(Busy) as raised:
        until_written(clock.losing_attempt, "the invoice is being paid too often")

    assert raised.value.retry_after_s == 1
    assert "the invoice is being paid too often" in raised.value.message
    assert clock.attempts > 10  # it did retry
    # no attempt started without the time for one and the reserve; time is left to answer
    assert min(clock.left_at_each) >= retry.RESERVE_MS + clock.cost_ms
    assert clock.left_ms >= retry.RESERVE_MS


def test_given_slow_attempts_then_the_loop_keeps_the_next_ones_time_in_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(left_ms=10_000, cost_ms=2_500)
    monkeypatch.setattr(retry, "monotonic", clock.elapsed_s)

    with time_budget(clock.remaining), pytest.raises(Busy):
        until_written(clock.losing_attempt, "busy")

    # another attempt needs its 2.5 s and the 2 s reserve: 7.5 s and 5 s left allow one,
    # 2.5 s does not
    assert (clock.attempts, clock.left_ms) == (3, 2_500)


def test_given_no_clock_then_the_attempts_are_bounded() -> None:
    calls = []

    def losing() -> None:
        calls.append(1)
        raise LostRace

    with pytest.raises(Busy):
        until_written(losing, "busy", attempts=7)
    assert len(calls) == 7


def test_given_an_attempt_that_fails_otherwise_then_it_is_not_retried() -> None:
    calls = []

    def failing() -> None:
        calls.append(1)
        raise ValueError("a business rule")

    with pytest.raises(ValueError):
        until_written(failing, "busy")
    assert len(calls) == 1


def test_the_budget_is_scoped_to_its_block() -> None:
    with time_budget(lambda: 1234):
        assert retry.time_left_ms() == 1234
    assert retry.time_left_ms() is None
