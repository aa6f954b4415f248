"""The canary scheduler after a cancel: no new step, a short grace, every region concluded.

The region steps are stand-ins (no EC2): one region concludes, one starts a copy and then
the run is cancelled, one hangs in a call past the grace period.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from imgpub.aws.ec2_images import ImageRecord
from imgpub.aws.image_sharing import ShareAudience
from imgpub.cancel import Cancellation
from imgpub.mirror.plan import Action, CopyTarget, Plan, SourceImage
from imgpub.mirror.region_state import RegionState, StepAfter, conclude, placeholder
from imgpub.mirror.region_steps import ApplyContext
from imgpub.mirror.result import CopyState
from imgpub.mirror.scheduler import CanaryScheduler
from imgpub.mirror.waiting import PollPlanner
from imgpub.mirror.workers import RegionWorkers

AMI = "ami-11111111"
SOURCE = ImageRecord(AMI, "us-east-1", "Alma 9", "d", "available", "x86_64", True, False, ())


def plan() -> Plan:
    return Plan(
        source_region="us-east-1",
        regions=("ap-east-1", "eu-west-1"),
        sources=(SourceImage(SOURCE),),
        copy_targets=(
            CopyTarget(AMI, "us-east-1", Action.SOURCE, "Alma 9", image_id=AMI, existing=SOURCE),
            CopyTarget(AMI, "ap-east-1", Action.COPY, "Alma 9"),
            CopyTarget(AMI, "eu-west-1", Action.COPY, "Alma 9"),
        ),
        share=ShareAudience(public=True),
        encrypt=False,
        deprecate_at=None,
        unblock_regions=(),
        ssm_templates=(),
        ssm_preview=(),
        max_concurrency=4,
        timeout=timedelta(minutes=5),
    )


class StandInSteps:
    """us-east-1 concludes; eu-west-1 copies, then the run is cancelled; ap-east-1 hangs."""

    def __init__(self, the_plan: Plan, cancel: Cancellation) -> None:
        self.plan = the_plan
        self.cancel = cancel
        self.hang = threading.Event()
        self.in_call = False
        self.calls: list[tuple[str, str]] = []

    def start(self, state: RegionState) -> StepAfter:
        self.calls.append(("start", state.region))
        if state.region == "us-east-1":
            state.records[AMI] = SOURCE
            conclude(state, self.plan)
            return None
        if state.region == "ap-east-1":
            self.in_call = True
            self.hang.wait(30)  # a call that does not come back within the grace
            self.in_call = False
            return "wait", 0.0
        state.records[AMI] = placeholder(state.targets[0], "ami-0000000000000e1")
        state.copied.add(AMI)
        state.note(AMI, "copy")
        self.cancel.cancel("cancelled by SIGTERM")
        return "wait", 0.0

    def poll(self, state: RegionState) -> StepAfter:
        self.calls.append(("poll", state.region))
        return "share", 0.0

    progress = share = finish = poll


def test_after_a_cancel_nothing_starts_and_every_region_is_concluded_after_the_grace() -> None:
    the_plan = plan()
    cancel = Cancellation()
    steps = StandInSteps(the_plan, cancel)
    context = ApplyContext(the_plan, cancel, time.monotonic() + 300, time.monotonic, _never)
    scheduler = CanaryScheduler(
        context,
        steps,  # type: ignore[arg-type]
        planner=PollPlanner(),
        listener=_Listener(),
        grace=0.2,
    )
    workers = RegionWorkers(the_plan.all_regions, 4)
    try:
        reports = scheduler.run(workers)
        assert steps.in_call, "run returned after the grace, not when the hung call ended"
    finally:
        steps.hang.set()
        workers.shutdown()

    assert sorted(c[0] for c in steps.calls) == ["start"] * 3, "no step after the cancel"
    by_region = {r: report.outcomes[0] for r, report in reports.items()}
    assert by_region["us-east-1"].state is CopyState.EXISTED
    copied = by_region["eu-west-1"]
    assert copied.state is CopyState.CANCELLED and copied.image_id == "ami-0000000000000e1"
    assert copied.changes == ("copy",) and "the re-run adopts it" in copied.error
    hung = by_region["ap-east-1"]
    assert hung.state is CopyState.CANCELLED and hung.image_id is None
    assert "in flight" in hung.error
    assert list(reports) == list(the_plan.all_regions)


def _never() -> datetime:
    raise AssertionError("the stand-in steps read no wall clock")


class _Listener:
    def __init__(self) -> None:
        self.done: list[tuple[str, int, int]] = []

    def on_phase(self, phase: str) -> None:
        pass

    def on_notice(self, message: str) -> None:
        pass

    def on_target_done(self, outcome: object, done: int, total: int) -> None:
        self.done.append((str(outcome), done, total))

    def on_parameter(self, outcome: object) -> None:
        pass
