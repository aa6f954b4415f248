"""The event loop of one apply: steps run on region workers, scheduling on this thread.

Waiting is driven by one *canary*: the region that started copying last (copies of one
AMI progress at similar speeds, so when its copies are done, the others' are too). Only
the canary is watched — one DescribeSnapshots reads the ``Progress`` of its copies'
snapshots, from which :func:`~imgpub.mirror.waiting.after_progress` estimates the end,
falling back to DescribeImages with backoff when EC2 shows no progress — and every other
pending region sleeps until the canary finishes and then goes straight to sharing: a
launch-permission change is refused with ``InvalidAMIID.Unavailable`` while an image is
pending, so that change is itself the poll, and costs nothing when it succeeds. A region
whose share is refused goes back to waiting. Rare fallback polls
(``PollPolicy.follower_*``) and the overall deadline bound the wait of every region even
if the canary stalls.

Workers are region-affine (:class:`~imgpub.mirror.workers.RegionWorkers`): a region's
steps run one at a time on the thread that holds its boto3 client.

A cancel (the first SIGINT/SIGTERM) stops the loop at once: no step is started any more,
waiting regions are not woken for another poll, steps in flight get the rest of the grace
period, and every region not concluded by then is concluded with what is known
(:func:`~imgpub.mirror.region_state.conclude_stopped`).

Listener calls happen on this thread only, so a renderer needs no locking.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from functools import partial
from typing import Protocol

from imgpub.aws.errors import error_text
from imgpub.cancel import GRACE_SECONDS
from imgpub.mirror.region_state import (
    RegionReport,
    RegionState,
    StepAfter,
    StepName,
    conclude,
    conclude_stopped,
)
from imgpub.mirror.region_steps import ApplyContext, RegionSteps
from imgpub.mirror.result import CopyOutcome, ParameterOutcome
from imgpub.mirror.waiting import PollPlanner
from imgpub.mirror.workers import RegionWorkers

FOLLOWER_SLACK = 0.5  # fallback polls wait this share of the canary's time to go past it
TICK = 0.25  # how often the loop looks at the cancel flag while steps run


class MirrorListener(Protocol):
    """Progress for the stage to render; every method is called from the caller's thread."""

    def on_phase(self, phase: str) -> None: ...
    def on_notice(self, message: str) -> None: ...
    def on_target_done(self, outcome: CopyOutcome, done: int, total: int) -> None: ...
    def on_parameter(self, outcome: ParameterOutcome) -> None: ...


class CanaryScheduler:
    """Runs the region steps of one apply until every region is concluded or the run stops."""

    def __init__(
        self,
        context: ApplyContext,
        steps: RegionSteps,
        *,
        planner: PollPlanner,
        listener: MirrorListener,
        grace: float = GRACE_SECONDS,
    ) -> None:
        self.context = context
        self.steps = steps
        self.planner = planner
        self.listener = listener
        self.grace = grace
        self.plan = plan = context.plan
        self.cancel = context.cancel
        self.states = {r: RegionState(r, list(plan.in_region(r))) for r in plan.all_regions}
        self.reports: dict[str, RegionReport] = {}
        self._due: dict[str, tuple[float, StepName]] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._counter = itertools.count()
        self._running: dict[Future[StepAfter], str] = {}
        self._done = 0

    def run(self, workers: RegionWorkers) -> dict[str, RegionReport]:
        """Every region's report, in the plan's region order."""
        for region in self.plan.all_regions:
            self._schedule(region, "start", 0.0)
        while (self._due or self._running) and not self.cancel.is_set:
            self._submit_due(workers)
            self._wait_for_steps()
        self._wind_down()
        return {r: self.reports[r] for r in self.plan.all_regions}

    # -- the loop

    def _schedule(self, region: str, step: StepName, delay: float) -> None:
        at = min(self.context.monotonic() + max(0.0, delay), self.context.deadline)
        self._due[region] = (at, step)
        heapq.heappush(self._heap, (at, next(self._counter), region))

    def _waiting(self, region: str) -> bool:
        return region in self._due and self._due[region][1] in ("poll", "progress")

    def _submit_due(self, workers: RegionWorkers) -> None:
        now = self.context.monotonic()
        while self._heap and self._heap[0][0] <= now and not self.cancel.is_set:
            at, _, region = heapq.heappop(self._heap)
            entry = self._due.get(region)
            if entry is None or entry[0] != at or region in self._running.values():
                continue
            del self._due[region]
            step = partial(self._guard, entry[1], self.states[region])
            self._running[workers.submit(region, step)] = region

    def _wait_for_steps(self) -> None:
        now = self.context.monotonic()
        timeout = max(0.0, self._heap[0][0] - now) if self._heap else None
        if not self._running:
            if timeout:
                self.cancel.sleep(timeout)
            return
        tick = TICK if timeout is None else min(timeout, TICK)
        finished, _ = wait(list(self._running), timeout=tick, return_when=FIRST_COMPLETED)
        for future in finished:
            self._after_step(self._running.pop(future), future.result())

    def _guard(self, step: StepName, state: RegionState) -> StepAfter:
        """A step's unexpected error fails the region's unresolved targets, not the run."""
        try:
            return self._step(step)(state)
        except Exception as exc:
            message = error_text(exc)
            for t in state.targets:
                state.errors.setdefault(t.source_ami, message)
            state.pending.clear()
            if step != "finish":
                return "finish", 0.0  # conclude the region with its errors
            conclude(state, self.plan)
            return None

    def _step(self, name: StepName) -> Callable[[RegionState], StepAfter]:
        steps = self.steps
        return {
            "start": steps.start,
            "poll": steps.poll,
            "progress": steps.progress,
            "share": steps.share,
            "finish": steps.finish,
        }[name]

    def _after_step(self, region: str, after: StepAfter) -> None:
        """What a step said comes next: ``wait`` (poll after a hint), ``try`` (the canary's
        copies should be done: share after the delay), ``share`` (images available),
        ``finish`` (launch permissions done); None: concluded."""
        if after is None:
            self._conclude(region)
            return
        name, delay = after
        if self.cancel.is_set or name == "stopped":
            return  # concluded by _wind_down with what is known
        now = self.context.monotonic()
        if name == "wait":
            self._wait_again(region, delay, now)
            return
        if name == "try":
            self._schedule(region, "share", delay)
            self._defer_followers(now + delay)
            return
        if region in self.planner.pending:
            # Available: the others are very likely done too; let them share now.
            for other in self.planner.settled(region, now):
                if self._waiting(other):
                    self._schedule(other, "share", 0.0)
        self._schedule(region, "share" if name == "share" else "finish", 0.0)

    def _wait_again(self, region: str, hint: float, now: float) -> None:
        planner = self.planner
        if region not in planner.pending:
            previous = planner.leader
            delay = planner.start(region, now)
            if previous is not None and self._waiting(previous):
                # A later start is the better canary; the old one only falls back.
                self._schedule(previous, "poll", planner.next_delay(previous, now))
        else:
            delay = planner.next_delay(region, now)
        if region == planner.leader:
            self._schedule(region, "progress", hint if hint > 0 else delay)
            if hint > 0:
                self._defer_followers(now + hint)
        else:
            self._schedule(region, "poll", delay)

    def _defer_followers(self, expected: float) -> None:
        """While the canary's progress promises an end, fallback polls wait past it.

        The canary wakes the others when it is done; their own polls only matter if it
        stalls, so a long copy costs one progress read now and then, not a poll per
        region and backoff step.
        """
        until = expected + FOLLOWER_SLACK * max(0.0, expected - self.context.monotonic())
        for other in self.planner.pending:
            if (
                other != self.planner.leader
                and self._waiting(other)
                and self._due[other][0] < until
            ):
                self._schedule(other, "poll", until - self.context.monotonic())

    # -- concluding

    def _conclude(self, region: str) -> None:
        state = self.states[region]
        report = RegionReport(
            region, tuple(state.outcomes), tuple(state.parameters), tuple(state.notices)
        )
        self._record(report)

    def _wind_down(self) -> None:
        """After a stop: steps in flight get the grace left; the rest is concluded as is."""
        if self._running:
            finished, _ = wait(list(self._running), timeout=self.cancel.grace_left(self.grace))
            for future in finished:
                region = self._running.pop(future)
                if future.result() is None:
                    self._conclude(region)
        reason = self.cancel.reason or "stopped"
        in_flight = set(self._running.values())
        for region in self.plan.all_regions:
            if region not in self.reports:
                state = self.states[region]
                self._record(
                    conclude_stopped(state, self.plan, reason, in_flight=region in in_flight)
                )

    def _record(self, report: RegionReport) -> None:
        self.reports[report.region] = report
        for notice in report.notices:
            self.listener.on_notice(notice)
        for outcome in report.outcomes:
            self._done += 1
            self.listener.on_target_done(outcome, self._done, len(self.plan.copy_targets))
        for param in report.parameters:
            self.listener.on_parameter(param)
