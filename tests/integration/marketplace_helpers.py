"""A release in the sandbox for marketplace-changeset: AMIs in us-east-1, the ingestion role,
AlmaLinux's products in the fake catalog, and the stage run as users run it (a process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3

from imgpub.sandbox.catalog_assets import ingestion_trust_policy
from imgpub.sandbox.catalog_entities import sandbox_seed
from imgpub.sandbox.fake_client import FakeClient
from tests.integration.mirror_helpers import release_sources

DEV_PRODUCT = "prod-t4oyq2p42jn2u"
PRODUCT_9_X86 = "3c74c2ba-21a2-4dc1-a65d-fd0ee7d79900"
PRODUCT_9_ARM = "2d219cc1-aa44-4a1e-b6fe-258d4ebd3cdb"
MUTATING = ("StartChangeSet", "CancelChangeSet", "TagResource", "UntagResource")


def access_role(name: str = "mp-ingestion", trusted: bool = True) -> str:
    """An IAM role in the local AWS that AWS Marketplace may (or may not) assume."""
    policy = ingestion_trust_policy() if trusted else ingestion_trust_policy("ec2.amazonaws.com")
    iam = boto3.client("iam", region_name="us-east-1")
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy))["Role"][
        "Arn"
    ]


def release(catalog: FakeClient) -> tuple[str, str, str]:
    """(x86_64 AMI, aarch64 AMI, role ARN) with AlmaLinux's products in the catalog."""
    catalog.seed(sandbox_seed())
    x86, arm = release_sources()
    return x86, arm, access_role()


def mutating_calls(catalog: FakeClient) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in catalog.log.all():
        if request.operation in MUTATING:
            counts[request.operation] = counts.get(request.operation, 0) + 1
    return counts


def started(catalog: FakeClient) -> int:
    return mutating_calls(catalog).get("StartChangeSet", 0)


def versions(catalog: FakeClient, product: str) -> list[str]:
    return [v["VersionTitle"] for v in catalog.call("entity", product_id=product)["Versions"]]


def imgpub(tmp_path: Path, *args: str, wait: bool = True, results: str = "r.json"):
    argv = [
        sys.executable, "-m", "imgpub.cli", "marketplace-changeset",
        "--results", str(tmp_path / results), *args,
    ]  # fmt: skip
    if not wait:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def section(tmp_path: Path, results: str = "r.json") -> dict:
    return json.loads((tmp_path / results).read_text())["stages"]["marketplace-changeset"]


def by_kind(sec: dict, kind: str) -> list[dict]:
    return [t for t in sec["targets"] if t["kind"] == kind]
