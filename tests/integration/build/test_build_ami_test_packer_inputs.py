"""build-ami's boot test, its Packer way and its bad inputs, against the local EC2/EBS."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest

from imgpub.sandbox.fake_client import FakeClient
from tests.integration.build_helpers import ami_target, build, changes, make_image, own_images

PACKER_DIR = Path(__file__).resolve().parents[3] / "packer"
needs_packer = pytest.mark.skipif(
    __import__("shutil").which("packer") is None, reason="packer is not installed"
)


def instance_states() -> dict[str, str]:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    return {
        i["InstanceId"]: i["State"]["Name"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
    }


def ami_tags(ami_id: str) -> dict[str, str]:
    image = boto3.client("ec2").describe_images(ImageIds=[ami_id])["Images"][0]
    return {t["Key"]: t["Value"] for t in image.get("Tags", [])}


@pytest.mark.parametrize(
    ("outcome", "code", "result"),
    [("pass", 0, "passed"), ("fail", 1, "failed"), ("silent", 1, "timed-out")],
)
def test_boot_test_always_terminates_the_instance(
    tmp_path, aws_endpoint, ec2_control, outcome, code, result
):
    ec2_control.configure(boot_test_outcome=outcome)
    packages = tmp_path / "packages.txt"
    got, section, log = build(
        tmp_path,
        image=str(make_image(tmp_path)),
        test="true",
        test_timeout="6s",
        package_list=str(packages),
    )
    assert got == code, log
    assert section["outputs"]["test-result"] == result
    test = next(t for t in section["targets"] if t["kind"] == "boot-test")
    assert test["details"]["terminated"] is True
    states = instance_states()
    assert list(states) == [test["resource_id"]]
    assert states[test["resource_id"]] in ("shutting-down", "terminated")
    ami = ami_target(section)
    if outcome == "pass":
        assert ami["state"] == "created" and ami_tags(ami["resource_id"])["imgpub:test"] == "passed"
        assert "dnf" in packages.read_text().split()
    else:
        assert ami["state"] == "failed" and test["state"] == "failed"
        assert ami_tags(ami["resource_id"]).get("imgpub:test") == (
            "failed" if outcome == "fail" else None
        )
        image = boto3.client("ec2").describe_images(ImageIds=[ami["resource_id"]])["Images"][0]
        assert image["Public"] is False


def test_a_passed_test_is_not_repeated(tmp_path, aws_endpoint, ec2_control):
    image = make_image(tmp_path)
    assert build(tmp_path, image=str(image), test="true")[0] == 0
    ec2_control.reset_stats()
    FakeClient(aws_endpoint).log.clear()
    code, section, log = build(tmp_path, image=str(image), test="true")
    assert code == 0, log
    assert section["outputs"]["test-result"] == "passed"
    assert ec2_control.stats().count("RunInstances") == 0
    assert changes(ec2_control, aws_endpoint) == {}


def _base_amis(names_and_arch):
    """Base AMIs as AlmaLinux publishes them: EBS-backed, one second apart (CreationDate)."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ebs = boto3.client("ebs", region_name="us-east-1")
    ids = []
    for name, arch in names_and_arch:
        snap = ebs.start_snapshot(VolumeSize=1, Timeout=60)["SnapshotId"]
        ebs.complete_snapshot(SnapshotId=snap, ChangedBlocksCount=0)
        ids.append(
            ec2.register_image(
                Name=name,
                Architecture=arch,
                VirtualizationType="hvm",
                RootDeviceName="/dev/sda1",
                BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snap}}],
            )["ImageId"]
        )
        time.sleep(1.05)
    return ids


def test_source_ami_lookup_picks_the_newest_match(tmp_path, aws_endpoint, ec2_control):
    older, newer, _other = _base_amis(
        [
            ("AlmaLinux OS 9.5.20241120 x86_64", "x86_64"),
            ("AlmaLinux OS 9.6.20250522 x86_64", "x86_64"),
            ("AlmaLinux OS 9.6.20250522 aarch64", "arm64"),
        ]
    )
    code, section, log = (
        build(
            tmp_path,
            packer_template=str(PACKER_DIR / "almalinux-ebssurrogate.pkr.hcl"),
            source_ami_name="AlmaLinux OS 9*x86_64",
            version="9.6.20250601",
            dry_run="true",
        )
        if __import__("shutil").which("packer")
        else (None, None, None)
    )
    if code is None:
        pytest.skip("packer is not installed")
    assert code == 0, log
    assert f"base AMI: {newer}" in "\n".join(section["data"]["plan"])
    assert older not in "\n".join(section["data"]["plan"])
    code, section, log = build(
        tmp_path,
        packer_template=str(PACKER_DIR / "almalinux-ebssurrogate.pkr.hcl"),
        source_ami_name="AlmaLinux OS 8*",
    )
    assert code == 2 and "AlmaLinux OS 8*" in log and "source-ami-name" in log


@needs_packer
def test_packer_builds_against_the_local_ec2_and_rerun_finds_the_ami(
    tmp_path, aws_endpoint, ec2_control
):
    (base,) = _base_amis([("AlmaLinux OS 9.5.20241120 x86_64", "x86_64")])
    log_path = tmp_path / "packer.log"
    args = {
        "packer_template": str(PACKER_DIR / "almalinux-ebssurrogate.pkr.hcl"),
        "source_ami_name": "AlmaLinux OS 9*x86_64",
        "version": "9.6.20250522",
        "packer_vars": f"communicator=none\n{PACKER_DIR / 'almalinux-9-x86_64.pkrvars.hcl'}",
        "log_path": str(log_path),
        "test": "true",
    }
    code, section, log = build(tmp_path, **args)
    assert code == 0, log
    ami = ami_target(section)
    assert ami["state"] == "created" and ami["source"] == base
    assert section["outputs"]["ami-name"] == "AlmaLinux OS 9.6.20250522 x86_64"
    assert section["outputs"]["test-result"] == "passed"
    assert "artifact,0,id,us-east-1:" + ami["resource_id"] in log_path.read_text()
    assert "Builds finished" in log  # Packer's own text was streamed into the log
    ec2_control.reset_stats()
    code, section, log = build(tmp_path, **args)
    assert code == 0, log
    assert ami_target(section)["state"] == "existed"
    assert ec2_control.stats().count("RunInstances") == 0


def bad_inputs(tmp_path: Path) -> list[tuple[dict[str, str], str]]:
    image = str(make_image(tmp_path))
    empty = tmp_path / "AlmaLinux-9-GenericCloud-9.6-20250522.0.x86_64.empty.raw"
    empty.write_bytes(b"")
    gz = tmp_path / "AlmaLinux-9-GenericCloud-9.6-20250522.0.x86_64.raw.gz"
    gz.write_bytes(__import__("gzip").compress(b"x" * 4096))
    return [
        ({}, "image"),
        ({"image": image, "packer_template": str(PACKER_DIR)}, "image"),
        ({"image": str(tmp_path / "missing.raw")}, "image"),
        ({"image": str(empty)}, "image"),
        ({"image": str(gz)}, "volume-size"),
        ({"image": image, "volume_size": "0"}, "volume-size"),
        ({"image": image, "architecture": "sparc"}, "architecture"),
        ({"image": image, "boot_mode": "bios"}, "boot-mode"),
        ({"image": image, "boot_mode": "legacy-bios", "tpm_support": "true"}, "tpm-support"),
        ({"image": image, "volume_type": "gp9"}, "volume-type"),
        ({"image": image, "ami_name": "bad*name {version}"}, "ami-name"),
        ({"image": image, "ami_name": "AlmaLinux {nope}"}, "ami-name"),
        ({"image": image, "billing_products": "billing-1"}, "billing-products"),
        ({"image": image, "share_accounts": "12345"}, "share-accounts"),
        ({"image": image, "tags": "Name=mine"}, "tags"),
        ({"image": image, "region": "moon-1"}, "region"),
        ({"image": image, "test": "true", "test_timeout": "2s"}, "test-timeout"),
        ({"image": image, "upload_concurrency": "500"}, "upload-concurrency"),
        ({"image": image, "package_list": str(tmp_path)}, "package-list"),
        ({"packer_template": str(PACKER_DIR)}, "source-ami-name"),
    ]


def test_bad_inputs_exit_2_with_nothing_changed(tmp_path, aws_endpoint, ec2_control):
    cases = bad_inputs(tmp_path)
    assert len(cases) >= 8
    for flags, named in cases:
        code, section, log = build(tmp_path, **flags)
        assert code == 2, (flags, log)
        assert f"'{named}'" in log, (flags, log)
        assert section == {}  # nothing saved: exit 2 never replaces a good document
    assert changes(ec2_control, aws_endpoint) == {}
    assert FakeClient(aws_endpoint).log.all() == []


def test_an_ami_name_taken_by_another_image_is_exit_2(tmp_path, aws_endpoint, ec2_control):
    first = make_image(tmp_path / "a" if (tmp_path / "a").mkdir() is None else tmp_path)
    assert build(tmp_path, image=str(first))[0] == 0
    other = make_image(tmp_path, seed=2)  # same name, other content
    ec2_control.reset_stats()
    FakeClient(aws_endpoint).log.clear()
    code, _, log = build(tmp_path / "a", image=str(other))
    assert code == 2 and "made from another image" in log
    assert changes(ec2_control, aws_endpoint) == {} and len(own_images()) == 1
