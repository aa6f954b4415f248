"""The chart's part of the plan: the repacked chart, its digest, and push or not (pure).

The chart is repacked deterministically during discovery, so its manifest digest is
known before anything is sent: the same digest at the destination tag is ``existed``; a
different one is refused like an image's, since a Marketplace tag can never change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from imgpub.gha import Summary
from imgpub.oci.reference import Reference
from imgpub.results import Target, TargetState


class ChartAction(StrEnum):
    PUSH = "push"
    EXISTS = "exists"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class PackedChart:
    """The repacked chart as the OCI artifact Helm pulls: blobs and the manifest's bytes."""

    name: str
    version: str
    archive: bytes = field(repr=False)
    config: bytes = field(repr=False)
    manifest: bytes = field(repr=False)
    manifest_digest: str
    archive_digest: str
    config_digest: str
    chart_yaml: bytes = field(repr=False)  # the source's, byte for byte
    rewrites: tuple[tuple[str, str, str], ...] = ()  # (values path, old, new)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChartPlan:
    source: str
    destination: Reference
    action: ChartAction
    packed: PackedChart
    existing_digest: str = ""

    @property
    def digest(self) -> str:
        return self.packed.manifest_digest

    @property
    def state(self) -> TargetState:
        if self.action is ChartAction.EXISTS:
            return "existed"
        return "failed" if self.action is ChartAction.CONFLICT else "planned"

    @property
    def problem(self) -> str:
        if self.action is not ChartAction.CONFLICT:
            return ""
        return (
            f"{self.destination} already holds chart {self.existing_digest}, not this one "
            f"({self.digest}); nothing was pushed"
        )

    @property
    def remedy(self) -> str:
        if self.action is not ChartAction.CONFLICT:
            return ""
        return "release the changed chart as a new version: a pushed chart tag is never replaced"

    def lines(self) -> list[str]:
        head = {
            ChartAction.PUSH: f"push   chart {self.source} → {self.destination} ({self.digest})",
            ChartAction.EXISTS: f"exists chart {self.destination} = {self.digest}",
            ChartAction.CONFLICT: f"cannot chart → {self.destination}: {self.problem}",
        }[self.action]
        out = [head, "       with the license-check pre-install hook and the first-user Secret"]
        out += [f"       values {path}: {old} → {new}" for path, old, new in self.packed.rewrites]
        out += [f"       note: {n}" for n in self.packed.notes]
        return out

    def entry(self, state: str) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": str(self.destination),
            "digest": self.digest,
            "state": state,
        }

    def target(
        self, region: str, state: TargetState | None = None, error: str = "", remedy: str = ""
    ) -> Target:
        return Target(
            "helm-chart",
            f"chart:{self.destination}",
            state or self.state,
            region=region,
            resource_id=self.digest,
            source=self.source,
            error=(error or self.problem) or None,
            remedy=(remedy or self.remedy) or None,
            details={
                "destination": str(self.destination),
                "version": self.packed.version,
                "rewrites": [list(r) for r in self.packed.rewrites],
                "notes": list(self.packed.notes),
            },
        )

    def summarize(self, summary: Summary, state: str | None = None) -> None:
        summary.heading("Helm chart", 3)
        summary.table(
            ["source", "destination", "digest", "state"],
            [[self.source, str(self.destination), self.digest[:19], state or str(self.action)]],
        )
        if self.packed.rewrites:
            summary.table(["values.yaml", "was", "now"], [list(r) for r in self.packed.rewrites])
        if self.packed.notes:
            summary.bullets(list(self.packed.notes))
