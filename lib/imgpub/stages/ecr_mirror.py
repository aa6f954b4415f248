"""ecr-mirror: container images and a Helm chart into (Marketplace) ECR, immutably.

Glue in the flow shape (:mod:`imgpub.flow`): ``read`` validates the inputs
(:mod:`imgpub.registry.model`), ``prepare`` discovers and plans read-only
(:mod:`imgpub.registry.discovery`: the ECR token, repositories, every digest, the
repacked chart), ``apply`` creates the missing private repositories, copies the images
with skopeo and pushes the chart (:mod:`imgpub.registry.apply`). The plan and the result
report themselves; this module only builds the clients and turns progress into log lines.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from imgpub.aws.ecr import Ecr
from imgpub.aws.session import ClientFactory
from imgpub.errors import ConfigError
from imgpub.flow import StageContext
from imgpub.gha import Gha
from imgpub.oci.client import Credentials, OciClients
from imgpub.oci.skopeo import CopyProgress, skopeo_binary
from imgpub.registry.apply import Applier
from imgpub.registry.discovery import Discovery
from imgpub.registry.model import EcrInputs, parse_ecr_inputs
from imgpub.registry.plan import ImageAction, ImagePlan, MirrorPlan
from imgpub.registry.report import short_digest
from imgpub.registry.result import ImageOutcome, MirrorResult
from imgpub.registry.spec import ECR_INPUTS, ECR_OUTPUTS
from imgpub.stages import STAGES

NAME = "ecr-mirror"
HELP = STAGES[NAME].help
INPUTS = ECR_INPUTS
OUTPUTS = ECR_OUTPUTS


def read(ctx: StageContext) -> EcrInputs:
    """Every input checked, no cloud call: bad input is exit 2 with nothing touched."""
    return parse_ecr_inputs(ctx.inputs, ctx.env, ctx.gha.mask)


def prepare(inputs: EcrInputs, ctx: StageContext) -> MirrorPlan:
    """The ECR token, repositories and digests (read-only), then the plan."""
    log = LogProgress(ctx.gha)
    discovery = Discovery(
        Ecr(ClientFactory(environ=ctx.env).ecr(inputs.region)),
        _clients,
        cancel=ctx.cancel,
        on_image=log.on_found,
        mask=ctx.gha.mask,
    )
    plan, _ = discovery.plan(inputs)
    if plan.copies and skopeo_binary() is None:
        raise ConfigError(
            "skopeo is not installed; it copies the images",
            remedy="apt-get install skopeo (ubuntu-latest runners have it)",
        )
    return plan


def apply(plan: MirrorPlan, ctx: StageContext) -> MirrorResult:
    """Repositories, then the images (in parallel), then the chart."""
    applier = Applier(
        Ecr(ClientFactory(environ=ctx.env).ecr(plan.region)),
        _clients(plan.credentials, plan.insecure_hosts),
        skopeo=skopeo_binary() or "skopeo",
        progress=LogProgress(ctx.gha),
        cancel=ctx.cancel,
        auth_parent=ctx.env.get("RUNNER_TEMP") or None,
    )
    return applier.apply(plan)


def _clients(credentials: Mapping[str, Credentials], insecure: frozenset[str]) -> OciClients:
    return OciClients(credentials, insecure_hosts=insecure)


class LogProgress:
    """Discovery and copy events → log lines (from worker threads, hence the lock)."""

    def __init__(self, gha: Gha) -> None:
        self.gha = gha
        self._lock = threading.Lock()

    def on_phase(self, text: str) -> None:
        with self._lock:
            self.gha.info(f"-- {text}")

    def on_found(self, plan: ImagePlan) -> None:
        with self._lock:
            what = {
                ImageAction.COPY: "to copy",
                ImageAction.EXISTS: "already in place",
            }.get(plan.action, f"refused: {plan.problem}")
            digest = short_digest(plan.digest) or "?"
            self.gha.info(f"{plan.job.source} ({digest}) → {plan.destination}: {what}")

    def on_copy(self, plan: ImagePlan, progress: CopyProgress) -> None:
        with self._lock:
            label = f"{plan.destination} image {progress.images_done}/{progress.images_total}"
            self.gha.progress(label, progress.blobs, None, "blobs started")

    def on_image(self, outcome: ImageOutcome, done: int, total: int) -> None:
        with self._lock:
            p = outcome.plan
            text = f"[{done}/{total}] {p.job.source} → {p.destination}: {outcome.state}"
            if outcome.error:
                text += f": {outcome.error}"
            else:
                text += f" ({p.digest})"
            self.gha.info(text)
