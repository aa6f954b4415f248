"""AMI product entities of the fake catalog, in the shape ``DescribeEntity`` returns.

The documents follow the AmiProduct@1.0 entity shape (cloud-apis.md §4.5): ``Versions[]``
with ``DeliveryOptions[]`` (``Visibility``, ``Instructions``, ``Recommendations`` with
``InstanceType`` and ``SecurityGroups`` of ``Protocol``/``CidrIps`` — the names differ from
the ones a change writes) and ``Sources[]`` (the AMI, its architecture and OS), plus
``Description`` and ``Compatibility``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

AMI_PRODUCT = "AmiProduct@1.0"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def version_document(
    title: str,
    ami_id: str,
    architecture: str = "x86_64",
    instance_type: str = "t3.small",
    visibility: str = "Public",
    created: str = "2025-01-01T00:00:00Z",
    release_notes: str = "",
    os_version: str = "",
    user_name: str = "ec2-user",
) -> dict[str, Any]:
    """One entry of ``Versions[]`` as DescribeEntity shows it (for seeding)."""
    source_id = str(uuid.uuid4())
    return {
        "Id": str(uuid.uuid4()),
        "VersionTitle": title,
        "ReleaseNotes": release_notes or f"{title} release.",
        "UpgradeInstructions": "",
        "CreationDate": created,
        "DeliveryOptions": [
            {
                "Id": str(uuid.uuid4()),
                "Type": "AmiDeliveryOption",
                "SourceId": source_id,
                "ShortDescription": "",
                "Visibility": visibility,
                "Instructions": {"Usage": f"Log in as {user_name}.", "Access": {}},
                "Recommendations": {
                    "InstanceType": instance_type,
                    "SecurityGroups": [
                        {"Protocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIps": ["0.0.0.0/0"]}
                    ],
                },
            }
        ],
        "Sources": [
            {
                "Id": source_id,
                "Type": "AmiSource",
                "Image": ami_id,
                "Architecture": architecture,
                "VirtualizationType": "hvm",
                "OperatingSystem": {
                    "Name": "OTHERLINUX",
                    "Version": os_version or title.split(" ", 1)[0],
                    "Username": user_name,
                    "ScanningPort": 22,
                },
            }
        ],
    }


@dataclass
class AmiProduct:
    """One ``AmiProduct@1.0`` entity: its versions and its revision."""

    product_id: str
    title: str
    visibility: str = "Public"
    instance_types: list[str] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    revision: int = 1
    modified: float = field(default_factory=time.time)

    def arn(self, account: str) -> str:
        where = f"arn:aws:aws-marketplace:us-east-1:{account}:AWSMarketplace"
        return f"{where}/AmiProduct/{self.product_id}"

    def details(self) -> dict[str, Any]:
        return {
            "Description": {
                "ProductTitle": self.title,
                "Visibility": self.visibility,
                "ProductState": "Active",
            },
            "Versions": [dict(v) for v in self.versions],
            "Compatibility": {
                "AvailableInstanceTypes": list(self.instance_types),
                "RestrictedInstanceTypes": [],
            },
            "RegionAvailability": {"Regions": ["us-east-1"], "FutureRegionSupport": "All"},
        }

    def summary(self, account: str) -> dict[str, Any]:
        return {
            "Name": self.title,
            "EntityType": AMI_PRODUCT,
            "EntityId": self.product_id,
            "EntityArn": self.arn(account),
            "LastModifiedDate": _iso(self.modified),
            "Visibility": self.visibility,
            "AmiProductSummary": {"ProductTitle": self.title, "Visibility": self.visibility},
        }

    def add_version(self, details: Mapping[str, Any], *, architecture: str, at: float) -> None:
        """Apply an ``AddDeliveryOptions`` change: a new version visible like the product."""
        version = details["Version"]
        option = details["DeliveryOptions"][0]["Details"]["AmiDeliveryOptionDetails"]
        source = option["AmiSource"]
        document = version_document(
            version["VersionTitle"],
            source["AmiId"],
            architecture=architecture,
            instance_type=option["RecommendedInstanceType"],
            visibility=self.visibility,
            created=_iso(at),
            release_notes=version.get("ReleaseNotes", ""),
            os_version=source.get("OperatingSystemVersion", ""),
            user_name=source.get("UserName", "ec2-user"),
        )
        delivery = document["DeliveryOptions"][0]
        delivery["Instructions"]["Usage"] = option.get("UsageInstructions", "")
        delivery["Recommendations"]["SecurityGroups"] = [
            {
                "Protocol": g["IpProtocol"],
                "FromPort": g["FromPort"],
                "ToPort": g["ToPort"],
                "CidrIps": list(g["IpRanges"]),
            }
            for g in option.get("SecurityGroups", [])
        ]
        document["Sources"][0]["OperatingSystem"]["Name"] = source.get("OperatingSystemName", "")
        self.versions.append(document)
        self._touch(at)

    def restrict(self, option_ids: Iterable[str], *, at: float) -> None:
        """Apply a ``RestrictDeliveryOptions`` change (new buyers lose access, nothing goes)."""
        wanted = set(option_ids)
        for version in self.versions:
            for option in version["DeliveryOptions"]:
                if option["Id"] in wanted:
                    option["Visibility"] = "Restricted"
        self._touch(at)

    def _touch(self, at: float) -> None:
        self.revision += 1
        self.modified = max(self.modified, at)


__all__ = ["AMI_PRODUCT", "AmiProduct", "version_document"]


#: Instance types the sandbox's products offer (x86_64 and Graviton).
SANDBOX_INSTANCE_TYPES = (
    "t3.micro", "t3.small", "t3.medium", "t3.large", "m5.large", "c5.large", "m7i.large",
    "t4g.micro", "t4g.small", "t4g.medium", "m6g.large", "c6g.large", "m7g.large",
)  # fmt: skip

#: AlmaLinux's products (as in imgpub's default products table) with one older version
#: each, and its dev/test product, which buyers cannot see (Limited).
SANDBOX_PRODUCTS: tuple[tuple[str, str, str, str], ...] = (
    ("prod-t4oyq2p42jn2u", "AlmaLinux OS (dev/test)", "Limited", "x86_64"),
    ("c076b20a-2305-4771-823f-944909847a05", "AlmaLinux OS 8 (x86_64)", "Public", "x86_64"),
    ("744775f7-4efd-4c75-ac32-eb2540b4030c", "AlmaLinux OS 8 (arm64)", "Public", "arm64"),
    ("3c74c2ba-21a2-4dc1-a65d-fd0ee7d79900", "AlmaLinux OS 9 (x86_64)", "Public", "x86_64"),
    ("2d219cc1-aa44-4a1e-b6fe-258d4ebd3cdb", "AlmaLinux OS 9 (arm64)", "Public", "arm64"),
    ("prod-cvyxsvsdzfjx4", "AlmaLinux OS 10 (x86_64)", "Public", "x86_64"),
    ("prod-qgpr5bqxuzt5i", "AlmaLinux OS 10 (arm64)", "Public", "arm64"),
    ("prod-svbminwb7w5se", "AlmaLinux OS Kitten 10 (x86_64)", "Public", "x86_64"),
    ("prod-npz256ulofnae", "AlmaLinux OS Kitten 10 (arm64)", "Public", "arm64"),
)


def sandbox_seed() -> dict[str, list[dict[str, Any]]]:
    """The ``add_product`` calls that seed the sandbox's catalog."""
    calls = []
    for product_id, title, visibility, arch in SANDBOX_PRODUCTS:
        instance_type = "t3.medium" if arch == "x86_64" else "t4g.medium"
        version = {
            "title": "0.1.20240101" + ("" if visibility == "Public" else f" {arch}"),
            "ami_id": "ami-00000000000000001",
            "architecture": arch,
            "instance_type": instance_type,
            "visibility": visibility,
            "created": "2024-01-01T00:00:00Z",
        }
        calls.append(
            {
                "product_id": product_id,
                "title": title,
                "visibility": visibility,
                "instance_types": list(SANDBOX_INSTANCE_TYPES),
                "versions": [version],
            }
        )
    return {"add_product": calls}
