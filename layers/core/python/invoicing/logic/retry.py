"""Read, check, conditional write — and again when another write got there
first, within the time the function has left.

Every use case that changes a document under the version it read runs its
attempt through `until_written`: the attempt reads what it needs, decides,
and writes conditionally; when its write loses the race it raises
`LostRace`, and it runs again after a random pause that grows with each
loss (full jitter: fifty writers on one invoice spread out instead of
colliding again in step).

The loop watches the clock of the function it runs in (`time_budget`, set
by each handler from Lambda's `context.get_remaining_time_in_millis`): it
stops while there is still time to answer, and the request answers 503
`busy` with `Retry-After`. Running into the timeout instead would answer
504 and leave the client unsure whether anything was written; a 503 says
that nothing was, and a retry with the same Idempotency-Key is safe.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import monotonic, sleep
from typing import TypeVar

from invoicing.domain.errors import Busy

T = TypeVar("T")

RESERVE_MS = 2_000  # kept to answer after the last attempt (and a write botocore retries once)
MAX_ATTEMPTS = 200  # a bound where no clock is set (a test calling a use case directly)
FIRST_PAUSE_S = 0.004
LONGEST_PAUSE_S = 0.25
RETRY_AFTER_S = 1

_time_left: ContextVar[Callable[[], int] | None] = ContextVar("time_left", default=None)


class LostRace(Exception):
    """The document changed since this attempt read it: read it again."""


@contextmanager
def time_budget(time_left_ms: Callable[[], int] | None) -> Iterator[None]:
    """Within this block, retries stop while `time_left_ms()` still leaves
    the time to answer."""
    token = _time_left.set(time_left_ms)
    try:
        yield
    finally:
        _time_left.reset(token)


def time_left_ms() -> int | None:
    """What the running function has left, in ms; None without a clock."""
    clock = _time_left.get()
    return clock() if clock is not None else None


def until_written(attempt: Callable[[], T], busy: str, *, attempts: int = MAX_ATTEMPTS) -> T:
    """What `attempt` returns once it did not lose its race. `busy` says,
    in the 503's message, what could not be done now; nothing of it was."""
    last_ms = 0.0
    for tried in range(attempts):
        started = monotonic()
        try:
            return attempt()
        except LostRace:
            last_ms = (monotonic() - started) * 1000  # what the next attempt likely takes, under this contention
        pause = random.uniform(0, min(LONGEST_PAUSE_S, FIRST_PAUSE_S * 2 ** min(tried, 10)))
        left = time_left_ms()
        if left is not None and left < pause * 1000 + last_ms + RESERVE_MS:
            break
        sleep(pause)
    raise Busy(f"{busy}; nothing was changed: retry (with the same Idempotency-Key)", retry_after_s=RETRY_AFTER_S)
