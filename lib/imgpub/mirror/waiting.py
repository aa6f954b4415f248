"""When to poll which region while copies are pending: few calls, little lateness.

Copies of one AMI started within moments of each other progress at similar speeds, so
polling every region mostly wastes calls. One *canary* region is polled: the one that
started copying **last** among those still pending, since when its copies are done the
earlier ones are very likely done too. It is polled at an interval proportional to the
time already waited (``leader_ratio`` of it, within ``[leader_min, leader_max]``), so
lateness stays at about that fraction of the copy time while the number of polls grows
only with its logarithm. The other regions (*followers*) are polled rarely
(``follower_first``, then doubling up to ``follower_max``) as a fallback; when a region
settles, the others are woken at once (at most once per ``wake_gap``) and the engine tries
to finish them directly. There is no per-region cap: only the run's deadline ends a wait.

The canary is not polled blind when EC2 says how far its copy is: the snapshots of a copy
in flight are ``pending`` with a ``Progress`` percentage. :func:`after_progress` turns one
such reading into the time the copy should be done, so a 20-second or a 20-minute copy
costs one or a few reads and one attempt, instead of a poll every ``leader_ratio`` of the
time waited.

The class is pure (times are passed in), so the policy is unit-tested without sleeping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class PollPolicy:
    """Seconds. ``leader_first``: the canary's first look, late enough that its progress
    percentage (an integer) already says something precise about a short copy."""

    leader_first: float = 3.0
    leader_min: float = 2.0
    leader_ratio: float = 0.2
    leader_max: float = 30.0
    follower_first: float = 30.0
    follower_max: float = 300.0
    wake_gap: float = 5.0
    eta_margin: float = 0.01  # share of the estimated copy time added to the estimate
    eta_margin_min: float = 0.2


@dataclass(frozen=True)
class CopyProgress:
    """One snapshot of a copy in flight: its ``Progress`` and the time since it started."""

    percent: int
    elapsed: float
    done: bool  # EC2 says ``completed``


class Next(StrEnum):
    POLL = "poll"  # progress says nothing: poll the images instead
    READ = "read"  # read progress again after the delay
    TRY = "try"  # the copies should be done after the delay: go and share


def after_progress(progress: Sequence[CopyProgress], policy: PollPolicy) -> tuple[Next, float]:
    """What to do after reading the progress of a region's copies, and after which delay.

    The estimate is linear in the percentage, which EC2 floors to an integer, so it errs
    late rather than early; a small margin covers the rest. A copy far from done is read
    again halfway to its estimate (the estimate improves as it progresses), at most
    ``leader_max`` apart once it is close.
    """
    if not progress:
        return Next.POLL, 0.0
    if all(p.done for p in progress):
        return Next.TRY, 0.0
    remaining = 0.0
    total = 0.0
    for p in progress:
        if p.done:
            continue
        if p.percent <= 0:
            return Next.READ, -1.0  # nothing to go by yet: the planner's backoff decides
        estimate = p.elapsed * 100.0 / p.percent
        total = max(total, estimate)
        remaining = max(remaining, estimate - p.elapsed)
    if not math.isfinite(remaining):
        return Next.READ, -1.0
    margin = max(policy.eta_margin_min, policy.eta_margin * total)
    if remaining <= policy.leader_max:
        return Next.TRY, remaining + margin
    return Next.READ, max(policy.leader_max, remaining / 2)


class PollPlanner:
    """Decides the next poll time of each pending region."""

    def __init__(self, policy: PollPolicy | None = None) -> None:
        self.policy = policy or PollPolicy()
        self._started: dict[str, float] = {}
        self._follower_delay: dict[str, float] = {}
        self._last_woken: dict[str, float] = {}
        self._order: list[str] = []

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(self._order)

    @property
    def leader(self) -> str | None:
        """The canary: the pending region that started last."""
        return self._order[-1] if self._order else None

    def start(self, region: str, now: float) -> float:
        """Register a region whose copies just started (it becomes the canary); its delay.

        The previous canary becomes a follower: ask :meth:`next_delay` for its new delay.
        """
        if region not in self._started:
            self._started[region] = now
            self._order.append(region)
        return max(self.policy.leader_first, self.next_delay(region, now))

    def next_delay(self, region: str, now: float) -> float:
        """Delay before polling ``region`` again (it was just polled and is still pending)."""
        p = self.policy
        waited = max(0.0, now - self._started.get(region, now))
        if region == self.leader:
            return min(p.leader_max, max(p.leader_min, waited * p.leader_ratio))
        delay = self._follower_delay.get(region)
        delay = p.follower_first if delay is None else min(p.follower_max, delay * 2)
        self._follower_delay[region] = delay
        return delay

    def settled(self, region: str, now: float) -> tuple[str, ...]:
        """``region`` has nothing pending any more; returns the regions to try now."""
        was_leader = region == self.leader
        if region in self._order:
            self._order.remove(region)
        wake: list[str] = []
        for other in self._order:
            if now - self._last_woken.get(other, float("-inf")) >= self.policy.wake_gap:
                self._last_woken[other] = now
                wake.append(other)
        if was_leader and self.leader is not None and self.leader not in wake:
            wake.append(self.leader)
        return tuple(wake)
