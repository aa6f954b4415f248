"""Fixtures of the wiki-pr tests (see tests/integration/wiki_helpers.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest

from imgpub.sandbox.control import Ec2Control
from imgpub.sandbox.fake_github import FakeGithub
from imgpub.sandbox.seed import register_release_ami
from imgpub.sandbox.services import RunningService
from tests.integration.wiki_helpers import MirrorDocs, run_mirror, seed_github


@pytest.fixture(scope="session")
def mirror_docs(
    moto_service: RunningService, tmp_path_factory: pytest.TempPathFactory
) -> MirrorDocs:
    """Results documents of real mirror-ami runs, made once per session."""
    work = tmp_path_factory.mktemp("mirror-docs")
    endpoint = moto_service.info["endpoint"]
    Ec2Control(endpoint).reset()
    env = {**os.environ, **moto_service.env, "AWS_CONFIG_FILE": "/dev/null"}
    ec2 = boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    x86 = register_release_ami(ec2, "AlmaLinux OS 9.6.20250522 x86_64", "9.6.20250522", "x86_64")
    arm = register_release_ami(ec2, "AlmaLinux OS 9.6.20250522 aarch64", "9.6.20250522", "aarch64")
    regions = "eu-west-1,us-west-2"
    run_mirror(env, work / "x86.json", "--source-ami", x86, "--regions", regions)
    run_mirror(env, work / "arm.json", "--source-ami", arm, "--regions", regions)
    both = ("--source-ami", f"{x86},{arm}")
    tables = ("--csv-output", str(work / "both.csv"), "--md-output", str(work / "both.md"))
    run_mirror(env, work / "both.json", *both, "--regions", regions, *tables)
    more = ("--csv-output", str(work / "more.csv"), "--md-output", str(work / "more.md"))
    run_mirror(env, work / "more.json", *both, "--regions", regions + ",ap-southeast-2", *more)
    return MirrorDocs(
        work / "x86.json",
        work / "arm.json",
        work / "both.json",
        work / "both.csv",
        work / "both.md",
        work / "more.json",
        work / "more.csv",
        work / "more.md",
        x86,
        arm,
    )


@pytest.fixture
def github() -> Iterator[FakeGithub]:
    """A fresh fake GitHub with almalinux/wiki (default branch master) and tokens."""
    with FakeGithub() as fake:
        yield seed_github(fake)
