"""Apply a wiki plan: blobs → one tree → one commit → the branch → the pull request.

Each step starts only if the run is not cancelled, and each is safe to find done on a
re-run: the plan was made from what exists, so a run stopped after the branch moved but
before the pull request finds the branch holding the data and opens only the pull
request. GitHub's refusals become this target's error with the permission to grant (never
an exception out of apply); refusals that do not stop the release — drafts not available
in this repository, a reviewer who is not a collaborator or is the author — are warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from github.GithubException import GithubException

from imgpub.cancel import Cancellation, Cancelled
from imgpub.errors import CloudError
from imgpub.github.errors import describe
from imgpub.github.ratelimit import error_message
from imgpub.github.repository import PullInfo, RepoGateway
from imgpub.wiki.plan import BranchAction, PullAction, WikiPlan

RERUN = "re-run the same command: imgpub finds what was done and finishes the rest"
_NO_DRAFTS = "Draft pull requests are not supported"
_ALREADY = "A pull request already exists"


@dataclass
class Applied:
    """What apply did; ``state`` is created/updated/existed, or failed/cancelled."""

    state: str
    pull: PullInfo | None = None
    commit: str = ""  # the commit this run made
    branch_moved: bool = False
    written: tuple[str, ...] = ()  # paths the new commit changed
    labels_added: tuple[str, ...] = ()
    requested: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)  # the steps finished, in order
    error: str = ""
    remedy: str = ""


class _Run:
    def __init__(
        self, plan: WikiPlan, gateway: RepoGateway, cancel: Cancellation, log: Callable[[str], None]
    ) -> None:
        self.plan = plan
        self.gateway = gateway
        self.cancel = cancel
        self.log = log
        self.applied = Applied(str(plan.outcome), pull=plan.pull)
        self.step = "start"

    def begin(self, step: str) -> None:
        """The next step; a cancelled run stops here, naming the step it did not take."""
        self.step = step
        self.cancel.check()

    def finished(self, what: str) -> None:
        self.applied.done.append(what)
        self.log(what)

    def warn(self, message: str) -> None:
        self.applied.warnings.append(message)
        self.log("warning: " + message)

    # -- the steps -----------------------------------------------------------------------

    def commit(self) -> None:
        plan, gw = self.plan, self.gateway
        changed = [f for f in plan.files if f.change != "same"]
        blobs: dict[str, str] = {}
        for f in changed:
            self.begin(f"create the blob of {f.path}")
            blobs[f.path] = gw.create_blob(f.text)
            self.finished(f"blob {blobs[f.path][:12]} for {f.path} ({f.change})")
        self.begin("create the tree")
        tree = gw.create_tree(plan.parent.tree, blobs)
        self.finished(f"tree {tree[:12]} on {plan.parent.tree[:12]}")
        self.begin("create the commit")
        sha = gw.create_commit(plan.commit_message, tree, [plan.parent.commit])
        self.applied.commit = sha
        self.applied.written = tuple(blobs)
        self.finished(f"commit {sha[:12]} on {plan.parent.commit[:12]}: {len(blobs)} files")
        self.begin(f"update the branch {plan.branch}")
        if plan.branch_action is BranchAction.CREATE:
            gw.create_branch(plan.branch, sha)
        else:
            gw.move_branch(plan.branch, sha, force=plan.branch_action is BranchAction.RESET)
        self.applied.branch_moved = True
        self.finished(f"branch {plan.branch} → {sha[:12]} ({plan.branch_action})")

    def pull_request(self) -> PullInfo | None:
        plan, gw = self.plan, self.gateway
        if plan.pull_action is PullAction.CREATE:
            self.begin("open the pull request")
            made = self._create()
            self.finished(f"opened pull request #{made.number}{' (draft)' if made.draft else ''}")
            return made
        pr = plan.pull if plan.pull is not None and plan.pull.state == "open" else None
        if plan.pull_action is PullAction.UPDATE and pr is not None:
            self.begin(f"update pull request #{pr.number}")
            pr = gw.update_pull(pr.number, title=plan.title, body=plan.body)
            self.finished(f"updated the title and body of pull request #{pr.number}")
        return pr

    def _create(self) -> PullInfo:
        plan, gw = self.plan, self.gateway
        kwargs = {"title": plan.title, "body": plan.body, "base": plan.base, "head": plan.branch}
        try:
            return gw.create_pull(**kwargs, draft=plan.draft)
        except GithubException as exc:
            message = error_message(exc)
            if exc.status == 422 and plan.draft and _NO_DRAFTS in message:
                self.warn(f"{plan.repository} does not allow drafts here: opened as ready")
                return gw.create_pull(**kwargs, draft=False)
            if exc.status == 422 and _ALREADY in message:  # opened meanwhile (or a retry)
                found = [p for p in gw.pulls_for(plan.branch) if p.state == "open"]
                if found:
                    self.warn(f"pull request #{found[0].number} appeared meanwhile; updating it")
                    return gw.update_pull(found[0].number, title=plan.title, body=plan.body)
            raise

    def decorate(self, pr: PullInfo) -> None:
        plan, gw = self.plan, self.gateway
        if plan.labels:
            self.begin(f"label pull request #{pr.number}")
            gw.add_labels(pr.number, plan.labels)
            self.applied.labels_added = plan.labels
            self.finished(f"labels added: {', '.join(plan.labels)}")
        users = [u for u in plan.users if u != pr.author]
        if len(users) < len(plan.users):
            self.warn(f"{pr.author} opened the pull request and cannot review it")
        if users or plan.teams:
            self.begin(f"request reviews on #{pr.number}")
            self._request(pr.number, users, list(plan.teams))

    def _request(self, number: int, users: list[str], teams: list[str]) -> None:
        try:
            self.gateway.request_reviews(number, users, teams)
            self.applied.requested = (*users, *teams)
            self.finished(f"reviews requested from {', '.join([*users, *teams])}")
            return
        except GithubException as exc:
            if exc.status != 422:
                raise
            if len(users) + len(teams) == 1:
                self.warn(f"review not requested from {(users + teams)[0]}: {error_message(exc)}")
                return
        for user in users:  # GitHub refuses the whole list for one stranger: one at a time
            self._request(number, [user], [])
        for team in teams:
            self._request(number, [], [team])


def apply_plan(
    plan: WikiPlan, gateway: RepoGateway, *, cancel: Cancellation, log: Callable[[str], None]
) -> Applied:
    """Do what the plan says; every outcome, failures included, comes back as a value."""
    run = _Run(plan, gateway, cancel, log)
    applied = run.applied
    try:
        if plan.branch_action is not BranchAction.NONE:
            run.commit()
        pr = run.pull_request()
        applied.pull = pr or applied.pull
        if pr is not None:
            run.decorate(pr)
    except Cancelled as exc:
        applied.state = "cancelled"
        applied.error = f"{exc} before: {run.step}" + _after(applied)
        applied.remedy = RERUN
    except GithubException as exc:
        err = describe(exc, what=run.step, repository=plan.repository)
        applied.state, applied.error, applied.remedy = "failed", err.message, err.remedy or RERUN
        applied.error += _after(applied)
    except CloudError as exc:  # rate-limit budget spent, network gone
        applied.state, applied.error, applied.remedy = "failed", exc.message, exc.remedy or RERUN
        applied.error += _after(applied)
    return applied


def _after(applied: Applied) -> str:
    return f" (done before it: {'; '.join(applied.done)})" if applied.done else " (nothing written)"
