"""EC2 calls that making and testing a new AMI needs, each one request, plain values out.

build-ami finds its base AMI, the snapshots an earlier run uploaded (by the identity tag
they were started with), registers the AMI and boots one test instance. Functions take
the client (built per thread by :class:`imgpub.aws.session.ClientFactory`); nothing here
loops over regions or decides anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@dataclass(frozen=True)
class SnapshotInfo:
    """One DescribeSnapshots entry."""

    snapshot_id: str
    state: str  # pending | completed | error | recoverable | recovering
    volume_size: int
    start_time: datetime | None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BaseImage:
    """An AMI found as the base of a Packer build."""

    image_id: str
    name: str
    creation_date: str
    architecture: str
    owner_id: str


def tag_list(tags: Mapping[str, str]) -> list[Any]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def snapshots_tagged(ec2: EC2Client, key: str, value: str) -> list[SnapshotInfo]:
    """The account's snapshots with tag ``key=value``, oldest first."""
    kwargs: dict[str, Any] = {
        "OwnerIds": ["self"],
        "Filters": [{"Name": f"tag:{key}", "Values": [value]}],
    }
    out: list[SnapshotInfo] = []
    while True:
        page = ec2.describe_snapshots(**kwargs)
        for snap in page.get("Snapshots", []):
            out.append(
                SnapshotInfo(
                    snapshot_id=snap["SnapshotId"],
                    state=snap.get("State", ""),
                    volume_size=int(snap.get("VolumeSize", 0)),
                    start_time=snap.get("StartTime"),
                    tags={t["Key"]: t["Value"] for t in snap.get("Tags", [])},
                )
            )
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return sorted(out, key=lambda s: (s.start_time is None, s.start_time or 0, s.snapshot_id))


def snapshot_state(ec2: EC2Client, snapshot_id: str) -> str:
    """``pending``, ``completed``, ``error`` …, or ``missing`` when it no longer exists."""
    page = ec2.describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": "snapshot-id", "Values": [snapshot_id]}]
    )
    found = page.get("Snapshots", [])
    return str(found[0].get("State", "")) if found else "missing"


def delete_snapshot(ec2: EC2Client, snapshot_id: str) -> None:
    ec2.delete_snapshot(SnapshotId=snapshot_id)


def register_image(ec2: EC2Client, request: Mapping[str, Any]) -> str:
    """RegisterImage with a request built by :mod:`imgpub.build.registration`."""
    return ec2.register_image(**dict(request))["ImageId"]


def create_tags(ec2: EC2Client, resource_ids: Sequence[str], tags: Mapping[str, str]) -> None:
    ec2.create_tags(Resources=list(resource_ids), Tags=tag_list(tags))


def delete_tags(ec2: EC2Client, resource_ids: Sequence[str], keys: Sequence[str]) -> None:
    ec2.delete_tags(Resources=list(resource_ids), Tags=[{"Key": k} for k in keys])


def newest_image(ec2: EC2Client, owner: str, name_pattern: str) -> BaseImage | None:
    """The newest ``available`` AMI of ``owner`` whose name matches (one filtered call).

    ``name_pattern`` is EC2's name filter (``*`` and ``?`` wildcards), e.g. AlmaLinux's
    ``AlmaLinux OS 9*x86_64``; images are ranked by ``CreationDate``, ties by ID.
    """
    kwargs: dict[str, Any] = {
        "Owners": [owner],
        "Filters": [
            {"Name": "name", "Values": [name_pattern]},
            {"Name": "state", "Values": ["available"]},
        ],
    }
    found: list[BaseImage] = []
    while True:
        page = ec2.describe_images(**kwargs)
        found.extend(
            BaseImage(
                image_id=i["ImageId"],
                name=i.get("Name", ""),
                creation_date=str(i.get("CreationDate", "")),
                architecture=i.get("Architecture", ""),
                owner_id=i.get("OwnerId", ""),
            )
            for i in page.get("Images", [])
        )
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    if not found:
        return None
    return max(found, key=lambda i: (i.creation_date, i.image_id))


def image_state(ec2: EC2Client, image_id: str) -> str:
    """``pending``, ``available``, ``failed`` …, or ``missing``."""
    page = ec2.describe_images(Filters=[{"Name": "image-id", "Values": [image_id]}])
    images = page.get("Images", [])
    return str(images[0].get("State", "")) if images else "missing"


# -- the boot-test instance ---------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchRequest:
    """One test instance: IMDSv2 required, terminated by the guest's own poweroff too."""

    image_id: str
    instance_type: str
    user_data: str
    client_token: str
    tags: Mapping[str, str]
    subnet_id: str = ""
    security_group_ids: tuple[str, ...] = ()


def launch_instance(ec2: EC2Client, request: LaunchRequest) -> str:
    kwargs: dict[str, Any] = {
        "ImageId": request.image_id,
        "InstanceType": request.instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "UserData": request.user_data,  # boto3 base64-encodes it
        "ClientToken": request.client_token,
        "InstanceInitiatedShutdownBehavior": "terminate",
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 1,
        },
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tag_list(request.tags)},
            {"ResourceType": "volume", "Tags": tag_list(request.tags)},
        ],
    }
    if request.subnet_id:
        kwargs["SubnetId"] = request.subnet_id
    if request.security_group_ids:
        kwargs["SecurityGroupIds"] = list(request.security_group_ids)
    answer = ec2.run_instances(**kwargs)
    return answer["Instances"][0]["InstanceId"]


def instance_state(ec2: EC2Client, instance_id: str) -> str:
    """``pending``, ``running``, ``shutting-down``, ``terminated`` … or ``missing``."""
    page = ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": [instance_id]}])
    for reservation in page.get("Reservations", []):
        for instance in reservation.get("Instances", []):
            return str(instance.get("State", {}).get("Name", ""))
    return "missing"


def console_output(ec2: EC2Client, instance_id: str) -> str:
    """The serial console so far (boto3 decodes the base64); empty while none is posted."""
    answer = ec2.get_console_output(InstanceId=instance_id, Latest=True)
    return str(answer.get("Output") or "")


def terminate_instance(ec2: EC2Client, instance_id: str) -> None:
    ec2.terminate_instances(InstanceIds=[instance_id])


def instances_tagged(ec2: EC2Client, key: str, value: str) -> list[tuple[str, str]]:
    """(instance ID, state) of the instances with tag ``key=value`` that are not terminated."""
    page = ec2.describe_instances(
        Filters=[
            {"Name": f"tag:{key}", "Values": [value]},
            {
                "Name": "instance-state-name",
                "Values": ["pending", "running", "stopping", "stopped"],
            },
        ]
    )
    return [
        (i["InstanceId"], str(i.get("State", {}).get("Name", "")))
        for r in page.get("Reservations", [])
        for i in r.get("Instances", [])
    ]
