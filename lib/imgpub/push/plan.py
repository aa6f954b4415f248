"""The push plan: item → destination → stage runs with their inputs (a value).

Printed before anything runs, and the whole answer of a dry run. A chain is the runs
that share one results document (build-ami then mirror-ami or marketplace-changeset read
the AMI from it, the way a workflow chains stages); it names the account whose
credentials its runs get. Credentials never enter the plan, only the alias.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imgpub.gha import Summary
from imgpub.push.model import Credentials, PushItem
from imgpub.push.sources import describe
from imgpub.results import Target


@dataclass(frozen=True)
class StageRun:
    """One stage run: its inputs (no secret among them), or why it is left out."""

    stage: str
    flags: Mapping[str, str]
    skipped: str = ""  # the skip name or pre-push rule that leaves it out

    def line(self) -> str:
        if self.skipped:
            return f"{self.stage}: skipped ({self.skipped})"
        shown = ", ".join(
            f"{k}={v.replace(chr(10), '; ')}" for k, v in self.flags.items() if v != ""
        )
        return f"{self.stage}: {shown}"


@dataclass(frozen=True)
class Chain:
    """The runs for one item in one account (and billing group), in order."""

    key: str  # unique, used for the chain's results document
    item: PushItem
    entity: str
    cloud: str
    workflow: str
    account: str
    destinations: tuple[str, ...]
    runs: tuple[StageRun, ...]
    notes: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "item": describe(self.item),
            "entity": self.entity,
            "cloud": self.cloud,
            "workflow": self.workflow,
            "account": self.account,
            "destinations": list(self.destinations),
            "runs": [
                {"stage": r.stage, "inputs": dict(r.flags), "skipped": r.skipped} for r in self.runs
            ],
            "notes": list(self.notes),
            "meta": dict(self.meta),
        }


@dataclass(frozen=True)
class ItemFailure:
    item: PushItem
    error: str
    remedy: str


@dataclass(frozen=True)
class PushPlan:
    mode: str
    items: tuple[PushItem, ...]
    chains: tuple[Chain, ...]
    failures: tuple[ItemFailure, ...]
    pre_push: bool
    skip: frozenset[str]
    #: Alias → credentials, for the runner only: never in lines, data or outputs.
    credentials: Mapping[str, Credentials] = field(default_factory=dict, repr=False)

    def apply_title(self) -> str:
        return f"Push {len(self.items)} items through {len(self.chains)} chains"

    def lines(self) -> list[str]:
        mode = f"mapping: {self.mode}" + (", pre-push" if self.pre_push else "")
        if self.skip:
            mode += f", skip: {', '.join(sorted(self.skip))}"
        out = [mode]
        for chain in self.chains:
            out.append(
                f"{chain.item.key} → {chain.cloud}/{chain.workflow} {chain.account}: "
                f"{', '.join(chain.destinations)}"
            )
            out += [f"  {run.line()}" for run in chain.runs]
            out += [f"  note: {note}" for note in chain.notes]
        for failure in self.failures:
            out.append(f"{failure.item.key}: FAILED: {failure.error} — {failure.remedy}")
        return out

    def targets(self) -> list[Target]:
        out = [
            Target(
                kind="push",
                key=f"{c.key}",
                state="planned",
                source=c.item.source,
                details={"destinations": list(c.destinations), "account": c.account},
            )
            for c in self.chains
        ]
        out += [failure_target(f) for f in self.failures]
        return out

    def outputs(self) -> dict[str, str]:
        rows = [row(c, "planned", {}) for c in self.chains]
        return outputs(rows, self.failures)

    def data(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "pre_push": self.pre_push,
            "skip": sorted(self.skip),
            "chains": [c.describe() for c in self.chains],
            "unmapped": [{"item": describe(f.item), "error": f.error} for f in self.failures],
        }

    def summarize(self, summary: Summary) -> None:
        summary.heading("imgpub push: plan", 2)
        summary.table(
            ["item", "cloud/workflow", "account", "destinations", "stages"],
            [
                (
                    c.item.key,
                    f"{c.cloud}/{c.workflow}",
                    c.account,
                    ", ".join(c.destinations),
                    ", ".join(r.stage for r in c.runs if not r.skipped),
                )
                for c in self.chains
            ],
        )
        for failure in self.failures:
            summary.text(f"{failure.item.key}: {failure.error}")


def failure_target(failure: ItemFailure) -> Target:
    return Target(
        kind="push",
        key=failure.item.key,
        state="failed",
        source=failure.item.source,
        error=failure.error,
        remedy=failure.remedy,
    )


def row(chain: Chain, state: str, ids: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "item": chain.item.name,
            "version": chain.item.version,
            "architecture": chain.item.architecture,
            "cloud": chain.cloud,
            "workflow": chain.workflow,
            "account": chain.account,
            "destination": dest,
            "state": state,
            "ids": dict(ids),
        }
        for dest in chain.destinations
    ]


def outputs(
    rows: Sequence[list[dict[str, Any]]], failures: Sequence[ItemFailure]
) -> dict[str, str]:
    flat = [r for group in rows for r in group]
    failed = sorted(
        {f.item.key for f in failures}
        | {
            f"{r['item']}-{r['version']}-{r['architecture']}"
            for r in flat
            if r["state"] == "failed"
        }
    )
    return {
        "destinations": json.dumps(flat, separators=(",", ":"), sort_keys=True),
        "failed-items": ",".join(failed),
    }
