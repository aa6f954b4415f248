"""actions/wiki-pr run the way the runner runs it, after actions/mirror-ami in the same job.

The two steps share the runner's temp folder, so wiki-pr reads the results document that
mirror-ami wrote there ($RUNNER_TEMP/imgpub-results.json), exactly as two steps of one job
do; GitHub is the local fake, reached through the github-api-url input. The token is the
action's default (``${{ github.token }}``, which the harness expands as the runner does).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import assert_runner_hygiene, run_action

from imgpub.sandbox.fake_github import FakeGithub
from imgpub.sandbox.fake_webhook import FakeWebhook
from tests.integration.mirror_helpers import release_sources
from tests.integration.wiki_helpers import BRANCH, CSV_PATH, MD_PATH, REPO, seed_github

ACTIONS = Path(__file__).resolve().parents[2] / "actions"
#: What the harness expands ${{ github.token }} to.
HARNESS_TOKEN = "ghs_harnesstoken"


@pytest.fixture
def github() -> Iterator[FakeGithub]:
    with FakeGithub() as fake:
        seed_github(fake)
        fake.add_token(HARNESS_TOKEN, "github-actions[bot]", kind="actions")
        yield fake


@pytest.fixture
def hooks() -> Iterator[FakeWebhook]:
    with FakeWebhook() as fake:
        fake.add_hook("harness-hook-key-123", channel="releases")
        yield fake


def aws_env() -> dict[str, str]:
    keys = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    return {k: os.environ[k] for k in keys} | {"AWS_REGION": "us-east-1"}


def test_mirror_then_wiki_pr_in_one_job(tmp_path, aws_endpoint, github, hooks):
    x86, arm = release_sources()
    root = tmp_path / "runner"
    mirror = run_action(
        ACTIONS / "mirror-ami",
        inputs={
            "source-ami": f"{x86}\n{arm}",
            "regions": "eu-west-1",
            "make-public": "true",
            "md-output": str(tmp_path / "amis.md"),
            "csv-output": str(tmp_path / "amis.csv"),
        },
        env=aws_env(),
        root=root,
    )
    assert mirror.exit_code == 0, mirror.stdout
    webhook = f"{hooks.url}/hooks/harness-hook-key-123"
    result = run_action(
        ACTIONS / "wiki-pr",
        inputs={
            "repository": REPO,
            "github-api-url": github.api_url,
            "labels": "aws",
            "notify-webhook": webhook,
        },
        root=root,
    )
    assert result.exit_code == 0, result.stdout
    assert_runner_hygiene(result)
    assert webhook in result.mask_values  # the webhook secret was masked before use
    out = result.outputs
    assert out["state"] == "created" and out["status"] == "success"
    assert out["branch"] == BRANCH and out["pull-request-number"] == "1"
    assert out["pull-request-url"] == f"{github.url}/almalinux/wiki/pull/1"
    assert result.job_outputs()["pull-request-url"] == out["pull-request-url"]
    files = github.files(REPO, BRANCH)
    assert files[MD_PATH] == (tmp_path / "amis.md").read_text("utf-8")
    assert files[CSV_PATH] == (tmp_path / "amis.csv").read_text("utf-8")
    assert github.pulls(REPO)[0]["author"] == "github-actions[bot]"  # the default token
    summary = result.summary
    assert "## wiki-pr: pull request \\#1 created" in summary
    assert out["pull-request-url"] in summary and "| eu-west-1 |" in summary
    doc = json.loads(Path(out["results-path"]).read_text("utf-8"))
    assert set(doc["stages"]) == {"mirror-ami", "wiki-pr"}
    [message] = hooks.messages()
    assert "imgpub wiki-pr: success" in message["text"]
    assert "<https://github.com/imgpub-org/imgpub-caller/actions/runs/1|run>" in message["text"]
    assert (
        "Apply on almalinux/wiki: one commit of 2 files, open the pull request" in result.log.groups
    )


def test_bad_input_is_one_error_annotation_and_exit_2(tmp_path, github):
    result = run_action(
        ACTIONS / "wiki-pr",
        inputs={"repository": "nope", "github-api-url": github.api_url},
        root=tmp_path / "runner",
    )
    assert result.exit_code == 2
    errors = result.annotations_of("error")
    assert len(errors) == 1 and "repository" in errors[0].message
    assert "Nothing was changed" in result.summary
    assert github.log.all() == []
