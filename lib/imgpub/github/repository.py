"""A narrow adapter over one PyGithub repository: the reads and writes of a docs PR.

Everything leaves as plain values (:class:`RepoInfo`, :class:`RemoteFile`,
:class:`PullInfo`, SHAs), so planning never touches an SDK object. PyGithub objects are
kept here, by SHA or number, because its write calls want them back (a tree's base, a
commit's parents, a pull request to label) and rebuilding them would cost a request each.
Every call goes through the :class:`~imgpub.github.ratelimit.RateLimitGuard`; only calls
that are safe to repeat (reads, and blobs and trees, which are named by their content)
are retried after a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from github import Github, InputGitTreeElement
from github.GitCommit import GitCommit
from github.GithubException import GithubException, UnknownObjectException
from github.GitRef import GitRef
from github.GitTree import GitTree
from github.PullRequest import PullRequest
from github.Repository import Repository

from imgpub.github.git_objects import FILE_MODE
from imgpub.github.ratelimit import RateLimitGuard


@dataclass(frozen=True)
class RepoInfo:
    full_name: str
    default_branch: str
    html_url: str
    can_push: bool | None  # None: GitHub does not say (installation tokens)


@dataclass(frozen=True)
class BranchHead:
    commit: str
    tree: str


@dataclass(frozen=True)
class RemoteFile:
    path: str
    sha: str  # git blob SHA
    text: str | None  # None when not UTF-8


@dataclass(frozen=True)
class PullInfo:
    number: int
    url: str
    state: str  # open | closed
    merged: bool
    draft: bool
    base: str
    head_sha: str
    title: str
    body: str
    author: str
    labels: tuple[str, ...]
    requested_users: tuple[str, ...]
    requested_teams: tuple[str, ...]


class RepoGateway:
    """One repository, through one client; the client is built by the caller."""

    def __init__(self, github: Github, full_name: str, guard: RateLimitGuard) -> None:
        self.github = github
        self.full_name = full_name
        self.owner = full_name.split("/", 1)[0]
        self.guard = guard
        self._repo: Repository | None = None
        self._commits: dict[str, GitCommit] = {}
        self._trees: dict[str, GitTree] = {}
        self._refs: dict[str, GitRef] = {}
        self._pulls: dict[int, PullRequest] = {}

    # -- reads -----------------------------------------------------------------------------

    @property
    def repo(self) -> Repository:
        assert self._repo is not None, "call info() first"
        return self._repo

    def info(self) -> RepoInfo:
        def read() -> RepoInfo:
            repo = self.github.get_repo(self.full_name)
            self._repo = repo
            perms = repo.raw_data.get("permissions")
            push = bool(perms.get("push")) if isinstance(perms, dict) else None
            return RepoInfo(repo.full_name, repo.default_branch, repo.html_url, push)

        return self.guard.call("read the repository", read, repeatable=True)

    def branch_head(self, branch: str) -> BranchHead | None:
        """The branch's commit and tree, or None when it does not exist."""

        def read() -> BranchHead | None:
            try:
                ref = self.repo.get_git_ref(f"heads/{branch}")
                sha = ref.object.sha
            except UnknownObjectException:
                return None
            self._refs[branch] = ref
            commit = self._commit(sha)
            return BranchHead(sha, commit.tree.sha)

        return self.guard.call(f"read branch {branch}", read, repeatable=True)

    def file(self, path: str, commit_sha: str) -> RemoteFile | None:
        def read() -> RemoteFile | None:
            try:
                found = self.repo.get_contents(path, ref=commit_sha)
            except UnknownObjectException:
                return None
            if isinstance(found, list):  # a folder where a file is wanted
                return RemoteFile(path, "", None)
            try:
                text: str | None = found.decoded_content.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            return RemoteFile(path, found.sha, text)

        return self.guard.call(f"read {path}", read, repeatable=True)

    def pulls_for(self, branch: str) -> list[PullInfo]:
        """Every pull request from ``branch`` (``owner:branch``, as GitHub needs), newest first."""

        def read() -> list[PullInfo]:
            found = self.repo.get_pulls(state="all", head=f"{self.owner}:{branch}")
            return [self._pull_info(pr) for pr in found if pr.head.ref == branch]

        return self.guard.call(f"list pull requests from {branch}", read, repeatable=True)

    def reviewed_by(self, number: int) -> set[str]:
        def read() -> set[str]:
            return {r.user.login for r in self._pull(number).get_reviews() if r.user}

        return self.guard.call(f"read reviews of #{number}", read, repeatable=True)

    # -- writes ----------------------------------------------------------------------------

    def create_blob(self, text: str) -> str:
        def write() -> str:
            return self.repo.create_git_blob(text, "utf-8").sha

        return self.guard.call("create a blob", write, repeatable=True)

    def create_tree(self, base_tree: str, files: Mapping[str, str]) -> str:
        """A tree: ``base_tree`` with each path set to its blob SHA; the tree's SHA."""

        def write() -> str:
            elements = [
                InputGitTreeElement(path, FILE_MODE, "blob", sha=sha) for path, sha in files.items()
            ]
            tree = self.repo.create_git_tree(elements, self._tree(base_tree))
            self._trees[tree.sha] = tree
            return tree.sha

        return self.guard.call("create a tree", write, repeatable=True)

    def create_commit(self, message: str, tree: str, parents: Iterable[str]) -> str:
        parent_list = list(parents)

        def write() -> str:
            commit = self.repo.create_git_commit(
                message, self._tree(tree), [self._commit(p) for p in parent_list]
            )
            self._commits[commit.sha] = commit
            return commit.sha

        return self.guard.call("create a commit", write, repeatable=False)

    def create_branch(self, branch: str, sha: str) -> None:
        def write() -> None:
            self._refs[branch] = self.repo.create_git_ref(f"refs/heads/{branch}", sha)

        self.guard.call(f"create branch {branch}", write, repeatable=False)

    def move_branch(self, branch: str, sha: str, *, force: bool) -> None:
        def write() -> None:
            ref = self._refs.get(branch) or self.repo.get_git_ref(f"heads/{branch}")
            ref.edit(sha, force=force)
            self._refs[branch] = ref

        self.guard.call(f"update branch {branch}", write, repeatable=False)

    def create_pull(self, *, title: str, body: str, base: str, head: str, draft: bool) -> PullInfo:
        def write() -> PullInfo:
            pr = self.repo.create_pull(
                base=base, head=head, title=title, body=body, draft=draft,
                maintainer_can_modify=False,
            )  # fmt: skip
            return self._pull_info(pr)

        return self.guard.call("open the pull request", write, repeatable=False)

    def update_pull(self, number: int, *, title: str, body: str) -> PullInfo:
        def write() -> PullInfo:
            pr = self._pull(number)
            pr.edit(title=title, body=body)
            return self._pull_info(pr)

        return self.guard.call(f"update pull request #{number}", write, repeatable=False)

    def add_labels(self, number: int, labels: Iterable[str]) -> None:
        names = list(labels)
        self.guard.call(
            f"label pull request #{number}",
            lambda: self._pull(number).add_to_labels(*names),
            repeatable=True,  # adding a label twice is the same as once
        )

    def request_reviews(self, number: int, users: Iterable[str], teams: Iterable[str]) -> None:
        kwargs = {"reviewers": list(users), "team_reviewers": list(teams)}
        self.guard.call(
            f"request reviews on #{number}",
            lambda: self._pull(number).create_review_request(**kwargs),
            repeatable=True,
        )

    # -- SDK objects, kept so that writes need no extra read ------------------------------

    def _commit(self, sha: str) -> GitCommit:
        if sha not in self._commits:
            self._commits[sha] = self.repo.get_git_commit(sha)
        return self._commits[sha]

    def _tree(self, sha: str) -> GitTree:
        if sha not in self._trees:
            self._trees[sha] = next(
                (c.tree for c in self._commits.values() if c.tree.sha == sha), None
            ) or self.repo.get_git_tree(sha)
        return self._trees[sha]

    def _pull(self, number: int) -> PullRequest:
        if number not in self._pulls:
            self._pulls[number] = self.repo.get_pull(number)
        return self._pulls[number]

    def _pull_info(self, pr: PullRequest) -> PullInfo:
        self._pulls[pr.number] = pr
        return PullInfo(
            number=pr.number,
            url=pr.html_url,
            state=pr.state,
            merged=pr.merged_at is not None,  # list answers carry merged_at, not merged
            draft=bool(pr.draft),
            base=pr.base.ref,
            head_sha=pr.head.sha,
            title=pr.title or "",
            body=pr.body or "",
            author=pr.user.login if pr.user else "",
            labels=tuple(label.name for label in pr.labels),
            requested_users=tuple(u.login for u in pr.requested_reviewers),
            requested_teams=tuple(t.slug for t in pr.requested_teams),
        )


__all__ = ["BranchHead", "GithubException", "PullInfo", "RemoteFile", "RepoGateway", "RepoInfo"]
