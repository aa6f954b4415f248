"""mirror-ami's engine: ``prepare`` (read-only) returns the plan, ``apply`` carries it out.

The pieces, in the order a run uses them: :mod:`~imgpub.mirror.discovery` (preflight and
discovery, then :mod:`~imgpub.mirror.planning`), :mod:`~imgpub.mirror.scheduler` (the
canary scheduler over region-affine workers) driving :mod:`~imgpub.mirror.region_steps`
(the EC2 steps of one region, sharing through :mod:`imgpub.aws.image_sharing`, SSM
through :mod:`~imgpub.mirror.ssm_publish`). A failure in one region or for one source is
that target's outcome; every other target still finishes. The plan carries everything
apply needs, so apply works from the plan alone, in this process or another.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from imgpub.aws.image_sharing import SnapshotCheck
from imgpub.aws.session import AwsClients
from imgpub.cancel import NEVER, Cancellation
from imgpub.mirror.discovery import discover_plan
from imgpub.mirror.model import MirrorInputs
from imgpub.mirror.plan import Plan
from imgpub.mirror.region_steps import ApplyContext, RegionSteps
from imgpub.mirror.result import CopyOutcome, MirrorResult, ParameterOutcome
from imgpub.mirror.scheduler import CanaryScheduler, MirrorListener
from imgpub.mirror.waiting import PollPlanner, PollPolicy
from imgpub.mirror.workers import RegionWorkers

UTC_NOW: Callable[[], datetime] = partial(datetime.now, UTC)
"""The copy time tagged on new copies (tests pass their own clock)."""


class NullListener:
    def on_phase(self, phase: str) -> None:
        pass

    def on_notice(self, message: str) -> None:
        pass

    def on_target_done(self, outcome: CopyOutcome, done: int, total: int) -> None:
        pass

    def on_parameter(self, outcome: ParameterOutcome) -> None:
        pass


class MirrorEngine:
    """One configuration of mirror-ami: clients, clocks and the waiting policy."""

    def __init__(
        self,
        clients: AwsClients,
        *,
        listener: MirrorListener | None = None,
        now: Callable[[], datetime] = UTC_NOW,
        monotonic: Callable[[], float] = time.monotonic,
        poll_policy: PollPolicy | None = None,
        verify_retry_seconds: float = 2.0,
        snapshot_check: SnapshotCheck = "restorable-by",
    ) -> None:
        self.clients = clients
        self.poll_policy = poll_policy or PollPolicy()
        self.verify_retry_seconds = verify_retry_seconds
        self.snapshot_check: SnapshotCheck = snapshot_check
        self.listener: MirrorListener = listener or NullListener()
        self.now = now
        self.monotonic = monotonic

    def prepare(self, inputs: MirrorInputs, *, cancel: Cancellation = NEVER) -> Plan:
        """Preflight and discovery: read-only; bad inputs the cloud reveals raise InputError."""
        return discover_plan(
            self.clients,
            inputs,
            now=self.now(),
            started=self.monotonic(),
            cancel=cancel,
            on_phase=self.listener.on_phase,
        )

    def apply(self, plan: Plan, *, cancel: Cancellation = NEVER) -> MirrorResult:
        """Carry out the plan; never raises for a target's failure (see the result).

        After a cancel, steps in flight get the grace period and what did not finish is
        ``cancelled`` in the result, with the AMI IDs of copies already started.
        """
        deadline = self.monotonic() + plan.timeout.total_seconds()
        context = ApplyContext(plan, cancel, deadline, self.monotonic, self.now)
        steps = RegionSteps(
            context, self.clients, self.poll_policy, self.verify_retry_seconds, self.snapshot_check
        )
        scheduler = CanaryScheduler(
            context, steps, planner=PollPlanner(self.poll_policy), listener=self.listener
        )
        workers = RegionWorkers(plan.all_regions, plan.max_concurrency)
        try:
            reports = scheduler.run(workers)
        finally:
            workers.shutdown(wait=not cancel.is_set)
        outcomes = [o for r in reports.values() for o in r.outcomes]
        order = {a: i for i, a in enumerate(s.image_id for s in plan.sources)}
        outcomes.sort(key=lambda o: (order[o.source_ami], not o.is_source, o.region))
        return MirrorResult(
            plan=plan,
            outcomes=tuple(outcomes),
            parameters=tuple(p for r in reports.values() for p in r.parameters),
            notices=tuple(n for r in reports.values() for n in r.notices),
            unblocked_regions=plan.unblock_regions,
            cancelled=cancel.reason if cancel.is_set else "",
        )
