"""A stateful fake of GitHub's REST API: what a documentation pull request needs.

No local GitHub exists (local-services.md §6), and mocking PyGithub would test our guesses
about it instead of PyGithub. This server speaks enough REST v3 for the real PyGithub to
open and maintain a pull request without a clone: repositories with a default branch,
contents, Git Data (blobs, nested trees on a base tree, commits, refs with the
fast-forward check), pulls (create with GitHub's 422 refusals, list by ``owner:branch``
head and base, update, draft), labels, requested reviewers and reviews.

Tokens are seeded with a login, a kind (``pat``, ``app`` or ``actions``, which decides
GitHub's refusal text) and per-repository access: no access to a private repository is a
404, read-only access makes every write a 403 naming the token kind, an unknown token a
401 "Bad credentials". Every answer carries ``x-ratelimit-*`` headers; ``set_rate_limit``
spends a token's primary budget so the next requests get GitHub's 403 "API rate limit
exceeded" until the reset time, and the base's faults give secondary limits and 429s on
demand. ``path_prefix="/api/v3"`` serves the API the way GitHub Enterprise Server does.

Lifecycle, request log, faults and the ``/_fake/`` control API come from
:class:`~imgpub.sandbox.fake_server.FakeServer`.
"""

from __future__ import annotations

import base64
import functools
import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from werkzeug.wrappers import Response

from imgpub.sandbox.fake_server import (
    FakeError,
    FakeRequest,
    FakeServer,
    Resolved,
    json_response,
    route,
    serve,
    verb,
)
from imgpub.sandbox.github_documents import Documents
from imgpub.sandbox.github_git import FILE_MODES, GitObjectError, TreeChange
from imgpub.sandbox.github_pulls import PullRequestRoutes
from imgpub.sandbox.github_state import (
    DENIED,
    DOCS_URL,
    REPO,
    WRITES,
    GithubError,
    Repo,
    Token,
    rate_headers,
    request_object,
    who,
)


class FakeGithub(PullRequestRoutes, FakeServer):
    """The fake GitHub; PyGithub reaches it with ``base_url=fake.url`` (+ ``path_prefix``)."""

    RECORD_HEADERS: ClassVar[tuple[str, ...]] = (
        *FakeServer.RECORD_HEADERS,
        "User-Agent",
        "X-GitHub-Api-Version",
    )

    def __init__(self, *, path_prefix: str = "", **server: Any) -> None:
        self.path_prefix = path_prefix.rstrip("/")
        super().__init__(**server)

    def reset_state(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, Token] = {}
        self._caller: Token | None = None

    @property
    def api_url(self) -> str:
        """What ``GITHUB_API_URL`` is for this fake (with GHES's ``/api/v3`` if served so)."""
        return self.url + self.path_prefix

    def error_response(self, error: FakeError) -> Response:
        body: dict[str, Any] = {"message": error.message, "documentation_url": DOCS_URL}
        if isinstance(error, GithubError) and error.errors:
            body["errors"] = error.errors
        body["status"] = str(error.status)
        return json_response(body, error.status, error.headers)

    # -- seeding and inspection -------------------------------------------------------------

    @verb
    def add_repo(
        self,
        full_name: str,
        default_branch: str = "main",
        private: bool = False,
        files: Mapping[str, str] | None = None,
        draft_prs: bool = True,
        actions_can_open_prs: bool = True,
        collaborators: list[str] | None = None,
        teams: list[str] | None = None,
    ) -> str:
        """A repository whose default branch holds ``files`` in one commit; its SHA."""
        owner, _, name = full_name.partition("/")
        repo = Repo(
            owner,
            name,
            default_branch,
            private,
            draft_prs,
            actions_can_open_prs,
            {owner, *(collaborators or [])},
            set(teams or []),
        )
        content = {p: t.encode("utf-8") for p, t in (files or {"README.md": "# wiki\n"}).items()}
        first = repo.git.commit_files(None, content, "Initial commit", who(owner))
        repo.refs[f"heads/{default_branch}"] = first.sha
        self.repos[full_name.lower()] = repo
        return first.sha

    @verb
    def add_token(
        self,
        token: str,
        login: str,
        repos: Mapping[str, str] | None = None,
        access: str = "write",
        kind: str = "pat",
    ) -> None:
        """Seed a token: ``repos`` maps repositories to read/write, else all have ``access``."""
        if kind not in DENIED:
            raise ValueError(f"token kind {kind!r}: use one of {sorted(DENIED)}")
        grants = {k.lower(): v for k, v in (repos or {}).items()} if repos is not None else {}
        if repos is None:
            grants["*"] = access
        self.tokens[token] = Token(login, kind, grants)

    @verb
    def set_rate_limit(self, token: str, remaining: int, reset_in: float = 60.0) -> None:
        """Leave ``token`` ``remaining`` requests of its budget until ``reset_in`` seconds."""
        t = self.tokens[token]
        t.used = t.limit - remaining
        t.reset_at = time.time() + reset_in

    @verb
    def push_files(
        self, repo: str, branch: str, files: Mapping[str, str | None], message: str = "Edit"
    ) -> str:
        """Someone else pushes a commit to ``branch`` (created from the default if new)."""
        r = self.repos[repo.lower()]
        parent = r.head(branch) or r.head(r.default_branch)
        data = {p: None if t is None else t.encode("utf-8") for p, t in files.items()}
        commit = r.git.commit_files(parent, data, message, who("maintainer"))
        r.refs[f"heads/{branch}"] = commit.sha
        return commit.sha

    @verb
    def files(self, repo: str, ref: str) -> dict[str, str]:
        """Every file at a branch (or commit) as text."""
        r = self.repos[repo.lower()]
        sha = r.head(ref) or ref
        return {p: d.decode("utf-8") for p, d in r.git.files_at(sha).items()}

    @verb
    def history(self, repo: str, branch: str) -> list[dict[str, Any]]:
        """The commits reachable from a branch, nearest first."""
        r = self.repos[repo.lower()]
        head = r.head(branch)
        if head is None:
            return []
        return [
            {"sha": c.sha, "message": c.message, "parents": list(c.parents)}
            for c in (r.git.commit(sha) for sha in r.git.ancestors(head))
        ]

    @verb
    def branch_sha(self, repo: str, branch: str) -> str | None:
        return self.repos[repo.lower()].head(branch)

    def resolve(self, request: FakeRequest) -> Resolved:
        path = request.path
        if self.path_prefix:
            if not path.startswith(self.path_prefix + "/"):
                raise FakeError(404, "", "Not Found")
            path = path[len(self.path_prefix) :]
        resolved = super().resolve(replace(request, path=path))
        return Resolved(resolved.operation, functools.partial(self._guarded, resolved))

    def _guarded(self, resolved: Resolved, request: FakeRequest) -> Response:
        """Authenticate, spend the rate budget, serve, and add the x-ratelimit headers."""
        token = self._authenticate(request)
        counted = resolved.operation != "GetRateLimit"
        if counted and token.used >= token.limit:
            if time.time() < token.reset_at:
                limited = GithubError(403, f"API rate limit exceeded for user {token.login}.")
                limited.headers = rate_headers(token)
                raise limited
            token.used, token.reset_at = 0, time.time() + 3600
        if counted:
            token.used += 1
        self._caller = token
        try:
            result = resolved.serve(request)
        except FakeError as exc:
            exc.headers = {**rate_headers(token), **exc.headers}
            raise
        finally:
            self._caller = None
        response = result if isinstance(result, Response) else json_response(result)
        for name, value in rate_headers(token).items():
            response.headers[name] = value
        return response

    def _authenticate(self, request: FakeRequest) -> Token:
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if not header:
            raise GithubError(401, "Requires authentication")
        token = self.tokens.get(secret.strip()) if scheme.lower() in ("token", "bearer") else None
        if token is None:
            raise GithubError(401, "Bad credentials")
        return token

    def _repo(self, owner: str, name: str, method: str) -> tuple[Repo, Documents]:
        repo = self.repos.get(f"{owner}/{name}".lower())
        caller = self._caller
        assert caller is not None
        level = caller.level(f"{owner}/{name}") if repo else None
        if repo is None or (repo.private and level is None):
            raise GithubError(404, "Not Found")
        if method in WRITES and level != "write":
            raise GithubError(403, DENIED[caller.kind])
        return repo, Documents(self.api_url, self.url, repo.owner, repo.name)

    def _repo_doc(self, repo: Repo, docs: Documents) -> dict[str, Any]:
        caller = self._caller
        permissions = None
        if caller is not None and caller.kind == "pat":  # installation tokens get none
            write = caller.level(repo.full_name) == "write"
            permissions = {"admin": False, "maintain": False, "push": write, "triage": write}
            permissions["pull"] = True
        return docs.repository(
            private=repo.private, default_branch=repo.default_branch, permissions=permissions
        )

    # -- repository, refs, contents --------------------------------------------------------

    @route("GET", "/rate_limit", "GetRateLimit")
    def get_rate_limit(self, request: FakeRequest) -> Any:
        token = self._caller
        assert token is not None
        core = {
            "limit": token.limit,
            "remaining": max(0, token.limit - token.used),
            "used": token.used,
            "reset": math.ceil(token.reset_at),
        }
        return {"resources": {"core": core}, "rate": core}

    @route("GET", REPO, "GetRepo")
    def get_repo(self, request: FakeRequest, owner: str, name: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        return self._repo_doc(repo, docs)

    @route("GET", REPO + "/git/ref/<path:ref>", "GetRef")
    @route("GET", REPO + "/git/refs/<path:ref>", "GetRef")
    def get_ref(self, request: FakeRequest, owner: str, name: str, ref: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        sha = repo.refs.get(ref)
        if sha is None:
            raise GithubError(404, "Not Found")
        return docs.ref(ref, sha)

    @route("POST", REPO + "/git/refs", "CreateRef")
    def create_ref(self, request: FakeRequest, owner: str, name: str) -> Any:
        repo, docs = self._repo(owner, name, "POST")
        body = request_object(request)
        ref, sha = str(body.get("ref", "")), str(body.get("sha", ""))
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise GithubError(422, "Reference name is not valid")
        if ref[5:] in repo.refs:
            raise GithubError(422, "Reference already exists")
        if sha not in repo.git.commits:
            raise GithubError(422, "Object does not exist")
        repo.refs[ref[5:]] = sha
        return json_response(docs.ref(ref[5:], sha), 201)

    @route("PATCH", REPO + "/git/refs/<path:ref>", "UpdateRef")
    def update_ref(self, request: FakeRequest, owner: str, name: str, ref: str) -> Any:
        repo, docs = self._repo(owner, name, "PATCH")
        body = request_object(request)
        sha, force = str(body.get("sha", "")), bool(body.get("force", False))
        current = repo.refs.get(ref)
        if current is None:
            raise GithubError(422, "Reference does not exist")
        if sha not in repo.git.commits:
            raise GithubError(422, "Object does not exist")
        if not force and not repo.git.is_ancestor(current, sha):
            raise GithubError(422, "Update is not a fast forward")
        repo.refs[ref] = sha
        return docs.ref(ref, sha)

    @route("DELETE", REPO + "/git/refs/<path:ref>", "DeleteRef")
    def delete_ref(self, request: FakeRequest, owner: str, name: str, ref: str) -> Any:
        repo, _docs = self._repo(owner, name, "DELETE")
        if repo.refs.pop(ref, None) is None:
            raise GithubError(422, "Reference does not exist")
        return Response(status=204)

    @route("GET", REPO + "/contents/<path:path>", "GetContent")
    def get_content(self, request: FakeRequest, owner: str, name: str, path: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        ref = request.query.get("ref") or repo.default_branch
        sha = repo.head(ref) or repo.refs.get(ref) or (ref if ref in repo.git.commits else None)
        if sha is None:
            raise GithubError(404, f"No commit found for the ref {ref}")
        flat = repo.git.flatten(repo.git.commit(sha).tree)
        path = path.strip("/")
        if path in flat:
            blob = flat[path][1]
            return docs.content_file(path, blob, repo.git.blob(blob), ref)
        below = sorted(p for p in flat if p.startswith(path + "/"))
        if not below:
            raise GithubError(404, "Not Found")
        names = sorted({p[len(path) + 1 :].split("/", 1)[0] for p in below})
        return [
            docs.content_dir_entry(
                f"{path}/{n}",
                "blob" if f"{path}/{n}" in flat else "tree",
                flat.get(f"{path}/{n}", ("", ""))[1],
                ref,
            )
            for n in names
        ]

    # -- Git Data --------------------------------------------------------------------------

    @route("POST", REPO + "/git/blobs", "CreateBlob")
    def create_blob(self, request: FakeRequest, owner: str, name: str) -> Any:
        repo, docs = self._repo(owner, name, "POST")
        body = request_object(request)
        content, encoding = body.get("content"), body.get("encoding", "utf-8")
        if not isinstance(content, str) or encoding not in ("utf-8", "base64"):
            raise GithubError(422, "Invalid request: content and encoding utf-8|base64 are needed")
        data = content.encode("utf-8") if encoding == "utf-8" else base64.b64decode(content)
        return json_response(docs.blob(repo.git.put_blob(data)), 201)

    @route("GET", REPO + "/git/blobs/<sha>", "GetBlob")
    def get_blob(self, request: FakeRequest, owner: str, name: str, sha: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        try:
            return docs.blob(sha, repo.git.blob(sha))
        except GitObjectError:
            raise GithubError(404, "Not Found") from None

    @route("POST", REPO + "/git/trees", "CreateTree")
    def create_tree(self, request: FakeRequest, owner: str, name: str) -> Any:
        repo, docs = self._repo(owner, name, "POST")
        body = request_object(request)
        entries = body.get("tree")
        if not isinstance(entries, list) or not entries:
            raise GithubError(422, "Invalid tree info")
        changes = []
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("mode") not in FILE_MODES:
                raise GithubError(422, "Invalid tree info: only files (100644, 100755) are faked")
            sha = entry.get("sha")
            if "content" in entry:
                sha = repo.git.put_blob(str(entry["content"]).encode("utf-8"))
            changes.append(TreeChange(str(entry.get("path", "")).strip("/"), entry["mode"], sha))
        try:
            sha = repo.git.tree_with(body.get("base_tree"), changes)
        except GitObjectError as exc:
            raise GithubError(422, f"Invalid tree info: {exc}") from None
        return json_response(self._tree_doc(repo, docs, sha), 201)

    @route("GET", REPO + "/git/trees/<sha>", "GetTree")
    def get_tree(self, request: FakeRequest, owner: str, name: str, sha: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        if sha not in repo.git.trees:
            raise GithubError(404, "Not Found")
        return self._tree_doc(repo, docs, sha)

    def _tree_doc(self, repo: Repo, docs: Documents, sha: str) -> dict[str, Any]:
        entries = [
            {"path": e.name, "mode": e.mode, "type": e.type, "sha": e.sha}
            for e in repo.git.tree(sha)
        ]
        return docs.tree(sha, entries)

    @route("POST", REPO + "/git/commits", "CreateCommit")
    def create_commit(self, request: FakeRequest, owner: str, name: str) -> Any:
        repo, docs = self._repo(owner, name, "POST")
        body = request_object(request)
        assert self._caller is not None
        signature = who(self._caller.login)
        author = {**signature, **(body.get("author") or {})}
        committer = {**author, **(body.get("committer") or {})}
        if not isinstance(body.get("message"), str):
            raise GithubError(422, "Invalid request: message is required")
        try:
            commit = repo.git.put_commit(
                str(body.get("tree")), body.get("parents") or [], body["message"], author, committer
            )
        except GitObjectError as exc:
            raise GithubError(422, f"Invalid request: {exc}") from None
        return json_response(docs.commit(commit), 201)

    @route("GET", REPO + "/git/commits/<sha>", "GetCommit")
    def get_commit(self, request: FakeRequest, owner: str, name: str, sha: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        try:
            return docs.commit(repo.git.commit(sha))
        except GitObjectError:
            raise GithubError(404, "Not Found") from None

    # -- pull requests ---------------------------------------------------------------------


if __name__ == "__main__":
    raise SystemExit(serve(FakeGithub))
