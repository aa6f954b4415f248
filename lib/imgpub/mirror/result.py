"""What a mirror-ami run did, per (source AMI, region), per SSM parameter and per table file,
and how that is reported: results-document targets, outputs, data and the job summary.

Everything the stage shows is rendered from this value; nothing is re-parsed from logs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from imgpub.aws.errors import RERUN, remedy_for
from imgpub.gha import Summary
from imgpub.mirror.plan import Plan
from imgpub.mirror.tables import PublishedImage, TableRow, ami_map, render_csv, table_rows
from imgpub.results import Target, TargetState
from imgpub.stage import json_output


class CopyState(StrEnum):
    COPIED = "copied"  # this run started the copy
    EXISTED = "existed"  # found from an earlier run (or the source itself), repaired if needed
    FAILED = "failed"
    CANCELLED = "cancelled"  # the run was stopped before this one was finished


class ParameterState(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    EXISTED = "existed"
    FAILED = "failed"


_COPY_STATE: dict[CopyState, TargetState] = {
    CopyState.COPIED: "created",
    CopyState.EXISTED: "existed",
    CopyState.FAILED: "failed",
    CopyState.CANCELLED: "cancelled",
}
_PARAMETER_STATE: dict[ParameterState, TargetState] = {
    ParameterState.CREATED: "created",
    ParameterState.UPDATED: "updated",
    ParameterState.EXISTED: "existed",
    ParameterState.FAILED: "failed",
}


@dataclass(frozen=True)
class CopyOutcome:
    source_ami: str
    region: str
    state: CopyState
    image_id: str | None = None
    public: bool = False
    is_source: bool = False
    snapshot_ids: tuple[str, ...] = ()
    error: str = ""
    name: str = ""
    architecture: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    changes: tuple[str, ...] = ()  # what this run changed here: "copy", "tags", "share", ...

    @property
    def unfinished(self) -> bool:
        return self.state in (CopyState.FAILED, CopyState.CANCELLED)


@dataclass(frozen=True)
class ParameterOutcome:
    region: str
    name: str
    value: str
    state: ParameterState
    source_ami: str = ""
    error: str = ""


@dataclass(frozen=True)
class TableFailure:
    """A region table that could not be written after the changes were made."""

    input: str  # csv-output or md-output
    path: str
    error: str

    @property
    def remedy(self) -> str:
        return (
            f"make {self.path} writable (free space, fix the folder) or change {self.input}, "
            "then re-run: the AMIs are found in place and only the tables are written"
        )


@dataclass(frozen=True)
class MirrorResult:
    plan: Plan
    outcomes: tuple[CopyOutcome, ...]
    parameters: tuple[ParameterOutcome, ...] = ()
    notices: tuple[str, ...] = ()
    unblocked_regions: tuple[str, ...] = ()
    cancelled: str = ""  # why the run stopped early, when it did
    table_failures: tuple[TableFailure, ...] = ()
    seconds: float = 0.0

    @property
    def failed(self) -> tuple[CopyOutcome, ...]:
        return tuple(t for t in self.outcomes if t.state is CopyState.FAILED)

    @property
    def not_finished(self) -> tuple[CopyOutcome, ...]:
        return tuple(t for t in self.outcomes if t.state is CopyState.CANCELLED)

    @property
    def failed_parameters(self) -> tuple[ParameterOutcome, ...]:
        return tuple(p for p in self.parameters if p.state is ParameterState.FAILED)

    @property
    def succeeded(self) -> tuple[CopyOutcome, ...]:
        return tuple(t for t in self.outcomes if not t.unfinished)

    def published_images(self) -> list[PublishedImage]:
        """The rows of the tables and the ``amis`` map: everything that succeeded."""
        return [
            PublishedImage(
                source_ami=t.source_ami,
                region=t.region,
                ami_id=t.image_id,
                name=t.name,
                tags=t.tags,
                ec2_architecture=t.architecture,
            )
            for t in self.succeeded
            if t.image_id
        ]

    def ami_map(self) -> dict[str, dict[str, str]]:
        return ami_map(self.published_images())

    def table_rows(self) -> list[TableRow]:
        return table_rows(self.published_images())

    # -- the Report protocol (imgpub.flow)

    def targets(self) -> list[Target]:
        out = [_copy_target(t) for t in self.outcomes]
        out.extend(_parameter_target(p) for p in self.parameters)
        out.extend(
            Target(
                "region-table",
                f"region-table:{f.input}",
                "failed",
                resource_id=f.path,
                error=f.error,
                remedy=f.remedy,
                details={"input": f.input, "path": f.path},
            )
            for f in self.table_failures
        )
        return out

    def outputs(self) -> dict[str, str]:
        params = [
            {"region": p.region, "name": p.name, "value": p.value}
            for p in self.parameters
            if p.state is not ParameterState.FAILED
        ]
        regions = {t.region for t in self.outcomes if t.unfinished}
        regions |= {p.region for p in self.failed_parameters}
        return {
            "amis": json_output(self.ami_map()),
            "failed-regions": ",".join(sorted(regions)),
            "ssm-parameters": json_output(params),
        }

    def data(self) -> dict[str, Any]:
        return {
            "plan": self.plan.summary_data(),
            "notices": list(self.notices),
            "unblocked_regions": list(self.unblocked_regions),
            "table": [list(r.cells()) for r in self.table_rows()],
            "amis": self.ami_map(),
        }

    def summarize(self, summary: Summary) -> None:
        _summarize(summary, self)


def _copy_target(t: CopyOutcome) -> Target:
    remedy = None
    if t.state is CopyState.FAILED:
        remedy = remedy_for(t.error)
    elif t.state is CopyState.CANCELLED:
        remedy = RERUN
    return Target(
        "ami-source" if t.is_source else "ami-copy",
        f"{t.source_ami}@{t.region}",
        _COPY_STATE[t.state],
        region=t.region,
        resource_id=t.image_id,
        source=t.source_ami,
        error=t.error or None,
        remedy=remedy,
        details={
            "public": t.public,
            "snapshots": list(t.snapshot_ids),
            "changes": list(t.changes),
            "name": t.name,
        },
    )


def _parameter_target(p: ParameterOutcome) -> Target:
    return Target(
        "ssm-parameter",
        f"{p.region}:{p.name}",
        _PARAMETER_STATE[p.state],
        region=p.region,
        resource_id=p.name,
        source=p.source_ami or None,
        error=p.error or None,
        remedy=RERUN if p.state is ParameterState.FAILED else None,
        details={"value": p.value},
    )


def _summarize(summary: Summary, result: MirrorResult) -> None:
    plan, targets = result.plan, result.outcomes
    copied = sum(1 for t in targets if t.state is CopyState.COPIED)
    existed = sum(1 for t in targets if t.state is CopyState.EXISTED)
    failed = len(result.failed)
    cancelled = len(result.not_finished)
    if result.cancelled:
        title = "mirror-ami: cancelled"
    elif failed:
        title = "mirror-ami: some regions failed"
    elif result.table_failures:
        title = "mirror-ami: done, but a region table was not written"
    else:
        title = "mirror-ami: done"
    summary.heading(title)
    stopped = f", {cancelled} not finished" if result.cancelled else ""
    summary.text(
        f"{copied} copies created, {existed} existed, {failed} failed{stopped}, in "
        f"{len(plan.all_regions)} regions for {len(plan.sources)} source AMIs, in "
        f"{result.seconds:.0f} s."
    )
    if result.cancelled:
        summary.text(
            f"The run was {result.cancelled}: nothing new was started after that. Re-run the "
            "same command to finish; copies already started are found and adopted."
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
            for t in sorted(targets, key=lambda t: t.region)
            if t.source_ami == source.image_id
        ]
        summary.table(["region", "AMI ID", "state", "public"], rows)
    problems = [(t.source_ami, t.region, t.error, remedy_for(t.error)) for t in result.failed]
    problems += [
        (p.source_ami, p.region, f"{p.name}: {p.error}", RERUN) for p in result.failed_parameters
    ]
    problems += [
        ("", "", f"{f.input} {f.path}: {f.error}", f.remedy) for f in result.table_failures
    ]
    if problems:
        summary.heading("Failures and what to do", 3)
        summary.table(["source", "region", "error", "remedy"], problems)
    if result.not_finished:
        summary.heading("Not finished (cancelled): re-run to finish", 3)
        summary.table(
            ["source", "region", "AMI ID so far", "state"],
            [(t.source_ami, t.region, t.image_id or "", t.error) for t in result.not_finished],
        )
    if result.parameters:
        summary.details(
            f"SSM parameters ({len(result.parameters)})",
            "\n".join(f"{p.region} {p.name} = {p.value} ({p.state})" for p in result.parameters),
        )
    if result.notices:
        summary.bullets(list(result.notices))
    rows_csv = render_csv(result.table_rows())
    if rows_csv:
        summary.details("Region table (CSV, AlmaLinux format)", rows_csv, "csv")
    summary.details("amis (JSON)", json.dumps(result.ami_map(), indent=2, sort_keys=True), "json")
