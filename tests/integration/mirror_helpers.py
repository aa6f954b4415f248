"""Source AMIs in the local EC2, tagged like an AlmaLinux release, for stage-level tests."""

from __future__ import annotations

import boto3

from imgpub.sandbox.seed import register_release_ami

MUTATING_PREFIXES = ("Copy", "Create", "Modify", "Register", "Enable", "Disable", "Delete", "Put")


def make_source(region: str, name: str, version: str, arch: str) -> str:
    return register_release_ami(boto3.client("ec2", region_name=region), name, version, arch)


def release_sources(region: str = "us-east-1") -> tuple[str, str]:
    """The x86_64 and aarch64 builds of one release, as the AlmaLinux copy workflow has."""
    return (
        make_source(region, "AlmaLinux OS 9.6.20250522 x86_64", "9.6.20250522", "x86_64"),
        make_source(region, "AlmaLinux OS 9.6.20250522 aarch64", "9.6.20250522", "aarch64"),
    )


def images_by_source(region: str) -> dict[str, list[str]]:
    """Every imgpub copy in ``region``, grouped by its SourceAMI tag (duplicates show up)."""
    ec2 = boto3.client("ec2", region_name=region)
    out: dict[str, list[str]] = {}
    for image in ec2.describe_images(Owners=["self"])["Images"]:
        tags = {t["Key"]: t["Value"] for t in image.get("Tags", [])}
        if "SourceAMI" in tags:
            out.setdefault(tags["SourceAMI"], []).append(image["ImageId"])
    return out


def mutating_calls(stats) -> dict[tuple[str, str], int]:
    """EC2 calls that change something, by (action, region)."""
    return {k: v for k, v in stats.calls.items() if k[0].startswith(MUTATING_PREFIXES)}


def calls_that_may_change(stats) -> dict[tuple[str, str], int]:
    """Mutating EC2 calls, and every SSM request (counted as ``("ssm", "*")``).

    The local EC2 counts other services by service only. mirror-ami makes no SSM call
    before apply (its SSM reads and writes are both in apply), so before apply any SSM
    request at all is one too many: this is the check for "exit 2 changed nothing".
    """
    found = mutating_calls(stats)
    if stats.other_services.get("ssm"):
        found[("ssm", "*")] = stats.other_services["ssm"]
    return found
