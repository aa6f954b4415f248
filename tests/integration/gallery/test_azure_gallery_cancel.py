"""A cancelled job keeps a record: SIGINT and SIGTERM mid-upload and mid-publish, then a re-run.

Issue 9, finding 7. GitHub cancels a job with SIGINT, then SIGTERM. The stage runs as the
runner runs it — a child process with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY — and gets
the signal while Put Page calls are on the wire (the proxy holds each one briefly) or
while the fake ARM holds the version creates. It must stop new work, let what is in
flight finish, write the results document, outputs and summary, and exit 1 or 3; the
re-run then resumes the blob (sending only the missing pages) or waits for the versions
Azure went on creating, and finishes without creating anything twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gallery_helpers import (
    BLOB0,
    IMAGE,
    MIB,
    parse_outputs,
    publish_inputs,
    run,
    sandbox_env,
    service,
)

pytestmark = [pytest.mark.azurite]

SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]


def many_pages_raw(path: Path, regions: int = 40) -> Path:
    """A sparse RAW whose data lies in many separate 64 KiB pieces: one Put Page each."""
    rng = random.Random(9)
    with path.open("wb") as f:
        f.truncate(regions * MIB + 4096)
        for i in range(regions):
            f.seek(i * MIB + 8192)
            f.write(rng.randbytes(64 * 1024))
    return path


def wait_until(predicate: Any, what: str, seconds: float = 60.0) -> None:
    """Fail (not hang) when something that must happen does not; not a timing assertion."""
    end = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


class StageProcess:
    """``imgpub azure-gallery`` as a child process, with the runner's file commands."""

    def __init__(self, tmp_path: Path, env: dict[str, str], **inputs: str) -> None:
        self.work = tmp_path / f"proc{len(list(tmp_path.glob('proc*')))}"
        self.work.mkdir()
        self.outputs_file = self.work / "output"
        self.summary_file = self.work / "summary.md"
        self.outputs_file.touch()
        self.summary_file.touch()
        self.results = tmp_path / "results.json"
        argv = [sys.executable, "-m", "imgpub.cli", "azure-gallery", "--results", str(self.results)]
        for name, value in inputs.items():
            argv += [f"--{name.replace('_', '-')}", value]
        child_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))},
            **env,
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(self.outputs_file),
            "GITHUB_STEP_SUMMARY": str(self.summary_file),
        }
        self.proc = subprocess.Popen(
            argv, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def stop(self, sig: signal.Signals) -> tuple[int, str]:
        self.proc.send_signal(sig)
        out, _ = self.proc.communicate(timeout=120)
        return self.proc.returncode, out

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def section(self) -> dict[str, Any]:
        doc = json.loads(self.results.read_text())
        section: dict[str, Any] = doc["stages"]["azure-gallery"]
        return section

    def outputs(self) -> dict[str, str]:
        return parse_outputs(self.outputs_file.read_text())


def _targets(section: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [t for t in section["targets"] if t["kind"] == kind]


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_mid_upload_keeps_a_resumable_blob_and_the_rerun_finishes(
    tmp_path, azurite, arm, proxy, container, sig
):
    raw = many_pages_raw(tmp_path / IMAGE)
    env = sandbox_env(azurite, arm, proxy)
    proxy.plan.delay = 0.3  # each Put Page takes a while: the signal lands mid-upload
    stage = StageProcess(tmp_path, env, image=str(raw), **publish_inputs(container))
    try:
        wait_until(lambda: proxy.plan.page_puts >= 3, "the first Put Pages")
        code, log = stage.stop(sig)
    finally:
        stage.kill()
    assert code in (1, 3), log
    assert f"{sig.name} received: stopping new work" in log
    section = stage.section()
    assert section["data"]["cancelled"] == f"cancelled by {sig.name}"
    (blob,) = _targets(section, "page-blob")
    assert blob["state"] == "cancelled" and blob["details"]["resumable"] is True
    assert "resumes" in blob["remedy"]
    assert {t["state"] for t in _targets(section, "gallery-image-version")} == {"cancelled"}
    outputs = stage.outputs()
    assert outputs["status"] == "failed" and outputs["results-path"] == str(stage.results)
    assert "cancelled by" in stage.summary_file.read_text()
    props = service(azurite).get_blob_client(container, BLOB0).get_blob_properties()
    assert props.content_settings.content_md5 is None, "incomplete, so it is resumed, not reused"
    sent_before = proxy.plan.page_puts
    assert sent_before < 41, "the upload stopped before the end"
    assert arm.count("PUT") == 0

    proxy.plan.delay = 0
    again = run(tmp_path, env, image=str(raw), **publish_inputs(container))
    assert again.code == 0, again.stdout
    (blob,) = again.targets("page-blob")
    assert blob["state"] == "created" and blob["details"]["outcome"] == "resumed"
    # Every Put Page that reached Azurite landed (in-flight ones got the grace to finish),
    # so the re-run sends exactly the others: 40 data pages and the footer in all.
    assert blob["details"]["pages_sent"] == 41 - sent_before
    assert {v["state"] for v in again.versions} == {"created"}


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_mid_publish_records_the_versions_and_the_rerun_waits_for_them(
    tmp_path, raw, azurite, arm, container, sig
):
    env = sandbox_env(azurite, arm)
    arm.hold()  # every create stays InProgress until released
    stage = StageProcess(tmp_path, env, image=str(raw), **publish_inputs(container))
    try:
        wait_until(lambda: arm.count("PUT", "/versions/") == 2, "both version PUTs")
        code, log = stage.stop(sig)
    finally:
        arm.release()
        stage.kill()
    assert code == 3, log  # the blob is in place, the versions are not confirmed
    section = stage.section()
    assert section["status"] == "partial"
    (blob,) = _targets(section, "page-blob")
    assert blob["state"] == "created"
    versions = _targets(section, "gallery-image-version")
    assert {t["state"] for t in versions} == {"cancelled"}
    assert all("waits for the version" in t["remedy"] for t in versions)
    assert stage.outputs()["status"] == "partial"

    puts = arm.count("PUT", "/versions/")
    again = run(tmp_path, env, image=str(raw), **publish_inputs(container))
    assert again.code == 0, again.stdout
    assert {v["state"] for v in again.versions} == {"existed"}
    # Whether Azure (the fake) finished the creates before the re-run looked, or the re-run
    # waited for them, depends on timing; either way nothing is sent twice.
    assert arm.count("PUT", "/versions/") == puts, "the re-run sent no version twice"
