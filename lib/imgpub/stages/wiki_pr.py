"""wiki-pr: one pull request per release with the per-region AMI tables.

The stage is glue over :mod:`imgpub.wiki`, in the flow every stage shares:

* ``read`` validates every input and reads the mirror-ami sections of the results
  documents (several jobs' are merged), then renders the files — exit 2 before any call;
* ``prepare`` reads GitHub (repository, base, the release's branch ``imgpub/<release>``,
  the files there, the release's pull requests) and decides, purely, what is missing: a
  dry run prints each file's diff against base;
* ``apply`` makes one commit with every changed file through the Git Data API, moves the
  branch, and opens or updates the pull request, then labels and reviewers.

A re-run with the same data makes no request that writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgpub.cancel import Cancelled
from imgpub.errors import CloudError
from imgpub.flow import StageContext
from imgpub.gha import Summary
from imgpub.github.client import connect
from imgpub.github.ratelimit import RateLimitGuard
from imgpub.github.repository import RepoGateway
from imgpub.github.run_link import run_url
from imgpub.results import Target, default_results_path
from imgpub.stages import STAGES
from imgpub.wiki.discover import discover
from imgpub.wiki.engine import apply_plan
from imgpub.wiki.model import WikiInputs, parse_wiki_inputs
from imgpub.wiki.plan import BranchAction, Outcome, PullAction, WikiPlan, decide
from imgpub.wiki.report import WikiResult
from imgpub.wiki.spec import WIKI_INPUTS, WIKI_OUTPUTS

_PULL_STEP = {
    PullAction.CREATE: "open the pull request",
    PullAction.UPDATE: "update the pull request",
    PullAction.KEEP: "label or request reviews",
    PullAction.NONE: "no pull request to change",
}

NAME = "wiki-pr"
HELP = STAGES[NAME].help
INPUTS = WIKI_INPUTS
OUTPUTS = WIKI_OUTPUTS


@dataclass(frozen=True)
class PreparedPlan:
    """The pure plan, and the repository gateway (one client) that apply writes through."""

    plan: WikiPlan
    gateway: RepoGateway

    def lines(self) -> list[str]:
        return self.plan.lines()

    def targets(self) -> list[Target]:
        return self.plan.targets()

    def outputs(self) -> dict[str, str]:
        return self.plan.outputs()

    def data(self) -> dict[str, Any]:
        return self.plan.data()

    def summarize(self, summary: Summary) -> None:
        self.plan.summarize(summary)

    def apply_title(self) -> str:
        """The apply log group's title: what this run writes on GitHub."""
        plan = self.plan
        steps = []
        if plan.branch_action is not BranchAction.NONE:
            steps.append(f"one commit of {sum(f.change != 'same' for f in plan.files)} files")
        if plan.pull_action is not PullAction.KEEP or plan.labels or plan.users or plan.teams:
            steps.append(_PULL_STEP[plan.pull_action])
        return f"Apply on {plan.repository}: {', '.join(steps) or 'nothing to write'}"


def read(ctx: StageContext) -> WikiInputs:
    """Every input validated, the results documents read, the files rendered."""
    results = ctx.inputs.text("results") or str(default_results_path(ctx.env))
    return parse_wiki_inputs(ctx.inputs, ctx.env, (results, ctx.previous), ctx.gha.mask)


def prepare(inputs: WikiInputs, ctx: StageContext) -> PreparedPlan:
    """Read GitHub (only GETs), then decide what is missing."""
    guard = RateLimitGuard(cancel=ctx.cancel, max_wait=inputs.rate_limit_wait, log=ctx.gha.info)
    gateway = RepoGateway(connect(inputs.access), inputs.repository, guard)
    try:
        found = discover(
            gateway,
            base=inputs.base,
            branch=inputs.branch,
            paths=list(inputs.files),
            cancel=ctx.cancel,
            log=ctx.gha.info,
        )
    except Cancelled as exc:
        raise CloudError(
            f"{exc} while reading GitHub; nothing was changed", remedy="re-run"
        ) from None
    ctx.gha.info(
        f"read {len(inputs.sources)} results documents: {', '.join(map(_short, inputs.sources))}"
    )
    return PreparedPlan(decide(inputs, found, run_url(ctx.env)), gateway)


def apply(prepared: PreparedPlan, ctx: StageContext) -> WikiResult:
    """Commit, move the branch, open or update the pull request; never raises per target."""
    plan = prepared.plan
    if plan.outcome is Outcome.SKIPPED:
        for note in plan.notes:
            ctx.gha.warning(note, title="imgpub wiki-pr")
    applied = apply_plan(plan, prepared.gateway, cancel=ctx.cancel, log=ctx.gha.info)
    for warning in applied.warnings:
        ctx.gha.warning(warning, title="imgpub wiki-pr")
    if applied.error:
        ctx.gha.error(f"{applied.error} — {applied.remedy}", title="imgpub wiki-pr")
    if applied.pull is not None:
        ctx.gha.notice(f"pull request #{applied.pull.number} {applied.state}: {applied.pull.url}")
    return WikiResult(plan, applied)


def _short(path: str) -> str:
    return Path(path).name if len(path) > 60 else path
