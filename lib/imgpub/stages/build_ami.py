"""build-ami: make an AMI from a raw disk (EBS direct APIs) or with Packer, share and test it.

Glue in the flow shape (:mod:`imgpub.flow`): ``read`` validates (:mod:`imgpub.build.model`),
``prepare`` checks the image or template and discovers what exists
(:mod:`imgpub.build.discover`), ``apply`` uploads or builds, registers, shares and
boot-tests (:mod:`imgpub.build.engine`). The plan and the result report themselves.
"""

from __future__ import annotations

import time

from imgpub.aws.errors import sdk_setup_errors
from imgpub.aws.session import ClientFactory
from imgpub.build.discover import discover_packer, discover_raw
from imgpub.build.engine import BuildEngine
from imgpub.build.model import BuildInputs, parse_build_inputs
from imgpub.build.plan import BuildPlan
from imgpub.build.result import BuildResult
from imgpub.build.spec import BUILD_INPUTS, BUILD_OUTPUTS
from imgpub.build.upload import UploadOutcome
from imgpub.flow import StageContext
from imgpub.gha import Gha
from imgpub.stages import STAGES
from imgpub.text import human_bytes

NAME = "build-ami"
HELP = STAGES[NAME].help
INPUTS = BUILD_INPUTS
OUTPUTS = BUILD_OUTPUTS
#: Packer is installed by the action only when a template is given (a raw-disk build
#: needs nothing but imgpub). The version is pinned like the action.
SETUP_STEPS = (
    (
        {
            "name": "Set up Packer",
            "if": "inputs.packer-template != ''",
            "uses": "hashicorp/setup-packer@c3d53c525d422944e50ee27b840746d6522b08de",
            "with": {"version": "1.11.2"},
        },
        "v3.2.0",
    ),
)


def read(ctx: StageContext) -> BuildInputs:
    """Every input checked, no cloud call: bad input is exit 2 with nothing touched."""
    return parse_build_inputs(ctx.inputs, ctx.env)


def prepare(inputs: BuildInputs, ctx: StageContext) -> BuildPlan:
    """Check the image or template, find what exists (read-only), plan what is missing."""
    factory = ClientFactory(environ=ctx.env)
    with sdk_setup_errors("region"):
        if inputs.packer is not None:
            return discover_packer(inputs, factory, dict(ctx.env))
        return discover_raw(inputs, factory)


def apply(plan: BuildPlan, ctx: StageContext) -> BuildResult:
    """Upload or build, register, share and boot-test; always terminate the test instance."""
    progress = UploadProgress(ctx.gha, plan)
    engine = BuildEngine(
        ClientFactory(environ=ctx.env), ctx.env, say=ctx.gha.info, on_upload=progress.update
    )
    with sdk_setup_errors("region"):
        return engine.apply(plan, ctx.cancel)


class UploadProgress:
    """Upload progress lines (at most one every 2 s): disk position, read, sent, skipped, rate."""

    def __init__(self, gha: Gha, plan: BuildPlan) -> None:
        self.gha = gha
        self.total = plan.image.disk_bytes if plan.image else 0
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, outcome: UploadOutcome, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 2.0:
            return
        self.last = now
        stats = outcome.stats
        pct = 100.0 * stats.disk_bytes / self.total if self.total else 0.0
        rate = stats.bytes_read / max(now - self.started, 1e-6)
        self.gha.info(
            f"upload: {pct:.0f}% of the disk, {human_bytes(stats.bytes_read)} read, "
            f"{human_bytes(outcome.bytes_sent)} sent in {outcome.blocks_sent} blocks, "
            f"{stats.zero_blocks_skipped} zero blocks skipped, {human_bytes(rate)}/s"
        )
