"""The plan of one mirror-ami run, and how it reports itself.

The plan is a pure value built from what discovery found (:mod:`imgpub.mirror.planning`):
one :class:`CopyTarget` per (source AMI, region) with what to do there, plus everything
apply needs (audience, encryption, deprecation, SSM templates, concurrency, deadline,
table files), so apply never looks back at the inputs. It is also the whole answer of a
dry run: its lines, targets, outputs and summary below are what ``--dry-run`` shows and
records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from imgpub.aws.ec2_images import ImageRecord
from imgpub.aws.image_sharing import ShareAudience
from imgpub.gha import Summary
from imgpub.mirror.ssm_names import SsmParameter, SsmTemplate
from imgpub.results import Target, TargetState
from imgpub.stage import json_output


class Action(StrEnum):
    COPY = "copy"  # no copy yet: CopyImage
    EXISTING = "existing"  # a copy exists (maybe pending): wait, then repair tags/shares
    SOURCE = "source"  # the source itself, in the source region: share only
    BLOCKED = "blocked"  # cannot proceed in this region (conflict, discovery failed)


@dataclass(frozen=True)
class SourceImage:
    """The source AMI as the preflight saw it."""

    record: ImageRecord

    @property
    def image_id(self) -> str:
        return self.record.image_id

    @property
    def arch(self) -> str:
        """The Architecture tag (``aarch64``) first, as the tables and SSM names want it."""
        return self.record.tags.get("Architecture") or self.record.architecture

    @property
    def version(self) -> str:
        return self.record.tags.get("Version", "")


@dataclass(frozen=True)
class CopyTarget:
    """One (source AMI, region) and what to do there."""

    source_ami: str
    region: str
    action: Action
    name: str
    description: str = ""
    image_id: str | None = None  # known for EXISTING and SOURCE
    existing: ImageRecord | None = None
    tags: Mapping[str, str] = field(default_factory=dict)  # wanted on the copy and its snapshots
    client_token: str = ""
    kms_key_id: str | None = None
    problem: str = ""  # why BLOCKED

    @property
    def key(self) -> str:
        """The target's key in the results document."""
        return f"{self.source_ami}@{self.region}"

    @property
    def kind(self) -> str:
        return "ami-source" if self.action is Action.SOURCE else "ami-copy"


@dataclass(frozen=True)
class Plan:
    """Everything apply will do; printed by a dry run."""

    source_region: str
    regions: tuple[str, ...]  # copy destinations, sorted; the source region excluded
    sources: tuple[SourceImage, ...]
    copy_targets: tuple[CopyTarget, ...]
    share: ShareAudience
    encrypt: bool
    deprecate_at: datetime | None
    unblock_regions: tuple[str, ...]  # BPA will be disabled there (only when allowed)
    ssm_templates: tuple[SsmTemplate, ...]
    ssm_preview: tuple[SsmParameter, ...]  # names with stand-in values, for the printout
    max_concurrency: int
    timeout: timedelta
    csv_output: str = ""
    md_output: str = ""
    started: float = field(default=0.0, compare=False)
    """``time.monotonic()`` when preflight began: the summary reports the whole run's time."""

    def in_region(self, region: str) -> tuple[CopyTarget, ...]:
        return tuple(t for t in self.copy_targets if t.region == region)

    @property
    def all_regions(self) -> tuple[str, ...]:
        return (self.source_region, *self.regions)

    def count(self, action: Action) -> int:
        return sum(1 for t in self.copy_targets if t.action is action)

    def source(self, ami: str) -> SourceImage:
        return next(s for s in self.sources if s.image_id == ami)

    # -- the Report protocol (imgpub.flow): what a dry run shows and records

    def apply_title(self) -> str:
        return f"Copy, share and publish in {len(self.all_regions)} regions"

    def lines(self) -> list[str]:
        """The whole plan, one line per action: the answer of a dry run."""
        lines = [
            f"source region {self.source_region}; {len(self.regions)} target regions: "
            + ", ".join(self.regions)
        ]
        for t in self.copy_targets:
            if t.action is Action.COPY:
                lines.append(f"copy   {t.source_ami} → {t.region} as '{t.name}'")
            elif t.action is Action.EXISTING:
                lines.append(
                    f"exists {t.source_ami} → {t.region}: {t.image_id} (check tags, shares)"
                )
            elif t.action is Action.SOURCE:
                lines.append(f"source {t.source_ami} in {t.region} (share only)")
            else:
                lines.append(f"cannot {t.source_ami} → {t.region}: {t.problem}")
        audience = self.share.describe()
        if audience:
            lines.append(f"share with {audience} (snapshots: {self.share.snapshots})")
        for region in self.unblock_regions:
            lines.append(f"turn off image block public access in {region} (allowed by input)")
        if self.deprecate_at:
            lines.append(f"deprecate every copy at {self.deprecate_at.isoformat()}")
        lines.extend(f"ssm    {p.region} {p.name}" for p in self.ssm_preview)
        return lines

    def targets(self) -> list[Target]:
        """Copies to make ``planned``; copies found and the sources ``existed``."""
        out = []
        for t in self.copy_targets:
            state: TargetState = "failed" if t.action is Action.BLOCKED else "planned"
            if t.action in (Action.EXISTING, Action.SOURCE):
                state = "existed"
            out.append(
                Target(
                    t.kind,
                    t.key,
                    state,
                    region=t.region,
                    resource_id=t.image_id,
                    source=t.source_ami,
                    error=t.problem or None,
                    details={"action": str(t.action), "name": t.name},
                )
            )
        return out

    def outputs(self) -> dict[str, str]:
        existing: dict[str, dict[str, str]] = {}
        for t in self.copy_targets:
            if t.image_id and t.action in (Action.EXISTING, Action.SOURCE):
                existing.setdefault(t.source_ami, {})[t.region] = t.image_id
        blocked = sorted({t.region for t in self.copy_targets if t.action is Action.BLOCKED})
        return {"amis": json_output(existing), "failed-regions": ",".join(blocked)}

    def data(self) -> dict[str, Any]:
        return {"plan": self.summary_data()}

    def summarize(self, summary: Summary) -> None:
        summary.heading("mirror-ami plan (dry run: nothing was changed)")
        counts = {a: self.count(a) for a in Action}
        summary.text(
            f"{counts[Action.COPY]} copies to make, {counts[Action.EXISTING]} already exist, "
            f"{counts[Action.BLOCKED]} blocked, across {len(self.all_regions)} regions."
        )
        rows = [
            (t.source_ami, t.region, str(t.action), t.image_id or "", t.problem)
            for t in sorted(self.copy_targets, key=lambda t: (t.source_ami, t.region))
        ]
        summary.table(["source", "region", "action", "existing AMI", "problem"], rows)
        if self.ssm_preview:
            summary.table(
                ["region", "SSM parameter", "overwritten each release"],
                [(p.region, p.name, "yes" if p.overwrite else "no") for p in self.ssm_preview],
            )

    def summary_data(self) -> dict[str, Any]:
        """The plan as plain data, for the results document (dry run or not)."""
        return {
            "source_region": self.source_region,
            "regions": list(self.regions),
            "copies": [
                {"source_ami": t.source_ami, "region": t.region, "name": t.name}
                for t in self.copy_targets
                if t.action is Action.COPY
            ],
            "existing": [
                {"source_ami": t.source_ami, "region": t.region, "image_id": t.image_id}
                for t in self.copy_targets
                if t.action is Action.EXISTING
            ],
            "blocked": [
                {"source_ami": t.source_ami, "region": t.region, "problem": t.problem}
                for t in self.copy_targets
                if t.action is Action.BLOCKED
            ],
            "share": {
                "public": self.share.public,
                "accounts": list(self.share.accounts),
                "organizations": list(self.share.organizations),
                "ous": list(self.share.ous),
                "snapshots": self.share.snapshots,
            },
            "unblock_public_access": list(self.unblock_regions),
            "deprecate_at": self.deprecate_at.isoformat() if self.deprecate_at else None,
            "ssm_parameters": [
                {"region": p.region, "name": p.name, "overwrite": p.overwrite}
                for p in self.ssm_preview
            ],
        }
