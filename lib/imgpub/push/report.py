"""What a push did: per chain, the state of each stage run, as targets, outputs and summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imgpub.gha import Summary
from imgpub.push.plan import Chain, PushPlan, failure_target, outputs, row
from imgpub.results import Target, TargetState


def chain_state(runs: Sequence[dict[str, Any]], stopped: str) -> TargetState:
    if any(r["state"] == "failed" for r in runs):
        return "failed"
    if stopped and not runs:
        return "cancelled"
    ran = [r for r in runs if r["state"] not in ("skipped", "not-started")]
    if not ran:
        return "skipped"
    changed = any(
        n
        for r in ran
        for state, n in r.get("counts", {}).items()
        if state in ("created", "updated")
    )
    return "created" if changed else "existed"


def _ids(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    for r in runs:
        outs = r.get("outputs", {})
        if outs.get("ami-id"):
            ids["ami"] = outs["ami-id"]
        if outs.get("amis"):
            ids["amis"] = outs["amis"]
        if outs.get("change-sets"):
            ids["change-sets"] = outs["change-sets"]
        if outs.get("image-versions"):
            ids["gallery-versions"] = outs["image-versions"]
    return ids


@dataclass(frozen=True)
class PushResult:
    plan: PushPlan
    done: tuple[dict[str, Any], ...]

    def _states(self) -> list[tuple[Chain, TargetState, dict[str, Any]]]:
        out = []
        for entry in self.done:
            runs = entry["runs"]
            out.append((entry["chain"], chain_state(runs, entry["stopped"]), _ids(runs)))
        return out

    def targets(self) -> list[Target]:
        targets = []
        for (chain, state, ids), entry in zip(self._states(), self.done, strict=True):
            failed = [r for r in entry["runs"] if r["state"] == "failed"]
            targets.append(
                Target(
                    kind="push",
                    key=chain.key,
                    state=state,
                    source=chain.item.source,
                    error=(failed[0].get("error") or "failed") if failed else None,
                    remedy="fix what the stage's error says and re-run the push"
                    if failed
                    else None,
                    details={
                        "account": chain.account,
                        "destinations": list(chain.destinations),
                        "runs": [
                            {k: v for k, v in r.items() if k != "outputs"} for r in entry["runs"]
                        ],
                        "ids": ids,
                        "document": entry.get("document", ""),
                    },
                )
            )
        return targets + [failure_target(f) for f in self.plan.failures]

    def outputs(self) -> dict[str, str]:
        rows = [row(chain, state, ids) for chain, state, ids in self._states()]
        return outputs(rows, self.plan.failures)

    def data(self) -> dict[str, Any]:
        return self.plan.data()

    def summarize(self, summary: Summary) -> None:
        summary.heading("imgpub push", 2)
        rows = []
        for (chain, state, _), entry in zip(self._states(), self.done, strict=True):
            stages = ", ".join(f"{r['stage']} {r['state']}" for r in entry["runs"])
            rows.append(
                (chain.item.key, chain.account, ", ".join(chain.destinations), state, stages)
            )
        summary.table(["item", "account", "destinations", "state", "stages"], rows)
        for failure in self.plan.failures:
            summary.text(f"{failure.item.key}: {failure.error} — {failure.remedy}")
