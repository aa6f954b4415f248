"""What an ecr-mirror run did, per repository, image and chart, and how it reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgpub.gha import Summary
from imgpub.registry.chart_plan import ChartPlan
from imgpub.registry.plan import (
    ImagePlan,
    MirrorPlan,
    RepositoryPlan,
    image_target,
    repository_target,
)
from imgpub.registry.report import image_entry, image_rows, json_output
from imgpub.results import DONE_STATES, Target, TargetState

RERUN = "re-run the same command: imgpub finds what is in place and copies only the rest"


@dataclass(frozen=True)
class RepositoryOutcome:
    plan: RepositoryPlan
    state: TargetState
    error: str = ""


@dataclass(frozen=True)
class ImageOutcome:
    plan: ImagePlan
    state: TargetState
    error: str = ""
    remedy: str = ""

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES


@dataclass(frozen=True)
class ChartOutcome:
    plan: ChartPlan
    state: TargetState
    error: str = ""
    remedy: str = ""


@dataclass(frozen=True)
class MirrorResult:
    plan: MirrorPlan
    repositories: tuple[RepositoryOutcome, ...]
    images: tuple[ImageOutcome, ...]
    chart: ChartOutcome | None
    seconds: float = 0.0

    @property
    def failed(self) -> list[ImageOutcome]:
        return [o for o in self.images if not o.done]

    def targets(self) -> list[Target]:
        region = self.plan.region
        out = [
            repository_target(r.plan, r.state, region, r.error)
            for r in self.repositories
            if r.plan.create  # see MirrorPlan.targets
        ]
        out += [image_target(o.plan, o.state, region, o.error, o.remedy) for o in self.images]
        if self.chart is not None:
            c = self.chart
            out.append(c.plan.target(region, c.state, c.error, c.remedy))
        return out

    def outputs(self) -> dict[str, str]:
        chart = self.chart
        pushed = chart is not None and chart.state in DONE_STATES
        return {
            "images": json_output([image_entry(o.plan, o.state) for o in self.images]),
            "chart": json_output(chart.plan.entry(chart.state)) if chart else "",
            "helm-chart-uri": str(chart.plan.destination) if chart and pushed else "",
        }

    def data(self) -> dict[str, Any]:
        return {
            "registry": str(self.plan.registry),
            "marketplace": self.plan.marketplace,
            "repositories": [r.plan.name for r in self.repositories],
            "images": [image_entry(o.plan, o.state) for o in self.images],
            "chart": self.chart.plan.entry(self.chart.state) if self.chart else None,
        }

    def summarize(self, summary: Summary) -> None:
        created = sum(o.state == "created" for o in self.images)
        existed = sum(o.state == "existed" for o in self.images)
        failed = len(self.images) - created - existed
        title = (
            "ecr-mirror: done" if not failed and self._chart_ok() else "ecr-mirror: not all done"
        )
        summary.heading(title)
        where = "the Marketplace registry" if self.plan.marketplace else "ECR"
        summary.text(
            f"{created} images copied, {existed} already in place, {failed} not done, into "
            f"{where} {self.plan.registry} ({self.plan.region}), in {self.seconds:.0f} s."
        )
        made = [r for r in self.repositories if r.state != "existed"]
        if made:
            summary.table(
                ["repository", "state", "error"], [[r.plan.name, r.state, r.error] for r in made]
            )
        if self.images:
            summary.table(*image_rows((o.plan, o.state) for o in self.images))
        if self.chart is not None:
            self.chart.plan.summarize(summary, self.chart.state)
        rows = [[str(o.plan.destination), o.error, o.remedy] for o in self.images if o.error]
        if self.chart is not None and self.chart.error:
            rows.append([str(self.chart.plan.destination), self.chart.error, self.chart.remedy])
        if rows:
            summary.heading("Failures and what to do", 3)
            summary.table(["target", "error", "what to do"], rows)

    def _chart_ok(self) -> bool:
        return self.chart is None or self.chart.state in DONE_STATES
