"""What one build-ami run did, and its report: targets, outputs, data and the job summary.

The AMI is one target (kind ``ami``, resource ID the AMI ID, details with its name,
architecture, snapshot and region) — what mirror-ami and marketplace-changeset take when
their own source input is empty. It is ``failed`` when its boot test failed or its share
could not be verified, so a failed build never passes for a release; the boot test is a
target of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imgpub.build.boot import BootOutcome
from imgpub.build.plan import BuildPlan
from imgpub.build.upload import UploadOutcome
from imgpub.gha import Summary
from imgpub.results import Target, TargetState
from imgpub.text import human_bytes

TEST_STATES: dict[str, TargetState] = {
    "passed": "created",
    "failed": "failed",
    "timed-out": "failed",
    "error": "failed",
    "cancelled": "cancelled",
}


@dataclass
class BuildResult:
    plan: BuildPlan
    ami_state: TargetState
    ami_id: str = ""
    ami_name: str = ""
    architecture: str = ""
    snapshot_id: str = ""
    error: str = ""
    remedy: str = ""
    how: str = ""
    upload: UploadOutcome | None = None
    shared: tuple[str, ...] = ()
    share_problems: tuple[str, ...] = ()
    test: BootOutcome | None = None
    test_skipped_reason: str = ""
    packer_tail: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def test_result(self) -> str:
        if not self.plan.test.enabled:
            return "skipped"
        if self.plan.test.already_passed:
            return "passed"
        return self.test.result if self.test is not None else "not-run"

    def _ami_target(self) -> Target:
        details: dict[str, Any] = {
            "name": self.ami_name,
            "architecture": self.architecture,
            "snapshot_id": self.snapshot_id,
            "region": self.plan.region,
            "version": self.plan.facts.version if self.plan.facts else "",
            "built_with": "packer" if self.plan.base_image else "ebs-direct",
            "test": self.test_result,
        }
        if self.how:
            details["how"] = self.how
        if self.shared:
            details["shared_with"] = list(self.shared)
        source = self.plan.image.display if self.plan.image else None
        if self.plan.base_image is not None:
            source = self.plan.base_image.image_id
        return Target(
            kind="ami",
            key=f"ami:{self.plan.region}:{self.plan.ami_name or 'packer'}",
            state=self.ami_state,
            region=self.plan.region,
            resource_id=self.ami_id or None,
            source=source,
            error=self.error or None,
            remedy=self.remedy or None,
            details=details,
        )

    def targets(self) -> list[Target]:
        out = [self._ami_target()]
        if self.plan.test.enabled:
            if self.plan.test.already_passed:
                state: TargetState = "existed"
            elif self.test is None:
                state = "skipped" if self.ami_state in ("failed", "cancelled") else "cancelled"
            else:
                state = TEST_STATES[self.test.result]
            t = self.test
            out.append(
                Target(
                    kind="boot-test",
                    key=f"boot-test:{self.plan.region}:{self.plan.ami_name}",
                    state=state,
                    region=self.plan.region,
                    resource_id=(t.instance_id or None) if t else None,
                    source=self.ami_id or None,
                    error=(t.detail or t.error or None) if t and t.result != "passed" else None,
                    remedy=t.remedy if t and t.result != "passed" else None,
                    details={
                        "result": self.test_result,
                        "instance_type": self.plan.test.instance_type,
                        "terminated": t.terminated if t else None,
                        "packages": len(t.packages) if t else 0,
                    },
                )
            )
        return out

    def outputs(self) -> dict[str, str]:
        return {
            "ami-id": self.ami_id,
            "ami-name": self.ami_name,
            "snapshot-id": self.snapshot_id,
            "architecture": self.architecture,
            "test-result": self.test_result,
        }

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ami": {
                "id": self.ami_id,
                "name": self.ami_name,
                "architecture": self.architecture,
                "snapshot_id": self.snapshot_id,
                "region": self.plan.region,
                "state": self.ami_state,
            },
            "notes": self.notes,
        }
        up = self.upload
        if up is not None:
            out["upload"] = {
                "state": up.state,
                "snapshot_id": up.snapshot_id,
                "note": up.note,
                "bytes_read": up.stats.bytes_read,
                "blocks_sent": up.blocks_sent,
                "bytes_sent": up.bytes_sent,
                "zero_blocks_skipped": up.stats.zero_blocks_skipped,
                "seconds": round(up.seconds, 3),
                "deleted_snapshots": list(up.deleted),
            }
        if self.packer_tail:
            out["packer_tail"] = list(self.packer_tail)
        return out

    def summarize(self, summary: Summary) -> None:
        verdict = {"created": "done", "existed": "nothing to do"}.get(self.ami_state, self.ami_state)
        summary.heading(f"build-ami: {verdict}", 2)
        summary.table(
            ["AMI", "name", "region", "architecture", "snapshot", "state", "how"],
            [
                (
                    self.ami_id or "—",
                    self.ami_name or "—",
                    self.plan.region,
                    self.architecture,
                    self.snapshot_id or "—",
                    self.ami_state,
                    self.how,
                )
            ],
        )
        up = self.upload
        if up is not None and up.state != "existed":
            summary.heading("Upload", 3)
            summary.table(
                ["read", "sent", "blocks sent", "zero blocks skipped", "seconds", "rate", "result"],
                [
                    (
                        human_bytes(up.stats.bytes_read),
                        human_bytes(up.bytes_sent),
                        up.blocks_sent,
                        up.stats.zero_blocks_skipped,
                        f"{up.seconds:.1f}",
                        f"{human_bytes(up.rate)}/s",
                        up.note or up.state,
                    )
                ],
            )
            if up.deleted:
                summary.text(f"Deleted abandoned snapshots: {', '.join(up.deleted)}")
        if self.shared or self.share_problems:
            summary.heading("Sharing", 3)
            summary.bullets([f"launch permission: {', '.join(self.shared)}", *self.share_problems])
        if self.plan.test.enabled:
            summary.heading("Boot test", 3)
            t = self.test
            summary.table(
                ["result", "instance", "type", "terminated", "packages", "detail"],
                [
                    (
                        self.test_result,
                        t.instance_id if t else "—",
                        self.plan.test.instance_type,
                        ("yes" if t.terminated else "NO") if t else "—",
                        len(t.packages) if t else 0,
                        (t.detail or t.error) if t else self.test_skipped_reason,
                    )
                ],
            )
        if self.error:
            summary.text(f"Error: {self.error}")
            if self.remedy:
                summary.text(f"What to do: {self.remedy}")
        if self.packer_tail:
            summary.details("Last lines of Packer's output", "\n".join(self.packer_tail))
        for note in self.notes:
            summary.text(note)
