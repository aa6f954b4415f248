"""What one region's apply knows so far, and the outcomes concluded from it.

The steps (:mod:`imgpub.mirror.region_steps`) change a :class:`RegionState` on the region's
worker thread; the scheduler only reads it once the region is concluded — normally by the
last step, or by :func:`conclude_stopped` when a cancel or the end of the grace period
leaves it unfinished. Outcomes are then frozen into a :class:`RegionReport`, so a step
still running past the grace can no longer change what is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from imgpub.aws.ec2_images import ImageRecord
from imgpub.mirror.plan import Action, CopyTarget, Plan
from imgpub.mirror.result import CopyOutcome, CopyState, ParameterOutcome

StepName = Literal["start", "poll", "progress", "share", "finish"]
Then = Literal["wait", "try", "share", "finish", "stopped"]
StepAfter = tuple[Then, float] | None
"""What a step says comes next for its region (see CanaryScheduler); None: concluded."""


@dataclass
class RegionState:
    """Mutable per-region state; only the region's worker thread touches it during a step.

    ``pending`` holds the sources whose image is not confirmed ``available`` yet (a fresh
    copy, or one found pending). ``unread`` are images known only from CopyImage's answer
    (no snapshot IDs yet); ``dirty`` those changed since the region's last DescribeImages.
    One DescribeImages after the changes both fills in the unread ones and reads back
    the dirty ones, so the read that fetches a copy's snapshots is also its verification.
    """

    region: str
    targets: list[CopyTarget]
    records: dict[str, ImageRecord] = field(default_factory=dict)  # source → current record
    copied: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)
    changes: dict[str, list[str]] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    unread: set[str] = field(default_factory=set)
    dirty: set[str] = field(default_factory=set)
    launch_done: set[str] = field(default_factory=set)  # launch permission added or in place
    newly_shared: set[str] = field(default_factory=set)  # launch permission added by this run
    outcomes: list[CopyOutcome] = field(default_factory=list)
    parameters: list[ParameterOutcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    shared_snapshots: set[str] = field(default_factory=set)
    copy_answered: dict[str, float] = field(default_factory=dict)  # source → CopyImage answer

    def change(self, source: str, what: str) -> None:
        """Note a change (and that the image must be read back)."""
        self.dirty.add(source)
        self.note(source, what)

    def note(self, source: str, what: str) -> None:
        done = self.changes.setdefault(source, [])
        if what not in done:
            done.append(what)

    def ready(self) -> list[CopyTarget]:
        """Targets with an image and no error: the ones the next step works on."""
        return [
            t
            for t in self.targets
            if t.source_ami not in self.errors and t.source_ami in self.records
        ]


@dataclass(frozen=True)
class RegionReport:
    """A concluded region: what the result and the progress log show for it."""

    region: str
    outcomes: tuple[CopyOutcome, ...]
    parameters: tuple[ParameterOutcome, ...] = ()
    notices: tuple[str, ...] = ()


def conclude(state: RegionState, plan: Plan) -> None:
    """Every target's outcome after the last step: failed, copied or existed."""
    outcomes = []
    for t in state.targets:
        error = state.errors.get(t.source_ami, "")
        if error:
            done = CopyState.FAILED
        elif t.source_ami in state.copied:
            done = CopyState.COPIED
        else:
            done = CopyState.EXISTED
        outcomes.append(_outcome(t, plan, done, error, state.records.get(t.source_ami), state))
    state.outcomes = outcomes


def conclude_stopped(
    state: RegionState, plan: Plan, reason: str, *, in_flight: bool
) -> RegionReport:
    """A region the run stopped in: what is known, every unfinished target ``cancelled``.

    A copy already started keeps its AMI ID, so the results document names it and the
    re-run adopts it. Dicts are copied first: with ``in_flight`` a step may still run.
    """
    records, errors, copied = dict(state.records), dict(state.errors), set(state.copied)
    outcomes = []
    for t in state.targets:
        rec = records.get(t.source_ami)
        error = errors.get(t.source_ami, "")
        if error:
            outcomes.append(_outcome(t, plan, CopyState.FAILED, error, rec, state))
            continue
        if t.source_ami in copied and rec is not None:
            what = f"{reason} while copy {rec.image_id} was not finished; the re-run adopts it"
        elif t.action is Action.COPY:
            what = f"{reason} before the copy started"
            if in_flight:
                what = f"{reason} while a call was in flight; the re-run adopts any copy it made"
        else:
            what = f"{reason} before sharing and verification were finished"
        outcomes.append(_outcome(t, plan, CopyState.CANCELLED, what, rec, state))
    return RegionReport(state.region, tuple(outcomes), notices=tuple(state.notices))


def _outcome(
    t: CopyTarget,
    plan: Plan,
    done: CopyState,
    error: str,
    rec: ImageRecord | None,
    state: RegionState,
) -> CopyOutcome:
    source = plan.source(t.source_ami).record
    if t.action is Action.SOURCE:
        tags = dict(source.tags)
    else:
        tags = {**t.tags, **rec.tags} if rec is not None else {}
    return CopyOutcome(
        source_ami=t.source_ami,
        region=t.region,
        state=done,
        image_id=rec.image_id if rec else t.image_id,
        public=bool(rec and rec.public),
        is_source=t.action is Action.SOURCE,
        snapshot_ids=rec.snapshot_ids if rec else (),
        error=error,
        name=t.name,
        architecture=source.architecture,
        tags=tags,
        changes=tuple(state.changes.get(t.source_ami, ())),
    )


def placeholder(t: CopyTarget, image_id: str) -> ImageRecord:
    """The record of a copy known only from CopyImage's answer (read it back later)."""
    return ImageRecord(
        image_id=image_id,
        region=t.region,
        name=t.name,
        description=t.description,
        state="pending",
        architecture="",
        public=False,
        encrypted=False,
        snapshot_ids=(),
        tags={},
    )
