"""The decision table of wiki-pr's plan, from hand-made discovery results (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imgpub.github.client import GithubAccess
from imgpub.github.git_objects import blob_sha
from imgpub.github.repository import BranchHead, PullInfo, RemoteFile, RepoInfo
from imgpub.wiki.files import DEFAULT_FILES, compile_template, data_digest, wanted_files
from imgpub.wiki.model import WikiInputs
from imgpub.wiki.plan import BranchAction, Found, Outcome, PullAction, decide
from imgpub.wiki.release import release_from_documents
from imgpub.wiki.spec import DEFAULT_TITLE
from imgpub.wiki.texts import DEFAULT_BODY, body_digest
from tests.unit.wiki.release_docs import mirror_doc

IMAGES = [("ami-x", "us-east-1", "ami-x", "x86_64"), ("ami-a", "us-east-1", "ami-a", "aarch64")]
BASE = BranchHead("b" * 40, "bt" * 20)
BRANCH = BranchHead("c" * 40, "ct" * 20)


def inputs(**kw) -> WikiInputs:
    release = release_from_documents([("d", mirror_doc(IMAGES))], source_input="results")
    values = {
        "repository": "almalinux/wiki",
        "base": "",
        "release": release,
        "files": wanted_files(DEFAULT_FILES, release),
        "title": compile_template("title", DEFAULT_TITLE),
        "body": compile_template("body", DEFAULT_BODY),
        "draft": True,
        "reopen": False,
        "labels": ("aws",),
        "reviewers": ("alice",),
        "team_reviewers": (),
        "access": GithubAccess("t", "https://api.github.com"),
        "rate_limit_wait": 60,
        "sources": ("d",),
    }
    values.update(kw)
    return WikiInputs(**values)


def files_as(wiki: WikiInputs, same: bool) -> dict[str, RemoteFile | None]:
    return {
        p: RemoteFile(p, blob_sha(t.encode()) if same else "0" * 40, "old")
        for p, t in wiki.files.items()
    }


def pull(number=1, state="open", merged=False, **kw) -> PullInfo:
    values = {
        "number": number, "url": f"https://github.com/almalinux/wiki/pull/{number}", "state": state,
        "merged": merged, "draft": True, "base": "master", "head_sha": BRANCH.commit,
        "title": "Update AlmaLinux OS 9.6 20250522 AWS AMI IDs", "body": "", "author": "bot",
        "labels": ("aws",), "requested_users": ("alice",), "requested_teams": (),
    }  # fmt: skip
    values.update(kw)
    return PullInfo(**values)


def found(wiki, *, base_same=False, branch=None, branch_same=False, pulls=()) -> Found:
    return Found(
        repo=RepoInfo("almalinux/wiki", "master", "https://github.com/almalinux/wiki", True),
        base="master",
        base_head=BASE,
        branch_head=branch,
        on_base=files_as(wiki, base_same),
        on_branch=files_as(wiki, branch_same) if branch else {},
        pulls=tuple(pulls),
    )


def test_nothing_there_yet_one_commit_on_base_and_a_new_pr():
    wiki = inputs()
    plan = decide(wiki, found(wiki), "https://github.com/o/r/actions/runs/1")
    assert plan.outcome is Outcome.CREATED and plan.pull_action is PullAction.CREATE
    assert plan.branch_action is BranchAction.CREATE and plan.parent == BASE
    assert [f.change for f in plan.files] == ["update", "update"]
    assert plan.title == "Update AlmaLinux OS 9.6 20250522 AWS AMI IDs"
    assert body_digest(plan.body) == data_digest(wiki.files)
    assert "https://github.com/o/r/actions/runs/1" in plan.body
    assert plan.labels == ("aws",) and plan.users == ("alice",)


def test_an_up_to_date_open_pr_needs_nothing():
    wiki = inputs()
    digest = data_digest(wiki.files)
    body = f"...\n<!-- imgpub wiki-pr data {digest} -->\n"
    plan = decide(wiki, found(wiki, branch=BRANCH, branch_same=True, pulls=[pull(body=body)]), None)
    assert plan.outcome is Outcome.EXISTED and not plan.writes
    assert plan.branch_action is BranchAction.NONE and plan.pull_action is PullAction.KEEP
    assert plan.labels == () and plan.users == ()
    assert plan.data_commit == BRANCH.commit


def test_new_data_for_an_open_pr_is_one_commit_on_its_branch_and_a_new_body():
    wiki = inputs()
    plan = decide(wiki, found(wiki, branch=BRANCH, pulls=[pull(body="old <!-- -->")]), None)
    assert plan.outcome is Outcome.UPDATED
    assert plan.branch_action is BranchAction.FAST_FORWARD and plan.parent == BRANCH
    assert plan.pull_action is PullAction.UPDATE


def test_a_reviewer_who_already_reviewed_is_not_asked_again():
    wiki = inputs(reviewers=("alice", "bob"))
    digest = data_digest(wiki.files)
    pr = pull(body=f"<!-- imgpub wiki-pr data {digest} -->", requested_users=())
    seen = replace(
        found(wiki, branch=BRANCH, branch_same=True, pulls=[pr]), reviewed=frozenset({"alice"})
    )
    plan = decide(wiki, seen, None)
    assert plan.users == ("bob",) and plan.outcome is Outcome.UPDATED


def test_a_branch_left_by_a_stopped_run_is_reused():
    wiki = inputs()
    plan = decide(wiki, found(wiki, branch=BRANCH, branch_same=True), None)
    assert plan.pull_action is PullAction.CREATE and plan.branch_action is BranchAction.NONE
    assert plan.data_commit == BRANCH.commit


def test_data_already_on_base_needs_no_pr():
    wiki = inputs()
    plan = decide(wiki, found(wiki, base_same=True), None)
    assert plan.outcome is Outcome.EXISTED and plan.pull_action is PullAction.NONE
    assert plan.data_commit == BASE.commit and plan.labels == ()


def test_merged_pr_with_the_data_on_base_is_existed():
    wiki = inputs()
    plan = decide(
        wiki, found(wiki, base_same=True, pulls=[pull(state="closed", merged=True)]), None
    )
    assert plan.outcome is Outcome.EXISTED and plan.pull is not None and plan.pull.merged


@pytest.mark.parametrize("merged", [True, False])
def test_a_done_pr_without_reopen_is_skipped_and_with_reopen_restarts_from_base(merged):
    wiki = inputs()
    done = pull(state="closed", merged=merged)
    skipped = decide(wiki, found(wiki, branch=BRANCH, pulls=[done]), None)
    assert skipped.outcome is Outcome.SKIPPED and not skipped.writes
    assert "reopen: true" in skipped.notes[0]
    again = decide(inputs(reopen=True), found(wiki, branch=BRANCH, pulls=[done]), None)
    assert again.outcome is Outcome.CREATED and again.branch_action is BranchAction.RESET
    assert again.parent == BASE


def test_only_changed_files_are_written():
    wiki = inputs()
    seen = found(wiki, branch=BRANCH, pulls=[pull()])
    path = next(iter(wiki.files))
    on_branch = dict(seen.on_branch)
    on_branch[path] = RemoteFile(path, blob_sha(wiki.files[path].encode()), "x")
    plan = decide(wiki, replace(seen, on_branch=on_branch), None)
    assert [f.change for f in plan.files] == ["same", "update"]
