"""marketplace-changeset as users run it (the CLI, a process) against the sandbox: moto's EC2
and IAM, and the fake Marketplace Catalog reached through AWS_ENDPOINT_URL_MARKETPLACE_CATALOG.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.integration.marketplace_helpers import (
    DEV_PRODUCT,
    PRODUCT_9_ARM,
    PRODUCT_9_X86,
    by_kind,
    imgpub,
    mutating_calls,
    release,
    section,
    started,
    versions,
)


def test_both_architectures_to_their_public_products_then_a_rerun_starts_nothing(
    tmp_path, catalog, ec2_control
):
    x86, arm, role = release(catalog)
    args = ["--ami-id", f"{x86},{arm}", "--public-product", "true", "--access-role-arn", role]
    first = imgpub(tmp_path, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    sec = section(tmp_path)
    assert sec["status"] == "success"
    change_sets = json.loads(sec["outputs"]["change-sets"])
    assert {(c["ami"], c["product_id"], c["state"], c["status"]) for c in change_sets} == {
        (x86, PRODUCT_9_X86, "succeeded", "SUCCEEDED"),
        (arm, PRODUCT_9_ARM, "succeeded", "SUCCEEDED"),
    }
    assert all(c["change_set_arn"].endswith(c["change_set_id"]) for c in change_sets)
    assert "9.6.20250522" in versions(catalog, PRODUCT_9_X86)
    assert "9.6.20250522" in versions(catalog, PRODUCT_9_ARM)
    assert started(catalog) == 2
    requests = {c["change_set_id"]: c for c in change_sets}
    for target in by_kind(sec, "marketplace-change-set"):
        assert target["state"] == "created" and target["resource_id"] in requests
        assert target["details"]["url"].endswith("/requests/" + target["resource_id"])

    catalog.log.clear()
    ec2_control.reset_stats()
    second = imgpub(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert mutating_calls(catalog) == {}
    assert {t["state"] for t in by_kind(section(tmp_path), "marketplace-version")} == {"existed"}
    assert not [k for k in ec2_control.stats().calls if not k[0].startswith("Describe")]


def test_the_dev_product_takes_both_chained_from_mirror_amis_results(tmp_path, catalog):
    x86, arm, role = release(catalog)
    mirror = subprocess.run(
        [sys.executable, "-m", "imgpub.cli", "mirror-ami", "--results", str(tmp_path / "r.json"),
         "--source-ami", f"{x86},{arm}", "--regions", "us-east-2"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert mirror.returncode == 0, mirror.stdout + mirror.stderr
    proc = imgpub(tmp_path, "--access-role-arn", role)  # ami-id empty: from mirror-ami
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(mirror-ami)" in proc.stdout
    assert {"9.6.20250522 x86_64", "9.6.20250522 arm64"} <= set(versions(catalog, DEV_PRODUCT))
    sec = section(tmp_path)
    titles = {
        t["source"]: t["details"]["version_title"] for t in by_kind(sec, "marketplace-version")
    }
    assert titles == {x86: "9.6.20250522 x86_64", arm: "9.6.20250522 arm64"}
    # the instance type: the dev product's newest x86_64 version recommends t3.medium; it
    # has no arm64 version, so arm64 gets the default
    entity = catalog.call("entity", product_id=DEV_PRODUCT)
    recommended = {
        v["VersionTitle"]: v["DeliveryOptions"][0]["Recommendations"]["InstanceType"]
        for v in entity["Versions"]
    }
    assert recommended["9.6.20250522 x86_64"] == "t3.medium"
    assert recommended["9.6.20250522 arm64"] == "t4g.small"
    summary = proc.stdout
    assert "marketplace-changeset: done" in summary
    for cs in json.loads(sec["outputs"]["change-sets"]):
        assert f"https://aws.amazon.com/marketplace/management/requests/{cs['change_set_id']}" in (
            summary
        )


def test_dry_run_renders_validates_and_changes_nothing(tmp_path, catalog):
    x86, arm, _ = release(catalog)
    proc = imgpub(
        tmp_path,
        "--ami-id", f"{x86}\n{arm}",
        "--access-role-arn", "arn:aws:iam::123456789012:role/not-created",
        "--keep-versions", "1",
        "--dry-run", "true",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert '"AmiId": "' + x86 + '"' in out and '"VersionTitle": "9.6.20250522 arm64"' in out
    assert "restrict 1 versions beyond the newest 1" in out and "0.1.20240101 x86_64" in out
    assert "validated by the Catalog API" in out and "ASSET_ACCESS_EXCEPTION" in out
    calls = [r for r in catalog.log.all() if r.operation == "StartChangeSet"]
    assert len(calls) == 2 and all(r.body["Intent"] == "VALIDATE" for r in calls)
    # a validation never carries the real run's token (boto3 fills in a random one)
    assert not any(r.body["ClientRequestToken"].startswith("imgpub-") for r in calls)
    assert versions(catalog, DEV_PRODUCT) == ["0.1.20240101 x86_64"]
    sec = section(tmp_path)
    assert sec["status"] == "planned" and sec["data"]["validated"] is True
    failed = [t for t in by_kind(sec, "marketplace-version") if t["state"] == "failed"]
    assert len(failed) == 2 and all("ASSET_ACCESS_EXCEPTION" in t["error"] for t in failed)
    assert all("access-role-arn" in t["remedy"] for t in failed)
    assert [t["state"] for t in by_kind(sec, "marketplace-restriction")] == ["planned"]


def test_keep_versions_restricts_exactly_the_older_offered_versions(tmp_path, catalog):
    x86, _, role = release(catalog)
    old = [
        ("9.2.20230601", "2023-06-01T00:00:00Z", "Public"),
        ("9.3.20231201", "2023-12-01T00:00:00Z", "Public"),
        ("9.1.20221201", "2022-12-01T00:00:00Z", "Restricted"),
        ("9.4.20240601", "2024-06-01T00:00:00Z", "Public"),
        ("9.5.20241201", "2024-12-01T00:00:00Z", "Public"),
    ]
    catalog.call(
        "add_product",
        product_id=PRODUCT_9_X86,
        title="AlmaLinux OS 9 (x86_64)",
        instance_types=["t3.small", "t3.medium"],
        versions=[
            {"title": t, "ami_id": "ami-00000000000000002", "created": c, "visibility": v}
            for t, c, v in old
        ],
    )
    args = ["--ami-id", x86, "--public-product", "true", "--access-role-arn", role]
    proc = imgpub(tmp_path, *args, "--keep-versions", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    entity = catalog.call("entity", product_id=PRODUCT_9_X86)
    seen = {v["VersionTitle"]: v["DeliveryOptions"][0]["Visibility"] for v in entity["Versions"]}
    assert seen == {
        "9.6.20250522": "Public",
        "9.5.20241201": "Public",
        "9.4.20240601": "Restricted",
        "9.3.20231201": "Restricted",
        "9.2.20230601": "Restricted",
        "9.1.20221201": "Restricted",  # it already was; nothing is ever deleted
    }
    [restriction] = by_kind(section(tmp_path), "marketplace-restriction")
    assert restriction["state"] == "created"
    assert [v["title"] for v in restriction["details"]["versions"]] == [
        "9.4.20240601",
        "9.3.20231201",
        "9.2.20230601",
    ]
    catalog.log.clear()
    again = imgpub(tmp_path, *args, "--keep-versions", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert mutating_calls(catalog) == {}
    assert [t["state"] for t in by_kind(section(tmp_path), "marketplace-restriction")] == [
        "existed"
    ]
