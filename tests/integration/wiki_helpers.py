"""Shared pieces of the wiki-pr tests: real mirror-ami results, a fake GitHub, a runner.

The results documents wiki-pr reads are made by running the real mirror-ami against the
local EC2 (moto), once per session: the data bus is tested as it is written, not as we
imagine it. Each test gets its own fake GitHub (in-process, on a free loopback port) with
AlmaLinux's wiki repository and tokens of each kind.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from imgpub.gha import Gha
from imgpub.sandbox.fake_github import FakeGithub
from imgpub.stage import run_stage

REPO = "almalinux/wiki"
BRANCH = "imgpub/almalinux_os_9_6_20250522"
MD_PATH = "docs/cloud/AWS_AMIS_9.md"
CSV_PATH = "docs/.vuepress/public/ci-data/aws_amis_9.csv"
TOKEN = "ghp_wikitest000000000000000000000000000"
READ_TOKEN = "ghp_readonly0000000000000000000000000000"
APP_READ_TOKEN = "ghs_appreadonly00000000000000000000000000"
ACTIONS_TOKEN = "ghs_actionstoken0000000000000000000000000"
STRANGER_TOKEN = "ghp_stranger00000000000000000000000000000"
#: Requests that change something on GitHub.
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@dataclass(frozen=True)
class MirrorDocs:
    """Results documents of real mirror-ami runs of one release (9.6.20250522)."""

    x86: Path  # the x86_64 job: its AMI in us-east-1, eu-west-1, us-west-2
    arm: Path  # the aarch64 job, same regions
    both: Path  # one job with both AMIs (AlmaLinux's copy workflow)
    both_csv: Path  # what that job wrote with csv-output / md-output
    both_md: Path
    more: Path  # both AMIs again, one region more (ap-southeast-2): new data
    more_csv: Path
    more_md: Path
    x86_ami: str
    arm_ami: str


def run_mirror(env: dict[str, str], results: Path, *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "imgpub.cli", "mirror-ami", "--results", str(results), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def seed_github(fake: FakeGithub) -> FakeGithub:
    fake.add_repo(
        REPO,
        default_branch="master",
        files={"README.md": "# AlmaLinux wiki\n", MD_PATH: "old table\n"},
        collaborators=["cloud-sig", "alice"],
        teams=["cloud"],
    )
    fake.add_repo("almalinux/private-docs", private=True)
    fake.add_token(TOKEN, "almalinuxautobot")
    fake.add_token(READ_TOKEN, "reader", access="read")
    fake.add_token(APP_READ_TOKEN, "imgpub-app[bot]", access="read", kind="app")
    fake.add_token(ACTIONS_TOKEN, "github-actions[bot]", kind="actions")
    fake.add_token(STRANGER_TOKEN, "stranger", repos={"someone/else": "write"})
    return fake


def writes(fake: FakeGithub) -> list[tuple[str, str]]:
    """Every request that writes, as (method, operation), in order."""
    return [(r.method, r.operation or r.path) for r in fake.log.all() if r.method in WRITES]


@dataclass
class StageRun:
    code: int
    out: str
    doc: dict

    @property
    def section(self) -> dict:
        return self.doc["stages"]["wiki-pr"]

    @property
    def outputs(self) -> dict[str, str]:
        return self.section["outputs"]

    def target(self, kind: str) -> dict:
        return next(t for t in self.section["targets"] if t["kind"] == kind)


def wiki_pr(
    fake: FakeGithub,
    results: Path,
    *,
    token: str = TOKEN,
    env: dict[str, str] | None = None,
    **flags: str,
) -> StageRun:
    """Run the wiki-pr stage in this process, as the CLI does, and read back its document."""
    from imgpub.stages import wiki_pr as module

    environment = {"GITHUB_API_URL": fake.api_url, "GITHUB_TOKEN": token, **(env or {})}
    buf = io.StringIO()
    given = {"repository": REPO, "results": str(results), **flags}
    code = run_stage(
        module,
        flags={k.replace("_", "-"): v for k, v in given.items()},
        env=environment,
        gha=Gha(environment, stdout=buf, stderr=buf),
    )
    doc = json.loads(results.read_text("utf-8")) if results.exists() else {}
    return StageRun(code, buf.getvalue(), doc)


def copy_doc(source: Path, target: Path) -> Path:
    target.write_text(source.read_text("utf-8"), "utf-8")
    return target


def cli_env(fake: FakeGithub, token: str = TOKEN) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GITHUB_API_URL": fake.api_url,
        "GITHUB_TOKEN": token,
    }
