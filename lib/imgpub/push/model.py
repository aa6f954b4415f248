"""The values a push works with: items, the mapping's entities, credentials, the plan.

All frozen: parsing builds them once (every problem an exit-2 error), then planning is a
pure function over them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Cloud = Literal["aws", "azure"]
Workflow = Literal["stratosphere", "community"]

#: StArMap and RPM say aarch64, EC2 says arm64: the mapping may use either.
ARCH_ALIASES = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


@dataclass(frozen=True)
class PushItem:
    """One image to push: what the source said about it and where its bytes (or AMI) are."""

    name: str
    version: str
    architecture: str  # x86_64 or aarch64
    source: str  # what the user gave (path, URL or results document)
    image: str = ""  # path or URL of the disk image; empty for an AMI already built
    ami_id: str = ""  # an AMI already built (from a results document)
    ami_region: str = ""
    release_type: str = "ga"  # ga or beta
    boot_mode: str = ""

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}-{self.architecture}"

    @property
    def major(self) -> str:
        return self.version.split(".", 1)[0]

    @property
    def minor(self) -> str:
        parts = self.version.split(".")
        return parts[1] if len(parts) > 1 else "0"


@dataclass(frozen=True)
class Destination:
    """One destination of a mapping, with its meta already merged (entry < mapping < own)."""

    destination: str
    architecture: str | None
    meta: Mapping[str, Any]
    overwrite: bool = False
    restrict_version: int | None = None
    restrict_major: int | None = None
    restrict_minor: int | None = None
    provider: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountMapping:
    account: str
    destinations: tuple[Destination, ...]
    provider: str | None


@dataclass(frozen=True)
class BillingRule:
    key: str
    codes: tuple[str, ...]
    image_name: str
    image_types: tuple[str, ...]
    name: str
    release_type: str = ""  # imgpub's extension: "beta" or "ga" only; empty: both


@dataclass(frozen=True)
class Entity:
    """One entity of a QueryResponseContainer (one name, cloud and workflow)."""

    name: str
    cloud: Cloud
    workflow: Workflow
    mappings: tuple[AccountMapping, ...]
    billing: tuple[BillingRule, ...]
    raw: Mapping[str, Any]  # the entity as given, for the results document


@dataclass(frozen=True)
class Credentials:
    """One account's credentials; values are masked before this object exists."""

    alias: str
    auth: Mapping[str, Any]

    def text(self, key: str) -> str:
        value = self.auth.get(key)
        return "" if value is None else str(value)

    def items(self, key: str) -> list[str]:
        value = self.auth.get(key)
        if isinstance(value, list):
            return [str(v) for v in value]
        return [v.strip() for v in str(value or "").split(",") if v.strip()]
