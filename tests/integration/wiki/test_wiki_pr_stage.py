"""wiki-pr against the local GitHub with the real PyGithub, fed by real mirror-ami results.

Every claim is checked where it shows: in the fake GitHub's repository (branches,
commits, files, pull requests) and its request log (which requests wrote), and in the
results document the stage saved.
"""

from __future__ import annotations

import time

from imgpub.github.git_objects import blob_sha
from tests.integration.wiki_helpers import (
    ACTIONS_TOKEN,
    APP_READ_TOKEN,
    BRANCH,
    CSV_PATH,
    MD_PATH,
    READ_TOKEN,
    REPO,
    STRANGER_TOKEN,
    copy_doc,
    wiki_pr,
    writes,
)


def test_first_run_opens_one_draft_pr_with_one_commit_holding_both_tables(
    tmp_path, github, mirror_docs
):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, labels="aws,automated", reviewers="cloud-sig")
    assert run.code == 0, run.out
    pulls = github.pulls(REPO)
    assert len(pulls) == 1
    pr = pulls[0]
    assert pr["draft"] and pr["state"] == "open" and pr["head"] == BRANCH and pr["base"] == "master"
    assert pr["title"] == "Update AlmaLinux OS 9.6 20250522 AWS AMI IDs"
    assert pr["labels"] == ["aws", "automated"] and pr["reviewers"] == ["cloud-sig"]
    # One commit on top of master, holding both tables.
    history = github.history(REPO, BRANCH)
    master = github.branch_sha(REPO, "master")
    assert history[1]["sha"] == master and len(history) == 2
    assert history[0]["message"].startswith(pr["title"] + "\n")
    files = github.files(REPO, BRANCH)
    # Byte-identical to what mirror-ami wrote for the same images.
    assert files[MD_PATH] == mirror_docs.both_md.read_text("utf-8")
    assert files[CSV_PATH] == mirror_docs.both_csv.read_text("utf-8")
    assert files["README.md"] == "# AlmaLinux wiki\n"  # the rest of the tree is kept
    # The body says where the data came from.
    for text in (mirror_docs.x86_ami, mirror_docs.arm_ami, "eu-west-1", "sha256:"):
        assert text in pr["body"]
    writes_made = [op for _m, op in writes(github)]
    assert writes_made.count("CreateCommit") == 1 and writes_made.count("CreatePull") == 1
    assert writes_made.count("CreateBlob") == 2 and writes_made.count("CreateTree") == 1
    out = run.outputs
    assert out["state"] == "created" and out["pull-request-number"] == "1"
    assert out["pull-request-url"].endswith("/almalinux/wiki/pull/1")
    assert out["branch"] == BRANCH and out["commit-sha"] == history[0]["sha"]
    states = {t["resource_id"]: t["state"] for t in run.section["targets"]}
    assert states[MD_PATH] == "updated" and states[CSV_PATH] == "created"
    assert run.target("pull-request")["state"] == "created"


def test_rerun_with_the_same_data_makes_no_request_that_writes(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    first = wiki_pr(github, results, labels="aws", reviewers="cloud-sig,cloud/cloud")
    assert first.code == 0, first.out
    github.log.clear()
    again = wiki_pr(github, results, labels="aws", reviewers="cloud-sig,cloud/cloud")
    assert again.code == 0, again.out
    assert writes(github) == []
    assert again.outputs["state"] == "existed"
    assert again.outputs["commit-sha"] == first.outputs["commit-sha"]
    assert len(github.pulls(REPO)) == 1 and len(github.history(REPO, BRANCH)) == 2
    assert {t["state"] for t in again.section["targets"]} == {"existed"}


def test_new_amis_update_the_same_pr_with_one_more_commit(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    first = wiki_pr(github, results)
    assert first.code == 0
    body_before = github.pulls(REPO)[0]["body"]
    more = copy_doc(mirror_docs.more, tmp_path / "more.json")
    github.log.clear()
    run = wiki_pr(github, more, env={"GITHUB_SERVER_URL": "https://github.com",
                                     "GITHUB_REPOSITORY": "almalinux/cloud-images",
                                     "GITHUB_RUN_ID": "4242"})  # fmt: skip
    assert run.code == 0, run.out
    assert run.outputs["state"] == "updated"
    assert run.outputs["pull-request-number"] == first.outputs["pull-request-number"]
    pulls = github.pulls(REPO)
    assert len(pulls) == 1
    assert pulls[0]["body"] != body_before
    assert "https://github.com/almalinux/cloud-images/actions/runs/4242" in pulls[0]["body"]
    history = github.history(REPO, BRANCH)
    assert len(history) == 3 and history[1]["sha"] == first.outputs["commit-sha"]
    files = github.files(REPO, BRANCH)
    assert files[MD_PATH] == mirror_docs.more_md.read_text("utf-8")
    assert files[CSV_PATH] == mirror_docs.more_csv.read_text("utf-8")
    assert "ap-southeast-2" in files[CSV_PATH]
    ops = [op for _m, op in writes(github)]
    assert "CreatePull" not in ops and ops.count("UpdateRef") == 1 and "UpdatePull" in ops


def test_a_merged_pr_gives_existed_and_changes_nothing(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    assert wiki_pr(github, results).code == 0
    github.merge_pull(REPO, 1, delete_branch=True)
    github.log.clear()
    run = wiki_pr(github, results)
    assert run.code == 0, run.out
    assert run.outputs["state"] == "existed" and run.outputs["pull-request-number"] == "1"
    assert run.outputs["commit-sha"] == github.branch_sha(REPO, "master")
    assert writes(github) == []
    assert len(github.pulls(REPO)) == 1


def test_a_closed_unmerged_pr_is_reported_and_reopen_opens_a_new_one(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    assert wiki_pr(github, results).code == 0
    github.close_pull(REPO, 1)
    github.log.clear()
    skipped = wiki_pr(github, results)
    assert skipped.code == 0
    assert skipped.outputs["state"] == "skipped"
    assert writes(github) == []
    assert "closed unmerged" in skipped.out and "reopen: true" in skipped.out
    reopened = wiki_pr(github, results, reopen="true")
    assert reopened.code == 0, reopened.out
    assert reopened.outputs["state"] == "created"
    assert [p["state"] for p in github.pulls(REPO)] == ["closed", "open"]
    # The branch was reset onto master: one commit on top of it.
    history = github.history(REPO, BRANCH)
    assert history[1]["sha"] == github.branch_sha(REPO, "master")


def test_two_jobs_documents_merge_into_the_combined_table(tmp_path, github, mirror_docs):
    """The x86_64 and aarch64 jobs each upload a document; the table is the one of both."""
    lines = f"{mirror_docs.x86}\n{mirror_docs.arm}"
    run = wiki_pr(github, tmp_path / "wiki.json", mirror_results=lines)
    assert run.code == 0, run.out
    files = github.files(REPO, BRANCH)
    assert files[MD_PATH] == mirror_docs.both_md.read_text("utf-8")
    assert files[CSV_PATH] == mirror_docs.both_csv.read_text("utf-8")
    rows = files[CSV_PATH].splitlines()
    assert rows[0].endswith('"x86_64"') and rows[1].endswith('"aarch64"')


def test_a_primary_rate_limit_is_waited_out(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    from tests.integration.wiki_helpers import TOKEN

    github.set_rate_limit(TOKEN, remaining=3, reset_in=1.0)
    run = wiki_pr(github, results)
    assert run.code == 0, run.out
    limited = [r for r in github.log.all() if r.status == 403]
    assert limited, "the fake answered no rate-limit 403"
    after = github.log.all()[github.log.all().index(limited[-1]) + 1]
    assert (after.method, after.path) == (limited[-1].method, limited[-1].path)  # retried
    assert "rate limited (403)" in run.out
    assert len(github.pulls(REPO)) == 1


def test_secondary_limits_and_429_honour_retry_after(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    github.faults.fail(
        "CreatePull",
        status=403,
        body={"message": "You have exceeded a secondary rate limit."},
        headers={"Retry-After": "1"},
    )
    github.faults.fail("CreateTree", status=429, headers={"Retry-After": "0"})
    run = wiki_pr(github, results)
    assert run.code == 0, run.out
    assert github.log.count("CreatePull") == 2 and github.log.count("CreateTree") == 2
    assert len(github.pulls(REPO)) == 1  # the refused create was not a pull request


def test_a_rate_limit_beyond_the_budget_stops_with_the_reset_time(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    reset = int(time.time()) + 3000
    github.faults.fail(
        "GetRepo",
        status=403,
        body={"message": "API rate limit exceeded for user ID 1."},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    run = wiki_pr(github, results, rate_limit_wait="60")
    assert run.code == 1
    assert "rate-limit-wait" in run.out and "UTC" in run.out
    assert writes(github) == []


def test_a_read_only_token_is_exit_1_naming_the_permissions(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, token=READ_TOKEN)
    assert run.code == 1, run.out
    assert "contents: write and pull-requests: write" in run.out
    assert writes(github) == []  # a PAT's permissions are known before any write


def test_an_app_token_without_write_fails_at_the_first_write_with_the_fix(
    tmp_path, github, mirror_docs
):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, token=APP_READ_TOKEN)
    assert run.code == 1, run.out
    assert "Resource not accessible by integration" in run.out
    assert "contents: write and pull-requests: write on almalinux/wiki" in run.out
    target = run.target("pull-request")
    assert target["state"] == "failed" and "pull-requests: write" in target["remedy"]
    assert github.pulls(REPO) == []


def test_tokens_that_cannot_see_the_repository_or_are_invalid(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    hidden = wiki_pr(github, results, token=STRANGER_TOKEN, repository="almalinux/private-docs")
    assert hidden.code == 1
    assert "was not found, or the token cannot see it" in hidden.out
    bad = wiki_pr(github, results, token="ghp_revoked")
    assert bad.code == 1 and "rejected the token" in bad.out
    assert writes(github) == []


def test_actions_not_allowed_to_open_prs_names_the_setting(tmp_path, github, mirror_docs):
    github.add_repo("almalinux/locked-wiki", actions_can_open_prs=False)
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, token=ACTIONS_TOKEN, repository="almalinux/locked-wiki")
    assert run.code == 3, run.out  # the files are committed, the PR is not
    assert "Allow GitHub Actions to create and approve pull requests" in run.out
    rerun_doc = run.target("pull-request")
    assert rerun_doc["state"] == "failed"


def test_a_failure_after_the_commit_then_a_rerun_opens_exactly_one_pr(
    tmp_path, github, mirror_docs
):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    github.faults.fail("CreatePull", status=502)
    failed = wiki_pr(github, results)
    assert failed.code == 3, failed.out
    assert failed.target("pull-request")["state"] == "failed"
    assert github.pulls(REPO) == []
    branch_head = github.branch_sha(REPO, BRANCH)
    assert branch_head is not None
    github.log.clear()
    again = wiki_pr(github, results)
    assert again.code == 0, again.out
    assert [op for _m, op in writes(github)] == ["CreatePull"]  # no second commit
    assert github.branch_sha(REPO, BRANCH) == branch_head
    assert len(github.pulls(REPO)) == 1 and again.outputs["state"] == "created"


def test_drafts_not_available_falls_back_with_a_warning(tmp_path, github, mirror_docs):
    github.add_repo("almalinux/free-private", private=True, draft_prs=False)
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, repository="almalinux/free-private")
    assert run.code == 0, run.out
    assert "does not allow drafts" in run.out
    assert github.pulls("almalinux/free-private")[0]["draft"] is False


def test_reviewer_refusals_are_warnings(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, reviewers="cloud-sig,nobody-here,almalinuxautobot")
    assert run.code == 0, run.out
    assert github.pulls(REPO)[0]["reviewers"] == ["cloud-sig"]
    assert "review not requested from nobody-here" in run.out
    assert "almalinuxautobot opened the pull request" in run.out


def test_dry_run_prints_each_files_diff_against_base_and_writes_nothing(
    tmp_path, github, mirror_docs
):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, dry_run="true")
    assert run.code == 0, run.out
    assert writes(github) == []
    assert f"--- master:{MD_PATH}" in run.out and "-old table" in run.out
    assert f"+++ {BRANCH}:{CSV_PATH}" in run.out
    assert run.outputs["state"] == "planned"
    assert {t["state"] for t in run.section["targets"]} == {"planned"}


def test_unchanged_files_are_not_rewritten(tmp_path, github, mirror_docs):
    """A file already holding its text on base is left out of the tree."""
    github.push_files(REPO, "master", {CSV_PATH: mirror_docs.both_csv.read_text("utf-8")})
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results)
    assert run.code == 0, run.out
    tree_posts = [r for r in github.log.all() if r.operation == "CreateTree"]
    assert [e["path"] for e in tree_posts[0].body["tree"]] == [MD_PATH]
    blobs = [r.body["content"] for r in github.log.all() if r.operation == "CreateBlob"]
    assert len(blobs) == 1 and blob_sha(blobs[0].encode()) == blob_sha(
        mirror_docs.both_md.read_bytes()
    )


def test_ghes_api_base_works(tmp_path, mirror_docs):
    from imgpub.sandbox.fake_github import FakeGithub
    from tests.integration.wiki_helpers import seed_github

    with FakeGithub(path_prefix="/api/v3") as ghes:
        seed_github(ghes)
        results = copy_doc(mirror_docs.both, tmp_path / "r.json")
        run = wiki_pr(ghes, results, github_api_url=ghes.api_url)
        assert run.code == 0, run.out
        assert all(r.path.startswith("/api/v3/") for r in ghes.log.all())
        assert len(ghes.pulls(REPO)) == 1
