"""mirror-ami: copy AMIs to every region, share them, publish SSM parameters and tables.

The stage is glue in the flow shape (:mod:`imgpub.flow`): ``read`` validates the inputs
(:mod:`imgpub.mirror.model`), ``prepare`` discovers and plans (read-only), ``apply`` runs
the engine and writes the AlmaLinux-compatible tables. The plan and the result report
themselves (targets, outputs, data, summary), so nothing else happens here but turning
the engine's progress into log lines.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from imgpub.aws.errors import sdk_setup_errors
from imgpub.aws.session import ClientFactory
from imgpub.build.chain import built_amis
from imgpub.flow import StageContext
from imgpub.gha import Gha
from imgpub.inputs import OutputSpec
from imgpub.mirror.engine import MirrorEngine
from imgpub.mirror.model import MirrorInputs, parse_mirror_inputs
from imgpub.mirror.plan import Plan
from imgpub.mirror.result import CopyOutcome, CopyState, MirrorResult, ParameterOutcome
from imgpub.mirror.spec import MIRROR_INPUTS
from imgpub.mirror.table_files import write_table_files
from imgpub.results_merge import merge_documents, read_documents
from imgpub.stages import STAGES

NAME = "mirror-ami"
HELP = STAGES[NAME].help
INPUTS = MIRROR_INPUTS
OUTPUTS = (
    OutputSpec(
        "amis",
        "JSON map of source AMI ID to region to AMI ID for every image in place, the source "
        "region included. Read it with fromJSON().",
    ),
    OutputSpec(
        "failed-regions",
        "Comma-separated regions where a copy, share or parameter failed or was not "
        "finished (cancelled); empty on success.",
    ),
    OutputSpec(
        "ssm-parameters",
        "JSON list of the SSM parameters in place, each {region, name, value}.",
    ),
)

_BUILD_RESULTS_FIX = (
    "download the build jobs' artifacts first (actions/download-artifact) and give the "
    "paths of their imgpub-results.json"
)


def read(ctx: StageContext) -> MirrorInputs:
    """Every input checked, no cloud call: bad input is exit 2 with nothing touched.

    With ``source-ami`` empty, the AMIs build-ami recorded in the results document are
    mirrored (from their region, unless ``source-region`` says otherwise). The build jobs'
    documents named by ``build-results`` are merged into that document first: the one this
    stage saves then holds the whole release so far, for the jobs after it.
    """
    patterns = ctx.inputs.lines("build-results")
    if patterns:
        legs = read_documents(patterns, "build-results", _BUILD_RESULTS_FIX)
        merged = merge_documents([ctx.previous, *(doc for _path, doc in legs)])
        ctx.previous.stages, ctx.previous.run = merged.stages, merged.run
    built = [(ami.image_id, ami.region) for ami in built_amis(ctx.previous)]
    return parse_mirror_inputs(ctx.inputs, now=datetime.now(UTC), environ=ctx.env, built=built)


def prepare(inputs: MirrorInputs, ctx: StageContext) -> Plan:
    """Preflight and discovery (read-only), then the plan of what is missing."""
    with sdk_setup_errors("source-region"):
        return _engine(ctx).prepare(inputs, cancel=ctx.cancel)


def apply(plan: Plan, ctx: StageContext) -> MirrorResult:
    """Copy, share and publish in every region, then write the region tables."""
    with sdk_setup_errors("source-region"):
        result = _engine(ctx).apply(plan, cancel=ctx.cancel)
    failures = write_table_files(plan, result.table_rows())
    for failure in failures:
        ctx.gha.error(
            f"could not write {failure.input} {failure.path}: {failure.error} — {failure.remedy}",
            title="imgpub mirror-ami",
        )
    return replace(result, table_failures=failures, seconds=time.monotonic() - plan.started)


def _engine(ctx: StageContext) -> MirrorEngine:
    return MirrorEngine(ClientFactory(environ=ctx.env), listener=LogProgress(ctx.gha))


class LogProgress:
    """Engine events → log lines with targets done / total."""

    def __init__(self, gha: Gha) -> None:
        self.gha = gha

    def on_phase(self, phase: str) -> None:
        self.gha.info(f"-- {phase}")

    def on_notice(self, message: str) -> None:
        self.gha.notice(message, title="imgpub mirror-ami")

    def on_target_done(self, outcome: CopyOutcome, done: int, total: int) -> None:
        where = f"{outcome.source_ami} → {outcome.region}"
        if outcome.state is CopyState.FAILED:
            self.gha.info(f"[{done}/{total}] {where}: failed: {outcome.error}")
        elif outcome.state is CopyState.CANCELLED:
            self.gha.info(f"[{done}/{total}] {where}: not finished: {outcome.error}")
        else:
            self.gha.info(f"[{done}/{total}] {where}: {outcome.image_id} ({outcome.state})")

    def on_parameter(self, outcome: ParameterOutcome) -> None:
        self.gha.debug(f"ssm {outcome.region} {outcome.name}: {outcome.state}")
