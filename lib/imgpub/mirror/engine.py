"""Preflight, discovery and apply for mirror-ami.

``prepare`` makes only read-only calls and returns the :class:`~imgpub.mirror.plan.Plan`
(or raises :class:`~imgpub.errors.InputError` for what the cloud reveals to be bad input:
missing source, unknown region, block public access in the way). ``apply`` carries the
plan out region by region with bounded concurrency; a failure in one region or for one
source is recorded and every other target still finishes.

Per region the steps are: copy (one CopyImage per missing copy; tags for the image and
its snapshots go in the request, so no CreateTags) → wait (only the *canary* region, the
last to start copying, is polled — one DescribeImages for all its pending images, scheduled
by :class:`~imgpub.mirror.waiting.PollPlanner`; the others try to share as soon as the
canary is done, EC2's ``InvalidAMIID.Unavailable`` telling them to wait longer) → finish
(launch permission, one DescribeImages that both fetches the copies' snapshot IDs and reads
the shares and tags back, snapshot permissions, one DescribeSnapshots
``RestorableByUserIds`` per audience member that reads them back, SSM parameters). Each
step only adds what is missing, so a re-run repeats nothing. Every call does as much as it
can: about 5 EC2 calls per (image, region) for a public mirror, everything included.

The listener is called from the calling thread only, so a renderer needs no locking.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Literal, Protocol

from botocore.exceptions import ClientError

from imgpub.aws import ec2_images as ec2x
from imgpub.aws import ssm_params
from imgpub.aws.ec2_images import ImageRecord, error_text
from imgpub.errors import CloudError, InputError
from imgpub.mirror.model import TAG_COPIED_AT, TAG_SOURCE_AMI, MirrorInputs
from imgpub.mirror.plan import (
    Action,
    Plan,
    SourceImage,
    Target,
    blocked_public_access_error,
    build_plan,
    missing_tags,
)
from imgpub.mirror.regions import KnownRegion, resolve_regions
from imgpub.mirror.result import (
    MirrorResult,
    ParameterOutcome,
    ParameterState,
    TargetOutcome,
    TargetState,
)
from imgpub.mirror.ssm_names import ImageFacts, SsmParameter, SsmTemplate, plan_parameters
from imgpub.mirror.waiting import CopyProgress, Next, PollPlanner, PollPolicy, after_progress
from imgpub.mirror.workers import RegionWorkers

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ssm import SSMClient

PUBLIC = "all"
BPA_SETTLE_POLLS = 10
FOLLOWER_SLACK = 0.5  # fallback polls wait this share of the canary's time to go past it


class Clients(Protocol):
    """What the engine needs from :class:`imgpub.aws.session.ClientFactory`."""

    def ec2(self, region: str) -> EC2Client: ...
    def ssm(self, region: str) -> SSMClient: ...


class MirrorListener(Protocol):
    """Progress for the stage to render; every method is called from the caller's thread."""

    def on_phase(self, phase: str) -> None: ...
    def on_notice(self, message: str) -> None: ...
    def on_target_done(self, outcome: TargetOutcome, done: int, total: int) -> None: ...
    def on_parameter(self, outcome: ParameterOutcome) -> None: ...


class NullListener:
    def on_phase(self, phase: str) -> None:
        pass

    def on_notice(self, message: str) -> None:
        pass

    def on_target_done(self, outcome: TargetOutcome, done: int, total: int) -> None:
        pass

    def on_parameter(self, outcome: ParameterOutcome) -> None:
        pass


def utcnow() -> datetime:
    return datetime.now(UTC)


class MirrorEngine:
    """One run of mirror-ami: ``prepare`` (read-only) then ``apply``."""

    def __init__(
        self,
        clients: Clients,
        *,
        listener: MirrorListener | None = None,
        now: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        poll_policy: PollPolicy | None = None,
        verify_retry_seconds: float = 2.0,
        snapshot_check: Literal["attribute", "restorable-by"] = "restorable-by",
    ) -> None:
        self.clients = clients
        self.poll_policy = poll_policy or PollPolicy()
        self.verify_retry_seconds = verify_retry_seconds
        self.snapshot_check = snapshot_check
        self.listener: MirrorListener = listener or NullListener()
        self.now = now
        self.monotonic = monotonic
        self._inputs: MirrorInputs | None = None
        self._workers: RegionWorkers | None = None

    def _pool(self, regions: Sequence[str], max_workers: int) -> RegionWorkers:
        """Workers kept from prepare to apply, so each thread's Session and clients are reused."""
        if self._workers is None or not self._workers.covers(regions):
            self.close()
            self._workers = RegionWorkers(regions, max_workers)
        return self._workers

    def close(self) -> None:
        """Stop the worker threads (apply does it; call it after a dry run's prepare)."""
        if self._workers is not None:
            self._workers.shutdown()
            self._workers = None

    def __enter__(self) -> MirrorEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ prepare

    def prepare(self, inputs: MirrorInputs) -> Plan:
        """Preflight and discovery: read-only; bad inputs the cloud reveals raise InputError."""
        try:
            return self._prepare(inputs)
        except BaseException:
            self.close()
            raise

    def _prepare(self, inputs: MirrorInputs) -> Plan:
        self._inputs = inputs
        self.listener.on_phase("preflight")
        ec2 = self.clients.ec2(inputs.source_region)
        try:
            known = [KnownRegion(n, s) for n, s in ec2x.list_regions(ec2)]
        except Exception as exc:
            raise CloudError(
                f"cannot list regions from {inputs.source_region}: {error_text(exc)}",
                remedy="check the credentials and source-region, then re-run",
            ) from exc
        regions = resolve_regions(inputs.regions, inputs.source_region, known)
        sources = self._check_sources(ec2, inputs)
        self.listener.on_phase("discovery")
        discovered, bpa = self._discover(inputs, regions, sources)
        plan = build_plan(inputs, sources, regions, discovered, bpa, self.now())
        if plan.unblock_regions and not inputs.allow_unblock_public_access:
            raise blocked_public_access_error(plan.unblock_regions)
        return plan

    def _check_sources(self, ec2: EC2Client, inputs: MirrorInputs) -> list[SourceImage]:
        try:
            found = {
                r.image_id: r
                for r in ec2x.images_by_id(ec2, inputs.source_region, inputs.source_amis, own=False)
            }
        except Exception as exc:
            raise CloudError(
                f"cannot describe the source AMIs in {inputs.source_region}: {error_text(exc)}",
                remedy="check the credentials and source-region, then re-run",
            ) from exc
        missing = [a for a in inputs.source_amis if a not in found]
        if missing:
            raise InputError(
                "source-ami",
                f"{', '.join(missing)} not found in {inputs.source_region}",
                "check the IDs and source-region",
            )
        for ami in inputs.source_amis:
            rec = found[ami]
            if rec.state != "available":
                raise InputError(
                    "source-ami",
                    f"{ami} is {rec.state}, not available",
                    "wait until it is available",
                )
            if rec.encrypted and inputs.share.public:
                raise InputError(
                    "make-public",
                    f"{ami} is encrypted, and encrypted AMIs cannot be public",
                    "share it with accounts instead",
                )
        names: dict[str, str] = {}
        for ami in inputs.source_amis:
            name = found[ami].name
            if name in names:
                raise InputError(
                    "source-ami",
                    f"{names[name]} and {ami} have the same name {name!r}",
                    "mirror them in separate runs",
                )
            names[name] = ami
        return [SourceImage(found[a]) for a in inputs.source_amis]

    def _discover(
        self, inputs: MirrorInputs, regions: Sequence[str], sources: Sequence[SourceImage]
    ) -> tuple[dict[str, Sequence[ImageRecord] | str], dict[str, str]]:
        names = [s.record.name for s in sources]
        bpa_regions = set(regions) | {inputs.source_region} if inputs.share.public else set()

        def look(region: str) -> tuple[Sequence[ImageRecord] | str, str | None]:
            ec2 = self.clients.ec2(region)
            try:
                state = ec2x.image_block_public_access_state(ec2) if region in bpa_regions else None
                images: Sequence[ImageRecord] = (
                    ec2x.images_by_name(ec2, region, names)
                    if region != inputs.source_region
                    else ()
                )
            except Exception as exc:
                return error_text(exc), None
            return images, state

        all_regions = [inputs.source_region, *regions]
        discovered: dict[str, Sequence[ImageRecord] | str] = {}
        bpa: dict[str, str] = {}
        workers = self._pool(all_regions, inputs.max_concurrency)
        futures = {r: workers.submit(r, partial(look, r)) for r in all_regions}
        for region, future in futures.items():
            images, state = future.result()
            if isinstance(images, str) and region == inputs.source_region:
                raise CloudError(
                    f"preflight failed in {region}: {images}",
                    remedy="fix access to the source region, then re-run",
                )
            if region != inputs.source_region:
                discovered[region] = images
            if state is not None:
                bpa[region] = state
        return discovered, bpa

    # ------------------------------------------------------------------ apply

    def apply(self, plan: Plan, inputs: MirrorInputs | None = None) -> MirrorResult:
        """Carry out the plan; never raises for a target's failure (see the result)."""
        given = inputs or self._inputs
        if given is None:
            raise ValueError("apply needs the inputs given to prepare")
        run = _Run(self, plan, given)
        try:
            return run.execute(self._pool(plan.all_regions, given.max_concurrency))
        finally:
            self.close()


@dataclass
class _RegionState:
    """Mutable per-region state; only the region's worker thread touches it during a step.

    ``pending`` holds the sources whose image is not confirmed ``available`` yet (a fresh
    copy, or one found pending). ``unread`` are images known only from CopyImage's answer
    (no snapshot IDs yet); ``dirty`` those changed since the region's last DescribeImages.
    One DescribeImages after the changes both fills in the unread ones and reads back
    the dirty ones, so the read that fetches a copy's snapshots is also its verification.
    """

    region: str
    targets: list[Target]
    records: dict[str, ImageRecord] = field(default_factory=dict)  # source → current record
    copied: set[str] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)
    changes: dict[str, list[str]] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    unread: set[str] = field(default_factory=set)
    dirty: set[str] = field(default_factory=set)
    launch_done: set[str] = field(default_factory=set)  # launch permission added or in place
    newly_shared: set[str] = field(default_factory=set)  # launch permission added by this run
    outcomes: list[TargetOutcome] = field(default_factory=list)
    parameters: list[ParameterOutcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    shared_snapshots: set[str] = field(default_factory=set)
    copy_answered: dict[str, float] = field(default_factory=dict)  # source → CopyImage answer

    def change(self, source: str, what: str) -> None:
        self.dirty.add(source)
        done = self.changes.setdefault(source, [])
        if what not in done:
            done.append(what)


Step = Callable[[_RegionState], tuple[str, float] | None]


class _Run:
    """The event loop of one apply: steps run on region workers, scheduling on this thread.

    Waiting is driven by one *canary*: the region that started copying last (copies of
    one AMI progress at similar speeds, so when its copies are done, the others' are
    too). Only the canary is watched — one DescribeSnapshots reads the ``Progress`` of its
    copies' snapshots, from which :func:`~imgpub.mirror.waiting.after_progress` estimates
    the end, falling back to DescribeImages with backoff when EC2 shows no progress —
    and every other pending region sleeps until
    the canary finishes and then goes straight to sharing — a launch-permission change is
    refused with ``InvalidAMIID.Unavailable`` while an image is pending, so that change is
    itself the poll, and costs nothing when it succeeds. A region whose share is refused
    goes back to waiting. Rare fallback polls (``PollPolicy.follower_*``) and the overall
    deadline bound the wait of every region even if the canary stalls.
    """

    def __init__(self, engine: MirrorEngine, plan: Plan, inputs: MirrorInputs) -> None:
        self.engine = engine
        self.plan = plan
        self.inputs = inputs
        self.clients = engine.clients
        self.listener = engine.listener
        self.monotonic = engine.monotonic
        self.deadline = self.monotonic() + inputs.timeout.total_seconds()
        self.planner = PollPlanner(engine.poll_policy)
        self.copied_at = engine.now()
        self.states = {r: _RegionState(r, list(plan.in_region(r))) for r in plan.all_regions}
        self.total = len(plan.targets)
        self.done = 0

    # -- scheduling

    def execute(self, workers: RegionWorkers) -> MirrorResult:
        """Run the steps; a step returns what comes next for its region.

        ``("wait", hint)``: images still pending — poll after ``hint`` seconds, or when the
        planner says (``hint`` < 0 or 0). ``("try", delay)``: the canary's copies should be
        done by then — share after the delay. ``("share", 0)``: images confirmed
        available. ``("finish", 0)``: launch permissions done, images available.
        ``None``: the region is concluded.
        """
        self.listener.on_phase("apply")
        due: dict[str, tuple[float, Step]] = {}
        heap: list[tuple[float, int, str]] = []
        counter = itertools.count()
        planner = self.planner

        def schedule(region: str, step: Step, delay: float) -> None:
            at = min(self.monotonic() + max(0.0, delay), self.deadline)
            due[region] = (at, step)
            heapq.heappush(heap, (at, next(counter), region))

        def waiting(region: str) -> bool:
            return region in due and due[region][1] in (self._poll, self._progress)

        def wait_again(region: str, hint: float, now: float) -> None:
            if region not in planner.pending:
                previous = planner.leader
                delay = planner.start(region, now)
                if previous is not None and waiting(previous):
                    # A later start is the better canary; the old one only falls back.
                    schedule(previous, self._poll, planner.next_delay(previous, now))
            else:
                delay = planner.next_delay(region, now)
            if region == planner.leader:
                schedule(region, self._progress, hint if hint > 0 else delay)
                if hint > 0:
                    defer_followers(now + hint)
            else:
                schedule(region, self._poll, delay)

        def defer_followers(expected: float) -> None:
            """While the canary's progress promises an end, fallback polls wait past it.

            The canary wakes the others when it is done; their own polls only matter if it
            stalls, so a long copy costs one progress read now and then, not a poll per
            region and backoff step.
            """
            until = expected + FOLLOWER_SLACK * max(0.0, expected - self.monotonic())
            for other in planner.pending:
                if other != planner.leader and waiting(other) and due[other][0] < until:
                    schedule(other, self._poll, until - self.monotonic())

        for region in self.plan.all_regions:
            schedule(region, self._start, 0.0)
        running: dict[Future[tuple[str, float] | None], str] = {}
        while due or running:
            now = self.monotonic()
            while heap and heap[0][0] <= now:
                at, _, region = heapq.heappop(heap)
                entry = due.get(region)
                if entry is None or entry[0] != at or any(r == region for r in running.values()):
                    continue
                del due[region]
                state = self.states[region]
                running[workers.submit(region, partial(self._guard, entry[1], state))] = region
            timeout = max(0.0, heap[0][0] - now) if heap else None
            if not running:
                if timeout:
                    time.sleep(timeout)
                continue
            finished, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
            for future in finished:
                region = running.pop(future)
                nxt = future.result()
                now = self.monotonic()
                if nxt is None:
                    self._report(self.states[region])
                    continue
                name, delay = nxt
                if name == "wait":
                    wait_again(region, delay, now)
                    continue
                if name == "try":
                    schedule(region, self._share, delay)
                    defer_followers(now + delay)
                    continue
                if region in planner.pending:
                    # Available: the others are very likely done too; let them share now.
                    for other in planner.settled(region, now):
                        if waiting(other):
                            schedule(other, self._share, 0.0)
                schedule(region, self._share if name == "share" else self._finish, 0.0)
        return self._result()

    def _guard(self, step: Step, state: _RegionState) -> tuple[str, float] | None:
        """A step's unexpected error fails the region's unresolved targets, not the run."""
        try:
            return step(state)
        except Exception as exc:
            message = error_text(exc)
            for t in state.targets:
                state.errors.setdefault(t.source_ami, message)
            state.pending.clear()
            if step != self._finish:
                return "finish", 0.0  # conclude the region with its errors
            self._conclude(state)
            return None

    def _report(self, state: _RegionState) -> None:
        for notice in state.notices:
            self.listener.on_notice(notice)
        for outcome in state.outcomes:
            self.done += 1
            self.listener.on_target_done(outcome, self.done, self.total)
        for param in state.parameters:
            self.listener.on_parameter(param)

    # -- steps (run on the region's worker thread)

    def _start(self, state: _RegionState) -> tuple[str, float] | None:
        ec2 = self.clients.ec2(state.region)
        if state.region in self.plan.unblock_regions:
            ec2x.disable_image_block_public_access(ec2)
            state.notices.append(
                f"turned off image block public access in {state.region}"
                " (allow-unblock-public-access is true)"
            )
        for t in state.targets:
            if t.action is Action.BLOCKED:
                state.errors[t.source_ami] = t.problem
            elif t.action is Action.COPY:
                try:
                    image_id = ec2x.copy_image(
                        ec2,
                        source_image_id=t.source_ami,
                        source_region=self.plan.source_region,
                        name=t.name,
                        description=t.description,
                        client_token=t.client_token,
                        tags=t.tags,
                        encrypted=self.plan.encrypt,
                        kms_key_id=t.kms_key_id,
                    )
                except Exception as exc:
                    adopted = self._adopt_after_token_reuse(ec2, state, t, exc)
                    if adopted is None:
                        state.errors[t.source_ami] = f"CopyImage failed: {error_text(exc)}"
                        continue
                    image_id = adopted
                state.copy_answered[t.source_ami] = self.monotonic()
                state.copied.add(t.source_ami)
                state.changes.setdefault(t.source_ami, []).append("copy")
                state.records[t.source_ami] = _placeholder(t, image_id)
                state.pending.add(t.source_ami)
                state.unread.add(t.source_ami)
            elif t.existing is not None:
                state.records[t.source_ami] = t.existing
                if t.existing.state == "pending":
                    state.pending.add(t.source_ami)
        return ("wait", 0.0) if state.pending else ("share", 0.0)

    def _adopt_after_token_reuse(
        self, ec2: EC2Client, state: _RegionState, t: Target, exc: Exception
    ) -> str | None:
        """A copy started with this token by an earlier run that discovery did not see yet.

        The token is the same but the request is not (``CopiedAt`` differs), so EC2 answers
        ``IdempotentParameterMismatch``; look the copy up by name instead of failing.
        """
        if ec2x.error_code(exc) != "IdempotentParameterMismatch":
            return None
        for rec in ec2x.images_by_name(ec2, state.region, [t.name]):
            if rec.tags.get(TAG_SOURCE_AMI, t.source_ami) == t.source_ami:
                return rec.image_id
        return None

    def _poll(self, state: _RegionState) -> tuple[str, float] | None:
        """One DescribeImages for all of the region's pending images."""
        self._read_images(self.clients.ec2(state.region), state, state.pending)
        return self._after_wait(state, "share")

    def _progress(self, state: _RegionState) -> tuple[str, float] | None:
        """The canary: one DescribeSnapshots for the progress of all the region's copies.

        Falls back to polling the images when EC2 shows no progress (no tagged snapshots,
        a snapshot in error) or the deadline has come.
        """
        if self.monotonic() >= self.deadline:
            return self._poll(state)
        tag_values: dict[str, set[str]] = {TAG_SOURCE_AMI: set(), TAG_COPIED_AT: set()}
        for source in state.pending:
            t = next(t for t in state.targets if t.source_ami == source)
            copied_at = state.records[source].tags.get(TAG_COPIED_AT) or t.tags.get(TAG_COPIED_AT)
            if copied_at:
                tag_values[TAG_SOURCE_AMI].add(source)
                tag_values[TAG_COPIED_AT].add(copied_at)
        if not tag_values[TAG_SOURCE_AMI]:
            return self._poll(state)
        snaps = ec2x.snapshots_tagged(self.clients.ec2(state.region), tag_values)
        now, mono = self.engine.now(), self.monotonic()

        def elapsed(snap: ec2x.SnapshotProgress) -> float:
            """How long the snapshot has been copying, as tightly as the answers allow.

            A copy cannot have started before CopyImage answered, nor before its
            StartTime (which may be rounded down to the second): the later one is used,
            so the estimate errs late rather than early.
            """
            bounds = [math.inf]
            answered = state.copy_answered.get(snap.tags.get(TAG_SOURCE_AMI, ""))
            if answered is not None:
                bounds.append(mono - answered)
            if snap.started is not None:
                bounds.append((now - snap.started).total_seconds())
            least = min(bounds)
            return max(0.0, least) if math.isfinite(least) else 0.0

        readings = [
            CopyProgress(percent=s.percent, elapsed=elapsed(s), done=s.state == "completed")
            for s in snaps
        ]
        if any(s.state not in ("pending", "completed") for s in snaps):
            readings = []
        action, delay = after_progress(readings, self.engine.poll_policy)
        if action is Next.POLL:
            return self._poll(state)
        if action is Next.TRY:
            return "try", delay
        return "wait", delay

    def _after_wait(self, state: _RegionState, then: str) -> tuple[str, float]:
        if state.pending and self.monotonic() >= self.deadline:
            for source in sorted(state.pending):
                state.errors[source] = (
                    f"copy {state.records[source].image_id} still pending at the deadline "
                    f"({self.inputs.timeout}); re-run to resume waiting"
                )
            state.pending.clear()
        return ("wait", 0.0) if state.pending else (then, 0.0)

    def _read_images(self, ec2: EC2Client, state: _RegionState, sources: Iterable[str]) -> None:
        """DescribeImages for these sources' images: refresh records, settle pending ones."""
        ids = {state.records[s].image_id: s for s in sources if s in state.records}
        if not ids:
            return
        for rec in ec2x.images_by_id(ec2, state.region, ids, own=False):
            source = ids[rec.image_id]
            state.records[source] = rec
            state.unread.discard(source)
            state.dirty.discard(source)
            if rec.state == "available":
                state.pending.discard(source)
            elif rec.state != "pending":
                state.pending.discard(source)
                state.errors[source] = (
                    f"copy {rec.image_id} became {rec.state}:"
                    f" {rec.state_reason or 'no reason given'}"
                )

    def _share(self, state: _RegionState) -> tuple[str, float] | None:
        """Launch permissions — also the probe of images that may still be pending.

        EC2 changes launch permission only of an available image, so a success confirms
        the image is available and a refusal (``InvalidAMIID.Unavailable``) sends the
        region back to waiting, keeping what succeeded. Only images with no launch
        permission to add are confirmed with a DescribeImages.
        """
        ec2 = self.clients.ec2(state.region)
        if state.region in self.plan.unblock_regions and self.plan.share.public:
            self._await_unblocked(ec2, state)
        refused: set[str] = set()
        for t in self._ready(state):
            try:
                if not self._share_image(ec2, state, t):
                    refused.add(t.source_ami)
            except Exception as exc:
                state.errors[t.source_ami] = error_text(exc)
        state.pending -= set(state.errors)
        unconfirmed = state.pending - refused
        if unconfirmed:
            self._read_images(ec2, state, unconfirmed)
        return self._after_wait(state, "finish")

    def _finish(self, state: _RegionState) -> tuple[str, float] | None:
        """Repairs, one read-back of the images, snapshot permissions and their read-back, SSM."""
        ec2 = self.clients.ec2(state.region)
        ready = self._ready(state)
        for t in ready:
            try:
                self._repair_image(ec2, state, t)
            except Exception as exc:
                state.errors[t.source_ami] = error_text(exc)
        ready = self._ready(state)
        self._verify_images(ec2, state, ready)
        ready = self._ready(state)
        try:
            self._share_snapshots(ec2, state, ready)
        except Exception as exc:
            for t in ready:
                state.errors.setdefault(t.source_ami, f"snapshot sharing failed: {error_text(exc)}")
        self._verify_snapshots(ec2, state, self._ready(state))
        self._conclude(state)
        self._write_parameters(state)
        return None

    def _ready(self, state: _RegionState) -> list[Target]:
        return [
            t
            for t in state.targets
            if t.source_ami not in state.errors and t.source_ami in state.records
        ]

    # -- finish helpers

    def _await_unblocked(self, ec2: EC2Client, state: _RegionState) -> None:
        """DisableImageBlockPublicAccess takes effect asynchronously; wait before sharing."""
        delay = 1.0
        for _ in range(BPA_SETTLE_POLLS):
            if ec2x.image_block_public_access_state(ec2) == "unblocked":
                return
            time.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _share_image(self, ec2: EC2Client, state: _RegionState, t: Target) -> bool:
        """Add the launch permissions the image lacks; False while EC2 says it is pending."""
        source = t.source_ami
        share = self.plan.share
        if not share.any or source in state.launch_done:
            return True
        rec = state.records[source]
        public = share.public and not rec.public
        accounts, orgs, ous = share.accounts, share.organizations, share.ous
        if share.private_entities and source not in state.copied:
            have = ec2x.launch_permissions(ec2, rec.image_id)
            accounts = tuple(a for a in accounts if {"UserId": a} not in have)
            orgs = tuple(o for o in orgs if {"OrganizationArn": o} not in have)
            ous = tuple(u for u in ous if {"OrganizationalUnitArn": u} not in have)
        items = ec2x.launch_permission_items(
            public=public, accounts=accounts, organizations=orgs, ous=ous
        )
        if items:
            try:
                ec2x.add_launch_permission(ec2, rec.image_id, items)
            except ClientError as exc:
                if ec2x.error_code(exc) != ec2x.IMAGE_UNAVAILABLE or source not in state.pending:
                    raise
                return False
            state.change(source, "share")
            state.newly_shared.add(source)
            state.pending.discard(source)  # EC2 changes launch permission of available images only
        state.launch_done.add(source)
        return True

    def _repair_image(self, ec2: EC2Client, state: _RegionState, t: Target) -> None:
        """Tags of an image found from an earlier run, and deprecation: only what is missing."""
        if t.action is Action.SOURCE:
            return
        rec = state.records[t.source_ami]
        if t.source_ami not in state.unread:
            miss = missing_tags(rec.tags, t.tags)
            if miss:
                ec2x.create_tags(ec2, [rec.image_id, *rec.snapshot_ids], miss)
                state.change(t.source_ami, "tags")
        when = self.plan.deprecate_at
        if when is not None and not _same_time(rec.deprecation_time, when):
            ec2x.enable_deprecation(ec2, rec.image_id, when)
            state.change(t.source_ami, "deprecation")

    def _verify_images(self, ec2: EC2Client, state: _RegionState, ready: Sequence[Target]) -> None:
        """One DescribeImages: snapshot IDs of new copies and the read-back of every change.

        Tags a copy lacks (a CopyImage whose tags did not stick) are repaired from the
        answer. Reads are eventually consistent, so problems get one more read after
        ``verify_retry_seconds``.
        """
        sources = {t.source_ami for t in ready} & (state.unread | state.dirty)
        if not sources:
            return
        problems = self._check_images(ec2, state, ready, sources)
        if problems:
            time.sleep(self.engine.verify_retry_seconds)
            problems = self._check_images(ec2, state, ready, sources)
        for source, problem in problems.items():
            state.errors[source] = f"verification failed: {problem}"

    def _check_images(
        self, ec2: EC2Client, state: _RegionState, ready: Sequence[Target], sources: set[str]
    ) -> dict[str, str]:
        share = self.plan.share
        wanted = [t for t in ready if t.source_ami in sources]
        self._read_images(ec2, state, sources)
        problems: dict[str, str] = {}
        for t in wanted:
            rec = state.records[t.source_ami]
            if t.source_ami in state.unread:
                problems[t.source_ami] = f"{rec.image_id} is not visible"
            elif t.source_ami in state.errors:
                continue
            elif share.public and not rec.public:
                problems[t.source_ami] = f"{rec.image_id} is not public after ModifyImageAttribute"
            elif t.action is not Action.SOURCE and (miss := missing_tags(rec.tags, t.tags)):
                ec2x.create_tags(ec2, [rec.image_id, *rec.snapshot_ids], miss)
                state.change(t.source_ami, "tags")
                problems[t.source_ami] = f"{rec.image_id} lacks tags {', '.join(sorted(miss))}"
            elif share.private_entities and t.source_ami in state.newly_shared:
                have = ec2x.launch_permissions(ec2, rec.image_id)
                want = ec2x.launch_permission_items(
                    public=False,
                    accounts=share.accounts,
                    organizations=share.organizations,
                    ous=share.ous,
                )
                lacking = [str(next(iter(w.values()))) for w in want if dict(w) not in have]
                if lacking:
                    problems[t.source_ami] = (
                        f"{rec.image_id} is not shared with {', '.join(lacking)}"
                    )
        return problems

    def _snapshot_audience(self) -> list[str]:
        share = self.plan.share
        if not share.snapshots:
            return []
        return ([PUBLIC] if share.public else []) + list(share.accounts)

    def _share_snapshots(
        self, ec2: EC2Client, state: _RegionState, ready: Sequence[Target]
    ) -> None:
        """Every backing snapshot gets the image's audience (organizations/OUs do not apply).

        Snapshots of images copied or shared by this run cannot have the audience yet and
        are shared without reading first; only the others (a re-run) are read, with one
        call per region and audience member.
        """
        audience = self._snapshot_audience()
        if not audience:
            return
        fresh_images = state.copied | state.newly_shared
        fresh = {
            s
            for t in ready
            if t.source_ami in fresh_images
            for s in state.records[t.source_ami].snapshot_ids
        }
        old = {s for t in ready for s in state.records[t.source_ami].snapshot_ids} - fresh
        have = self._snapshot_users(ec2, old, audience)
        for t in ready:
            rec = state.records[t.source_ami]
            for snap in rec.snapshot_ids:
                users = [u for u in audience if snap in fresh or u not in have.get(snap, set())]
                if not users:
                    continue
                ec2x.add_create_volume_permission(
                    ec2, snap, public=PUBLIC in users, accounts=[u for u in users if u != PUBLIC]
                )
                state.shared_snapshots.add(snap)
                state.changes.setdefault(t.source_ami, [])
                if "share-snapshots" not in state.changes[t.source_ami]:
                    state.changes[t.source_ami].append("share-snapshots")

    def _verify_snapshots(
        self, ec2: EC2Client, state: _RegionState, ready: Sequence[Target]
    ) -> None:
        """Read back the snapshots shared here; one retry for eventual consistency."""
        snaps = {
            s: t
            for t in ready
            for s in state.records[t.source_ami].snapshot_ids
            if s in state.shared_snapshots
        }
        if not snaps:
            return
        audience = self._snapshot_audience()
        problems = self._snapshot_problems(ec2, snaps, audience)
        if problems:
            time.sleep(self.engine.verify_retry_seconds)
            problems = self._snapshot_problems(ec2, snaps, audience)
        for source, problem in problems.items():
            state.errors.setdefault(source, f"verification failed: {problem}")

    def _snapshot_problems(
        self, ec2: EC2Client, snaps: Mapping[str, Target], audience: Sequence[str]
    ) -> dict[str, str]:
        users = self._snapshot_users(ec2, snaps, audience)
        problems: dict[str, str] = {}
        for snap, t in snaps.items():
            for user in audience:
                if user not in users.get(snap, set()):
                    problems.setdefault(t.source_ami, f"snapshot {snap} is not shared with {user}")
        return problems

    def _snapshot_users(
        self, ec2: EC2Client, snapshots: Iterable[str], audience: Sequence[str]
    ) -> dict[str, set[str]]:
        """snapshot → the audience members that may create volumes from it.

        ``restorable-by`` (default) reads DescribeSnapshots once per region and audience
        member, whatever the number of snapshots; ``attribute`` reads
        DescribeSnapshotAttribute per snapshot (for endpoints that ignore
        ``RestorableByUserIds``).
        """
        snaps = sorted(set(snapshots))
        out: dict[str, set[str]] = {s: set() for s in snaps}
        if not snaps or not audience:
            return out
        if self.engine.snapshot_check == "restorable-by":
            for user in audience:
                for snap in ec2x.snapshots_restorable_by(ec2, snaps, user):
                    out[snap].add(user)
            return out
        for snap in snaps:
            for perm in ec2x.create_volume_permissions(ec2, snap):
                out[snap].add(perm.get("Group") or perm.get("UserId", ""))
        return out

    def _conclude(self, state: _RegionState) -> None:
        state.outcomes = []
        for t in state.targets:
            rec = state.records.get(t.source_ami)
            error = state.errors.get(t.source_ami, "")
            if error:
                outcome_state = TargetState.FAILED
            elif t.source_ami in state.copied:
                outcome_state = TargetState.COPIED
            else:
                outcome_state = TargetState.EXISTED
            tags = dict(rec.tags) if rec else {}
            if rec is not None and t.action is not Action.SOURCE:
                tags = {**t.tags, **tags}
            state.outcomes.append(
                TargetOutcome(
                    source_ami=t.source_ami,
                    region=t.region,
                    state=outcome_state,
                    image_id=rec.image_id if rec else t.image_id,
                    public=bool(rec and rec.public),
                    is_source=t.action is Action.SOURCE,
                    snapshot_ids=rec.snapshot_ids if rec else (),
                    error=error,
                    name=t.name,
                    architecture=self._source(t.source_ami).record.architecture,
                    tags=self._source(t.source_ami).record.tags
                    if t.action is Action.SOURCE
                    else tags,
                    changes=tuple(state.changes.get(t.source_ami, ())),
                )
            )

    def _source(self, ami: str) -> SourceImage:
        return next(s for s in self.plan.sources if s.image_id == ami)

    def _write_parameters(self, state: _RegionState) -> None:
        templates: Sequence[SsmTemplate] = self.inputs.ssm_templates
        if not templates:
            return
        facts = [
            ImageFacts(
                source_ami=o.source_ami,
                region=o.region,
                image_id=o.image_id or "",
                arch=self._source(o.source_ami).arch,
                version=self._source(o.source_ami).version,
                name=self._source(o.source_ami).record.name,
            )
            for o in state.outcomes
            if o.state is not TargetState.FAILED and o.image_id
        ]
        if not facts:
            return
        params = plan_parameters(templates, facts)
        ssm = self.clients.ssm(state.region)
        try:
            current = ssm_params.current_values(ssm, [p.name for p in params])
        except Exception as exc:
            state.parameters = [
                _parameter_outcome(p, ParameterState.FAILED, error_text(exc)) for p in params
            ]
            return
        written: dict[str, ParameterOutcome] = {}
        outcomes: list[ParameterOutcome] = []
        for p in params:
            old = current.get(p.name)
            if old == p.value:
                outcomes.append(_parameter_outcome(p, ParameterState.EXISTED))
                continue
            if old is not None and not p.overwrite:
                outcomes.append(
                    _parameter_outcome(
                        p,
                        ParameterState.FAILED,
                        f"holds {old}; per-image names are never overwritten"
                        " — delete it or change the template",
                    )
                )
                continue
            new_state = ParameterState.UPDATED if old is not None else ParameterState.CREATED
            try:
                ssm_params.put_ami_parameter(
                    ssm,
                    p.name,
                    p.value,
                    overwrite=old is not None,
                    description=f"{p.source_ami} mirrored by imgpub",
                )
            except Exception as exc:
                outcomes.append(_parameter_outcome(p, ParameterState.FAILED, error_text(exc)))
                continue
            written[p.name] = _parameter_outcome(p, new_state)
        if written:
            try:
                back = ssm_params.current_values(ssm, written)
            except Exception as exc:
                back = {}
                note = error_text(exc)
            else:
                note = ""
            for name, o in written.items():
                if back.get(name) != o.value:
                    o = replace(
                        o,
                        state=ParameterState.FAILED,
                        error=note
                        or f"read back {back.get(name)!r}; SSM rejected the value"
                        f" (is it an AMI in {o.region}?)",
                    )
                outcomes.append(o)
        state.parameters = outcomes

    def _result(self) -> MirrorResult:
        targets = [o for r in self.plan.all_regions for o in self.states[r].outcomes]
        order = {a: i for i, a in enumerate(s.image_id for s in self.plan.sources)}
        targets.sort(key=lambda o: (order[o.source_ami], not o.is_source, o.region))
        return MirrorResult(
            targets=tuple(targets),
            parameters=tuple(p for r in self.plan.all_regions for p in self.states[r].parameters),
            notices=tuple(n for r in self.plan.all_regions for n in self.states[r].notices),
            unblocked_regions=self.plan.unblock_regions,
        )


def _placeholder(t: Target, image_id: str) -> ImageRecord:
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


def _parameter_outcome(p: SsmParameter, state: ParameterState, error: str = "") -> ParameterOutcome:
    return ParameterOutcome(p.region, p.name, p.value, state, p.source_ami, error)


def _same_time(existing: str, wanted: datetime) -> bool:
    if not existing:
        return False
    try:
        have = datetime.fromisoformat(existing.replace("Z", "+00:00"))
    except ValueError:
        return False
    return abs((have - wanted).total_seconds()) < 60


def plan_summary(plan: Plan) -> Mapping[str, object]:
    """The plan as plain data, for the dry-run printout and the results document."""
    return {
        "source_region": plan.source_region,
        "regions": list(plan.regions),
        "copies": [
            {"source_ami": t.source_ami, "region": t.region, "name": t.name}
            for t in plan.targets
            if t.action is Action.COPY
        ],
        "existing": [
            {"source_ami": t.source_ami, "region": t.region, "image_id": t.image_id}
            for t in plan.targets
            if t.action is Action.EXISTING
        ],
        "blocked": [
            {"source_ami": t.source_ami, "region": t.region, "problem": t.problem}
            for t in plan.targets
            if t.action is Action.BLOCKED
        ],
        "share": {
            "public": plan.share.public,
            "accounts": list(plan.share.accounts),
            "organizations": list(plan.share.organizations),
            "ous": list(plan.share.ous),
            "snapshots": plan.share.snapshots,
        },
        "unblock_public_access": list(plan.unblock_regions),
        "deprecate_at": plan.deprecate_at.isoformat() if plan.deprecate_at else None,
        "ssm_parameters": [
            {"region": p.region, "name": p.name, "overwrite": p.overwrite} for p in plan.ssm_preview
        ],
    }
