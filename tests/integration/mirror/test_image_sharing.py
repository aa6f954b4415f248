"""imgpub.aws.image_sharing against the local EC2: what build-ami will call for its one AMI.

mirror-ami uses the same ImageSharer batch-wise in every region (the engine tests); here
it shares one image with accounts, an organization and everyone, reads it all back, does
nothing the second time, and refuses a pending image without changing it.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from imgpub.aws import ec2_images as ec2x
from imgpub.aws.errors import error_code
from imgpub.aws.image_sharing import ImageSharer, ShareAudience

from .conftest import SOURCE_REGION, Aws

ACCOUNTS = ("111122223333", "444455556666")
ORG = "arn:aws:organizations::123456789012:organization/o-abcdefghij"


def record(aws: Aws, image_id: str, region: str = SOURCE_REGION) -> ec2x.ImageRecord:
    return ec2x.images_by_id(aws.ec2(region), region, [image_id], own=False)[0]


def writes(aws: Aws) -> dict[str, int]:
    calls = aws.counter.by_operation("ec2")
    return {op: n for op, n in calls.items() if op.startswith(("Modify", "Create"))}


def test_share_one_image_with_accounts_and_an_organization_then_nothing_twice(aws: Aws) -> None:
    image_id = aws.make_source("AlmaLinux OS 9.7.20260518 x86_64", "x86_64")
    image = record(aws, image_id)
    assert image.snapshot_ids
    audience = ShareAudience(accounts=ACCOUNTS, organizations=(ORG,))
    ec2 = aws.factory().ec2(SOURCE_REGION)

    outcome = ImageSharer(ec2, audience, retry_seconds=0.1).share(image, fresh=True)
    assert outcome.ok, outcome.problems
    assert outcome.launch_added and outcome.snapshots_shared == image.snapshot_ids
    perms = aws.ec2().describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    have = perms["LaunchPermissions"]
    assert {"UserId": ACCOUNTS[0]} in have and {"OrganizationArn": ORG} in have
    for snap in image.snapshot_ids:
        attr = aws.ec2().describe_snapshot_attribute(
            SnapshotId=snap, Attribute="createVolumePermission"
        )
        assert {"UserId": ACCOUNTS[1]} in attr["CreateVolumePermissions"]
    assert writes(aws) == {"ModifyImageAttribute": 1, "ModifySnapshotAttribute": 1}

    aws.counter.calls.clear()
    again = ImageSharer(ec2, audience, retry_seconds=0.1).share(record(aws, image_id))
    assert again.ok and not again.launch_added and again.snapshots_shared == ()
    assert writes(aws) == {}, "a second share reads and changes nothing"


def test_public_share_is_read_back_from_describe_images(aws: Aws) -> None:
    image_id = aws.make_source("AlmaLinux OS 9.7.20260518 aarch64", "aarch64")
    sharer = ImageSharer(aws.factory().ec2(SOURCE_REGION), ShareAudience(public=True))
    before = record(aws, image_id)
    assert sharer.launch_problem(before, read_private=False) == (
        f"{image_id} is not public after ModifyImageAttribute"
    )
    outcome = sharer.share(before)
    assert outcome.ok, outcome.problems
    assert record(aws, image_id).public
    snaps = sharer.snapshot_users(before.snapshot_ids)
    assert all(users == {"all"} for users in snaps.values())


def test_a_pending_image_is_refused_and_left_unchanged(aws: Aws, ec2_control: Any) -> None:
    source = aws.make_source("AlmaLinux OS 9.7.20260518 x86_64", "x86_64")
    ec2_control.configure(copy_pending_seconds=30)
    copy_id = aws.ec2("eu-west-1").copy_image(
        SourceImageId=source, SourceRegion=SOURCE_REGION, Name="a pending copy"
    )["ImageId"]
    pending = record(aws, copy_id, "eu-west-1")
    assert pending.state == "pending"
    sharer = ImageSharer(aws.factory().ec2("eu-west-1"), ShareAudience(accounts=ACCOUNTS))
    with pytest.raises(ClientError) as err:
        sharer.share(pending, fresh=True)
    assert error_code(err.value) == ec2x.IMAGE_UNAVAILABLE
    perms = aws.ec2("eu-west-1").describe_image_attribute(
        ImageId=copy_id, Attribute="launchPermission"
    )
    assert perms["LaunchPermissions"] == []
    assert sharer.launch_problem(pending, read_private=True) == (
        f"{copy_id} is not shared with {', '.join(ACCOUNTS)}"
    )
