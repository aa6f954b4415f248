"""What ecr-mirror will do, decided from what discovery found (pure), and how it reports.

The immutable-tag guard lives here: a destination tag that already holds the source's
digest is ``existed`` and nothing is sent; one that holds another digest is a failed
target naming both digests — never an overwrite, because a Marketplace tag can never be
changed and a private repository is created with tag immutability on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from imgpub.gha import Summary
from imgpub.oci.client import Credentials
from imgpub.oci.reference import Reference
from imgpub.registry.chart_plan import ChartPlan
from imgpub.registry.model import ImageJob, RegistryTarget
from imgpub.registry.report import image_entry, image_rows, json_output, remedy_rows
from imgpub.results import Target, TargetState


class ImageAction(StrEnum):
    COPY = "copy"
    EXISTS = "exists"
    CONFLICT = "conflict"  # the tag holds another digest: refused
    MISSING = "missing-source"
    UNREADABLE = "unreadable"  # the source could not be read (auth, network, format)
    PLATFORMS = "missing-platforms"


FAILED_ACTIONS = frozenset(
    {ImageAction.CONFLICT, ImageAction.MISSING, ImageAction.UNREADABLE, ImageAction.PLATFORMS}
)
TAG_FOREVER = "a tag in Marketplace ECR can never be changed or deleted"


@dataclass(frozen=True)
class ImagePlan:
    job: ImageJob
    destination: Reference
    action: ImageAction
    digest: str = ""  # the source's
    existing_digest: str = ""  # the destination tag's, if any
    platforms: tuple[str, ...] = ()
    media_type: str = ""
    problem: str = ""
    remedy: str = ""

    @property
    def state(self) -> TargetState:
        if self.action is ImageAction.EXISTS:
            return "existed"
        return "failed" if self.action in FAILED_ACTIONS else "planned"


def decide_image(
    job: ImageJob,
    destination: Reference,
    *,
    digest: str,
    platforms: Sequence[str],
    media_type: str,
    existing: str | None,
    marketplace: bool,
) -> ImagePlan:
    """COPY, EXISTS or a refusal, from the source's and the destination tag's digests."""
    common: dict[str, Any] = {
        "digest": digest,
        "platforms": tuple(platforms),
        "media_type": media_type,
        "existing_digest": existing or "",
    }
    lacking = [p for p in job.platforms if p not in platforms]
    if lacking:
        return ImagePlan(
            job,
            destination,
            ImageAction.PLATFORMS,
            problem=f"{job.source} has no {', '.join(lacking)} "
            f"(it has {', '.join(platforms) or 'none'})",
            remedy="mirror a tag that is built for every platform the product needs",
            **common,
        )
    if existing is None:
        return ImagePlan(job, destination, ImageAction.COPY, **common)
    if existing == digest:
        return ImagePlan(job, destination, ImageAction.EXISTS, **common)
    where = "Marketplace ECR" if marketplace else "the immutable repository"
    return ImagePlan(
        job,
        destination,
        ImageAction.CONFLICT,
        problem=f"{destination} already holds {existing}, not the source's {digest}; "
        f"nothing was overwritten ({TAG_FOREVER})"
        if marketplace
        else f"{destination} already holds {existing}, not the source's {digest}; "
        "nothing was overwritten",
        remedy=f"publish the new image under a new tag; tags in {where} are never replaced",
        **common,
    )


def source_problem(
    job: ImageJob, destination: Reference, action: ImageAction, why: str
) -> ImagePlan:
    remedy = {
        ImageAction.MISSING: "check the source's name and tag (the other images go on)",
        ImageAction.UNREADABLE: f"give source-credentials for {job.source.registry} or check "
        "that the registry is reachable, then re-run",
    }[action]
    return ImagePlan(job, destination, action, problem=why, remedy=remedy)


@dataclass(frozen=True)
class RepositoryPlan:
    name: str
    create: bool
    uri: str = ""


@dataclass(frozen=True)
class MirrorPlan:
    """The whole plan; ``credentials`` (masked values) never reach a report."""

    region: str
    registry: RegistryTarget
    marketplace: bool
    repositories: tuple[RepositoryPlan, ...]
    images: tuple[ImagePlan, ...]
    chart: ChartPlan | None
    tls_verify: bool
    max_concurrency: int
    credentials: Mapping[str, Credentials] = field(default_factory=dict, repr=False)
    insecure_hosts: frozenset[str] = frozenset()

    @property
    def copies(self) -> tuple[ImagePlan, ...]:
        return tuple(p for p in self.images if p.action is ImageAction.COPY)

    # -- the Report protocol -----------------------------------------------------------------

    def lines(self) -> list[str]:
        kind = "Marketplace registry" if self.marketplace else "ECR registry"
        out = [f"{kind} {self.registry} ({self.region}); {len(self.images)} images"]
        for repo in self.repositories:
            if repo.create:
                out.append(f"create repository {repo.name} (tag immutability, scan on push)")
        for p in self.images:
            if p.action is ImageAction.COPY:
                out.append(f"copy   {p.job.source} → {p.destination} ({p.digest}, {_plats(p)})")
            elif p.action is ImageAction.EXISTS:
                out.append(f"exists {p.destination} = {p.digest}")
            else:
                out.append(f"cannot {p.job.source} → {p.destination}: {p.problem}")
        if self.chart is not None:
            out.extend(self.chart.lines())
        return out

    def targets(self) -> list[Target]:
        # A repository that was already there is no work of this run (it would turn a
        # refused image's exit 1 into a "partial" 3); data() lists every repository.
        out = [repository_target(r, "planned", self.region) for r in self.repositories if r.create]
        out += [image_target(p, p.state, self.region) for p in self.images]
        if self.chart is not None:
            out.append(self.chart.target(self.region))
        return out

    def outputs(self) -> dict[str, str]:
        images = [image_entry(p, p.state) for p in self.images]
        chart = self.chart
        return {
            "images": json_output(images),
            "chart": json_output(chart.entry(chart.state)) if chart else "",
            "helm-chart-uri": str(chart.destination) if chart else "",
        }

    def data(self) -> dict[str, Any]:
        return {
            "registry": str(self.registry),
            "marketplace": self.marketplace,
            "repositories": [r.name for r in self.repositories],
            "images": [image_entry(p, p.state) for p in self.images],
            "chart": self.chart.entry(self.chart.state) if self.chart else None,
        }

    def summarize(self, summary: Summary) -> None:
        summary.heading("ecr-mirror plan (dry run: nothing was changed)")
        copies = len(self.copies)
        existing = sum(p.action is ImageAction.EXISTS for p in self.images)
        refused = len(self.images) - copies - existing
        summary.text(
            f"{copies} images to copy, {existing} already in place, {refused} refused, "
            f"into {self.registry}."
        )
        summary.table(*image_rows((p, str(p.action)) for p in self.images))
        if self.chart is not None:
            self.chart.summarize(summary)
        rows = remedy_rows(self.images)
        if rows:
            summary.heading("Refused and what to do", 3)
            summary.table(["image", "problem", "what to do"], rows)


def _plats(plan: ImagePlan) -> str:
    return ", ".join(plan.platforms) or "single platform"


def repository_target(
    repo: RepositoryPlan, state: TargetState, region: str, error: str = ""
) -> Target:
    return Target(
        "ecr-repository",
        f"repository:{repo.name}",
        state,
        region=region,
        resource_id=repo.uri or repo.name,
        error=error or None,
        remedy="grant ecr:CreateRepository, or create it, then re-run" if error else None,
    )


def image_target(
    plan: ImagePlan, state: TargetState, region: str, error: str = "", remedy: str = ""
) -> Target:
    return Target(
        "container-image",
        f"image:{plan.destination}",
        state,
        region=region,
        resource_id=plan.digest or None,
        source=str(plan.job.source),
        error=(error or plan.problem) or None,
        remedy=(remedy or plan.remedy) or None,
        details={
            "destination": str(plan.destination),
            "platforms": list(plan.platforms),
            "existing_digest": plan.existing_digest or None,
            "media_type": plan.media_type or None,
        },
    )
