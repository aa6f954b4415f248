"""An AMI product as DescribeEntity shows it: its versions, what they recommend, what to restrict.

The document is AmiProduct@1.0's entity shape (cloud-apis.md §4.5). Three decisions are
made from it, all pure:

* **existed** — a version with exactly the new title is already there (an exact match:
  cloudpub's substring test took "8.1 …-1" for "8.1 …-10");
* **the recommended instance type** — the newest still-offered version's, when it fits the
  AMI's architecture (a dev product shared by both architectures must not recommend
  t4g.small for an x86_64 AMI), else t3.small / t4g.small;
* **what keep-versions restricts** — the versions buyers can still get (any delivery option
  not ``Restricted``), newest first by ``CreationDate``, beyond the newest N *of each
  architecture* (a dev product holding both must not lose this run's x86_64 version to its
  arm64 one). Nothing is deleted; the last public version is never among them (N ≥ 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_INSTANCE_TYPE = {"x86_64": "t3.small", "arm64": "t4g.small"}
INSTANCE_TYPE = re.compile(r"^[a-z]+[0-9]+([a-z-]*)\.[0-9]*[a-z]+$")


def instance_architecture(instance_type: str) -> str:
    """x86_64 or arm64: Graviton families carry a ``g`` after the generation (t4g, c6gn)."""
    found = INSTANCE_TYPE.match(instance_type)
    return "arm64" if found and "g" in found.group(1) else "x86_64"


@dataclass(frozen=True)
class DeliveryOption:
    option_id: str
    visibility: str
    instance_type: str

    @property
    def offered(self) -> bool:
        return self.visibility != "Restricted"


@dataclass(frozen=True)
class ProductVersion:
    version_id: str
    title: str
    created: str  # ISO 8601; sorts as text
    options: tuple[DeliveryOption, ...]
    architectures: tuple[str, ...]

    @property
    def offered(self) -> bool:
        return any(o.offered for o in self.options)

    @property
    def offered_option_ids(self) -> tuple[str, ...]:
        return tuple(o.option_id for o in self.options if o.offered)

    def to_json(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "title": self.title,
            "created": self.created,
            "delivery_option_ids": list(self.offered_option_ids),
        }


@dataclass(frozen=True)
class ProductState:
    """The parts of one AMI product that marketplace-changeset decides from."""

    product_id: str
    title: str
    visibility: str
    versions: tuple[ProductVersion, ...]
    instance_types: tuple[str, ...]

    def version_titled(self, title: str) -> ProductVersion | None:
        return next((v for v in self.versions if v.title == title), None)

    def newest_first(self) -> list[ProductVersion]:
        return sorted(self.versions, key=lambda v: (v.created, v.title), reverse=True)

    def recommended_instance_type(self, architecture: str) -> str:
        """The newest offered version's recommendation that fits, else the default."""
        for version in self.newest_first():
            if not version.offered:
                continue
            if version.architectures and architecture not in version.architectures:
                continue
            for option in version.options:
                fits = instance_architecture(option.instance_type) == architecture
                if option.offered and option.instance_type and fits:
                    return option.instance_type
        return DEFAULT_INSTANCE_TYPE.get(architecture, "t3.small")


def parse_entity(product_id: str, document: Mapping[str, Any]) -> ProductState:
    """Read the AmiProduct@1.0 details document (unknown fields are ignored)."""
    description = document.get("Description") or {}
    versions = []
    for v in document.get("Versions") or []:
        options = tuple(
            DeliveryOption(
                option_id=str(o.get("Id", "")),
                visibility=str(o.get("Visibility", "")),
                instance_type=str((o.get("Recommendations") or {}).get("InstanceType", "")),
            )
            for o in v.get("DeliveryOptions") or []
        )
        architectures = tuple(
            str(s["Architecture"]) for s in v.get("Sources") or [] if s.get("Architecture")
        )
        versions.append(
            ProductVersion(
                version_id=str(v.get("Id", "")),
                title=str(v.get("VersionTitle", "")),
                created=str(v.get("CreationDate", "")),
                options=options,
                architectures=architectures,
            )
        )
    compatibility = document.get("Compatibility") or {}
    return ProductState(
        product_id=product_id,
        title=str(description.get("ProductTitle", "")),
        visibility=str(description.get("Visibility", "")),
        versions=tuple(versions),
        instance_types=tuple(compatibility.get("AvailableInstanceTypes") or ()),
    )


def versions_to_restrict(
    state: ProductState, keep: int, new: Iterable[tuple[str, str]] = ()
) -> list[ProductVersion]:
    """The offered versions beyond the newest ``keep`` of their architecture.

    ``new`` are (title, architecture) of versions a plan will add (not in ``state`` yet);
    they count as the newest, so a dry run lists what the run would restrict once they
    succeed. Versions whose architecture is unknown form a group of their own.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1: the last public version cannot go")
    pending: dict[str, int] = {}
    for title, arch in dict.fromkeys(new):
        if state.version_titled(title) is None:
            pending[arch] = pending.get(arch, 0) + 1
    kept: dict[str, int] = {}
    out = []
    for version in (v for v in state.newest_first() if v.offered):
        arch = version.architectures[0] if version.architectures else ""
        kept[arch] = kept.get(arch, pending.get(arch, 0)) + 1
        if kept[arch] > keep:
            out.append(version)
    return out


def option_ids(versions: Sequence[ProductVersion]) -> list[str]:
    return [i for v in versions for i in v.offered_option_ids]
