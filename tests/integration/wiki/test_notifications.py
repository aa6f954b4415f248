"""Notifications from every stage and from ``imgpub notify``, against a local webhook receiver.

The receiver answers as Mattermost does (cloud-apis.md §13); what it accepted is what
people would read. A notification never changes an exit code, and the webhook URL (the
credential) never appears in the log or the results document.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from imgpub.gha import Gha
from imgpub.sandbox.fake_webhook import FakeWebhook
from imgpub.stage import run_stage
from tests.integration.wiki_helpers import READ_TOKEN, copy_doc, wiki_pr

KEY = "x3k9secretwebhookkey"


@pytest.fixture
def hooks() -> Iterator[FakeWebhook]:
    with FakeWebhook() as fake:
        fake.add_hook(KEY, channel="releases")
        fake.add_channel("town-square")
        yield fake


def hook_url(hooks: FakeWebhook) -> str:
    return f"{hooks.url}/hooks/{KEY}"


RUN_ENV = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "almalinux/cloud-images",
    "GITHUB_RUN_ID": "777",
}


def test_a_successful_stage_posts_what_it_created_with_the_run_link(
    tmp_path, hooks, github, mirror_docs
):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, notify_webhook=hook_url(hooks), env=RUN_ENV)
    assert run.code == 0, run.out
    [message] = hooks.messages(KEY)
    text = message["text"]
    assert text.startswith(":white_check_mark: imgpub wiki-pr: success")
    assert "<https://github.com/almalinux/cloud-images/actions/runs/777|run>" in text
    assert "created pull-request <" in text and "/almalinux/wiki/pull/1|" in text
    assert message["channel"] == "releases"
    assert KEY not in run.out and KEY not in results.read_text("utf-8")


def test_a_failed_stage_posts_the_error_and_its_remedy(tmp_path, hooks, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(
        github, results, token=READ_TOKEN, notify_webhook=hook_url(hooks), notify_on="failure"
    )
    assert run.code == 1
    [message] = hooks.messages(KEY)
    assert message["text"].startswith(":x: imgpub wiki-pr: failed")
    assert "What to do: give the token contents: write and pull-requests: write" in message["text"]


def test_bad_input_is_announced_as_a_failure_and_stays_exit_2(tmp_path, hooks, github):
    run = wiki_pr(github, tmp_path / "none.json", notify_webhook=hook_url(hooks))
    assert run.code == 2
    [message] = hooks.messages(KEY)
    assert ":x: imgpub wiki-pr: failed" in message["text"] and "mirror-ami" in message["text"]


def test_notify_on_failure_stays_quiet_on_success(tmp_path, hooks, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, notify_webhook=hook_url(hooks), notify_on="failure")
    assert run.code == 0
    assert hooks.messages() == [] and hooks.log.all() == []


def test_a_failing_webhook_only_warns(tmp_path, hooks, github, mirror_docs):
    hooks.faults.fail("MattermostIncomingWebhook", status=503, times=None)
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, notify_webhook=hook_url(hooks))
    assert run.code == 0, run.out  # the release is not failed by its notification
    assert "warning: imgpub notify: notification not posted (3 attempts)" in run.out
    assert hooks.log.count("MattermostIncomingWebhook") == 3
    assert KEY not in run.out and f"{hooks.url}/***" in run.out
    assert len(github.pulls("almalinux/wiki")) == 1


def test_a_deleted_webhook_is_not_retried(tmp_path, hooks, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    gone = f"{hooks.url}/hooks/deleted-hook-key"
    run = wiki_pr(github, results, notify_webhook=gone)
    assert run.code == 0
    assert "answered 400: Invalid webhook" in run.out
    assert hooks.log.count("MattermostIncomingWebhook") == 1


def test_429_is_retried_after_retry_after(tmp_path, hooks, github, mirror_docs):
    hooks.faults.fail("MattermostIncomingWebhook", status=429, headers={"Retry-After": "0"})
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, notify_webhook=hook_url(hooks))
    assert run.code == 0
    assert len(hooks.messages(KEY)) == 1 and hooks.log.count("MattermostIncomingWebhook") == 2


def test_a_channel_the_hook_is_locked_away_from_warns(tmp_path, hooks, github, mirror_docs):
    hooks.add_hook("locked-hook-key", channel="releases", locked=True)
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    url = f"{hooks.url}/hooks/locked-hook-key"
    run = wiki_pr(github, results, notify_webhook=url, notify_channel="town-square")
    assert run.code == 0
    assert "answered 403" in run.out and hooks.messages() == []


def test_a_slack_app_hook_gets_text_only(tmp_path, hooks, github, mirror_docs):
    path = hooks.add_hook("T000/B000/slacksecret", channel="#releases", kind="slack")
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    run = wiki_pr(github, results, notify_webhook=hooks.url + path)
    assert run.code == 0, run.out
    [message] = hooks.messages()
    assert set(message["payload"]) == {"text"}  # no channel/username for app hooks


def test_every_stage_notifies_mirror_ami_too(tmp_path, hooks, aws_endpoint):
    import os

    from imgpub.stages import mirror_ami
    from tests.integration.mirror_helpers import release_sources

    x86, _arm = release_sources()
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    buf = io.StringIO()
    code = run_stage(
        mirror_ami,
        flags={
            "source-ami": x86,
            "regions": "eu-west-1",
            "results": str(tmp_path / "r.json"),
            "notify-webhook": hook_url(hooks),
        },
        env=env,
        gha=Gha(env, stdout=buf, stderr=buf),
    )
    assert code == 0, buf.getvalue()
    [message] = hooks.messages()
    assert message["text"].startswith(":white_check_mark: imgpub mirror-ami: success")
    assert "created ami-copy `ami-" in message["text"] and "in eu-west-1" in message["text"]


def test_imgpub_notify_posts_a_digest_of_the_whole_document(tmp_path, hooks, mirror_docs):
    doc = json.loads(mirror_docs.both.read_text("utf-8"))
    doc["stages"]["mirror-ami"]["targets"][0]["state"] = "failed"
    doc["stages"]["mirror-ami"]["targets"][0]["error"] = "UnauthorizedOperation <boom>"
    doc["stages"]["mirror-ami"]["status"] = "partial"
    (tmp_path / "r.json").write_text(json.dumps(doc), "utf-8")
    argv = [sys.executable, "-m", "imgpub.cli", "notify", "--results", str(tmp_path / "r.json")]
    env = {"PATH": "/usr/bin:/bin", "INPUT_NOTIFY_WEBHOOK": hook_url(hooks), **RUN_ENV}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [message] = hooks.messages()
    text = message["text"]
    assert text.startswith(":warning: imgpub release: partial success")
    assert "imgpub mirror-ami: partial success" in text
    assert "UnauthorizedOperation &lt;boom&gt;" in text  # untrusted text is inert
    assert KEY not in proc.stdout + proc.stderr


def test_imgpub_notify_without_a_document_is_exit_2_and_without_a_webhook_warns(
    tmp_path, mirror_docs
):
    argv = [sys.executable, "-m", "imgpub.cli", "notify", "--results"]
    env = {"PATH": "/usr/bin:/bin"}
    missing = subprocess.run(
        [*argv, str(tmp_path / "no.json")], capture_output=True, text=True, env=env
    )
    assert missing.returncode == 2 and "input 'results'" in missing.stderr
    quiet = subprocess.run([*argv, str(mirror_docs.both)], capture_output=True, text=True, env=env)
    assert quiet.returncode == 0 and "notify-webhook is empty" in quiet.stderr
