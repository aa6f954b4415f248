"""Upload a disk into an EBS snapshot: only data blocks, several in flight, read once.

The disk is read in order exactly once (never written locally); each 512 KiB block that
holds data is hashed and sent by one of ``concurrency`` workers, and at most that many
blocks (plus one) are in memory. Keys handed to :func:`imgpub.fanout.fan_out` are block
indices, pulled lazily, so memory stays bounded whatever the disk's size.

Idempotency and crashes (cloud-apis.md §9.8): the snapshot is started with the image's
identity in its tags and a client token derived from it, so a re-run finds it. A pending
snapshot is resumed by sending its data blocks again (EBS keeps no list of what a pending
snapshot holds; writing a block again is allowed); one EBS no longer accepts (its
inactivity timeout fired) is replaced by a new one, and the abandoned one deleted — the
outcome says which happened. A source found corrupt mid-way deletes the snapshot this run
started: no snapshot can ever be completed from it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from botocore.exceptions import BotoCoreError, ClientError

from imgpub.aws import ec2_builds
from imgpub.aws.ebs import EbsWriter, block_digest
from imgpub.aws.errors import error_code, error_text
from imgpub.aws.session import ClientFactory
from imgpub.build.naming import TAG_ATTEMPT
from imgpub.build.plan import BuildPlan
from imgpub.cancel import Cancellation
from imgpub.diskimage.blocks import BlockStats, data_blocks, disk_chunks
from imgpub.diskimage.errors import CorruptSource
from imgpub.fanout import Failed, NotDone, fan_out

UploadState = Literal["created", "resumed", "existed", "failed", "cancelled"]
WAIT_SECONDS = 2.0


@dataclass
class UploadOutcome:
    state: UploadState
    snapshot_id: str = ""
    note: str = ""
    error: str = ""
    remedy: str = ""
    stats: BlockStats = field(default_factory=BlockStats)
    blocks_sent: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0
    deleted: tuple[str, ...] = ()

    @property
    def rate(self) -> float:
        return self.stats.bytes_read / self.seconds if self.seconds > 0 else 0.0


class RefusedSnapshot(Exception):
    """EBS no longer takes blocks for the snapshot (completed, timed out or gone)."""


Progress = Callable[[UploadOutcome], None]


class SnapshotUploader:
    def __init__(
        self,
        factory: ClientFactory,
        plan: BuildPlan,
        *,
        cancel: Cancellation,
        deadline: float,
        on_progress: Progress,
    ) -> None:
        self.factory = factory
        self.plan = plan
        self.cancel = cancel
        self.deadline = deadline
        self.on_progress = on_progress
        self.region = plan.region

    def _writer(self) -> EbsWriter:
        return EbsWriter(self.factory.ebs(self.region), cancel=self.cancel)

    def run(self) -> UploadOutcome:
        decision = self.plan.decision
        started = time.monotonic()
        if decision.mode == "register":
            return UploadOutcome("existed", decision.snapshot_id, note="reused, nothing uploaded")
        outcome: UploadOutcome
        abandoned = list(decision.abandoned)
        try:
            if decision.mode == "resume":
                try:
                    outcome = self._resume(decision.snapshot_id)
                except RefusedSnapshot as refused:
                    abandoned.append(decision.snapshot_id)
                    outcome = self._new(decision.attempt + 1)
                    outcome.note = f"EBS no longer accepted {decision.snapshot_id} ({refused}); started over"
            else:
                outcome = self._new(decision.attempt)
        except (ClientError, BotoCoreError) as exc:
            return UploadOutcome("failed", error=error_text(exc), remedy=_remedy(exc))
        outcome.seconds = time.monotonic() - started
        if outcome.state in ("created", "resumed"):
            outcome.deleted = self._delete(abandoned)
            if outcome.deleted and "started over" not in outcome.note:
                outcome.note += (
                    f"; started over: EBS no longer accepted {', '.join(outcome.deleted)}, deleted"
                )
        return outcome

    def _resume(self, snapshot_id: str) -> UploadOutcome:
        state = ec2_builds.snapshot_state(self.factory.ec2(self.region), snapshot_id)
        if state != "pending":
            raise RefusedSnapshot(f"it is {state}")
        outcome = self._send(snapshot_id, refusal_is_fatal=False)
        if outcome.state == "created":
            outcome.state = "resumed"
            outcome.note = f"resumed pending snapshot {snapshot_id}"
        return outcome

    def _new(self, attempt: int) -> UploadOutcome:
        image = self.plan.image
        assert image is not None
        tags = dict(self.plan.tags)
        tags[TAG_ATTEMPT] = str(attempt)
        token = hashlib.sha256(
            f"{image.identity}:{image.volume_gib}:{attempt}".encode()
        ).hexdigest()[:64]
        started = self._writer().start(
            volume_gib=image.volume_gib,
            tags=tags,
            description=f"imgpub build-ami: {self.plan.ami_name} from {image.source.name}",
            client_token=token,
        )
        outcome = self._send(started.snapshot_id, refusal_is_fatal=True)
        if outcome.state == "created" and not outcome.note:
            outcome.note = f"uploaded into new snapshot {started.snapshot_id}"
        return outcome

    def _send(self, snapshot_id: str, *, refusal_is_fatal: bool) -> UploadOutcome:
        image = self.plan.image
        assert image is not None
        outcome = UploadOutcome("created", snapshot_id)
        waiting: dict[int, bytes] = {}
        digests: dict[int, bytes] = {}

        def indices() -> Iterator[int]:
            for block in data_blocks(disk_chunks(image.source), outcome.stats):
                waiting[block.index] = block.data
                yield block.index

        def send(index: int) -> int:
            data = waiting.pop(index)
            digest = block_digest(data)
            digests[index] = digest
            self._writer().put(snapshot_id, index, data, digest)
            return len(data)

        def done(_index: int, result: int | Failed | NotDone) -> None:
            if isinstance(result, int):
                outcome.blocks_sent += 1
                outcome.bytes_sent += result
                self.on_progress(outcome)

        try:
            fanned = fan_out(
                indices(),
                send,
                max_workers=self.plan.inputs.upload_concurrency,
                cancel=self.cancel,
                deadline=self.deadline,
                on_done=done,
                thread_name="imgpub-ebs",
            )
        except CorruptSource as exc:
            deleted = self._delete([snapshot_id]) if refusal_is_fatal else ()
            return UploadOutcome(
                "failed", snapshot_id, error=exc.message, remedy=exc.remedy or "", deleted=deleted
            )
        except OSError as exc:
            return UploadOutcome("failed", snapshot_id, error=f"reading the image: {exc}",
                                 remedy="check the image, then re-run to resume")
        failed = fanned.failed()
        if failed:
            first = next(iter(failed.values())).error
            if not refusal_is_fatal and _refused(first):
                raise RefusedSnapshot(error_text(first))
            outcome.state, outcome.error = "failed", error_text(first)
            outcome.remedy = _remedy(first)
            return outcome
        not_done = fanned.not_done()
        if not_done:
            outcome.state = "cancelled"
            outcome.error = next(iter(not_done.values())).reason
            outcome.remedy = f"re-run: the pending snapshot {snapshot_id} is resumed"
            return outcome
        self._writer().complete(snapshot_id, digests)
        return self._wait_completed(outcome)

    def _wait_completed(self, outcome: UploadOutcome) -> UploadOutcome:
        ec2 = self.factory.ec2(self.region)
        while True:
            state = ec2_builds.snapshot_state(ec2, outcome.snapshot_id)
            if state == "completed":
                return outcome
            if state in ("error", "missing"):
                outcome.state, outcome.error = "failed", f"snapshot {outcome.snapshot_id} is {state}"
                outcome.remedy = "re-run: a new snapshot is uploaded"
                return outcome
            if time.monotonic() >= self.deadline or self.cancel.sleep(WAIT_SECONDS):
                outcome.state = "cancelled"
                outcome.error = f"snapshot {outcome.snapshot_id} still sealing ({state})"
                outcome.remedy = "re-run: the completed snapshot is registered"
                return outcome

    def _delete(self, snapshot_ids: list[str]) -> tuple[str, ...]:
        ec2 = self.factory.ec2(self.region)
        deleted: list[str] = []
        for snapshot_id in dict.fromkeys(snapshot_ids):
            try:
                ec2_builds.delete_snapshot(ec2, snapshot_id)
                deleted.append(snapshot_id)
            except ClientError:
                continue  # reported by its absence from the list; the next run retries
        return tuple(deleted)


def _refused(exc: BaseException) -> bool:
    code = error_code(exc)
    text = error_text(exc).lower()
    return code == "ResourceNotFoundException" or (
        code == "ValidationException" and "not pending" in text
    )


def _remedy(exc: BaseException) -> str:
    code = error_code(exc)
    if code in ("AccessDeniedException", "UnauthorizedOperation", "AccessDenied"):
        return (
            "grant the role ebs:StartSnapshot, ebs:PutSnapshotBlock, ebs:CompleteSnapshot and "
            "ec2:CreateTags, then re-run (the pending snapshot is resumed)"
        )
    return "re-run: a pending snapshot is resumed, a completed one reused"
