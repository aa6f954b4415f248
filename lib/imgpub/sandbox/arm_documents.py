"""The JSON documents Azure Resource Manager returns for Compute Gallery resources.

Pure functions for :mod:`imgpub.sandbox.fake_arm`: resource bodies in the shape
``azure-mgmt-compute`` deserialises (ids, types, properties), replication status, and
ARM's own errors about request bodies (as :class:`FakeError`, rendered by the fake).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from imgpub.sandbox.fake_http import FakeError

INT32_MAX = 2**31 - 1


def now() -> str:
    """A timestamp as ARM writes them."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0+00:00")


def key(*parts: str) -> tuple[str, ...]:
    """ARM resource names are case-insensitive; state is keyed by the lowered names."""
    return tuple(p.lower() for p in parts)


def resource(
    subscription: str, names: tuple[str, ...], location: str, props: dict[str, Any]
) -> dict[str, Any]:
    """A gallery ``(rg, gallery)``, definition ``(.., image)`` or version ``(.., version)``."""
    rg, gallery, *rest = names
    rid = (
        f"/subscriptions/{subscription}/resourceGroups/{rg}"
        f"/providers/Microsoft.Compute/galleries/{gallery}"
    )
    types = ["Microsoft.Compute/galleries"]
    for segment, value in zip(("images", "versions"), rest, strict=False):
        rid += f"/{segment}/{value}"
        types.append(segment)
    return {
        "id": rid,
        "name": names[-1],
        "type": "/".join(types),
        "location": location,
        "tags": {},
        "properties": props,
    }


def gallery(subscription: str, rg: str, name: str, location: str) -> dict[str, Any]:
    props = {
        "identifier": {"uniqueName": f"{subscription}-{name.upper()}"},
        "provisioningState": "Succeeded",
    }
    return resource(subscription, (rg, name), location, props)


def definition_properties(
    generation: str,
    architecture: str,
    identity: tuple[str, str, str],
    security_type: str | None,
) -> dict[str, Any]:
    """An image definition; ``identity`` is its (publisher, offer, SKU)."""
    publisher, offer, sku = identity
    props: dict[str, Any] = {
        "osType": "Linux",
        "osState": "Generalized",
        "hyperVGeneration": generation,
        "architecture": architecture,
        "identifier": {"publisher": publisher, "offer": offer, "sku": sku},
        "provisioningState": "Succeeded",
    }
    if security_type:
        props["features"] = [{"name": "SecurityType", "value": security_type}]
    return props


DISPLAY_NAMES = {
    "eastus": "East US",
    "eastus2": "East US 2",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    "centralus": "Central US",
    "northcentralus": "North Central US",
    "southcentralus": "South Central US",
    "westcentralus": "West Central US",
    "northeurope": "North Europe",
    "westeurope": "West Europe",
    "germanywestcentral": "Germany West Central",
    "francecentral": "France Central",
    "swedencentral": "Sweden Central",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "southeastasia": "Southeast Asia",
    "eastasia": "East Asia",
    "japaneast": "Japan East",
    "australiaeast": "Australia East",
    "centralindia": "Central India",
    "koreacentral": "Korea Central",
    "canadacentral": "Canada Central",
    "brazilsouth": "Brazil South",
}
"""Region display names, as Azure answers a version's target regions (``East US``)."""


def api_region(region: str) -> str:
    """``East US`` or ``eastus`` → ``eastus``."""
    return re.sub(r"\s", "", region).lower()


def display_region(region: str) -> str:
    """The display name Azure answers for a region given by either spelling."""
    return DISPLAY_NAMES.get(api_region(region), region)


def check_source_region(location: str, regions: Iterable[dict[str, Any]]) -> None:
    """Azure refuses a version whose replication regions lack its own (the gallery's)."""
    where = api_region(location)
    if where not in {api_region(str(r.get("name", ""))) for r in regions}:
        raise invalid(
            "The replication regions must include the region the source VM is located."
            f" Please add '{where}' to the list of target regions."
        )


def version_properties(source_uri: str, state: str, regions: Iterable[str]) -> dict[str, Any]:
    return {
        "publishingProfile": {
            "targetRegions": [
                {
                    "name": display_region(r),
                    "regionalReplicaCount": 1,
                    "storageAccountType": "Standard_LRS",
                }
                for r in regions
            ],
            "replicaCount": 1,
            "excludeFromLatest": False,
            "storageAccountType": "Standard_LRS",
            "publishedDate": now(),
        },
        "storageProfile": {"osDiskImage": {"source": {"uri": source_uri}}},
        "provisioningState": state,
    }


def with_replication(version: dict[str, Any], expand: str) -> dict[str, Any]:
    """The version as ``$expand=ReplicationStatus`` shows it (unchanged without it)."""
    if "replicationstatus" not in expand.lower():
        return version
    state = version["properties"]["provisioningState"]
    agg = {"Succeeded": "Completed", "Failed": "Failed"}.get(state, "InProgress")
    per = {"Completed": "Completed", "Failed": "Failed"}.get(agg, "Replicating")
    regions = version["properties"]["publishingProfile"]["targetRegions"]
    out: dict[str, Any] = json.loads(json.dumps(version))
    out["properties"]["replicationStatus"] = {
        "aggregatedState": agg,
        "summary": [
            {
                "region": r["name"],
                "state": per,
                "details": "",
                "progress": 100 if per == "Completed" else 0,
            }
            for r in regions
        ],
    }
    return out


def identifier_conflict(
    images: Mapping[tuple[str, ...], dict[str, Any]], image_key: tuple[str, ...], props: Any
) -> FakeError | None:
    """A definition's publisher/offer/SKU must be unique within its gallery."""
    ident = props["identifier"]
    triple = (ident.get("publisher"), ident.get("offer"), ident.get("sku"))
    for other_key, other in images.items():
        theirs = other["properties"]["identifier"]
        same = triple == (theirs.get("publisher"), theirs.get("offer"), theirs.get("sku"))
        if other_key[:2] == image_key[:2] and other_key != image_key and same:
            return FakeError(
                409,
                "Conflict",
                f"Gallery image identifier {'/'.join(map(str, triple))} is already used"
                f" by image definition {other['name']}.",
            )
    return None


def check_definition(props: dict[str, Any]) -> None:
    for required in ("osType", "osState", "identifier"):
        if required not in props:
            raise invalid(f"Required parameter '{required}' is missing (null).")
    if props.get("hyperVGeneration") == "V1" and any(
        f.get("name") == "SecurityType" for f in props.get("features") or []
    ):
        raise invalid("SecurityType feature requires hyperVGeneration V2.")


def check_version_name(version: str) -> None:
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() and int(p) <= INT32_MAX for p in parts):
        raise invalid(
            f"The gallery image version name '{version}' is invalid. It must be"
            " Major.Minor.Patch with each part an int32."
        )


def source_uri_of(props: dict[str, Any]) -> str:
    source = props.get("storageProfile", {}).get("osDiskImage", {}).get("source", {}).get("uri")
    if not source:
        raise invalid("Required parameter 'storageProfile.osDiskImage.source.uri' is missing.")
    return str(source)


def invalid(message: str) -> FakeError:
    return FakeError(400, "InvalidParameter", message)


def not_found(kind: str, rg: str, name: str) -> FakeError:
    return FakeError(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.Compute/{kind}/{name}' under resource group '{rg}'"
        " was not found.",
    )


def location_of(body: Any) -> str:
    if not isinstance(body, dict) or not body.get("location"):
        raise FakeError(400, "LocationRequired", "The location property is required.")
    return str(body["location"])


def properties_of(body: Any) -> dict[str, Any]:
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise FakeError(400, "InvalidRequestContent", "The request has no properties.")
    return props
