"""The sandbox's fake GitHub, through the real PyGithub: GitHub's documented answers.

wiki-pr's own tests exercise the happy paths; these pin the refusals a client must handle
(cloud-apis.md §12) so that the fake cannot drift into being kinder than GitHub.
"""

from __future__ import annotations

import pytest
import requests
from github import Auth, Github, GithubException, InputGitTreeElement
from github.GithubException import BadCredentialsException, UnknownObjectException

from imgpub.sandbox.fake_client import FakeClient
from imgpub.sandbox.fake_github import FakeGithub
from imgpub.sandbox.fake_services import SANDBOX_GITHUB_TOKEN, SANDBOX_WIKI_REPOSITORY


@pytest.fixture
def fake():
    with FakeGithub() as server:
        server.add_repo("o/r", files={"a.md": "a\n"}, collaborators=["alice"])
        server.add_token("t", "bot")
        yield server


def client(fake, token="t", base=None):
    return Github(
        auth=Auth.Token(token), base_url=base or fake.api_url, retry=None,
        seconds_between_requests=0, seconds_between_writes=0,
    )  # fmt: skip


def branch_with_commit(fake, repo, name="topic"):
    base = repo.get_git_commit(repo.get_git_ref("heads/main").object.sha)
    tree = repo.create_git_tree(
        [InputGitTreeElement("docs/b.md", "100644", "blob", content="b\n")], base.tree
    )
    commit = repo.create_git_commit("add b", tree, [base])
    return repo.create_git_ref(f"refs/heads/{name}", commit.sha), base, commit


def test_refs_refuse_duplicates_and_non_fast_forwards(fake):
    repo = client(fake).get_repo("o/r")
    ref, base, commit = branch_with_commit(fake, repo)
    with pytest.raises(GithubException) as dup:
        repo.create_git_ref("refs/heads/topic", commit.sha)
    assert dup.value.status == 422 and dup.value.data["message"] == "Reference already exists"
    with pytest.raises(GithubException) as ff:
        ref.edit(base.sha, force=False)
    assert ff.value.data["message"] == "Update is not a fast forward"
    ref.edit(base.sha, force=True)  # a forced move is allowed
    assert fake.branch_sha("o/r", "topic") == base.sha
    assert fake.files("o/r", commit.sha) == {"a.md": "a\n", "docs/b.md": "b\n"}


def test_pull_request_refusals(fake):
    repo = client(fake).get_repo("o/r")
    branch_with_commit(fake, repo)
    repo.create_git_ref("refs/heads/same", repo.get_git_ref("heads/main").object.sha)
    with pytest.raises(GithubException) as none:
        repo.create_pull(base="main", head="same", title="t")
    assert none.value.data["errors"][0]["message"] == "No commits between main and same"
    pr = repo.create_pull(base="main", head="topic", title="t", draft=True)
    with pytest.raises(GithubException) as again:
        repo.create_pull(base="main", head="topic", title="t")
    assert "A pull request already exists for o:topic." in again.value.data["errors"][0]["message"]
    with pytest.raises(GithubException) as author:
        pr.create_review_request(reviewers=["bot"])
    assert "pull request author" in author.value.data["errors"][0]["message"]
    assert pr.draft is True


def test_listing_by_head_needs_owner_prefix_as_on_github(fake):
    repo = client(fake).get_repo("o/r")
    branch_with_commit(fake, repo, "one")
    branch_with_commit(fake, repo, "two")
    repo.create_pull(base="main", head="one", title="1")
    repo.create_pull(base="main", head="two", title="2")
    assert [p.head.ref for p in repo.get_pulls(head="o:one")] == ["one"]
    assert len(list(repo.get_pulls(head="one"))) == 2  # a bare branch is ignored by GitHub
    listed = requests.get(
        fake.api_url + "/repos/o/r/pulls?state=all", headers={"Authorization": "token t"}, timeout=5
    ).json()[0]
    assert "merged" not in listed and "merged_at" in listed  # as GitHub's list items


def test_tokens_and_rate_limit_headers(fake):
    with pytest.raises(BadCredentialsException):
        client(fake, token="nope").get_repo("o/r")
    fake.add_repo("o/private", private=True)
    fake.add_token("other", "someone", repos={"x/y": "write"})
    with pytest.raises(UnknownObjectException):
        client(fake, token="other").get_repo("o/private")
    client(fake).get_repo("o/r")
    last = fake.log.all()[-1]
    assert last.authorization and last.status == 200
    fake.set_rate_limit("t", remaining=0, reset_in=60)
    with pytest.raises(GithubException) as limited:
        client(fake).get_repo("o/r")
    assert limited.value.status == 403
    assert limited.value.headers["x-ratelimit-remaining"] == "0"
    assert "API rate limit exceeded" in limited.value.data["message"]


def test_ghes_prefix(fake):
    with FakeGithub(path_prefix="/api/v3") as ghes:
        ghes.add_repo("o/r")
        ghes.add_token("t", "bot")
        assert client(ghes).get_repo("o/r").url == ghes.url + "/api/v3/repos/o/r"
        with pytest.raises(UnknownObjectException):
            client(ghes, base=ghes.url).get_repo("o/r")


def test_the_sandbox_service_is_seeded_and_driven_by_the_control_api(fake_github_service):
    endpoint = fake_github_service.info["endpoint"]
    assert fake_github_service.env["GITHUB_API_URL"] == endpoint
    control = FakeClient(endpoint)
    control.reset()
    control.seed({"add_repo": [{"full_name": SANDBOX_WIKI_REPOSITORY, "default_branch": "master"}],
                  "add_token": [{"token": SANDBOX_GITHUB_TOKEN, "login": "bot"}]})  # fmt: skip
    gh = Github(auth=Auth.Token(SANDBOX_GITHUB_TOKEN), base_url=endpoint, retry=None)
    assert gh.get_repo(SANDBOX_WIKI_REPOSITORY).default_branch == "master"
    assert control.log.count("GetRepo") == 1
