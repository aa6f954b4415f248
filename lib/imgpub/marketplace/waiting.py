"""Waiting on the Catalog API: a backoff proportional to the time waited, within a deadline.

A change set takes from seconds (validation errors) to hours (the AMI scan). A fixed
interval is either slow to notice a quick verdict or wasteful on a slow one — cloudpub
polls every 10 minutes for up to 48 hours. Here the next look comes after ``ratio`` of
the time already waited, between ``first`` and ``cap`` seconds: a verdict is noticed at
most about 20 % late, and an hour's wait costs about 80 calls. Every sleep is
``cancel.sleep`` (a signal wakes it) and never passes the run's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from imgpub.cancel import Cancellation

T = TypeVar("T")


@dataclass(frozen=True)
class PollSchedule:
    first: float = 1.0
    ratio: float = 0.2
    cap: float = 60.0

    def delay(self, waited: float) -> float:
        return min(self.cap, max(self.first, waited * self.ratio))


class WaitEnd(StrEnum):
    DONE = "done"
    DEADLINE = "deadline"
    CANCELLED = "cancelled"


def poll(
    probe: Callable[[], T | None],
    *,
    deadline: float,
    cancel: Cancellation,
    schedule: PollSchedule,
    monotonic: Callable[[], float] = time.monotonic,
) -> tuple[T | None, WaitEnd]:
    """Call ``probe`` until it returns a value, the deadline passes or the run is cancelled.

    The probe is called once more at the deadline itself, so a verdict that arrives during
    the last sleep is not reported as pending.
    """
    started = monotonic()
    while True:
        if cancel.is_set:
            return None, WaitEnd.CANCELLED
        value = probe()
        if value is not None:
            return value, WaitEnd.DONE
        now = monotonic()
        if now >= deadline:
            return None, WaitEnd.DEADLINE
        if cancel.sleep(min(schedule.delay(now - started), deadline - now)):
            return None, WaitEnd.CANCELLED
