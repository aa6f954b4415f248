"""Disk images, runs and read-backs for the build-ami tests against the local EC2/EBS."""

from __future__ import annotations

import io
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

from imgpub.aws.ebs import read_snapshot
from imgpub.gha import Gha
from imgpub.sandbox.fake_client import FakeClient
from imgpub.stage import run_stage
from imgpub.stages import STAGES, load_stage
from tests.integration.mirror_helpers import mutating_calls

BLOCK = 512 * 1024
MIB = 1024 * 1024
IMAGE_NAME = "AlmaLinux-9-GenericCloud-9.6-20250522.0.x86_64.raw"
AMI_NAME = "AlmaLinux OS 9.6.20250522 x86_64"
EBS_READS = ("ListSnapshotBlocks", "GetSnapshotBlock")


def make_image(folder: Path, *, size_mib: int = 24, name: str = IMAGE_NAME, seed: int = 1) -> Path:
    """A sparse RAW disk: data extents (one with an all-zero run inside), holes elsewhere."""
    path = folder / name
    rnd = __import__("random").Random(seed)
    with path.open("wb") as fh:
        fh.truncate(size_mib * MIB)
        for offset, length in ((0, 700 * 1024), (3 * MIB + 4096, 300 * 1024), (9 * MIB, 2 * MIB)):
            fh.seek(offset)
            fh.write(rnd.randbytes(length))
        fh.seek(9 * MIB + BLOCK)
        fh.write(bytes(BLOCK))  # a zero block inside a data extent: read, never sent
        fh.seek(size_mib * MIB - 1000)
        fh.write(b"end of disk")
    return path


def xz_of(path: Path) -> Path:
    out = path.with_name(path.name + ".xz")
    out.write_bytes(lzma.compress(path.read_bytes()))
    return out


def data_blocks_of(path: Path) -> dict[int, bytes]:
    """Index → block of every 512 KiB block of the disk holding a non-zero byte."""
    raw = path.read_bytes()
    out = {}
    for index in range(0, -(-len(raw) // BLOCK)):
        block = raw[index * BLOCK : (index + 1) * BLOCK].ljust(BLOCK, b"\0")
        if block.count(0) != BLOCK:
            out[index] = block
    return out


def snapshot_blocks(snapshot_id: str) -> dict[int, bytes]:
    return dict(read_snapshot(boto3.client("ebs", region_name="us-east-1"), snapshot_id))


def build(tmp_path: Path, **flags: str) -> tuple[int, dict[str, Any], str]:
    """Run build-ami in this process; (exit code, its results section, the log)."""
    out = io.StringIO()
    gha = Gha(os.environ, stdout=out, stderr=out)
    given = {
        "results": str(tmp_path / "r.json"),
        **{k.replace("_", "-"): v for k, v in flags.items()},
    }
    code = run_stage(load_stage(STAGES["build-ami"]), flags=given, env=os.environ, gha=gha)
    section: dict[str, Any] = {}
    results = tmp_path / "r.json"
    if results.exists():
        section = json.loads(results.read_text())["stages"].get("build-ami", {})
    return code, section, out.getvalue()


def build_process(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "imgpub.cli", "build-ami", "--results", str(tmp_path / "r.json")]
    return subprocess.Popen(
        [*argv, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def ami_target(section: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in section["targets"] if t["kind"] == "ami")


def ebs_changes(endpoint: str) -> list[str]:
    """EBS requests that change something, as the local EBS logged them."""
    return [
        r.operation or "" for r in FakeClient(endpoint).log.all() if r.operation not in EBS_READS
    ]


def changes(ec2_control: Any, endpoint: str) -> dict[Any, int]:
    """Every mutating call the local EC2 and EBS saw (EBS counted as ("ebs", operation))."""
    found = dict(mutating_calls(ec2_control.stats()))
    for op in ebs_changes(endpoint):
        found[("ebs", op)] = found.get(("ebs", op), 0) + 1
    return found


def own_images(name: str = AMI_NAME) -> list[dict[str, Any]]:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    return ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])[
        "Images"
    ]


def snapshots_of_image() -> list[dict[str, Any]]:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    return ec2.describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": "tag:ManagedBy", "Values": ["imgpub"]}]
    )["Snapshots"]
