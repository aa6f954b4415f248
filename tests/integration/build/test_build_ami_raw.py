"""build-ami from a raw disk, against the local EC2 and its EBS (real boto3 all the way).

What is proven here: the snapshot read back block by block equals the image; only data
blocks travel; RegisterImage carries every attribute asked for; a re-run changes nothing;
failures after the first change, a SIGKILL mid-upload and a cancel each leave a state the
re-run finishes with exactly one AMI and one snapshot.
"""

from __future__ import annotations

import json
import signal
import time

import boto3
import pytest

from imgpub.sandbox.fake_client import FakeClient
from tests.integration.build_helpers import (
    AMI_NAME,
    ami_target,
    build,
    build_process,
    changes,
    data_blocks_of,
    ebs_changes,
    make_image,
    own_images,
    snapshot_blocks,
    snapshots_of_image,
    xz_of,
)


def start_slow_upload(tmp_path, image, ebs):
    """build-ami as a process, once its upload is under way (blocks slowed to 0.4 s each)."""
    ebs.faults.delay("PutSnapshotBlock", seconds=0.4)
    proc = build_process(tmp_path, "--image", str(image), "--upload-concurrency", "1")
    deadline = time.monotonic() + 60
    while ebs.log.count("PutSnapshotBlock") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "xz"])
def test_sparse_image_becomes_an_ami_whose_snapshot_equals_the_image(
    tmp_path, aws_endpoint, ec2_control, compressed
):
    raw = make_image(tmp_path)
    expected = data_blocks_of(raw)
    image = xz_of(raw) if compressed else raw
    code, section, log = build(tmp_path, image=str(image))
    assert code == 0, log
    ami = ami_target(section)
    assert ami["state"] == "created" and ami["resource_id"].startswith("ami-")
    snapshot = ami["details"]["snapshot_id"]
    assert snapshot_blocks(snapshot) == expected
    puts = FakeClient(aws_endpoint).log.count("PutSnapshotBlock")
    assert puts == len(expected) < 24 * 2  # data blocks only: no hole, no zero block
    upload = section["data"]["upload"]
    assert upload["blocks_sent"] == len(expected) and upload["zero_blocks_skipped"] >= 1
    assert ami["details"]["architecture"] == "x86_64" and ami["details"]["name"] == AMI_NAME
    assert section["outputs"]["ami-id"] == ami["resource_id"]
    assert section["outputs"]["snapshot-id"] == snapshot


def test_register_image_carries_every_attribute(tmp_path, aws_endpoint, ec2_control):
    image = make_image(tmp_path, name="AlmaLinux-9-GenericCloud-9.6-20250522.0.aarch64.raw")
    code, section, log = build(
        tmp_path,
        image=str(image),
        boot_mode="uefi",
        tpm_support="true",
        billing_products="bp-6ba54002",
        volume_size="4",
        tags="Team=cloud sig\nRelease=9.6",
        description="AlmaLinux OS {release} {arch} by imgpub",
    )
    assert code == 0, log
    ami_id = ami_target(section)["resource_id"]
    kept = ec2_control.registration(ami_id)
    assert kept["Name"] == "AlmaLinux OS 9.6.20250522 aarch64"
    assert kept["Architecture"] == "arm64" and kept["VirtualizationType"] == "hvm"
    assert kept["BootMode"] == "uefi" and kept["TpmSupport"] == "v2.0"
    assert kept["ImdsSupport"] == "v2.0" and kept["EnaSupport"] is True
    assert kept["SriovNetSupport"] == ""  # SR-IOV (Intel VF) is x86_64 only
    assert kept["BillingProducts"] == ["bp-6ba54002"]
    assert kept["Description"] == "AlmaLinux OS 9.6 aarch64 by imgpub"
    (mapping,) = kept["BlockDeviceMappings"]
    assert mapping["DeviceName"] == kept["RootDeviceName"] == "/dev/sda1"
    assert mapping["Ebs"]["VolumeType"] == "gp3" and mapping["Ebs"]["VolumeSize"] == 4
    assert mapping["Ebs"]["Iops"] == 3000 and mapping["Ebs"]["Throughput"] == 125
    assert kept["Tags"]["Version"] == "9.6.20250522" and kept["Tags"]["Architecture"] == "aarch64"
    assert kept["Tags"]["Team"] == "cloud sig" and kept["Tags"]["ManagedBy"] == "imgpub"
    described = boto3.client("ec2").describe_images(ImageIds=[ami_id])["Images"][0]
    assert described["BootMode"] == "uefi" and described["TpmSupport"] == "v2.0"
    assert described["RootDeviceType"] == "ebs"
    assert described["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"] == mapping["Ebs"]["SnapshotId"]
    snap = boto3.client("ec2").describe_snapshots(SnapshotIds=[mapping["Ebs"]["SnapshotId"]])
    snap_tags = {t["Key"]: t["Value"] for t in snap["Snapshots"][0]["Tags"]}
    assert snap_tags["SourceImage"] == image.name and snap_tags["Release"] == "9.6"


def test_rerun_uploads_nothing_and_changes_nothing(tmp_path, aws_endpoint, ec2_control):
    image = make_image(tmp_path)
    args = {"image": str(image), "share_accounts": "111122223333"}
    assert build(tmp_path, **args)[0] == 0
    ec2_control.reset_stats()
    FakeClient(aws_endpoint).log.clear()
    code, section, log = build(tmp_path, **args)
    assert code == 0, log
    assert ami_target(section)["state"] == "existed"
    assert changes(ec2_control, aws_endpoint) == {}
    assert len(own_images()) == 1 and len(snapshots_of_image()) == 1


def test_completed_snapshot_of_the_same_image_is_reused(tmp_path, aws_endpoint, ec2_control):
    """The AMI was deregistered (or never registered): its snapshot is registered again."""
    image = make_image(tmp_path)
    code, section, _ = build(tmp_path, image=str(image))
    first = ami_target(section)
    boto3.client("ec2").deregister_image(ImageId=first["resource_id"])
    FakeClient(aws_endpoint).log.clear()
    code, section, log = build(tmp_path, image=str(image))
    assert code == 0, log
    again = ami_target(section)
    assert again["details"]["snapshot_id"] == first["details"]["snapshot_id"]
    assert ebs_changes(aws_endpoint) == []


def test_a_failed_block_then_a_rerun_finishes_with_one_snapshot(
    tmp_path, aws_endpoint, ec2_control
):
    image = make_image(tmp_path)
    ebs = FakeClient(aws_endpoint)
    ebs.faults.fail("PutSnapshotBlock", status=403, code="AccessDeniedException", times=1)
    code, section, log = build(tmp_path, image=str(image), upload_concurrency="1")
    assert code == 1, log
    ami = ami_target(section)
    assert ami["state"] == "failed" and "AccessDenied" in ami["error"]
    assert "ebs:PutSnapshotBlock" in ami["remedy"]
    assert own_images() == [] and len(snapshots_of_image()) == 1  # pending, kept to resume
    code, section, log = build(tmp_path, image=str(image))
    assert code == 0, log
    assert "resumed" in section["data"]["upload"]["note"]
    assert len(own_images()) == 1 and len(snapshots_of_image()) == 1


def test_sigkill_mid_upload_then_rerun_leaves_one_ami_and_one_snapshot(
    tmp_path, aws_endpoint, ec2_control
):
    image = make_image(tmp_path, size_mib=40)
    ebs = FakeClient(aws_endpoint)
    proc = start_slow_upload(tmp_path, image, ebs)
    proc.kill()
    proc.wait(timeout=30)
    ebs.faults.clear()
    assert own_images() == [] and len(snapshots_of_image()) == 1
    code, section, log = build(tmp_path, image=str(image))
    assert code == 0, log
    assert "resumed" in section["data"]["upload"]["note"]
    images, snapshots = own_images(), snapshots_of_image()
    assert len(images) == 1 and len(snapshots) == 1
    assert snapshot_blocks(snapshots[0]["SnapshotId"]) == data_blocks_of(image)


def test_a_snapshot_ebs_timed_out_is_replaced_and_deleted(tmp_path, aws_endpoint, ec2_control):
    image = make_image(tmp_path)
    ebs = FakeClient(aws_endpoint)
    ebs.faults.fail("CompleteSnapshot", status=403, code="AccessDeniedException", times=1)
    assert build(tmp_path, image=str(image))[0] == 1
    (abandoned,) = [s["SnapshotId"] for s in snapshots_of_image()]
    assert ebs.call("expire", snapshot_id=abandoned) == "error"
    code, section, log = build(tmp_path, image=str(image))
    assert code == 0, log
    upload = section["data"]["upload"]
    assert "started over" in upload["note"] and upload["deleted_snapshots"] == [abandoned]
    (left,) = snapshots_of_image()
    assert left["SnapshotId"] != abandoned and len(own_images()) == 1


def test_sigterm_mid_upload_writes_results_and_rerun_resumes(tmp_path, aws_endpoint, ec2_control):
    image = make_image(tmp_path, size_mib=40)
    ebs = FakeClient(aws_endpoint)
    proc = start_slow_upload(tmp_path, image, ebs)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    section = json.loads((tmp_path / "r.json").read_text())["stages"]["build-ami"]
    ami = ami_target(section)
    assert ami["state"] == "cancelled" and "re-run" in ami["remedy"]
    assert section["data"]["upload"]["state"] == "cancelled"
    ebs.faults.clear()
    code, section, log = build(tmp_path, image=str(image))
    assert code == 0, log
    assert len(own_images()) == 1 and len(snapshots_of_image()) == 1
