"""Azure national clouds: the endpoints that differ between them.

The ``azure-cloud`` input names one of three clouds, as ``azure/login``'s ``environment``
does. Each has its own Resource Manager host, token audience, login authority and storage
DNS suffix; mixing them fails late and obscurely (a token for the wrong audience is a 401
on the first PUT), so one value object carries all four. The sandbox replaces the ARM
endpoint with the fake's URL through ``IMGPUB_AZURE_ARM_ENDPOINT``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from imgpub.errors import ConfigError, InputError

ARM_ENDPOINT_ENV = "IMGPUB_AZURE_ARM_ENDPOINT"


@dataclass(frozen=True)
class AzureCloud:
    """Endpoints of one Azure cloud."""

    name: str
    arm_endpoint: str
    """Resource Manager base URL (no trailing slash)."""
    audience: str
    """Token audience for Resource Manager; the scope is ``audience + "/.default"``."""
    authority_host: str
    """Entra ID login host, as ``azure.identity.AzureAuthorityHosts`` spells it."""
    storage_suffix: str
    """Blob endpoints are ``https://<account>.blob.<storage_suffix>``."""
    overridden: bool = False
    """True when ``arm_endpoint`` comes from ``IMGPUB_AZURE_ARM_ENDPOINT`` (a local fake)."""

    @property
    def credential_scope(self) -> str:
        """The OAuth scope for Resource Manager tokens."""
        return f"{self.audience}/.default"

    @property
    def is_local(self) -> bool:
        """Whether ARM is plain http on loopback, where bearer tokens are refused by the SDK."""
        parts = urlsplit(self.arm_endpoint)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")

    def blob_endpoint(self, account: str) -> str:
        """The blob service URL of a storage account in this cloud."""
        return f"https://{account}.blob.{self.storage_suffix}"


CLOUDS: Mapping[str, AzureCloud] = {
    "AzureCloud": AzureCloud(
        "AzureCloud",
        "https://management.azure.com",
        "https://management.azure.com",
        "login.microsoftonline.com",
        "core.windows.net",
    ),
    "AzureChinaCloud": AzureCloud(
        "AzureChinaCloud",
        "https://management.chinacloudapi.cn",
        "https://management.chinacloudapi.cn",
        "login.chinacloudapi.cn",
        "core.chinacloudapi.cn",
    ),
    "AzureUSGovernment": AzureCloud(
        "AzureUSGovernment",
        "https://management.usgovcloudapi.net",
        "https://management.usgovcloudapi.net",
        "login.microsoftonline.us",
        "core.usgovcloudapi.net",
    ),
}


def resolve_cloud(name: str = "AzureCloud", env: Mapping[str, str] | None = None) -> AzureCloud:
    """The cloud for the ``azure-cloud`` input, with the sandbox's ARM override applied.

    Names are matched case-insensitively (``azure/login`` users write ``azurecloud``).
    """
    environ = os.environ if env is None else env
    cloud = next((c for key, c in CLOUDS.items() if key.lower() == name.strip().lower()), None)
    if cloud is None:
        raise InputError(
            "azure-cloud", f"unknown Azure cloud {name!r}", f"use one of {', '.join(CLOUDS)}"
        )
    override = environ.get(ARM_ENDPOINT_ENV, "").strip()
    if not override:
        return cloud
    parts = urlsplit(override)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{ARM_ENDPOINT_ENV}={override!r} is not an http(s) URL",
            remedy="set it to the fake ARM's URL, e.g. http://127.0.0.1:PORT, or unset it",
        )
    return replace(cloud, arm_endpoint=override.rstrip("/"), overridden=True)


# Region names per cloud, as `az account list-locations --query [].name` prints them. A typo
# in `target-regions` would otherwise surface only as a failed replication minutes into a
# release; a region Azure adds later can be passed with a `+` prefix (`+newregion`) to skip
# this check.
REGIONS: Mapping[str, frozenset[str]] = {
    "AzureCloud": frozenset(
        [
            "eastus",
            "eastus2",
            "southcentralus",
            "westus2",
            "westus3",
            "australiaeast",
            "southeastasia",
            "northeurope",
            "swedencentral",
            "uksouth",
            "westeurope",
            "centralus",
            "southafricanorth",
            "centralindia",
            "eastasia",
            "japaneast",
            "koreacentral",
            "canadacentral",
            "francecentral",
            "germanywestcentral",
            "italynorth",
            "norwayeast",
            "polandcentral",
            "spaincentral",
            "switzerlandnorth",
            "mexicocentral",
            "uaenorth",
            "brazilsouth",
            "israelcentral",
            "qatarcentral",
            "newzealandnorth",
            "northcentralus",
            "westus",
            "japanwest",
            "jioindiawest",
            "westcentralus",
            "southafricawest",
            "australiacentral",
            "australiacentral2",
            "australiasoutheast",
            "koreasouth",
            "southindia",
            "westindia",
            "canadaeast",
            "francesouth",
            "germanynorth",
            "norwaywest",
            "switzerlandwest",
            "ukwest",
            "uaecentral",
            "brazilsoutheast",
            "jioindiacentral",
            "swedensouth",
            "indonesiacentral",
            "malaysiawest",
            "chilecentral",
            "austriaeast",
            "belgiumcentral",
            "denmarkeast",
        ]
    ),
    "AzureChinaCloud": frozenset(
        ["chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3"]
    ),
    "AzureUSGovernment": frozenset(
        ["usgovvirginia", "usgovtexas", "usgovarizona", "usgoviowa", "usdodeast", "usdodcentral"]
    ),
}


def normalize_regions(cloud: AzureCloud, regions: Iterable[str]) -> tuple[str, ...]:
    """Region names lower-cased without spaces (``East US`` → ``eastus``), deduplicated,
    each checked against the cloud's known regions; unknown → ``InputError``."""
    known = REGIONS.get(cloud.name, frozenset())
    out: list[str] = []
    for raw in regions:
        forced = raw.strip().startswith("+")
        name = "".join(raw.strip().lstrip("+").split()).lower()
        if not name:
            continue
        if not re.fullmatch(r"[a-z][a-z0-9]*", name):
            raise InputError(
                "target-regions", f"{raw!r} is not a region name", "use names like eastus"
            )
        if not forced and name not in known:
            raise InputError(
                "target-regions",
                f"unknown region {name!r} in {cloud.name}",
                "check the spelling (az account list-locations -o table);"
                f" write +{name} to use a region imgpub does not know yet",
            )
        if name not in out:
            out.append(name)
    if not out:
        raise InputError("target-regions", "no region given", "name at least one region")
    return tuple(out)
