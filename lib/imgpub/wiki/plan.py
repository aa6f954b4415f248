"""What the pull request needs, decided from what discovery found: a pure function.

One release, one branch (``imgpub/<release>``), one pull request:

* an **open** pull request for the branch is updated in place: a commit on top of its
  branch only for files whose text differs, its title and body only when the data (the
  digest in the body's marker) or the title changed, labels and reviewers only when
  missing — so a re-run with the same data plans no write at all;
* no pull request: one commit holding every changed file on the branch (created from
  base, or the branch a crashed run left), then the pull request — unless base already
  holds the data, which is ``existed``;
* a **merged** one whose data is on base is ``existed``; a **closed** (or merged, with new
  data since) one is reported and left alone, and only ``reopen: true`` opens a new pull
  request from a branch reset onto base.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from imgpub.gha import Summary
from imgpub.github.git_objects import blob_sha
from imgpub.github.repository import BranchHead, PullInfo, RemoteFile, RepoInfo
from imgpub.results import Target
from imgpub.wiki.files import data_digest
from imgpub.wiki.model import WikiInputs
from imgpub.wiki.release import Release
from imgpub.wiki.texts import body_digest, render_body, render_title


class PullAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"  # title and body
    KEEP = "keep"  # the open one, as it is (labels or reviewers may still be added)
    NONE = "none"


class BranchAction(StrEnum):
    CREATE = "create"
    FAST_FORWARD = "fast-forward"  # a commit on top of the branch's head
    RESET = "reset"  # a commit on base, the branch forced to it (reopen)
    NONE = "none"


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    EXISTED = "existed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Found:
    """What discovery read (read-only), as plain values."""

    repo: RepoInfo
    base: str
    base_head: BranchHead
    branch_head: BranchHead | None
    on_base: Mapping[str, RemoteFile | None]
    on_branch: Mapping[str, RemoteFile | None]
    pulls: Sequence[PullInfo]  # from the release's branch, newest first
    reviewed: frozenset[str] = frozenset()  # who already reviewed the open one


@dataclass(frozen=True)
class FilePlan:
    path: str
    text: str
    blob: str  # the git blob SHA of text
    before: str | None  # blob SHA on the commit the new one builds on (None: absent)
    base: RemoteFile | None  # the file on base, for the diff a reviewer will see
    rows: int

    @property
    def change(self) -> str:
        if self.before is None:
            return "create"
        return "same" if self.before == self.blob else "update"


@dataclass(frozen=True)
class WikiPlan:
    repository: str
    repo_url: str
    base: str
    branch: str
    release: Release
    files: tuple[FilePlan, ...]
    parent: BranchHead  # what the commit builds on
    branch_action: BranchAction
    commit_message: str
    pull_action: PullAction
    pull: PullInfo | None  # the release's pull request found (open, merged or closed)
    title: str
    body: str
    draft: bool
    labels: tuple[str, ...]  # to add
    users: tuple[str, ...]  # reviewers to request
    teams: tuple[str, ...]
    outcome: Outcome
    data_commit: str  # the commit holding the data when nothing is written
    digest: str
    notes: tuple[str, ...]

    @property
    def commit_needed(self) -> bool:
        return any(f.change != "same" for f in self.files)

    @property
    def writes(self) -> bool:
        return self.outcome in (Outcome.CREATED, Outcome.UPDATED)

    # -- the Report protocol (imgpub.flow): what a dry run answers -----------------------

    def lines(self) -> list[str]:
        from imgpub.wiki.report import plan_lines

        return plan_lines(self)

    def targets(self) -> list[Target]:
        from imgpub.wiki.report import planned_targets

        return planned_targets(self)

    def outputs(self) -> dict[str, str]:
        from imgpub.wiki.report import plan_outputs

        return plan_outputs(self)

    def data(self) -> dict[str, Any]:
        from imgpub.wiki.report import plan_data

        return plan_data(self)

    def summarize(self, summary: Summary) -> None:
        from imgpub.wiki.report import summarize_plan

        summarize_plan(summary, self)


@dataclass(frozen=True)
class _Route:
    """Where the commit goes and what happens to the pull request, before texts."""

    parent: BranchHead
    on_branch: bool  # the parent is the branch's head (else base's)
    branch_action: BranchAction
    pull_action: PullAction
    outcome: Outcome
    note: str = ""


def route(inputs: WikiInputs, found: Found, base_has_all: bool) -> _Route:
    """The branch of the decision table in the module docstring this run takes."""
    pulls = list(found.pulls)
    open_pr = next((p for p in pulls if p.state == "open"), None)
    done_pr = next((p for p in pulls if p.state != "open"), None)
    branch, base = found.branch_head, found.base_head
    if open_pr is not None:
        note = ""
        if open_pr.base != found.base:
            note = f"pull request #{open_pr.number} targets {open_pr.base}; it is updated anyway"
        if branch is None:
            return _Route(base, False, BranchAction.CREATE, PullAction.KEEP, Outcome.EXISTED, note)
        return _Route(
            branch, True, BranchAction.FAST_FORWARD, PullAction.KEEP, Outcome.EXISTED, note
        )
    if base_has_all:
        note = f"{found.base} already holds this data: no pull request is needed"
        return _Route(base, False, BranchAction.NONE, PullAction.NONE, Outcome.EXISTED, note)
    if done_pr is not None and not inputs.reopen:
        how = "merged, and the data changed since" if done_pr.merged else "closed unmerged"
        note = (
            f"pull request #{done_pr.number} of this release was {how}: nothing is changed; "
            "set reopen: true to open a new one with this data"
        )
        return _Route(base, False, BranchAction.NONE, PullAction.NONE, Outcome.SKIPPED, note)
    if done_pr is not None:  # reopen: a fresh branch from base
        action = BranchAction.RESET if branch else BranchAction.CREATE
        return _Route(base, False, action, PullAction.CREATE, Outcome.CREATED)
    if branch is not None:  # left by a run that stopped before the pull request
        return _Route(branch, True, BranchAction.FAST_FORWARD, PullAction.CREATE, Outcome.CREATED)
    return _Route(base, False, BranchAction.CREATE, PullAction.CREATE, Outcome.CREATED)


def decide(inputs: WikiInputs, found: Found, run_url: str | None) -> WikiPlan:
    """The plan: pure, from the inputs and what discovery found."""
    blobs = {path: blob_sha(text.encode("utf-8")) for path, text in inputs.files.items()}
    base_has_all = all(_sha(found.on_base.get(p)) == b for p, b in blobs.items())
    way = route(inputs, found, base_has_all)
    before = found.on_branch if way.on_branch else found.on_base
    files = tuple(
        FilePlan(
            path,
            text,
            blobs[path],
            _sha(before.get(path)) or None,
            found.on_base.get(path),
            sum(1 for r in inputs.release.rows if r.ami_id in text),
        )
        for path, text in inputs.files.items()
    )
    changed = any(f.change != "same" for f in files)
    branch_action = way.branch_action if changed else BranchAction.NONE
    digest = data_digest(inputs.files)
    variables = {
        **inputs.release.variables(),
        "files": [{"path": f.path, "rows": f.rows, "change": f.change} for f in files],
        "run_url": run_url or "",
        "digest": digest,
    }
    title = render_title(inputs.title, variables)
    body, shortened = render_body(inputs.body, variables, digest)
    notes = [n for n in (way.note,) if n]
    if shortened:
        notes.append("the body was shortened to GitHub's 65,536 characters")
    open_pr = next((p for p in found.pulls if p.state == "open"), None)
    pull_action, outcome = way.pull_action, way.outcome
    labels, users, teams = inputs.labels, inputs.reviewers, inputs.team_reviewers
    if open_pr is not None:
        retitle = open_pr.title != title or body_digest(open_pr.body) != digest
        if changed or retitle:
            pull_action = PullAction.UPDATE
        labels = tuple(x for x in labels if x not in open_pr.labels)
        covered = {*open_pr.requested_users, *found.reviewed, open_pr.author}
        users = tuple(u for u in users if u not in covered)
        teams = tuple(t for t in teams if t not in open_pr.requested_teams)
        if changed or retitle or labels or users or teams:
            outcome = Outcome.UPDATED
    elif pull_action is not PullAction.CREATE:
        labels, users, teams = (), (), ()
    holding = way.parent.commit if (way.on_branch or base_has_all) else ""
    return WikiPlan(
        repository=inputs.repository,
        repo_url=found.repo.html_url,
        base=found.base,
        branch=inputs.branch,
        release=inputs.release,
        files=files,
        parent=way.parent,
        branch_action=branch_action,
        commit_message=_commit_message(title, digest, run_url),
        pull_action=pull_action,
        pull=open_pr or next(iter(found.pulls), None),
        title=title,
        body=body,
        draft=inputs.draft,
        labels=labels,
        users=users,
        teams=teams,
        outcome=outcome,
        data_commit=holding,
        digest=digest,
        notes=tuple(notes),
    )


def _sha(found: RemoteFile | None) -> str:
    return found.sha if found is not None else ""


def _commit_message(title: str, digest: str, run_url: str | None) -> str:
    lines = [title, "", f"Data digest: {digest}"]
    if run_url:
        lines.append(f"Run: {run_url}")
    return "\n".join(lines) + "\n"
