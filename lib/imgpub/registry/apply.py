"""Apply the plan: missing repositories, then the image copies in parallel, then the chart.

Every step re-checks before it writes: each copy first HEADs its destination tag again
(another run may have pushed it since discovery), copies the source pinned by the digest
that was planned (a moved upstream tag cannot sneak in), and reads the tag back after the
copy. The chart goes last and only when every image is in place: a chart pushed to the
Marketplace registry can never be replaced, so it must not reference an image that is
not there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from imgpub.aws.ecr import Ecr
from imgpub.cancel import NEVER, Cancellation
from imgpub.fanout import Failed, NotDone, fan_out
from imgpub.oci.client import OciClients, RegistryError
from imgpub.oci.skopeo import AuthFile, CopyProgress, SkopeoError, auth_file, copy_command, run_copy
from imgpub.registry.chart_push import push_chart
from imgpub.registry.plan import ImageAction, ImagePlan, MirrorPlan, RepositoryPlan, decide_image
from imgpub.registry.result import (
    RERUN,
    ChartOutcome,
    ImageOutcome,
    MirrorResult,
    RepositoryOutcome,
)
from imgpub.text import first_line


class ApplyProgress(Protocol):
    def on_phase(self, text: str) -> None: ...
    def on_copy(self, plan: ImagePlan, progress: CopyProgress) -> None: ...
    def on_image(self, outcome: ImageOutcome, done: int, total: int) -> None: ...


@dataclass
class Applier:
    ecr: Ecr
    clients: OciClients
    skopeo: str
    progress: ApplyProgress
    cancel: Cancellation = NEVER
    auth_parent: str | None = None
    monotonic: Callable[[], float] = time.monotonic

    def apply(self, plan: MirrorPlan) -> MirrorResult:
        started = self.monotonic()
        image_repos = {p.destination.repository for p in plan.copies}
        for_images = [r for r in plan.repositories if r.name in image_repos]
        with auth_file(plan.credentials, self.auth_parent) as auth:
            repositories = self._repositories(for_images)
            broken = {r.plan.name for r in repositories if r.state not in ("created", "existed")}
            images = self._images(plan, auth, broken)
        chart, chart_repos = self._chart(plan, images)
        repositories += chart_repos
        return MirrorResult(plan, repositories, images, chart, self.monotonic() - started)

    def _repositories(self, plans: list[RepositoryPlan]) -> tuple[RepositoryOutcome, ...]:
        out: list[RepositoryOutcome] = []
        for repo in plans:
            if not repo.create:
                out.append(RepositoryOutcome(repo, "existed"))
                continue
            if self.cancel.is_set:
                out.append(RepositoryOutcome(repo, "cancelled", self.cancel.reason))
                continue
            try:
                _, created = self.ecr.create_repository(repo.name)
            except (ClientError, BotoCoreError) as exc:
                out.append(RepositoryOutcome(repo, "failed", first_line(exc)))
                continue
            self.progress.on_phase(f"repository {repo.name}: {'created' if created else 'existed'}")
            out.append(RepositoryOutcome(repo, "created" if created else "existed"))
        return tuple(out)

    def _images(
        self, plan: MirrorPlan, auth: AuthFile, broken: set[str]
    ) -> tuple[ImageOutcome, ...]:
        copies = plan.copies
        done_count = 0

        def on_done(p: ImagePlan, outcome: ImageOutcome | Failed | NotDone) -> None:
            nonlocal done_count
            done_count += 1
            self.progress.on_image(_as_outcome(p, outcome), done_count, len(copies))

        if copies:
            self.progress.on_phase(
                f"copying {len(copies)} images, {plan.max_concurrency} at a time"
            )
        ran = fan_out(
            copies,
            lambda p: self._copy(plan, p, auth, broken),
            max_workers=plan.max_concurrency,
            cancel=self.cancel,
            thread_name="imgpub-copy",
            on_done=on_done,
        )
        out: list[ImageOutcome] = []
        for p in plan.images:
            if p.action is ImageAction.COPY:
                out.append(_as_outcome(p, ran.outcomes[p]))
            elif p.action is ImageAction.EXISTS:
                out.append(ImageOutcome(p, "existed"))
            else:
                out.append(ImageOutcome(p, "failed", p.problem, p.remedy))
        return tuple(out)

    def _copy(
        self, plan: MirrorPlan, p: ImagePlan, auth: AuthFile, broken: set[str]
    ) -> ImageOutcome:
        if p.destination.repository in broken:
            return ImageOutcome(
                p,
                "failed",
                f"repository {p.destination.repository} is missing",
                "see the repository's error, then " + RERUN,
            )
        client = self.clients(p.destination)
        try:
            existing = client.manifest_digest(p.destination)
            if existing is not None:  # pushed by someone else since discovery
                again = decide_image(
                    p.job, p.destination, digest=p.digest, platforms=p.platforms,
                    media_type=p.media_type, existing=existing, marketplace=plan.marketplace,
                )  # fmt: skip
                if again.action is ImageAction.EXISTS:
                    return ImageOutcome(p, "existed")
                return ImageOutcome(again, "failed", again.problem, again.remedy)
            source = p.job.source.with_digest(p.digest)
            argv = copy_command(
                self.skopeo, source, p.destination, auth.path, tls_verify=plan.tls_verify
            )
            run_copy(argv, cancel=self.cancel, on_progress=lambda c: self.progress.on_copy(p, c))
            after = client.manifest_digest(p.destination)
        except SkopeoError as exc:
            if self.cancel.is_set:
                return ImageOutcome(p, "cancelled", str(exc), RERUN)
            return ImageOutcome(p, "failed", f"skopeo copy failed: {exc}", RERUN)
        except RegistryError as exc:
            return ImageOutcome(p, "failed", str(exc), RERUN)
        if after != p.digest:
            return ImageOutcome(
                p,
                "failed",
                f"after the copy {p.destination} holds {after}, not {p.digest}",
                "report it: the registry changed the image",
            )
        return ImageOutcome(p, "created")

    def _chart(
        self, plan: MirrorPlan, images: tuple[ImageOutcome, ...]
    ) -> tuple[ChartOutcome | None, tuple[RepositoryOutcome, ...]]:
        """The chart (last, and only after every image), its repository just before it."""
        chart = plan.chart
        if chart is None:
            return None, ()
        if chart.state != "planned":
            return ChartOutcome(chart, chart.state, chart.problem, chart.remedy), ()
        missing = [o for o in images if not o.done]
        if missing:
            return ChartOutcome(
                chart,
                "skipped",
                f"not pushed: {len(missing)} images are not in place "
                f"(e.g. {missing[0].plan.destination})",
                "fix the images and re-run: a pushed chart can never be replaced, so it goes "
                "only after all of its images",
            ), ()
        if self.cancel.is_set:
            return ChartOutcome(chart, "cancelled", self.cancel.reason, RERUN), ()
        image_repos = {p.destination.repository for p in plan.copies}
        repos = self._repositories(
            [
                r
                for r in plan.repositories
                if r.name == chart.destination.repository and r.name not in image_repos
            ]
        )
        if any(r.state not in ("created", "existed") for r in repos):
            return ChartOutcome(chart, "failed", "its repository is missing", RERUN), repos
        self.progress.on_phase(f"pushing chart {chart.destination}")
        return push_chart(chart, self.clients), repos


def _as_outcome(p: ImagePlan, outcome: ImageOutcome | Failed | NotDone) -> ImageOutcome:
    if isinstance(outcome, ImageOutcome):
        return outcome
    if isinstance(outcome, NotDone):
        return ImageOutcome(p, "cancelled", outcome.reason, RERUN)
    return ImageOutcome(p, "failed", outcome.message, RERUN)
