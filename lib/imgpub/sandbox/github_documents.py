"""The JSON documents the fake GitHub answers with, shaped like GitHub's REST API v3.

PyGithub follows the ``url`` fields of what it receives (``ref.edit`` PATCHes the ref's
own ``url``, a pull request's labels go to its ``issue_url``), so every URL here is built
from the fake's own base; ``html_url`` fields point at the fake's "web" side, which is the
same host, as GitHub Enterprise Server's are.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from imgpub.sandbox.github_git import Commit


def _stable_id(text: str) -> int:
    """The same number for the same name in every process (hash() is salted per process)."""
    return zlib.crc32(text.encode("utf-8")) % 10_000_000


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Pull:
    """A pull request as the fake keeps it (the head SHA is read from the branch)."""

    number: int
    title: str
    body: str
    head: str
    base: str
    author: str
    draft: bool
    head_sha: str
    state: str = "open"
    merged: bool = False
    merged_at: str | None = None
    closed_at: str | None = None
    merge_commit_sha: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    team_reviewers: list[str] = field(default_factory=list)
    reviews: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Documents:
    """Builds documents for one repository; ``api`` is the fake's API base URL."""

    api: str
    web: str
    owner: str
    name: str

    @property
    def repo_url(self) -> str:
        return f"{self.api}/repos/{self.owner}/{self.name}"

    @property
    def html_url(self) -> str:
        return f"{self.web}/{self.owner}/{self.name}"

    def user(self, login: str) -> dict[str, Any]:
        return {
            "login": login,
            "id": _stable_id(login),
            "type": "Bot" if login.endswith("[bot]") else "User",
            "url": f"{self.api}/users/{login}",
            "html_url": f"{self.web}/{login}",
        }

    def repository(
        self, *, private: bool, default_branch: str, permissions: Mapping[str, bool] | None
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": _stable_id(f"{self.owner}/{self.name}"),
            "node_id": f"R_{self.owner}_{self.name}",
            "name": self.name,
            "full_name": f"{self.owner}/{self.name}",
            "owner": self.user(self.owner),
            "private": private,
            "visibility": "private" if private else "public",
            "html_url": self.html_url,
            "url": self.repo_url,
            "default_branch": default_branch,
        }
        if permissions is not None:
            doc["permissions"] = dict(permissions)
        return doc

    def ref(self, ref: str, sha: str) -> dict[str, Any]:
        return {
            "ref": f"refs/{ref}",
            "node_id": f"REF_{sha[:12]}",
            "url": f"{self.repo_url}/git/refs/{ref}",
            "object": {"sha": sha, "type": "commit", "url": self.commit_url(sha)},
        }

    def commit_url(self, sha: str) -> str:
        return f"{self.repo_url}/git/commits/{sha}"

    def commit(self, commit: Commit) -> dict[str, Any]:
        return {
            "sha": commit.sha,
            "node_id": f"C_{commit.sha[:12]}",
            "url": self.commit_url(commit.sha),
            "html_url": f"{self.html_url}/commit/{commit.sha}",
            "author": dict(commit.author),
            "committer": dict(commit.committer),
            "message": commit.message,
            "tree": {"sha": commit.tree, "url": f"{self.repo_url}/git/trees/{commit.tree}"},
            "parents": [
                {"sha": p, "url": self.commit_url(p), "html_url": f"{self.html_url}/commit/{p}"}
                for p in commit.parents
            ],
            "verification": {"verified": False, "reason": "unsigned"},
        }

    def tree(self, sha: str, entries: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        return {
            "sha": sha,
            "url": f"{self.repo_url}/git/trees/{sha}",
            "tree": [{**e, "url": f"{self.repo_url}/git/{e['type']}s/{e['sha']}"} for e in entries],
            "truncated": False,
        }

    def blob(self, sha: str, content: bytes | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {"sha": sha, "url": f"{self.repo_url}/git/blobs/{sha}"}
        if content is not None:
            doc.update(
                content=base64.b64encode(content).decode("ascii"),
                encoding="base64",
                size=len(content),
                node_id=f"B_{sha[:12]}",
            )
        return doc

    def content_file(self, path: str, sha: str, content: bytes, ref: str) -> dict[str, Any]:
        url = f"{self.repo_url}/contents/{path}?ref={ref}"
        html = f"{self.html_url}/blob/{ref}/{path}"
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(content),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": base64.encodebytes(content).decode("ascii"),
            "sha": sha,
            "url": url,
            "git_url": f"{self.repo_url}/git/blobs/{sha}",
            "html_url": html,
            "download_url": f"{self.web}/raw/{self.owner}/{self.name}/{ref}/{path}",
            "_links": {"self": url, "git": f"{self.repo_url}/git/blobs/{sha}", "html": html},
        }

    def content_dir_entry(self, path: str, kind: str, sha: str, ref: str) -> dict[str, Any]:
        return {
            "type": "dir" if kind == "tree" else "file",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": f"{self.repo_url}/contents/{path}?ref={ref}",
            "html_url": f"{self.html_url}/tree/{ref}/{path}",
        }

    def label(self, name: str) -> dict[str, Any]:
        return {
            "id": _stable_id(name),
            "name": name,
            "color": "ededed",
            "default": False,
            "url": f"{self.repo_url}/labels/{name}",
        }

    def pull(self, pr: Pull, repo_doc: Mapping[str, Any], base_sha: str) -> dict[str, Any]:
        url = f"{self.repo_url}/pulls/{pr.number}"
        return {
            "url": url,
            "id": 1_000_000 + pr.number,
            "node_id": f"PR_{pr.number}",
            "html_url": f"{self.html_url}/pull/{pr.number}",
            "issue_url": f"{self.repo_url}/issues/{pr.number}",
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "comments_url": f"{self.repo_url}/issues/{pr.number}/comments",
            "statuses_url": f"{self.repo_url}/statuses/{pr.head_sha}",
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "body": pr.body,
            "user": self.user(pr.author),
            "labels": [self.label(n) for n in pr.labels],
            "created_at": pr.created_at,
            "updated_at": pr.updated_at,
            "closed_at": pr.closed_at,
            "merged_at": pr.merged_at,
            "merge_commit_sha": pr.merge_commit_sha,
            "draft": pr.draft,
            "merged": pr.merged,
            "requested_reviewers": [self.user(u) for u in pr.reviewers],
            "requested_teams": [
                {"slug": t, "name": t, "url": f"{self.api}/teams/{t}"} for t in pr.team_reviewers
            ],
            "head": {
                "label": f"{self.owner}:{pr.head}",
                "ref": pr.head,
                "sha": pr.head_sha,
                "user": self.user(self.owner),
                "repo": dict(repo_doc),
            },
            "base": {
                "label": f"{self.owner}:{pr.base}",
                "ref": pr.base,
                "sha": base_sha,
                "user": self.user(self.owner),
                "repo": dict(repo_doc),
            },
            "maintainer_can_modify": False,
        }

    def review(self, number: int, index: int, login: str, state: str) -> dict[str, Any]:
        return {
            "id": number * 1000 + index,
            "user": self.user(login),
            "state": state,
            "body": "",
            "html_url": f"{self.html_url}/pull/{number}#pullrequestreview-{index}",
            "pull_request_url": f"{self.repo_url}/pulls/{number}",
            "submitted_at": now_iso(),
        }
