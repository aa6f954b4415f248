"""When to poll which region while copies are pending: few calls, little lateness.

Copies of one AMI started at the same moment progress at similar speeds, so polling every
region at a short interval mostly wastes calls. One *leader* region (the first to start
copying that is still pending) is polled at an interval proportional to the time already
waited (``leader_ratio`` of it, within ``[leader_min, leader_max]``): lateness stays at
about that fraction of the copy time while the number of polls grows only with its
logarithm. *Followers* are polled rarely (``follower_first``, then doubling up to
``follower_max``), and when any region's copies finish every follower is polled at once,
at most once per ``wake_gap`` so a stream of finishing regions does not multiply polls.
There is no per-region cap: only the run's overall deadline ends the wait.

The class is pure (times are passed in), so the policy is unit-tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PollPolicy:
    leader_min: float = 2.0
    leader_ratio: float = 0.2
    leader_max: float = 30.0
    follower_first: float = 30.0
    follower_max: float = 300.0
    wake_gap: float = 5.0


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
        return self._order[0] if self._order else None

    def start(self, region: str, now: float) -> float:
        """Register a region whose copies just started; returns its first poll delay."""
        if region not in self._started:
            self._started[region] = now
            self._order.append(region)
        return self.next_delay(region, now)

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
        """``region`` has nothing pending any more; returns the regions to poll now."""
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
