"""The plan of one build-ami run (a value), and its report: the whole answer to a dry run.

Discovery (:mod:`imgpub.build.discover`) finds what exists: an AMI of the same name, the
snapshots an earlier run started from the same image (by their identity tag), the base
AMI of a Packer build. :func:`decide_upload` turns that into one decision — nothing to
do, register from a completed snapshot, resume a pending one, or upload — and the plan
says what will be sent (from the extent map, nothing read), registered, shared and tested.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from imgpub.aws.ec2_builds import BaseImage, SnapshotInfo
from imgpub.build.model import BuildInputs
from imgpub.build.naming import ImageFacts
from imgpub.build.registration import describe_request
from imgpub.diskimage.streams import DiskSource
from imgpub.gha import Summary
from imgpub.results import Target
from imgpub.text import human_bytes

Mode = Literal["existed", "register", "resume", "upload", "packer"]


@dataclass(frozen=True)
class UploadDecision:
    mode: Mode
    snapshot_id: str = ""
    abandoned: tuple[str, ...] = ()
    attempt: int = 1
    why: str = ""


def decide_upload(
    existing_ami: str | None, snapshots: Sequence[SnapshotInfo], volume_gib: int
) -> UploadDecision:
    """What the upload must do, from the AMI and the snapshots of the same image found.

    A completed snapshot of the same image and size is reused (nothing is uploaded); a
    pending one is resumed (EBS still accepts its blocks until its timeout); snapshots in
    ``error`` (cancelled by EBS after their timeout) are deleted once a new one is made.
    """
    attempts = [int(s.tags.get("imgpub:upload-attempt", "1") or 1) for s in snapshots]
    attempt = max(attempts, default=0) + 1
    fitting = [s for s in snapshots if s.volume_size == volume_gib]
    failed = tuple(s.snapshot_id for s in snapshots if s.state == "error")
    if existing_ami:
        return UploadDecision("existed", why=f"AMI {existing_ami} of this image exists")
    done = [s for s in fitting if s.state == "completed"]
    if done:
        snap = done[-1]
        return UploadDecision(
            "register", snap.snapshot_id, failed, why=f"completed snapshot {snap.snapshot_id}"
        )
    pending = [s for s in fitting if s.state == "pending"]
    if pending:
        snap = pending[-1]
        others = tuple(s.snapshot_id for s in pending[:-1]) + failed
        return UploadDecision(
            "resume", snap.snapshot_id, others, attempt - 1, f"pending snapshot {snap.snapshot_id}"
        )
    return UploadDecision("upload", abandoned=failed, attempt=attempt)


@dataclass(frozen=True)
class ImageSource:
    """The disk image and what is known of it before reading its data."""

    source: DiskSource
    display: str  # where it is, without credentials
    identity: str
    disk_bytes: int
    volume_gib: int
    max_data_blocks: int | None


@dataclass(frozen=True)
class TestPlan:
    enabled: bool
    instance_type: str
    expected_release: str
    already_passed: bool = False


@dataclass
class BuildPlan:
    """Everything apply needs, decided; nothing here calls AWS."""

    inputs: BuildInputs
    region: str
    ami_name: str
    description: str
    facts: ImageFacts | None
    tags: Mapping[str, str]
    decision: UploadDecision
    existing_ami: str | None = None
    existing_snapshot: str = ""
    image: ImageSource | None = None
    register: dict[str, Any] | None = None
    base_image: BaseImage | None = None
    packer_command: tuple[str, ...] = ()
    test: TestPlan = field(default_factory=lambda: TestPlan(False, "", ""))
    started: float = field(default_factory=time.monotonic)

    @property
    def architecture(self) -> str:
        return self.facts.architecture if self.facts else ""

    def apply_title(self) -> str:
        if self.decision.mode == "packer":
            return f"Build {self.ami_name or 'the AMI'} with Packer"
        return f"Build {self.ami_name} in {self.region}"

    def lines(self) -> list[str]:
        out = [f"AMI {self.ami_name!r} in {self.region}"]
        d = self.decision
        if d.mode == "existed":
            out.append(f"exists: {self.existing_ami} (snapshot {self.existing_snapshot}); nothing uploaded")
        elif d.mode == "packer":
            base = self.base_image
            if base is not None:
                out.append(f"base AMI: {base.image_id} {base.name!r} ({base.creation_date})")
            out.append("packer " + " ".join(self.packer_command[1:]))
        elif self.image is not None:
            img = self.image
            estimate = (
                f"at most {img.max_data_blocks} data blocks of 512 KiB "
                f"({human_bytes(img.max_data_blocks * 512 * 1024)}) from the extent map"
                if img.max_data_blocks is not None
                else "data blocks known once the stream is read"
            )
            out.append(
                f"image {img.display}: {human_bytes(img.disk_bytes)} disk → {img.volume_gib} GiB "
                f"snapshot; {estimate}"
            )
            verbs = {
                "register": f"reuse {d.why}; nothing uploaded",
                "resume": f"resume {d.why} (re-send its data blocks; start over if EBS refuses)",
                "upload": "StartSnapshot, PutSnapshotBlock of data blocks only, CompleteSnapshot",
            }
            out.append(verbs[d.mode])
            if d.abandoned:
                out.append(f"delete abandoned snapshots once replaced: {', '.join(d.abandoned)}")
        if self.register is not None and d.mode != "existed":
            out.extend(describe_request(self.register))
        if self.inputs.share.any:
            out.append(f"share with {self.inputs.share.describe()} (snapshot too: {self.inputs.share.snapshots})")
        if self.test.enabled:
            if self.test.already_passed:
                out.append("boot test: passed before (tag imgpub:test=passed); not repeated")
            else:
                out.append(
                    f"boot test: one {self.test.instance_type} instance, expect "
                    f"{self.test.expected_release!r}, {len(self.inputs.test.commands)} test "
                    "command(s), then terminate it"
                )
        return out

    def _ami_target(self) -> Target:
        existed = self.decision.mode == "existed"
        return Target(
            kind="ami",
            key=f"ami:{self.region}:{self.ami_name or 'packer'}",
            state="existed" if existed else "planned",
            region=self.region,
            resource_id=self.existing_ami if existed else None,
            source=self.image.display if self.image else (self.base_image.image_id if self.base_image else None),
            details={
                "name": self.ami_name,
                "architecture": self.architecture,
                "snapshot_id": self.existing_snapshot or self.decision.snapshot_id,
                "region": self.region,
                "mode": self.decision.mode,
            },
        )

    def targets(self) -> list[Target]:
        out = [self._ami_target()]
        if self.test.enabled:
            out.append(
                Target(
                    kind="boot-test",
                    key=f"boot-test:{self.region}:{self.ami_name}",
                    state="existed" if self.test.already_passed else "planned",
                    region=self.region,
                    details={"instance_type": self.test.instance_type},
                )
            )
        return out

    def outputs(self) -> dict[str, str]:
        return {
            "ami-id": self.existing_ami or "",
            "ami-name": self.ami_name,
            "snapshot-id": self.existing_snapshot,
            "architecture": self.architecture,
            "test-result": "not-run" if self.test.enabled else "skipped",
        }

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"plan": self.lines(), "mode": self.decision.mode}
        if self.image is not None:
            out["image"] = {
                "source": self.image.display,
                "identity": self.image.identity,
                "disk_bytes": self.image.disk_bytes,
                "volume_gib": self.image.volume_gib,
                "max_data_blocks": self.image.max_data_blocks,
            }
        return out

    def summarize(self, summary: Summary) -> None:
        summary.heading(f"build-ami: plan for {self.ami_name or 'a Packer build'}", 2)
        summary.bullets(self.lines())
