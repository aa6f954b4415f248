"""RegisterImage as EC2 does it, and the console of a boot-test instance, for the local EC2.

moto keeps only the name and description of a RegisterImage: the architecture, boot mode,
TPM, IMDS, ENA and SR-IOV support, root device, block device mappings (it substitutes a
synthetic 15 GiB ``standard`` snapshot), tags and billing products are dropped, a
duplicate name is accepted and any snapshot ID will do (cloud-apis.md §9.10). build-ami
depends on all of that, so these handlers of :class:`imgpub.sandbox.ec2_extras.Ec2Extras`
validate the request as EC2 does, let moto create the image, then give moto's image what
was asked (DescribeImages shows it) and keep the whole request for the control API
(``GET /_imgpub/ec2/images/<id>``), billing products included.

GetConsoleOutput of an instance whose user data is imgpub's boot test answers what a
guest running that script prints, with the outcome set by ``boot_test_outcome``.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from imgpub.build.console import guest_console
from imgpub.sandbox import ec2_backend
from imgpub.sandbox.ec2_protocol import (
    Ec2Error,
    Reply,
    indexed_structs,
    indexed_values,
    is_true,
    required,
    success_reply,
)

if TYPE_CHECKING:
    from imgpub.sandbox.ec2_extras import Ec2Call, Ec2Extras

_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")
ARCHITECTURES = ("i386", "x86_64", "arm64", "x86_64_mac", "arm64_mac")
BOOT_MODES = ("legacy-bios", "uefi", "uefi-preferred")
VOLUME_TYPES = ("standard", "io1", "io2", "gp2", "sc1", "st1", "gp3")
SANDBOX_PACKAGES = ("almalinux-release", "bash", "cloud-init", "dnf", "kernel", "openssh-server")


def _invalid(parameter: str, value: str, expected: str) -> Ec2Error:
    return Ec2Error(
        "InvalidParameterValue",
        f"Value ({value}) for parameter {parameter} is invalid. {expected}",
    )


def _mappings(call: Ec2Call) -> list[dict[str, Any]]:
    """BlockDeviceMapping.N as DescribeImages shows them, each snapshot checked."""
    out: list[dict[str, Any]] = []
    for item in indexed_structs(call.params, "BlockDeviceMapping"):
        device = item.get("DeviceName", "")
        snapshot_id = item.get("Ebs.SnapshotId", "")
        ebs: dict[str, Any] = {}
        if snapshot_id:
            snapshot = ec2_backend.find_snapshot(call.account, call.region, snapshot_id)
            if snapshot is None:
                raise Ec2Error(
                    "InvalidSnapshot.NotFound", f"The snapshot '{snapshot_id}' does not exist."
                )
            if snapshot.status != "completed":
                raise Ec2Error(
                    "IncorrectState",
                    f"Snapshot {snapshot_id} is in invalid state - {snapshot.status}",
                )
            size = int(item.get("Ebs.VolumeSize") or snapshot.volume_size)
            if size < int(snapshot.volume_size):
                raise Ec2Error(
                    "InvalidBlockDeviceMapping",
                    f"Volume of size {size}GB is smaller than snapshot '{snapshot_id}', "
                    f"expect size >= {snapshot.volume_size}GB",
                )
            kind = item.get("Ebs.VolumeType", "gp2")
            if kind not in VOLUME_TYPES:
                raise _invalid("VolumeType", kind, f"Valid values: {', '.join(VOLUME_TYPES)}.")
            ebs = {
                "SnapshotId": snapshot_id,
                "VolumeSize": size,
                "VolumeType": kind,
                "DeleteOnTermination": is_true(item.get("Ebs.DeleteOnTermination", "true")),
                "Encrypted": bool(getattr(snapshot, "encrypted", False)),
            }
            if kind == "gp3":
                ebs["Iops"] = int(item.get("Ebs.Iops") or 3000)
                ebs["Throughput"] = int(item.get("Ebs.Throughput") or 125)
        out.append({"DeviceName": device, "Ebs": ebs} if ebs else {"DeviceName": device})
    return out


def _image_tags(call: Ec2Call) -> dict[str, str]:
    tags: dict[str, str] = {}
    for spec in indexed_structs(call.params, "TagSpecification"):
        kind = spec.get("ResourceType", "")
        if kind != "image":
            raise _invalid("ResourceType", kind, "RegisterImage tags only the image.")
        for tag in indexed_structs(spec, "Tag"):
            if "Key" in tag:
                tags[tag["Key"]] = tag.get("Value", "")
    return tags


def register_image(extras: Ec2Extras, call: Ec2Call) -> Reply:
    """Validate like EC2, let moto create the image, then give it what was asked."""
    params = call.params
    name = required(params, "Name")
    if not _NAME.match(name):
        raise Ec2Error(
            "InvalidAMIName.Malformed",
            "AMI names must be between 3 and 128 characters long, and may contain letters, "
            "numbers, '(', ')', '.', '-', '/', '_', '[', ']', ' ', ''', '@'",
        )
    for taken in ec2_backend.images_named(call.account, call.region, name):
        raise Ec2Error(
            "InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {taken}"
        )
    arch = params.get("Architecture", "i386")
    if arch not in ARCHITECTURES:
        raise _invalid("Architecture", arch, f"Valid values: {', '.join(ARCHITECTURES)}.")
    boot_mode = params.get("BootMode", "")
    if boot_mode and boot_mode not in BOOT_MODES:
        raise _invalid("BootMode", boot_mode, f"Valid values: {', '.join(BOOT_MODES)}.")
    tpm = params.get("TpmSupport", "")
    if tpm and tpm != "v2.0":
        raise _invalid("TpmSupport", tpm, "Valid value: v2.0.")
    if tpm and boot_mode not in ("uefi", "uefi-preferred"):
        raise Ec2Error(
            "InvalidParameterCombination", "NitroTPM requires the uefi or uefi-preferred boot mode."
        )
    imds = params.get("ImdsSupport", "")
    if imds and imds != "v2.0":
        raise _invalid("ImdsSupport", imds, "Valid value: v2.0.")
    tags = _image_tags(call)
    mappings = _mappings(call)
    root = params.get("RootDeviceName", "")
    if mappings and root not in {m["DeviceName"] for m in mappings}:
        raise Ec2Error(
            "InvalidBlockDeviceMapping",
            f"The root device name {root or '(none)'} is not in the block device mappings.",
        )
    reply = extras.register_with_moto(call)
    image_id = _created(reply)
    if image_id is None:
        return reply
    root_snapshot = next(
        (m["Ebs"]["SnapshotId"] for m in mappings if m["DeviceName"] == root and m.get("Ebs")), None
    )
    virtualization = params.get("VirtualizationType", "paravirtual")
    attributes: dict[str, Any] = {
        "architecture": arch,
        "virtualization_type": virtualization,
        "root_device_name": root or "/dev/sda1",
        "root_device_type": "ebs" if root_snapshot else "standard",
        "boot_mode": boot_mode or None,
        "tpm_support": tpm or None,
        "imds_support": imds or None,
        "ena_support": is_true(params.get("EnaSupport")),
        "sriov": params.get("SriovNetSupport") or None,
        "sriov_net_support": params.get("SriovNetSupport") or None,
        "mappings": mappings if root_snapshot else [],
        "snapshot_id": root_snapshot,
    }
    ec2_backend.keep_registration(call.account, call.region, image_id, dict(attributes))
    ec2_backend.add_tags(call.account, call.region, [image_id], tags)
    record = {
        "ImageId": image_id,
        "Name": name,
        "Description": params.get("Description", ""),
        "Architecture": arch,
        "VirtualizationType": virtualization,
        "RootDeviceName": root,
        "BootMode": boot_mode,
        "TpmSupport": tpm,
        "ImdsSupport": imds,
        "EnaSupport": is_true(params.get("EnaSupport")),
        "SriovNetSupport": params.get("SriovNetSupport", ""),
        "UefiData": params.get("UefiData", ""),
        "BillingProducts": indexed_values(params, "BillingProduct"),
        "BlockDeviceMappings": mappings,
        "Tags": tags,
    }
    extras.state.remember_registration(image_id, record)
    return reply


def _created(reply: Reply) -> str | None:
    if reply.status != 200:
        return None
    match = re.search(
        r"<imageId>(ami-[0-9a-zA-Z]+)</imageId>", reply.body.decode("utf-8", "replace")
    )
    return match.group(1) if match else None


_KEPT_ATTRIBUTES = {
    "imdsSupport": "ImdsSupport",
    "tpmSupport": "TpmSupport",
    "uefiData": "UefiData",
    "bootMode": "BootMode",
    "sriovNetSupport": "SriovNetSupport",
}


def describe_image_attribute(extras: Ec2Extras, call: Ec2Call) -> Reply | None:
    """Attributes moto cannot answer (imdsSupport, tpmSupport, uefiData give it a 500)."""
    attribute = call.params.get("Attribute", "")
    record = extras.state.registration(call.params.get("ImageId", ""))
    if record is None or attribute not in _KEPT_ATTRIBUTES:
        return None
    value = str(record.get(_KEPT_ATTRIBUTES[attribute]) or "")
    inner = f"<{attribute}><value>{value}</value></{attribute}>" if value else f"<{attribute}/>"
    return success_reply(call.action, [("imageId", record["ImageId"])], raw_xml=inner)


def get_console_output(extras: Ec2Extras, call: Ec2Call) -> Reply | None:
    """The console of a boot-test instance: what imgpub's test script would print."""
    instance_id = call.params.get("InstanceId", "")
    script = ec2_backend.instance_user_data(call.account, call.region, instance_id)
    if script is None:
        return None
    config = extras.state.config
    launched = ec2_backend.instance_launch(call.account, call.region, instance_id)
    text: str | None = ""
    if launched is not None:
        _state, when = launched
        age = (datetime.now(UTC) - when).total_seconds()
        if age >= config.console_delay_seconds:
            text = guest_console(script, config.boot_test_outcome, SANDBOX_PACKAGES)
    if text is None:
        return None
    encoded = base64.b64encode(text.encode()).decode() if text else ""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    fields = [("instanceId", instance_id), ("timestamp", now), ("output", encoded)]
    return success_reply(call.action, fields)
