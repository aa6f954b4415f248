"""The fake GitHub's state and error vocabulary: tokens, repositories, GitHub's errors.

Shared by the server (:mod:`imgpub.sandbox.fake_github`) and its pull-request routes
(:mod:`imgpub.sandbox.github_pulls`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from imgpub.sandbox.fake_server import FakeError, FakeRequest
from imgpub.sandbox.github_documents import Pull, now_iso
from imgpub.sandbox.github_git import GitStore

DOCS_URL = "https://docs.github.com/rest"
REPO = "/repos/<owner>/<name>"
DENIED = {
    "pat": "Resource not accessible by personal access token",
    "app": "Resource not accessible by integration",
    "actions": "Resource not accessible by integration",
}
ACTIONS_MAY_NOT = "GitHub Actions is not permitted to create or approve pull requests."
NO_DRAFTS = "Draft pull requests are not supported in this repository."
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class GithubError(FakeError):
    """GitHub's error document: ``message``, optional ``errors`` (422s), ``documentation_url``."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(status, "", message)
        self.errors = errors


def invalid(resource: str, message: str) -> GithubError:
    return GithubError(
        422, "Validation Failed", [{"resource": resource, "code": "custom", "message": message}]
    )


@dataclass
class Token:
    """A seeded token: who it is, which kind (GitHub words refusals by kind), its grants."""

    login: str
    kind: str
    access: dict[str, str]  # repository (lower case) -> "read" | "write"; "*" for every one
    limit: int = 5000
    used: int = 0
    reset_at: float = field(default_factory=lambda: time.time() + 3600)

    def level(self, repo: str) -> str | None:
        return self.access.get(repo.lower(), self.access.get("*"))


@dataclass
class Repo:
    """A repository: its git objects, branches, pull requests and who may review."""

    owner: str
    name: str
    default_branch: str
    private: bool
    draft_prs: bool
    actions_can_open_prs: bool
    collaborators: set[str]
    teams: set[str]
    git: GitStore = field(default_factory=GitStore)
    refs: dict[str, str] = field(default_factory=dict)  # "heads/main" -> commit sha
    pulls: dict[int, Pull] = field(default_factory=dict)
    labels: set[str] = field(default_factory=set)
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def head(self, branch: str) -> str | None:
        return self.refs.get(f"heads/{branch}")


def request_object(request: FakeRequest) -> dict[str, Any]:
    if not isinstance(request.body, dict):
        raise GithubError(400, "Problems parsing JSON")
    return request.body


def missing_field(field_name: str) -> dict[str, str]:
    return {"resource": "PullRequest", "field": field_name, "code": "missing_field"}


def field_invalid(field_name: str) -> dict[str, str]:
    return {"resource": "PullRequest", "field": field_name, "code": "invalid"}


def who(login: str) -> dict[str, str]:
    return {"name": login, "email": f"{login}@users.noreply.github.com", "date": now_iso()}


def rate_headers(token: Token) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(token.limit),
        "x-ratelimit-remaining": str(max(0, token.limit - token.used)),
        "x-ratelimit-used": str(token.used),
        "x-ratelimit-reset": str(math.ceil(token.reset_at)),
        "x-ratelimit-resource": "core",
    }
