"""wiki-pr stopped mid-way (SIGTERM as GitHub cancels a job, SIGKILL), then re-run.

The stage runs as a real child process against an in-process fake GitHub, whose injected
latency holds it in the middle of its writes while the test signals it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from imgpub.results import ResultsDocument
from tests.integration.wiki_helpers import BRANCH, REPO, cli_env, copy_doc, wiki_pr, writes


def start(github, results):
    argv = [sys.executable, "-m", "imgpub.cli", "wiki-pr", "--repository", REPO]
    argv += ["--results", str(results)]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=cli_env(github)
    )


def wait_for(github, operation, proc, timeout=60.0):
    """Until the fake has received ``operation`` (the child is waiting for its answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if github.log.count(operation):
            return
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.05)
    raise AssertionError(f"{operation} never arrived")


def test_sigterm_mid_run_keeps_a_valid_document_and_the_rerun_finishes(
    tmp_path, github, mirror_docs
):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    github.faults.delay("CreateTree", seconds=2.0, times=1)
    proc = start(github, results)
    wait_for(github, "CreateTree", proc)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    assert "SIGTERM received" in out
    doc = ResultsDocument.load(results)  # schema-valid, saved despite the signal
    section = doc.section("wiki-pr")
    assert section is not None and section.status == "failed"
    pull = next(t for t in section.targets if t.kind == "pull-request")
    assert pull.state == "cancelled" and "re-run" in (pull.remedy or "")
    assert "create the commit" in (pull.error or "")
    assert doc.section("mirror-ami") is not None  # the earlier stage's section is kept
    ops = [op for _m, op in writes(github)]
    assert "CreateCommit" not in ops and "CreatePull" not in ops
    assert github.branch_sha(REPO, BRANCH) is None
    github.log.clear()
    again = wiki_pr(github, results)
    assert again.code == 0, again.out
    assert again.outputs["state"] == "created"
    assert len(github.pulls(REPO)) == 1 and len(github.history(REPO, BRANCH)) == 2


def test_killed_while_opening_the_pr_then_rerun_makes_no_duplicate(tmp_path, github, mirror_docs):
    results = copy_doc(mirror_docs.both, tmp_path / "r.json")
    before = json.loads(results.read_text("utf-8"))
    github.faults.delay("CreatePull", seconds=1.0, times=1)
    proc = start(github, results)
    wait_for(github, "CreatePull", proc)
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while not github.pulls(REPO) and time.monotonic() < deadline:  # the server still answers
        time.sleep(0.05)
    assert len(github.pulls(REPO)) == 1
    assert json.loads(results.read_text("utf-8")) == before  # nothing recorded by the killed run
    github.log.clear()
    again = wiki_pr(github, results)
    assert again.code == 0, again.out
    assert again.outputs["state"] == "existed" and again.outputs["pull-request-number"] == "1"
    assert writes(github) == []
    assert len(github.pulls(REPO)) == 1 and len(github.history(REPO, BRANCH)) == 2
