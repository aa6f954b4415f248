"""mirror-ami: copy AMIs to every region, share them, publish SSM parameters and tables.

The stage is glue: the engine (``imgpub.mirror``) discovers, plans and applies; this module
turns its typed result into results-document targets, the AlmaLinux-compatible tables, the
``amis`` output and a job summary that says, per source and region, what was created, what
already existed and what failed with its remedy.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import BotoCoreError, NoCredentialsError, NoRegionError

from imgpub.aws.session import ClientFactory
from imgpub.errors import CloudError, ConfigError, InputError
from imgpub.flow import StageContext, StageResult
from imgpub.gha import Gha, Summary
from imgpub.inputs import OutputSpec
from imgpub.mirror.engine import MirrorEngine, plan_summary
from imgpub.mirror.model import MirrorInputs, parse_mirror_inputs
from imgpub.mirror.plan import Action, Plan
from imgpub.mirror.result import (
    MirrorResult,
    ParameterOutcome,
    ParameterState,
    TargetOutcome,
    TargetState,
)
from imgpub.mirror.spec import MIRROR_INPUTS
from imgpub.mirror.tables import TableRow, render_csv, render_markdown, table_rows
from imgpub.results import Target
from imgpub.results import TargetState as RecordState
from imgpub.stage import json_output
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
        "Comma-separated regions where a copy, share or parameter failed; empty on success.",
    ),
    OutputSpec(
        "ssm-parameters",
        "JSON list of the SSM parameters in place, each {region, name, value}.",
    ),
)

_STATE: dict[TargetState, RecordState] = {
    TargetState.COPIED: "created",
    TargetState.EXISTED: "existed",
    TargetState.FAILED: "failed",
}
_PARAM_STATE: dict[ParameterState, RecordState] = {
    ParameterState.CREATED: "created",
    ParameterState.UPDATED: "updated",
    ParameterState.EXISTED: "existed",
    ParameterState.FAILED: "failed",
}
RERUN = "re-run the same command: imgpub finds what exists and finishes only what is missing"


class _Progress:
    """Engine events → grouped log lines with regions done / total."""

    def __init__(self, gha: Gha) -> None:
        self.gha = gha

    def on_phase(self, phase: str) -> None:
        self.gha.info(f"-- {phase}")

    def on_notice(self, message: str) -> None:
        self.gha.notice(message, title="imgpub mirror-ami")

    def on_target_done(self, outcome: TargetOutcome, done: int, total: int) -> None:
        where = f"{outcome.source_ami} → {outcome.region}"
        if outcome.state is TargetState.FAILED:
            self.gha.info(f"[{done}/{total}] {where}: failed: {outcome.error}")
        else:
            self.gha.info(f"[{done}/{total}] {where}: {outcome.image_id} ({outcome.state})")

    def on_parameter(self, outcome: ParameterOutcome) -> None:
        self.gha.debug(f"ssm {outcome.region} {outcome.name}: {outcome.state}")


def run(ctx: StageContext) -> StageResult:
    started = time.monotonic()
    inputs = parse_mirror_inputs(ctx.inputs, now=datetime.now(UTC), environ=ctx.env)
    try:
        with MirrorEngine(ClientFactory(environ=ctx.env), listener=_Progress(ctx.gha)) as engine:
            with ctx.gha.group("Preflight and discovery (read-only)"):
                plan = engine.prepare(inputs)
            ctx.section.data["plan"] = dict(plan_summary(plan))
            with ctx.gha.group("Plan"):
                for line in plan_lines(plan):
                    ctx.gha.info(line)
            if ctx.dry_run:
                record_plan(ctx, plan)
                summarize_plan(ctx.summary, plan)
                return StageResult(outputs=_plan_outputs(plan))
            with ctx.gha.group(f"Copy, share and publish in {len(plan.all_regions)} regions"):
                result = engine.apply(plan, inputs)
    except NoCredentialsError:
        raise ConfigError(
            "no AWS credentials found",
            remedy="use aws-actions/configure-aws-credentials with role-to-assume (OIDC), "
            "or set AWS_PROFILE / AWS_ACCESS_KEY_ID locally",
        ) from None
    except NoRegionError:
        raise InputError("source-region", "no region given", "set source-region") from None
    except BotoCoreError as exc:  # endpoint unreachable, bad credentials file, ...
        raise CloudError(str(exc), remedy="check the network and AWS configuration") from None

    record_result(ctx, result)
    rows = table_rows(result.published_images())
    write_tables(ctx, inputs, rows)
    summarize_result(ctx.summary, plan, result, rows, time.monotonic() - started)
    return StageResult(outputs=result_outputs(result), data={"amis": result.ami_map()})


# -- plan ------------------------------------------------------------------------------------


def plan_lines(plan: Plan) -> list[str]:
    """The whole plan, one line per action: the answer of a dry run."""
    lines = [
        f"source region {plan.source_region}; {len(plan.regions)} target regions: "
        + ", ".join(plan.regions)
    ]
    for t in plan.targets:
        if t.action is Action.COPY:
            lines.append(f"copy   {t.source_ami} → {t.region} as '{t.name}'")
        elif t.action is Action.EXISTING:
            lines.append(f"exists {t.source_ami} → {t.region}: {t.image_id} (check tags, shares)")
        elif t.action is Action.SOURCE:
            lines.append(f"source {t.source_ami} in {t.region} (share only)")
        else:
            lines.append(f"cannot {t.source_ami} → {t.region}: {t.problem}")
    audience = _audience(plan)
    if audience:
        lines.append(f"share with {audience} (snapshots: {plan.share.snapshots})")
    for region in plan.unblock_regions:
        lines.append(f"turn off image block public access in {region} (allowed by input)")
    if plan.deprecate_at:
        lines.append(f"deprecate every copy at {plan.deprecate_at.isoformat()}")
    lines.extend(f"ssm    {p.region} {p.name}" for p in plan.ssm_preview)
    return lines


def _audience(plan: Plan) -> str:
    parts = (["everyone (public)"] if plan.share.public else []) + [
        *plan.share.accounts,
        *plan.share.organizations,
        *plan.share.ous,
    ]
    return ", ".join(parts)


def record_plan(ctx: StageContext, plan: Plan) -> None:
    for t in plan.targets:
        state: RecordState = "failed" if t.action is Action.BLOCKED else "planned"
        if t.action in (Action.EXISTING, Action.SOURCE):
            state = "existed"
        ctx.record(
            Target(
                "ami-copy" if t.action is not Action.SOURCE else "ami-source",
                f"{t.source_ami}@{t.region}",
                state,
                region=t.region,
                resource_id=t.image_id,
                source=t.source_ami,
                error=t.problem or None,
                details={"action": str(t.action), "name": t.name},
            )
        )


def summarize_plan(summary: Summary, plan: Plan) -> None:
    summary.heading("mirror-ami plan (dry run: nothing was changed)")
    counts = {a: plan.count(a) for a in Action}
    summary.text(
        f"{counts[Action.COPY]} copies to make, {counts[Action.EXISTING]} already exist, "
        f"{counts[Action.BLOCKED]} blocked, across {len(plan.all_regions)} regions."
    )
    rows = [
        (t.source_ami, t.region, str(t.action), t.image_id or "", t.problem)
        for t in sorted(plan.targets, key=lambda t: (t.source_ami, t.region))
    ]
    summary.table(["source", "region", "action", "existing AMI", "problem"], rows)
    if plan.ssm_preview:
        summary.table(
            ["region", "SSM parameter", "overwritten each release"],
            [(p.region, p.name, "yes" if p.overwrite else "no") for p in plan.ssm_preview],
        )


def _plan_outputs(plan: Plan) -> dict[str, str]:
    existing: dict[str, dict[str, str]] = {}
    for t in plan.targets:
        if t.image_id and t.action in (Action.EXISTING, Action.SOURCE):
            existing.setdefault(t.source_ami, {})[t.region] = t.image_id
    blocked = sorted({t.region for t in plan.targets if t.action is Action.BLOCKED})
    return {"amis": json_output(existing), "failed-regions": ",".join(blocked)}


# -- result ----------------------------------------------------------------------------------


def remedy_for(error: str) -> str:
    """A next step for a failed target, from the AWS error code in its message."""
    if "UnauthorizedOperation" in error or "AccessDenied" in error or "AuthFailure" in error:
        return "grant the role ec2:CopyImage/ModifyImageAttribute there, or exclude the region"
    if "deadline" in error or "timed out" in error.lower():
        return "raise the timeout input, then " + RERUN
    if "ResourceLimitExceeded" in error or "AMIQuota" in error:
        return "ask AWS for a higher AMI quota in that region, then " + RERUN
    return RERUN


def record_result(ctx: StageContext, result: MirrorResult) -> None:
    for t in result.targets:
        ctx.record(
            Target(
                "ami-source" if t.is_source else "ami-copy",
                f"{t.source_ami}@{t.region}",
                _STATE[t.state],
                region=t.region,
                resource_id=t.image_id,
                source=t.source_ami,
                error=t.error or None,
                remedy=remedy_for(t.error) if t.state is TargetState.FAILED else None,
                details={
                    "public": t.public,
                    "snapshots": list(t.snapshot_ids),
                    "changes": list(t.changes),
                    "name": t.name,
                },
            )
        )
    for p in result.parameters:
        ctx.record(
            Target(
                "ssm-parameter",
                f"{p.region}:{p.name}",
                _PARAM_STATE[p.state],
                region=p.region,
                resource_id=p.name,
                source=p.source_ami or None,
                error=p.error or None,
                remedy=RERUN if p.state is ParameterState.FAILED else None,
                details={"value": p.value},
            )
        )
    ctx.section.data["notices"] = list(result.notices)
    ctx.section.data["unblocked_regions"] = list(result.unblocked_regions)


def write_tables(ctx: StageContext, inputs: MirrorInputs, rows: list[TableRow]) -> None:
    """CSV and Markdown in AlmaLinux's published format, for what succeeded."""
    ctx.section.data["table"] = [list(r.cells()) for r in rows]
    if inputs.csv_output:
        _write(inputs.csv_output, render_csv(rows))
    if inputs.md_output:
        _write(inputs.md_output, render_markdown(rows))


def _write(path_text: str, text: str) -> None:
    path = Path(path_text)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write {path}: {exc.strerror}", remedy="choose a writable csv/md path"
        ) from None


def _failed_regions(result: MirrorResult) -> list[str]:
    regions = {t.region for t in result.failed} | {p.region for p in result.failed_parameters}
    return sorted(regions)


def result_outputs(result: MirrorResult) -> dict[str, str]:
    params = [
        {"region": p.region, "name": p.name, "value": p.value}
        for p in result.parameters
        if p.state is not ParameterState.FAILED
    ]
    return {
        "amis": json_output(result.ami_map()),
        "failed-regions": ",".join(_failed_regions(result)),
        "ssm-parameters": json_output(params),
    }


def summarize_result(
    summary: Summary, plan: Plan, result: MirrorResult, table: list[TableRow], seconds: float
) -> None:
    copied = sum(1 for t in result.targets if t.state is TargetState.COPIED)
    existed = sum(1 for t in result.targets if t.state is TargetState.EXISTED)
    failed = len(result.failed)
    regions = len(plan.all_regions)
    title = "mirror-ami: done" if not failed else "mirror-ami: some regions failed"
    summary.heading(title)
    summary.text(
        f"{copied} copies created, {existed} existed, {failed} failed, in {regions} regions "
        f"for {len(plan.sources)} source AMIs, in {seconds:.0f} s."
    )
    for source in plan.sources:
        name = source.record.name or source.image_id
        summary.heading(f"{name} ({source.image_id}, {source.arch or 'unknown arch'})", 3)
        rows = [
            (
                t.region,
                t.image_id or "",
                str(t.state) + (" (source)" if t.is_source else ""),
                "yes" if t.public else "no",
            )
            for t in sorted(result.targets, key=lambda t: t.region)
            if t.source_ami == source.image_id
        ]
        summary.table(["region", "AMI ID", "state", "public"], rows)
    if result.failed or result.failed_parameters:
        summary.heading("Failures and what to do", 3)
        rows = [(t.source_ami, t.region, t.error, remedy_for(t.error)) for t in result.failed] + [
            (p.source_ami, p.region, f"{p.name}: {p.error}", RERUN)
            for p in result.failed_parameters
        ]
        summary.table(["source", "region", "error", "remedy"], rows)
    if result.parameters:
        summary.details(
            f"SSM parameters ({len(result.parameters)})",
            "\n".join(f"{p.region} {p.name} = {p.value} ({p.state})" for p in result.parameters),
        )
    if result.notices:
        summary.bullets(list(result.notices))
    rows_csv = render_csv(table)
    if rows_csv:
        summary.details("Region table (CSV, AlmaLinux format)", rows_csv, "csv")
    summary.details("amis (JSON)", json.dumps(result.ami_map(), indent=2, sort_keys=True), "json")
