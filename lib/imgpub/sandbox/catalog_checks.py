"""What AWS Marketplace checks in an AMI product change, as the fake catalog applies it.

The Catalog API accepts a change set synchronously after a schema check of the request
(botocore's model: :mod:`imgpub.sandbox.aws_json`) and validates the *content* of each
change later, while the change set is ``PREPARING``; every problem found then becomes an
``ErrorDetailList`` entry of that change and the change set ends ``FAILED`` with
``FailureCode: CLIENT_ERROR``. The rules here are the documented ones (cloud-apis.md §4.3
and §4.4, from the AmiProduct@1.0 change-type shapes): field lengths and patterns, a
unique version title, one AMI delivery option, security groups, a recommended instance
type the product offers and that fits the AMI, and the AMI and its access role as AWS
Marketplace finds them in the seller's account (looked up by :class:`Assets`).

Everything here is pure: the fake passes in the entity and what the asset lookups said.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

AMI_ID = re.compile(r"^ami-([a-zA-Z0-9]{8}|[a-zA-Z0-9]{17})$")
ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::(\d{12}):role/[\w+=,.@/-]+$")
USER_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,31}$")
INSTANCE_TYPE = re.compile(r"^[a-z]+[0-9]+([a-z-]*)\.[0-9]*[a-z]+$")
CIDR = re.compile(r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
MAX_TITLE = 64
MAX_RELEASE_NOTES = 30_000
MAX_USAGE = 4_000
MAX_OS_FIELD = 100


@dataclass(frozen=True)
class Image:
    """An AMI as AWS Marketplace finds it in us-east-1 of the seller's account."""

    image_id: str
    state: str
    architecture: str
    virtualization: str = "hvm"


@dataclass(frozen=True)
class Role:
    """An IAM role as the ingestion service finds it: does it trust the service?"""

    arn: str
    trusts_marketplace: bool


class Assets(Protocol):
    """The seller-account lookups the ingestion makes (the fake asks the local AWS)."""

    def image(self, image_id: str) -> Image | None: ...
    def role(self, arn: str) -> Role | None: ...


@dataclass
class Problems:
    """The ``ErrorDetailList`` of one change."""

    items: list[dict[str, str]] = field(default_factory=list)

    def add(self, code: str, message: str) -> None:
        self.items.append({"ErrorCode": code, "ErrorMessage": message})


def arm_instance_type(instance_type: str) -> bool:
    """Graviton families carry a ``g`` after the generation digit: t4g, m7g, c6gn, r8gd."""
    found = INSTANCE_TYPE.match(instance_type)
    return bool(found and "g" in found.group(1))


def architecture_of(instance_type: str) -> str:
    return "arm64" if arm_instance_type(instance_type) else "x86_64"


def check_add_delivery_options(
    details: Mapping[str, Any],
    entity: Mapping[str, Any],
    assets: Assets,
    scan_findings: Mapping[str, Sequence[Mapping[str, str]]],
) -> list[dict[str, str]]:
    """Every problem AWS Marketplace would report for one ``AddDeliveryOptions`` change."""
    problems = Problems()
    version = details.get("Version")
    if not isinstance(version, dict):
        problems.add("INVALID_VERSION", "Version with VersionTitle and ReleaseNotes is required.")
        version = {}
    _check_version(version, entity, problems)
    options = details.get("DeliveryOptions")
    if not isinstance(options, list) or len(options) != 1:
        problems.add(
            "INVALID_DELIVERY_OPTIONS", "Exactly one AMI delivery option is required per version."
        )
        return problems.items
    option = options[0].get("Details", {}).get("AmiDeliveryOptionDetails")
    if not isinstance(option, dict):
        problems.add("INVALID_DELIVERY_OPTIONS", "Details.AmiDeliveryOptionDetails is required.")
        return problems.items
    image = _check_source(option.get("AmiSource"), assets, problems)
    _check_instructions(option, problems)
    _check_instance_type(option.get("RecommendedInstanceType"), entity, image, problems)
    _check_security_groups(option.get("SecurityGroups"), problems)
    if image is not None:
        for finding in scan_findings.get(image.image_id, ()):
            problems.add(finding.get("ErrorCode", "SCAN_ERROR"), finding.get("ErrorMessage", ""))
    return problems.items


def _check_version(version: Mapping[str, Any], entity: Mapping[str, Any], p: Problems) -> None:
    title = version.get("VersionTitle")
    if not isinstance(title, str) or not title.strip():
        p.add("INVALID_VERSION_TITLE", "VersionTitle is required.")
    elif len(title) > MAX_TITLE:
        p.add("INVALID_VERSION_TITLE", f"VersionTitle is longer than {MAX_TITLE} characters.")
    elif any(v["VersionTitle"] == title for v in entity.get("Versions", [])):
        p.add("DUPLICATE_VERSION_TITLE", f"A version titled '{title}' already exists.")
    notes = version.get("ReleaseNotes")
    if not isinstance(notes, str) or not notes.strip():
        p.add("INVALID_RELEASE_NOTES", "ReleaseNotes is required.")
    elif len(notes) > MAX_RELEASE_NOTES:
        p.add("INVALID_RELEASE_NOTES", f"ReleaseNotes is longer than {MAX_RELEASE_NOTES}.")


def _check_source(source: Any, assets: Assets, p: Problems) -> Image | None:
    if not isinstance(source, dict):
        p.add("INVALID_AMI_SOURCE", "AmiSource is required.")
        return None
    ami = source.get("AmiId", "")
    image: Image | None = None
    if not isinstance(ami, str) or not AMI_ID.match(ami):
        p.add("INVALID_AMI_ID", f"'{ami}' is not an AMI ID.")
    else:
        image = assets.image(ami)
        if image is None:
            p.add(
                "ASSET_NOT_FOUND",
                f"The AMI {ami} was not found in us-east-1 of the seller account.",
            )
        elif image.state != "available":
            p.add("ASSET_NOT_FOUND", f"The AMI {ami} is {image.state}, not available.")
            image = None
    _check_role(source.get("AccessRoleArn"), ami, assets, p)
    user = source.get("UserName", "")
    if not isinstance(user, str) or not USER_NAME.match(user):
        p.add("INVALID_USER_NAME", f"UserName '{user}' is not a valid login name.")
    for key in ("OperatingSystemName", "OperatingSystemVersion"):
        text = source.get(key)
        if not isinstance(text, str) or not text or len(text) > MAX_OS_FIELD:
            p.add("INVALID_OPERATING_SYSTEM", f"{key} must be 1 to {MAX_OS_FIELD} characters.")
    port = source.get("ScanningPort", 22)
    if not isinstance(port, int) or not 1 <= port <= 65535:
        p.add("INVALID_SCANNING_PORT", f"ScanningPort {port} is not a port number.")
    return image


def _check_role(arn: Any, ami: str, assets: Assets, p: Problems) -> None:
    if not isinstance(arn, str) or not arn:
        p.add("ASSET_ACCESS_EXCEPTION", "AccessRoleArn is required to read the AMI.")
        return
    if not ROLE_ARN.match(arn):
        p.add("ASSET_ACCESS_EXCEPTION", f"AccessRoleArn '{arn}' is not an IAM role ARN.")
        return
    role = assets.role(arn)
    if role is None:
        p.add(
            "ASSET_ACCESS_EXCEPTION",
            f"AWS Marketplace could not assume {arn} to read {ami}: the role does not exist.",
        )
    elif not role.trusts_marketplace:
        p.add(
            "ASSET_ACCESS_EXCEPTION",
            f"AWS Marketplace could not assume {arn}: its trust policy does not allow "
            "assets.marketplace.amazonaws.com.",
        )


def _check_instructions(option: Mapping[str, Any], p: Problems) -> None:
    usage = option.get("UsageInstructions")
    if not isinstance(usage, str) or not usage.strip():
        p.add("INVALID_USAGE_INSTRUCTIONS", "UsageInstructions is required.")
    elif len(usage) > MAX_USAGE:
        p.add("INVALID_USAGE_INSTRUCTIONS", f"UsageInstructions is longer than {MAX_USAGE}.")


def _check_instance_type(
    instance_type: Any, entity: Mapping[str, Any], image: Image | None, p: Problems
) -> None:
    if not isinstance(instance_type, str) or not INSTANCE_TYPE.match(instance_type):
        p.add("INVALID_INSTANCE_TYPE", f"'{instance_type}' is not an instance type.")
        return
    offered = entity.get("Compatibility", {}).get("AvailableInstanceTypes") or []
    if offered and instance_type not in offered:
        p.add(
            "RECOMMENDED_INSTANCE_TYPE_NOT_AVAILABLE",
            f"{instance_type} is not one of the product's instance types.",
        )
    if image is not None and image.architecture not in ("", architecture_of(instance_type)):
        p.add(
            "INCOMPATIBLE_AMI",
            f"The AMI is {image.architecture}; {instance_type} is "
            f"{architecture_of(instance_type)}.",
        )


def _check_security_groups(groups: Any, p: Problems) -> None:
    if not isinstance(groups, list) or not 1 <= len(groups) <= 25:
        p.add("INVALID_SECURITY_GROUP", "SecurityGroups needs 1 to 25 rules.")
        return
    for group in groups:
        if not _valid_rule(group):
            p.add("INVALID_SECURITY_GROUP", f"Security group rule {group} is not valid.")


def _valid_rule(group: Any) -> bool:
    if not isinstance(group, dict) or group.get("IpProtocol") not in ("tcp", "udp"):
        return False
    low, high, ranges = group.get("FromPort"), group.get("ToPort"), group.get("IpRanges")
    if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high <= 65535):
        return False
    return (
        isinstance(ranges, list)
        and 1 <= len(ranges) <= 5
        and all(isinstance(r, str) and CIDR.match(r) for r in ranges)
    )


def check_restrict_delivery_options(
    details: Mapping[str, Any], entity: Mapping[str, Any]
) -> list[dict[str, str]]:
    """Problems of a ``RestrictDeliveryOptions`` change; the last public version must stay."""
    problems = Problems()
    ids = details.get("DeliveryOptionIds")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 50:
        problems.add("MISSING_DELIVERY_OPTION_IDS", "DeliveryOptionIds needs 1 to 50 IDs.")
        return problems.items
    known = {o["Id"]: v for v in entity.get("Versions", []) for o in v["DeliveryOptions"]}
    unknown = [i for i in ids if i not in known]
    if unknown:
        problems.add(
            "INVALID_DELIVERY_OPTION_IDS", f"Unknown delivery option IDs: {', '.join(unknown)}."
        )
        return problems.items
    left = [
        o
        for v in entity.get("Versions", [])
        for o in v["DeliveryOptions"]
        if o["Visibility"] == "Public" and o["Id"] not in ids
    ]
    restricting_public = any(
        o["Visibility"] == "Public" for i in ids for o in known[i]["DeliveryOptions"]
    )
    if restricting_public and not left:
        problems.add("INVALID_DELIVERY_OPTIONS", "The last public version cannot be restricted.")
    return problems.items
