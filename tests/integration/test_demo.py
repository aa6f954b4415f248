"""`imgpub demo`, the README's first command, works on this machine as written."""

from __future__ import annotations

import subprocess
import sys

from imgpub.cli import available_stages


def test_demo_runs_every_available_stage_and_prints_results(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "imgpub.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    out = proc.stdout
    assert proc.returncode == 0, (out, proc.stderr)
    assert "local EC2 regions:" in out
    # build-ami makes the AMI from the demo's disk and mirror-ami takes it from the results.
    assert "build-ami makes the AMI" in out or "test AMI ami-" in out
    assert "What each stage did" in out
    for name in available_stages():
        if name in (
            "build-ami",
            "mirror-ami",
            "azure-gallery",
            "ecr-mirror",
            "marketplace-changeset",
            "wiki-pr",
        ):
            assert f"{name}: success" in out, name
    assert "wiki-pr: pull request #1 created" in out
    assert "Notifications the local webhook received" in out
    assert ":white_check_mark: imgpub wiki-pr: success" in out
    assert "imgpub release: success" in out
    assert list(cwd.iterdir()) == [], "the demo must clean up after itself"
