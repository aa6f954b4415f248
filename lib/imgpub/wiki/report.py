"""wiki-pr's reports: the plan (a dry run's whole answer) and the result of apply.

Both give the results-document targets (one ``wiki-file`` per file, one ``pull-request``),
the outputs the next job reads, the data later stages read, and the job summary: the pull
request's link and state, each file's change, the region table itself and, for a dry run,
the diff of every file against base — what the reviewer will be asked to approve.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from imgpub.gha import Summary
from imgpub.mirror.tables import HEADER, render_csv
from imgpub.results import Target, TargetState
from imgpub.wiki.engine import Applied
from imgpub.wiki.plan import BranchAction, FilePlan, Outcome, PullAction, WikiPlan

MAX_DIFF_LINES = 400


def file_diff(plan: WikiPlan, f: FilePlan) -> str:
    """The unified diff of one file, base → the pull request (empty when the same)."""
    before = f.base.text if f.base is not None and f.base.text is not None else ""
    lines = list(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            f.text.splitlines(keepends=True),
            fromfile=f"{plan.base}:{f.path}" if f.base is not None else "/dev/null",
            tofile=f"{plan.branch}:{f.path}",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        rest = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"… {rest} more diff lines\n"]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _diff_counts(diff: str, base: str) -> str:
    if not diff:
        return f"same as {base}"
    added = sum(1 for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++"))
    removed = sum(1 for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---"))
    return f"+{added} -{removed} lines against {base}"


#: The target states, for outcomes held as text (the engine's and the plan's).
_STATES: dict[str, TargetState] = {
    "created": "created",
    "existed": "existed",
    "updated": "updated",
    "failed": "failed",
    "planned": "planned",
    "skipped": "skipped",
    "cancelled": "cancelled",
}


def _what_happens(plan: WikiPlan) -> str:
    pr = plan.pull
    if plan.outcome is Outcome.SKIPPED or (not plan.writes and plan.outcome is Outcome.EXISTED):
        return plan.notes[-1] if plan.notes else "nothing to do: the pull request is up to date"
    parts = []
    if plan.branch_action is not BranchAction.NONE:
        changed = sum(1 for f in plan.files if f.change != "same")
        parts.append(f"one commit with {changed} files on {plan.branch} ({plan.branch_action})")
    if plan.pull_action is PullAction.CREATE:
        parts.append(f"open a {'draft ' if plan.draft else ''}pull request into {plan.base}")
    elif plan.pull_action is PullAction.UPDATE and pr is not None:
        parts.append(f"update the title and body of #{pr.number}")
    if plan.labels:
        parts.append("add labels " + ", ".join(plan.labels))
    if plan.users or plan.teams:
        parts.append("request reviews from " + ", ".join([*plan.users, *plan.teams]))
    return "; ".join(parts)


# -- the plan --------------------------------------------------------------------------------


def plan_lines(plan: WikiPlan) -> list[str]:
    release = plan.release
    lines = [
        f"release {release.distribution} {release.version} ({release.key}): "
        f"{len(release.sources)} source AMIs, {len(release.rows)} rows, "
        f"{len(release.regions)} regions",
        f"repository {plan.repository}, base {plan.base}, branch {plan.branch}",
    ]
    if plan.pull is not None:
        state = "merged" if plan.pull.merged else plan.pull.state
        lines.append(f"pull request #{plan.pull.number} ({state}): {plan.pull.url}")
    for f in plan.files:
        diff = file_diff(plan, f)
        counts = _diff_counts(diff, plan.base)
        change = "unchanged" if f.change == "same" else f.change
        lines.append(f"{change:<9} {f.path}: {f.rows} rows; {counts}")
        if f.change != "same":  # what this run would change: the diff a reviewer sees
            lines.extend("    " + ln for ln in diff.splitlines())
    lines.extend(f"note: {n}" for n in plan.notes)
    if release.not_in_place:
        lines.append(
            f"note: {len(release.not_in_place)} images are not in place in mirror-ami's "
            "results and are not listed: " + ", ".join(release.not_in_place)
        )
    lines.append("plan: " + _what_happens(plan))
    return lines


def _file_target(plan: WikiPlan, f: FilePlan, state: TargetState) -> Target:
    return Target(
        "wiki-file",
        f"{plan.repository}:{f.path}",
        state,
        resource_id=f.path,
        source=plan.release.key,
        details={"change": f.change, "rows": f.rows, "blob": f.blob},
    )


def planned_targets(plan: WikiPlan) -> list[Target]:
    writes = plan.writes and plan.branch_action is not BranchAction.NONE
    out = []
    for f in plan.files:
        state: TargetState = "planned" if writes and f.change != "same" else "existed"
        if plan.outcome is Outcome.SKIPPED and f.change != "same":
            state = "skipped"
        out.append(_file_target(plan, f, state))
    pr_state = "planned" if plan.writes else _STATES[str(plan.outcome)]
    out.append(_pull_target(plan, pr_state, None, plan.data_commit))
    return out


def _pull_target(
    plan: WikiPlan, state: TargetState, applied: Applied | None, commit: str
) -> Target:
    pr = applied.pull if applied is not None else plan.pull
    details: dict[str, Any] = {
        "branch": plan.branch,
        "base": plan.base,
        "commit": commit,
        "digest": plan.digest,
        "action": str(plan.pull_action),
    }
    if pr is not None:
        details.update(number=pr.number, draft=pr.draft)
    if applied is not None:
        details.update(
            labels_added=list(applied.labels_added),
            reviews_requested=list(applied.requested),
            warnings=list(applied.warnings),
            steps=list(applied.done),
        )
    return Target(
        "pull-request",
        f"{plan.repository}:{plan.branch}",
        state,
        resource_id=pr.url if pr is not None else None,
        source=plan.release.key,
        error=(applied.error or None) if applied is not None else None,
        remedy=(applied.remedy or None) if applied is not None else None,
        details=details,
    )


def _outputs(plan: WikiPlan, state: str, applied: Applied | None, commit: str) -> dict[str, str]:
    pr = applied.pull if applied is not None else plan.pull
    return {
        "pull-request-url": pr.url if pr is not None else "",
        "pull-request-number": str(pr.number) if pr is not None else "",
        "branch": plan.branch,
        "commit-sha": commit,
        "state": state,
    }


def plan_outputs(plan: WikiPlan) -> dict[str, str]:
    return _outputs(plan, "planned" if plan.writes else str(plan.outcome), None, plan.data_commit)


def plan_data(plan: WikiPlan, applied: Applied | None = None) -> dict[str, Any]:
    pr = applied.pull if applied is not None else plan.pull
    release = plan.release
    return {
        "repository": plan.repository,
        "base": plan.base,
        "branch": plan.branch,
        "release": release.key,
        "distribution": release.distribution,
        "version": release.version,
        "digest": plan.digest,
        "pull_request": None
        if pr is None
        else {"number": pr.number, "url": pr.url, "draft": pr.draft, "state": pr.state},
        "files": {f.path: {"change": f.change, "rows": f.rows, "blob": f.blob} for f in plan.files},
        "sources": [
            {"ami_id": s.ami_id, "arch": s.arch, "name": s.name, "regions": len(s.regions)}
            for s in release.sources
        ],
        "not_in_place": list(release.not_in_place),
    }


def _region_table(summary: Summary, plan: WikiPlan) -> None:
    rows = plan.release.rows
    summary.heading(f"Region table ({len(rows)} rows)", 3)
    summary.table(list(HEADER), [r.cells() for r in rows])
    summary.details("CSV (AlmaLinux format)", render_csv(rows), "csv")


def summarize_plan(summary: Summary, plan: WikiPlan) -> None:
    summary.heading("wiki-pr plan (dry run: nothing was changed)")
    summary.text(f"{plan.repository} ← {plan.branch}: {_what_happens(plan)}.")
    if plan.pull is not None:
        summary.text(f"Pull request #{plan.pull.number}: {plan.pull.url}")
    summary.table(["file", "change", "rows"], [(f.path, f.change, str(f.rows)) for f in plan.files])
    for f in plan.files:
        diff = file_diff(plan, f)
        if diff:
            summary.details(f"{f.path} against {plan.base}", diff, "diff")
    if plan.notes:
        summary.bullets(list(plan.notes))
    _region_table(summary, plan)


# -- the result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WikiResult:
    """The plan and what apply did with it (imgpub.flow's Report)."""

    plan: WikiPlan
    applied: Applied

    @property
    def commit(self) -> str:
        return self.applied.commit or self.plan.data_commit

    def targets(self) -> list[Target]:
        plan, applied = self.plan, self.applied
        out = []
        for f in plan.files:
            state: TargetState = "existed"
            if f.path in applied.written and applied.branch_moved:
                state = "created" if f.change == "create" else "updated"
            elif f.change != "same" and applied.state in ("failed", "cancelled", "skipped"):
                state = _STATES[applied.state]  # this file's change did not land
            out.append(_file_target(plan, f, state))
        out.append(_pull_target(plan, _STATES[applied.state], applied, self.commit))
        return out

    def outputs(self) -> dict[str, str]:
        return _outputs(self.plan, self.applied.state, self.applied, self.commit)

    def data(self) -> dict[str, Any]:
        return {**plan_data(self.plan, self.applied), "commit": self.commit}

    def summarize(self, summary: Summary) -> None:
        plan, applied = self.plan, self.applied
        pr = applied.pull
        number = f" #{pr.number}" if pr is not None else ""
        summary.heading(f"wiki-pr: pull request{number} {applied.state}")
        summary.table(
            ["repository", "pull request", "state", "branch", "commit"],
            [
                (
                    plan.repository,
                    pr.url if pr is not None else "",
                    applied.state,
                    plan.branch,
                    self.commit[:12],
                )
            ],
        )
        if applied.done:
            summary.bullets(applied.done)
        summary.table(
            ["file", "change", "rows"], [(f.path, f.change, str(f.rows)) for f in plan.files]
        )
        if applied.error:
            summary.heading("What went wrong and what to do", 3)
            summary.table(["error", "remedy"], [(applied.error, applied.remedy)])
        notes = [*plan.notes, *applied.warnings]
        if notes:
            summary.bullets(notes)
        _region_table(summary, plan)
