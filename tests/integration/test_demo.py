"""`imgpub demo --again`, the README's first command, works on this machine as written.

One run covers both halves: the release (every stage, each fed by the document the one
before it wrote, then the notification) and the same release again on the same sandbox,
which must find every target in place. Nothing may be left behind: no file in the working
folder, no process of the sandbox.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from imgpub.cli import available_stages

CHAIN = (
    "build-ami",
    "mirror-ami",
    "marketplace-changeset",
    "azure-gallery",
    "ecr-mirror",
    "wiki-pr",
)


def _sessions_started_from(workdir_marker: str) -> list[str]:
    """Command lines of live processes that name the demo's work folder (its services)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    cmd = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if workdir_marker in cmd:
                out.append(cmd)
    return out


def test_the_readme_quick_start_is_the_command_tested_here():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick_start, re.DOTALL)
    assert commands == [
        "bash scripts/bootstrap.sh && .venv/bin/imgpub demo --again",
        ".venv/bin/python -m pytest",
    ]


def test_demo_again_runs_the_whole_chain_twice_on_one_sandbox(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "imgpub.cli", "demo", "--again"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "TMPDIR": str(tmp_path),
        },
    )
    out = proc.stdout
    assert proc.returncode == 0, (out[-5000:], proc.stderr[-3000:])
    assert "local EC2 regions:" in out
    assert "build-ami makes the AMI" in out or "test AMI ami-" in out

    first, marker, second = out.partition("imgpub demo --again: the same release, the same sandbox")
    assert marker, "the second run is announced"
    present = [name for name in CHAIN if name in available_stages()]
    # The first run: every stage succeeded, in release order, and made what it made.
    assert "What each stage did" in first
    statuses = re.findall(r"- ([a-z-]+): (success|partial|failed|planned) \(([^)]*)\)", first)
    assert [name for name, _, _ in statuses] == present
    assert all(status == "success" for _, status, _ in statuses), statuses
    assert all("created" in counts for _, _, counts in statuses), statuses
    if "ecr-mirror" in present:  # image and chart
        assert re.search(r"ecr-mirror +container-image .* created", first)
        assert re.search(r"ecr-mirror +helm-chart .* created", first)
    assert "wiki-pr: pull request #1 created" in first
    assert "Notifications the local webhook received" in first
    assert ":white_check_mark: imgpub release: success" in first

    # The second run, on the same sandbox: the one document, every target existed.
    again = re.findall(r"- ([a-z-]+): (success|partial|failed|planned) \(([^)]*)\)", second)
    assert [name for name, _, _ in again] == present
    assert all(re.fullmatch(r"\d+ existed", counts) for _, _, counts in again), again
    table = second.rsplit("What each stage did", 1)[1].split("Notification", 1)[0]
    rows = [ln for ln in table.splitlines() if ln.strip().startswith(tuple(present))]
    assert rows and all(ln.rstrip().endswith("existed") for ln in rows), rows
    assert re.search(r"imgpub demo --again: all \d+ targets existed; nothing was changed", out)

    # Nothing left behind: no file where it ran, no process still holding its work folder.
    assert list(cwd.iterdir()) == [], "the demo must clean up after itself"
    assert _sessions_started_from(str(tmp_path / "imgpub-demo-")) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("imgpub-demo-")]
