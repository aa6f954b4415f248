"""The RegisterImage request for a snapshot-backed AMI (pure).

EC2's defaults are wrong for a modern image — ``i386`` and ``paravirtual`` — so every
attribute is always set; the rules are cloud-apis.md §9.9: HVM, the root device among
the mappings, gp3 with its baseline IOPS and throughput, tags on the image only (the
snapshot is tagged when it is started), billing products only when given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imgpub.build.model import Registration, boot_mode_for


def register_request(
    *,
    name: str,
    description: str,
    architecture: str,
    snapshot_id: str,
    volume_gib: int,
    registration: Registration,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    ebs: dict[str, Any] = {
        "SnapshotId": snapshot_id,
        "VolumeSize": volume_gib,
        "VolumeType": registration.volume_type,
        "DeleteOnTermination": True,
    }
    if registration.volume_type == "gp3":
        ebs.update({"Iops": 3000, "Throughput": 125})
    request: dict[str, Any] = {
        "Name": name,
        "Description": description[:255],
        "Architecture": architecture,
        "VirtualizationType": "hvm",
        "RootDeviceName": registration.root_device,
        "BlockDeviceMappings": [{"DeviceName": registration.root_device, "Ebs": ebs}],
        "BootMode": boot_mode_for(architecture, registration.boot_mode),
        "EnaSupport": registration.ena,
        "TagSpecifications": [
            {"ResourceType": "image", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ],
    }
    if registration.sriov and architecture == "x86_64":
        request["SriovNetSupport"] = "simple"
    if registration.imds_v2:
        request["ImdsSupport"] = "v2.0"
    if registration.tpm:
        request["TpmSupport"] = "v2.0"
    if registration.billing_products:
        request["BillingProducts"] = list(registration.billing_products)
    return request


def describe_request(request: Mapping[str, Any]) -> list[str]:
    """The request as plan lines (what a dry run shows)."""
    ebs = request["BlockDeviceMappings"][0]["Ebs"]
    flags = [
        f"boot {request['BootMode']}",
        "ENA" if request.get("EnaSupport") else "no ENA",
        "IMDSv2 required" if request.get("ImdsSupport") else "IMDSv1 allowed",
    ]
    if request.get("TpmSupport"):
        flags.append("NitroTPM v2.0")
    if request.get("SriovNetSupport"):
        flags.append("SR-IOV")
    lines = [
        f"RegisterImage {request['Name']!r}: {request['Architecture']}, hvm, "
        f"{request['RootDeviceName']} {ebs['VolumeType']} {ebs['VolumeSize']} GiB, "
        + ", ".join(flags)
    ]
    if request.get("BillingProducts"):
        lines.append(f"  billing products: {', '.join(request['BillingProducts'])}")
    return lines
