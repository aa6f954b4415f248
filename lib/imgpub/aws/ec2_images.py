"""EC2 image calls used by mirror-ami, each one request, each returning plain values.

Functions take the client (built per thread by :class:`imgpub.aws.session.ClientFactory`)
so that callers decide threading and regions; nothing here builds a client or loops over
regions. Images are looked up with ``Filters`` rather than ``ImageIds`` because a missing
ID in ``ImageIds`` fails the whole call (``InvalidAMIID.NotFound``), which a batch poll of
just-created copies (eventually consistent) must not do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import ImageTypeDef, LaunchPermissionTypeDef

PUBLIC_GROUP = "all"
#: EC2's answer to an attribute change on an image that is not available (yet).
IMAGE_UNAVAILABLE = "InvalidAMIID.Unavailable"


@dataclass(frozen=True)
class ImageRecord:
    """The fields of one DescribeImages entry that mirror-ami uses."""

    image_id: str
    region: str
    name: str
    description: str
    state: str
    architecture: str
    public: bool
    encrypted: bool
    snapshot_ids: tuple[str, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    state_reason: str = ""
    deprecation_time: str = ""


def _record(region: str, image: ImageTypeDef) -> ImageRecord:
    snapshots = tuple(
        bdm["Ebs"]["SnapshotId"]
        for bdm in image.get("BlockDeviceMappings", [])
        if "Ebs" in bdm and bdm["Ebs"].get("SnapshotId")
    )
    encrypted = any(
        bdm.get("Ebs", {}).get("Encrypted", False) for bdm in image.get("BlockDeviceMappings", [])
    )
    return ImageRecord(
        image_id=image["ImageId"],
        region=region,
        name=image.get("Name", ""),
        description=image.get("Description", ""),
        state=image.get("State", ""),
        architecture=image.get("Architecture", ""),
        public=bool(image.get("Public", False)),
        encrypted=encrypted,
        snapshot_ids=snapshots,
        tags={t["Key"]: t["Value"] for t in image.get("Tags", [])},
        state_reason=image.get("StateReason", {}).get("Message", ""),
        deprecation_time=image.get("DeprecationTime", ""),
    )


def _describe(
    ec2: EC2Client, region: str, filters: list[Any], owners: Sequence[str]
) -> list[ImageRecord]:
    out: list[ImageRecord] = []
    kwargs: dict[str, Any] = {"Filters": filters, "IncludeDeprecated": True}
    if owners:
        kwargs["Owners"] = list(owners)
    while True:
        page = ec2.describe_images(**kwargs)
        out.extend(_record(region, img) for img in page.get("Images", []))
        token = page.get("NextToken")
        if not token:
            return out
        kwargs["NextToken"] = token


def images_by_id(
    ec2: EC2Client, region: str, image_ids: Iterable[str], *, own: bool = True
) -> list[ImageRecord]:
    """The listed images that exist; one call for any number of IDs (up to 1000 per page)."""
    ids = sorted(set(image_ids))
    if not ids:
        return []
    return _describe(ec2, region, [{"Name": "image-id", "Values": ids}], ["self"] if own else [])


def images_by_name(ec2: EC2Client, region: str, names: Iterable[str]) -> list[ImageRecord]:
    """The account's images in ``region`` with one of these names (names are unique per region)."""
    wanted = sorted(set(names))
    if not wanted:
        return []
    return _describe(ec2, region, [{"Name": "name", "Values": wanted}], ["self"])


def list_regions(ec2: EC2Client) -> list[tuple[str, str]]:
    """(region, opt-in status) for every region of the partition, enabled or not."""
    answer = ec2.describe_regions(AllRegions=True)
    return [
        (r["RegionName"], r.get("OptInStatus", "opt-in-not-required"))
        for r in answer.get("Regions", [])
    ]


def copy_image(
    ec2: EC2Client,
    *,
    source_image_id: str,
    source_region: str,
    name: str,
    description: str,
    client_token: str,
    tags: Mapping[str, str],
    encrypted: bool = False,
    kms_key_id: str | None = None,
) -> str:
    """Start one copy; tags go on the image and its snapshots atomically with the request."""
    tag_list: list[Any] = [{"Key": k, "Value": v} for k, v in tags.items()]
    kwargs: dict[str, Any] = {
        "SourceImageId": source_image_id,
        "SourceRegion": source_region,
        "Name": name,
        "ClientToken": client_token,
        "TagSpecifications": [
            {"ResourceType": "image", "Tags": tag_list},
            {"ResourceType": "snapshot", "Tags": tag_list},
        ],
    }
    if description:
        kwargs["Description"] = description[:255]
    if encrypted:
        kwargs["Encrypted"] = True
        if kms_key_id:
            kwargs["KmsKeyId"] = kms_key_id
    return ec2.copy_image(**kwargs)["ImageId"]


def create_tags(ec2: EC2Client, resource_ids: Sequence[str], tags: Mapping[str, str]) -> None:
    """One call for an image and all its snapshots."""
    ec2.create_tags(
        Resources=list(resource_ids), Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
    )


def launch_permission_items(
    *, public: bool, accounts: Sequence[str], organizations: Sequence[str], ous: Sequence[str]
) -> list[LaunchPermissionTypeDef]:
    items: list[LaunchPermissionTypeDef] = []
    if public:
        items.append({"Group": "all"})
    items.extend({"UserId": a} for a in accounts)
    items.extend({"OrganizationArn": o} for o in organizations)
    items.extend({"OrganizationalUnitArn": u} for u in ous)
    return items


def add_launch_permission(
    ec2: EC2Client, image_id: str, items: Sequence[LaunchPermissionTypeDef]
) -> None:
    """Every audience in one call (accounts, organizations, OUs and ``all`` together)."""
    ec2.modify_image_attribute(ImageId=image_id, LaunchPermission={"Add": list(items)})


def launch_permissions(ec2: EC2Client, image_id: str) -> list[dict[str, str]]:
    answer = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")
    return [{k: str(v) for k, v in p.items()} for p in answer.get("LaunchPermissions", [])]


def add_create_volume_permission(
    ec2: EC2Client, snapshot_id: str, *, public: bool, accounts: Sequence[str]
) -> None:
    """Add create-volume permission in the flat form (``OperationType``/``UserIds``/``GroupNames``).

    The flat form is valid on AWS and is the only one moto applies (it silently ignores the
    structured ``CreateVolumePermission`` form).

    Snapshots have no organization or OU audience; launch permission on the AMI is what
    those audiences need to launch it.
    """
    kwargs: dict[str, Any] = {
        "SnapshotId": snapshot_id,
        "Attribute": "createVolumePermission",
        "OperationType": "add",
    }
    if accounts:
        kwargs["UserIds"] = list(accounts)
    if public:
        kwargs["GroupNames"] = ["all"]
    ec2.modify_snapshot_attribute(**kwargs)


def create_volume_permissions(ec2: EC2Client, snapshot_id: str) -> list[dict[str, str]]:
    answer = ec2.describe_snapshot_attribute(
        SnapshotId=snapshot_id, Attribute="createVolumePermission"
    )
    return [{k: str(v) for k, v in p.items()} for p in answer.get("CreateVolumePermissions", [])]


def snapshots_restorable_by(ec2: EC2Client, snapshot_ids: Iterable[str], user: str) -> set[str]:
    """Which of these snapshots ``user`` (an account ID, or ``all`` for public) may use.

    One call per region and audience instead of DescribeSnapshotAttribute per snapshot.
    """
    ids = sorted(set(snapshot_ids))
    if not ids:
        return set()
    found: set[str] = set()
    kwargs: dict[str, Any] = {
        "Filters": [{"Name": "snapshot-id", "Values": ids}],
        "RestorableByUserIds": [user],
    }
    while True:
        page = ec2.describe_snapshots(**kwargs)
        found.update(
            s["SnapshotId"] for s in page.get("Snapshots", []) if s.get("SnapshotId") in ids
        )
        token = page.get("NextToken")
        if not token:
            return found
        kwargs["NextToken"] = token


@dataclass(frozen=True)
class SnapshotProgress:
    """One DescribeSnapshots entry, as far as waiting for a copy is concerned."""

    snapshot_id: str
    state: str  # pending | completed | error | recoverable | recovering
    percent: int
    started: datetime | None
    tags: Mapping[str, str] = field(default_factory=dict)


def snapshots_tagged(
    ec2: EC2Client, tag_values: Mapping[str, Iterable[str]]
) -> list[SnapshotProgress]:
    """The account's snapshots carrying all these tags (any of the values each); one call.

    Used for the snapshots of copies in flight, found by the tags CopyImage gave them.
    CopyImage tags its new snapshots (``TagSpecifications``) when it starts, and EC2 shows a
    copy's snapshots ``pending`` with a ``Progress`` percentage until the copy is done —
    the only progress EC2 reports for an AMI copy.
    """
    kwargs: dict[str, Any] = {
        "OwnerIds": ["self"],
        "Filters": [
            {"Name": f"tag:{key}", "Values": sorted(set(values))}
            for key, values in sorted(tag_values.items())
        ],
    }
    out: list[SnapshotProgress] = []
    while True:
        page = ec2.describe_snapshots(**kwargs)
        for snap in page.get("Snapshots", []):
            raw = str(snap.get("Progress", "") or "").rstrip("%").strip()
            out.append(
                SnapshotProgress(
                    snapshot_id=snap.get("SnapshotId", ""),
                    state=snap.get("State", ""),
                    percent=int(raw) if raw.isdigit() else 0,
                    started=snap.get("StartTime"),
                    tags={t["Key"]: t["Value"] for t in snap.get("Tags", [])},
                )
            )
        token = page.get("NextToken")
        if not token:
            return out
        kwargs["NextToken"] = token


def image_block_public_access_state(ec2: EC2Client) -> str:
    """``block-new-sharing`` or ``unblocked`` for the client's region."""
    return ec2.get_image_block_public_access_state()["ImageBlockPublicAccessState"]


def disable_image_block_public_access(ec2: EC2Client) -> None:
    ec2.disable_image_block_public_access()


def enable_deprecation(ec2: EC2Client, image_id: str, when: datetime) -> None:
    ec2.enable_image_deprecation(ImageId=image_id, DeprecateAt=when)
