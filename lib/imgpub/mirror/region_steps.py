"""The EC2 steps of one region: copy, wait, share, repair, verify, snapshots, SSM.

Each step runs on the region's worker thread, changes only its :class:`RegionState` and
says what comes next (:data:`~imgpub.mirror.region_state.StepAfter`); the
:class:`~imgpub.mirror.scheduler.CanaryScheduler` decides when. Per region:

* ``start``: one CopyImage per missing copy; tags for the image and its snapshots go in
  the request, so no CreateTags;
* ``progress`` (the canary only): one DescribeSnapshots for the progress of its copies;
  ``poll``: one DescribeImages for all the region's pending images;
* ``share``: launch permission, which is also the probe of images that may still be
  pending (EC2 refuses it with ``InvalidAMIID.Unavailable``), so the others need no poll;
* ``finish``: repairs, one DescribeImages that both fetches new copies' snapshot IDs and
  reads every change back, snapshot permissions and their read-back, SSM parameters.

Each step adds only what is missing, so a re-run repeats nothing: about 5 EC2 calls per
(image, region) for a public mirror, everything included. Once the run is cancelled a
step starts no new copy or share; it returns ``("stopped", 0)`` and the scheduler
concludes the region with what is known.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from imgpub.aws import ec2_images as ec2x
from imgpub.aws.errors import error_code, error_text
from imgpub.aws.image_sharing import ImageSharer, SnapshotCheck
from imgpub.aws.session import AwsClients
from imgpub.cancel import Cancellation
from imgpub.mirror.model import TAG_COPIED_AT, TAG_SOURCE_AMI
from imgpub.mirror.plan import Action, CopyTarget, Plan
from imgpub.mirror.planning import missing_tags
from imgpub.mirror.region_state import RegionState, StepAfter, conclude, placeholder
from imgpub.mirror.ssm_names import ImageFacts, plan_parameters
from imgpub.mirror.ssm_publish import publish_parameters
from imgpub.mirror.waiting import CopyProgress, Next, PollPolicy, after_progress

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

BPA_SETTLE_POLLS = 10
STOPPED: StepAfter = ("stopped", 0.0)


@dataclass(frozen=True)
class ApplyContext:
    """What the steps and the scheduler of one apply share: the plan, stops and clocks."""

    plan: Plan
    cancel: Cancellation
    deadline: float  # a ``monotonic()`` time
    monotonic: Callable[[], float]
    now: Callable[[], datetime]


@dataclass(frozen=True)
class RegionSteps:
    """The steps of one apply, for every region; holds no per-region state itself."""

    context: ApplyContext
    clients: AwsClients
    poll_policy: PollPolicy
    verify_retry_seconds: float
    snapshot_check: SnapshotCheck

    @property
    def plan(self) -> Plan:
        return self.context.plan

    @property
    def cancel(self) -> Cancellation:
        return self.context.cancel

    def sharer(self, region: str) -> ImageSharer:
        return ImageSharer(
            self.clients.ec2(region),
            self.plan.share,
            snapshot_check=self.snapshot_check,
            retry_seconds=self.verify_retry_seconds,
            sleep=self.cancel.sleep,
        )

    # -- copy and wait

    def start(self, state: RegionState) -> StepAfter:
        ec2 = self.clients.ec2(state.region)
        if state.region in self.plan.unblock_regions and not self.cancel.is_set:
            ec2x.disable_image_block_public_access(ec2)
            state.notices.append(
                f"turned off image block public access in {state.region}"
                " (allow-unblock-public-access is true)"
            )
        for t in state.targets:
            if t.action is Action.BLOCKED:
                state.errors[t.source_ami] = t.problem
            elif t.action is Action.COPY and not self.cancel.is_set:
                self._copy(ec2, state, t)
            elif t.existing is not None:
                state.records[t.source_ami] = t.existing
                if t.existing.state == "pending":
                    state.pending.add(t.source_ami)
        if self.cancel.is_set:
            return STOPPED
        return ("wait", 0.0) if state.pending else ("share", 0.0)

    def _copy(self, ec2: EC2Client, state: RegionState, t: CopyTarget) -> None:
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
                return
            image_id = adopted
        state.copy_answered[t.source_ami] = self.context.monotonic()
        state.copied.add(t.source_ami)
        state.note(t.source_ami, "copy")
        state.records[t.source_ami] = placeholder(t, image_id)
        state.pending.add(t.source_ami)
        state.unread.add(t.source_ami)

    def _adopt_after_token_reuse(
        self, ec2: EC2Client, state: RegionState, t: CopyTarget, exc: Exception
    ) -> str | None:
        """A copy started with this token by an earlier run that discovery did not see yet.

        The token is the same but the request is not (``CopiedAt`` differs), so EC2 answers
        ``IdempotentParameterMismatch``; look the copy up by name instead of failing.
        """
        if error_code(exc) != "IdempotentParameterMismatch":
            return None
        for rec in ec2x.images_by_name(ec2, state.region, [t.name]):
            if rec.tags.get(TAG_SOURCE_AMI, t.source_ami) == t.source_ami:
                return rec.image_id
        return None

    def poll(self, state: RegionState) -> StepAfter:
        """One DescribeImages for all of the region's pending images."""
        self._read_images(self.clients.ec2(state.region), state, state.pending)
        return self._after_wait(state, ("share", 0.0))

    def progress(self, state: RegionState) -> StepAfter:
        """The canary: one DescribeSnapshots for the progress of all the region's copies.

        Falls back to polling the images when EC2 shows no progress (no tagged snapshots,
        a snapshot in error) or the deadline has come.
        """
        if self.context.monotonic() >= self.context.deadline:
            return self.poll(state)
        tag_values: dict[str, set[str]] = {TAG_SOURCE_AMI: set(), TAG_COPIED_AT: set()}
        for source in state.pending:
            t = next(t for t in state.targets if t.source_ami == source)
            copied_at = state.records[source].tags.get(TAG_COPIED_AT) or t.tags.get(TAG_COPIED_AT)
            if copied_at:
                tag_values[TAG_SOURCE_AMI].add(source)
                tag_values[TAG_COPIED_AT].add(copied_at)
        if not tag_values[TAG_SOURCE_AMI]:
            return self.poll(state)
        snaps = ec2x.snapshots_tagged(self.clients.ec2(state.region), tag_values)
        now, mono = self.context.now(), self.context.monotonic()

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
        action, delay = after_progress(readings, self.poll_policy)
        if action is Next.POLL:
            return self.poll(state)
        if action is Next.TRY:
            return "try", delay
        return "wait", delay

    def _after_wait(self, state: RegionState, then: StepAfter) -> StepAfter:
        if state.pending and self.context.monotonic() >= self.context.deadline:
            for source in sorted(state.pending):
                state.errors[source] = (
                    f"copy {state.records[source].image_id} still pending at the deadline "
                    f"({self.plan.timeout}); re-run to resume waiting"
                )
            state.pending.clear()
        return ("wait", 0.0) if state.pending else then

    def _read_images(self, ec2: EC2Client, state: RegionState, sources: Iterable[str]) -> None:
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

    # -- share and finish

    def share(self, state: RegionState) -> StepAfter:
        """Launch permissions — also the probe of images that may still be pending.

        EC2 changes launch permission only of an available image, so a success confirms
        the image is available and a refusal (``InvalidAMIID.Unavailable``) sends the
        region back to waiting, keeping what succeeded. Only images with no launch
        permission to add are confirmed with a DescribeImages.
        """
        ec2 = self.clients.ec2(state.region)
        sharer = self.sharer(state.region)
        if state.region in self.plan.unblock_regions and self.plan.share.public:
            self._await_unblocked(ec2)
        refused: set[str] = set()
        for t in state.ready():
            if self.cancel.is_set:
                return STOPPED
            try:
                if not self._share_image(sharer, state, t):
                    refused.add(t.source_ami)
            except Exception as exc:
                state.errors[t.source_ami] = error_text(exc)
        state.pending -= set(state.errors)
        unconfirmed = state.pending - refused
        if unconfirmed:
            self._read_images(ec2, state, unconfirmed)
        return self._after_wait(state, ("finish", 0.0))

    def _await_unblocked(self, ec2: EC2Client) -> None:
        """DisableImageBlockPublicAccess takes effect asynchronously; wait before sharing."""
        delay = 1.0
        for _ in range(BPA_SETTLE_POLLS):
            if ec2x.image_block_public_access_state(ec2) == "unblocked":
                return
            if self.cancel.sleep(delay):
                return
            delay = min(delay * 2, 30.0)

    def _share_image(self, sharer: ImageSharer, state: RegionState, t: CopyTarget) -> bool:
        """Add the launch permissions the image lacks; False while EC2 says it is pending."""
        source = t.source_ami
        if not self.plan.share.any or source in state.launch_done:
            return True
        rec = state.records[source]
        items = sharer.missing_launch_permissions(rec, fresh=source in state.copied)
        try:
            added = sharer.add_launch_permissions(rec.image_id, items)
        except ClientError as exc:
            if error_code(exc) != ec2x.IMAGE_UNAVAILABLE or source not in state.pending:
                raise
            return False
        if added:
            state.change(source, "share")
            state.newly_shared.add(source)
            state.pending.discard(source)  # EC2 changes launch permission of available images only
        state.launch_done.add(source)
        return True

    def finish(self, state: RegionState) -> StepAfter:
        """Repairs, one read-back of the images, snapshot permissions and their read-back, SSM."""
        if self.cancel.is_set:
            return STOPPED
        ec2 = self.clients.ec2(state.region)
        for t in state.ready():
            try:
                self._repair_image(ec2, state, t)
            except Exception as exc:
                state.errors[t.source_ami] = error_text(exc)
        sharer = self.sharer(state.region)
        self._verify_images(ec2, sharer, state, state.ready())
        if self.cancel.is_set:
            return STOPPED
        ready = state.ready()
        try:
            self._share_snapshots(sharer, state, ready)
        except Exception as exc:
            for t in ready:
                state.errors.setdefault(t.source_ami, f"snapshot sharing failed: {error_text(exc)}")
        self._verify_snapshots(sharer, state, state.ready())
        if self.cancel.is_set:
            return STOPPED
        conclude(state, self.plan)
        self._publish_parameters(state)
        return None

    def _repair_image(self, ec2: EC2Client, state: RegionState, t: CopyTarget) -> None:
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

    def _verify_images(
        self,
        ec2: EC2Client,
        sharer: ImageSharer,
        state: RegionState,
        ready: Sequence[CopyTarget],
    ) -> None:
        """One DescribeImages: snapshot IDs of new copies and the read-back of every change.

        Tags a copy lacks (a CopyImage whose tags did not stick) are repaired from the
        answer. Reads are eventually consistent, so problems get one more read after
        ``verify_retry_seconds``.
        """
        sources = {t.source_ami for t in ready} & (state.unread | state.dirty)
        if not sources:
            return
        problems = self._check_images(ec2, sharer, state, ready, sources)
        if problems:
            self.cancel.sleep(self.verify_retry_seconds)
            problems = self._check_images(ec2, sharer, state, ready, sources)
        for source, problem in problems.items():
            state.errors[source] = f"verification failed: {problem}"

    def _check_images(
        self,
        ec2: EC2Client,
        sharer: ImageSharer,
        state: RegionState,
        ready: Sequence[CopyTarget],
        sources: set[str],
    ) -> dict[str, str]:
        self._read_images(ec2, state, sources)
        problems: dict[str, str] = {}
        for t in (t for t in ready if t.source_ami in sources):
            rec = state.records[t.source_ami]
            if t.source_ami in state.unread:
                problems[t.source_ami] = f"{rec.image_id} is not visible"
            elif t.source_ami in state.errors:
                continue
            elif problem := sharer.launch_problem(
                rec, read_private=t.source_ami in state.newly_shared
            ):
                problems[t.source_ami] = problem
            elif t.action is not Action.SOURCE and (miss := missing_tags(rec.tags, t.tags)):
                ec2x.create_tags(ec2, [rec.image_id, *rec.snapshot_ids], miss)
                state.change(t.source_ami, "tags")
                problems[t.source_ami] = f"{rec.image_id} lacks tags {', '.join(sorted(miss))}"
        return problems

    def _share_snapshots(
        self, sharer: ImageSharer, state: RegionState, ready: Sequence[CopyTarget]
    ) -> None:
        """Every backing snapshot gets the image's audience (organizations/OUs do not apply)."""
        fresh = state.copied | state.newly_shared
        records = {t.source_ami: state.records[t.source_ami] for t in ready}
        changed = sharer.share_snapshots(
            records.values(), fresh={records[s].image_id for s in fresh if s in records}
        )
        for source, rec in records.items():
            if rec.image_id in changed:
                state.shared_snapshots.update(changed[rec.image_id])
                state.note(source, "share-snapshots")

    def _verify_snapshots(
        self, sharer: ImageSharer, state: RegionState, ready: Sequence[CopyTarget]
    ) -> None:
        """Read back the snapshots shared here (one retry for eventual consistency)."""
        owner = {
            s: t.source_ami
            for t in ready
            for s in state.records[t.source_ami].snapshot_ids
            if s in state.shared_snapshots
        }
        for snap, problem in sharer.snapshot_problems(owner).items():
            state.errors.setdefault(owner[snap], f"verification failed: {problem}")

    def _publish_parameters(self, state: RegionState) -> None:
        if not self.plan.ssm_templates:
            return
        facts = [
            ImageFacts(
                source_ami=o.source_ami,
                region=o.region,
                image_id=o.image_id or "",
                arch=self.plan.source(o.source_ami).arch,
                version=self.plan.source(o.source_ami).version,
                name=self.plan.source(o.source_ami).record.name,
            )
            for o in state.outcomes
            if not o.unfinished and o.image_id
        ]
        if facts:
            params = plan_parameters(self.plan.ssm_templates, facts)
            state.parameters = publish_parameters(self.clients.ssm(state.region), params)


def _same_time(existing: str, wanted: datetime) -> bool:
    if not existing:
        return False
    try:
        have = datetime.fromisoformat(existing.replace("Z", "+00:00"))
    except ValueError:
        return False
    return abs((have - wanted).total_seconds()) < 60
