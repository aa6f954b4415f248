"""The fake GitHub's pull requests: create/list/update, labels, reviewers, reviews, merges.

A mixin of :class:`imgpub.sandbox.fake_github.FakeGithub` (which provides the repository
lookup with its access check); split out only to keep each module one idea.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imgpub.sandbox.fake_server import FakeRequest, json_response, route, verb
from imgpub.sandbox.github_documents import Documents, Pull, now_iso
from imgpub.sandbox.github_state import (
    ACTIONS_MAY_NOT,
    NO_DRAFTS,
    REPO,
    GithubError,
    Repo,
    Token,
    field_invalid,
    invalid,
    missing_field,
    request_object,
    who,
)


class PullRequestRoutes:
    """Pull-request routes and verbs over the repositories of a FakeGithub."""

    repos: dict[str, Repo]
    _caller: Token | None

    if TYPE_CHECKING:

        def _repo(self, owner: str, name: str, method: str) -> tuple[Repo, Documents]: ...

        def _repo_doc(self, repo: Repo, docs: Documents) -> dict[str, Any]: ...

    @verb
    def merge_pull(self, repo: str, number: int, delete_branch: bool = False) -> str:
        """A maintainer merges the pull request (a merge commit on its base); the commit SHA."""
        r = self.repos[repo.lower()]
        pr = r.pulls[number]
        base_sha, head_sha = r.head(pr.base), r.head(pr.head)
        assert base_sha and head_sha and pr.state == "open", "only an open PR can be merged"
        git = r.git
        common = git.merge_base(head_sha, base_sha)
        ours = git.flatten(git.commit(base_sha).tree)
        theirs = git.flatten(git.commit(head_sha).tree)
        old = git.flatten(git.commit(common).tree) if common else {}
        for path in set(theirs) | set(old):
            if theirs.get(path) != old.get(path):
                if path in theirs:
                    ours[path] = theirs[path]
                else:
                    ours.pop(path, None)
        message = f"Merge pull request #{number} from {r.owner}/{pr.head}"
        merger = who("maintainer")
        merge = git.put_commit(git.write_tree(ours), [base_sha, head_sha], message, merger, merger)
        r.refs[f"heads/{pr.base}"] = merge.sha
        pr.state, pr.merged, pr.merge_commit_sha = "closed", True, merge.sha
        pr.merged_at = pr.closed_at = now_iso()
        if delete_branch:
            del r.refs[f"heads/{pr.head}"]
        return merge.sha

    @verb
    def close_pull(self, repo: str, number: int) -> None:
        pr = self.repos[repo.lower()].pulls[number]
        pr.state, pr.closed_at = "closed", now_iso()

    @verb
    def add_review(self, repo: str, number: int, login: str, state: str = "APPROVED") -> None:
        pr = self.repos[repo.lower()].pulls[number]
        pr.reviews.append((login, state))
        if login in pr.reviewers:
            pr.reviewers.remove(login)

    @verb
    def pulls(self, repo: str) -> list[dict[str, Any]]:
        """Every pull request, oldest first, as plain values (not GitHub's documents)."""
        return [
            {
                "number": p.number,
                "title": p.title,
                "body": p.body,
                "head": p.head,
                "base": p.base,
                "state": p.state,
                "merged": p.merged,
                "draft": p.draft,
                "author": p.author,
                "labels": list(p.labels),
                "reviewers": list(p.reviewers),
                "team_reviewers": list(p.team_reviewers),
            }
            for p in sorted(self.repos[repo.lower()].pulls.values(), key=lambda p: p.number)
        ]

    # -- the guard every API request passes ------------------------------------------------

    def _pull(self, repo: Repo, number: str) -> Pull:
        pr = repo.pulls.get(int(number)) if number.isdigit() else None
        if pr is None:
            raise GithubError(404, "Not Found")
        pr.head_sha = repo.head(pr.head) or pr.head_sha
        return pr

    def _pull_doc(self, repo: Repo, docs: Documents, pr: Pull) -> dict[str, Any]:
        return docs.pull(pr, self._repo_doc(repo, docs), repo.head(pr.base) or "")

    @route("GET", REPO + "/pulls", "ListPulls")
    def list_pulls(self, request: FakeRequest, owner: str, name: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        state = request.query.get("state", "open")
        head, base = request.query.get("head"), request.query.get("base")
        found = []
        for pr in sorted(repo.pulls.values(), key=lambda p: -p.number):
            if state != "all" and pr.state != state:
                continue
            if head and ":" in head and head != f"{repo.owner}:{pr.head}":
                continue  # GitHub ignores a head without "owner:" (and returns every PR)
            if base and pr.base != base:
                continue
            doc = self._pull_doc(repo, docs, self._pull(repo, str(pr.number)))
            doc.pop("merged")  # as GitHub: a list item has merged_at, only GET has merged
            found.append(doc)
        return found

    @route("POST", REPO + "/pulls", "CreatePull")
    def create_pull(self, request: FakeRequest, owner: str, name: str) -> Any:
        repo, docs = self._repo(owner, name, "POST")
        caller = self._caller
        assert caller is not None
        if caller.kind == "actions" and not repo.actions_can_open_prs:
            raise GithubError(403, ACTIONS_MAY_NOT)
        body = request_object(request)
        title, head, base = body.get("title"), str(body.get("head", "")), str(body.get("base", ""))
        head_owner, _, head_branch = head.rpartition(":")
        head_sha, base_sha = repo.head(head_branch), repo.head(base)
        if not title:
            raise GithubError(422, "Validation Failed", [missing_field("title")])
        if head_sha is None or (head_owner and head_owner.lower() != repo.owner.lower()):
            raise GithubError(422, "Validation Failed", [field_invalid("head")])
        if base_sha is None:
            raise GithubError(422, "Validation Failed", [field_invalid("base")])
        for pr in repo.pulls.values():
            if pr.state == "open" and pr.head == head_branch and pr.base == base:
                exists = f"A pull request already exists for {repo.owner}:{head_branch}."
                raise invalid("PullRequest", exists)
        if repo.git.is_ancestor(head_sha, base_sha):
            raise invalid("PullRequest", f"No commits between {base} and {head_branch}")
        if body.get("draft") and not repo.draft_prs:
            raise invalid("PullRequest", NO_DRAFTS)
        pr = Pull(
            repo.next_number,
            str(title),
            str(body.get("body") or ""),
            head_branch,
            base,
            caller.login,
            bool(body.get("draft", False)),
            head_sha,
        )
        repo.next_number += 1
        repo.pulls[pr.number] = pr
        return json_response(self._pull_doc(repo, docs, pr), 201)

    @route("GET", REPO + "/pulls/<number>", "GetPull")
    def get_pull(self, request: FakeRequest, owner: str, name: str, number: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        return self._pull_doc(repo, docs, self._pull(repo, number))

    @route("PATCH", REPO + "/pulls/<number>", "UpdatePull")
    def update_pull(self, request: FakeRequest, owner: str, name: str, number: str) -> Any:
        repo, docs = self._repo(owner, name, "PATCH")
        pr = self._pull(repo, number)
        body = request_object(request)
        if "state" in body:
            if body["state"] not in ("open", "closed") or (pr.merged and body["state"] == "open"):
                raise GithubError(422, "Validation Failed", [field_invalid("state")])
            pr.state = body["state"]
        if "base" in body:
            if repo.head(str(body["base"])) is None:
                raise GithubError(422, "Validation Failed", [field_invalid("base")])
            pr.base = str(body["base"])
        pr.title = str(body.get("title", pr.title))
        pr.body = str(body.get("body", pr.body))
        pr.updated_at = now_iso()
        return self._pull_doc(repo, docs, pr)

    @route("GET", REPO + "/pulls/<number>/reviews", "ListReviews")
    def list_reviews(self, request: FakeRequest, owner: str, name: str, number: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        pr = self._pull(repo, number)
        return [docs.review(pr.number, i, login, s) for i, (login, s) in enumerate(pr.reviews)]

    @route("GET", REPO + "/pulls/<number>/requested_reviewers", "ListRequestedReviewers")
    def list_requested(self, request: FakeRequest, owner: str, name: str, number: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        doc = self._pull_doc(repo, docs, self._pull(repo, number))
        return {"users": doc["requested_reviewers"], "teams": doc["requested_teams"]}

    @route("POST", REPO + "/pulls/<number>/requested_reviewers", "RequestReviewers")
    def request_reviewers(self, request: FakeRequest, owner: str, name: str, number: str) -> Any:
        repo, docs = self._repo(owner, name, "POST")
        pr = self._pull(repo, number)
        body = request_object(request)
        users = [str(u) for u in body.get("reviewers") or []]
        teams = [str(t) for t in body.get("team_reviewers") or []]
        if pr.author in users:
            raise invalid("PullRequest", "Review cannot be requested from pull request author.")
        strangers = [u for u in users if u not in repo.collaborators]
        strangers += [t for t in teams if t not in repo.teams]
        if strangers:
            raise invalid(
                "PullRequest",
                "Reviews may only be requested from collaborators. One or more of the users or "
                f"teams you specified is not a collaborator of the {repo.full_name} repository.",
            )
        pr.reviewers += [u for u in users if u not in pr.reviewers]
        pr.team_reviewers += [t for t in teams if t not in pr.team_reviewers]
        return json_response(self._pull_doc(repo, docs, pr), 201)

    @route("GET", REPO + "/issues/<number>/labels", "ListLabels")
    def list_labels(self, request: FakeRequest, owner: str, name: str, number: str) -> Any:
        repo, docs = self._repo(owner, name, "GET")
        return [docs.label(n) for n in self._pull(repo, number).labels]

    @route("POST", REPO + "/issues/<number>/labels", "AddLabels")
    def add_labels(self, request: FakeRequest, owner: str, name: str, number: str) -> Any:
        repo, docs = self._repo(owner, name, "POST")
        pr = self._pull(repo, number)
        body = request.body
        names = body.get("labels") if isinstance(body, dict) else body
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise GithubError(422, "Validation Failed", [field_invalid("labels")])
        repo.labels.update(names)  # GitHub creates a label the repository lacks
        pr.labels += [n for n in names if n not in pr.labels]
        return [docs.label(n) for n in pr.labels]
