"""What an image's file name says, and the names and tags an AMI gets from it (pure).

AlmaLinux's images are named ``AlmaLinux-9-GenericCloud-9.6-20250522.0.x86_64.raw``:
release 9.6, build date 20250522, build index 0, architecture x86_64. Their AMIs are
named ``AlmaLinux OS 9.6.20250522 x86_64`` and tagged Version ``9.6.20250522`` and
Architecture ``x86_64`` (the EC2 attribute says ``arm64`` where the tag says ``aarch64``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from imgpub.errors import InputError

_BUILD = re.compile(
    r"(?P<release>\d+(?:\.\d+)?)-(?P<date>\d{8})(?:\.(?P<index>\d+))?"
    r"[._-](?P<arch>x86_64|aarch64|arm64|amd64)\b"
)
_EXTENSIONS = re.compile(r"(\.(raw|img|vhd|qcow2))?(\.(xz|gz))?$", re.IGNORECASE)
#: EC2 architecture → the spelling of the Architecture tag, names and ``uname -m``.
ARCH_TAG = {"x86_64": "x86_64", "arm64": "aarch64"}
_EC2_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}

TAG_NAME = "Name"
TAG_VERSION = "Version"
TAG_ARCH = "Architecture"
TAG_SOURCE = "SourceImage"
TAG_MANAGED_BY = "ManagedBy"
TAG_IDENTITY = "imgpub:source-identity"
TAG_TEST = "imgpub:test"
TAG_ATTEMPT = "imgpub:upload-attempt"
RESERVED_TAGS = frozenset({TAG_NAME, TAG_VERSION, TAG_ARCH, TAG_SOURCE, TAG_MANAGED_BY})
FIELDS = ("release", "version", "date", "arch", "name", "source")


@dataclass(frozen=True)
class ImageFacts:
    """What the file name (or the inputs overriding it) says about the build."""

    name: str
    release: str
    date: str
    architecture: str  # EC2's: x86_64 or arm64
    version: str

    @property
    def arch_tag(self) -> str:
        return ARCH_TAG.get(self.architecture, self.architecture)


def ec2_architecture(value: str, *, input_name: str = "architecture") -> str:
    arch = _EC2_ARCH.get(value.strip().lower())
    if arch is None:
        raise InputError(input_name, f"{value!r} is not an architecture", "use x86_64 or arm64")
    return arch


def file_stem(file_name: str) -> str:
    """The file name without .raw/.img/.vhd and .xz/.gz."""
    return _EXTENSIONS.sub("", file_name)


def image_facts(file_name: str, *, version: str = "", architecture: str = "") -> ImageFacts:
    """Release, date and architecture from the file name; inputs override what they give."""
    match = _BUILD.search(file_name)
    release = match.group("release") if match else ""
    date = match.group("date") if match else ""
    arch = ec2_architecture(architecture) if architecture else ""
    if not arch and match:
        arch = _EC2_ARCH[match.group("arch")]
    if not arch:
        raise InputError(
            "architecture",
            f"cannot tell the architecture from the file name {file_name}",
            "set architecture (x86_64 or arm64) or name the file …<release>-<date>.<arch>.raw",
        )
    full_version = version.strip() or (f"{release}.{date}" if match else "")
    if not release and full_version:
        release = full_version.rsplit(".", 1)[0] if full_version.count(".") >= 2 else full_version
    return ImageFacts(file_stem(file_name), release, date, arch, full_version)


def render(template: str, facts: ImageFacts, *, input_name: str, source: str = "") -> str:
    """A name template filled in; a field the file name did not give is bad input."""
    values = {
        "release": facts.release,
        "version": facts.version,
        "date": facts.date,
        "arch": facts.arch_tag,
        "name": facts.name,
        "source": source or facts.name,
    }
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise InputError(input_name, f"{template!r} is not a template ({exc})", "balance {}") from None
    for field in fields:
        if field not in values:
            raise InputError(
                input_name, f"unknown field {{{field}}}", f"use {', '.join('{' + f + '}' for f in FIELDS)}"
            )
        if not values[field]:
            raise InputError(
                input_name,
                f"{{{field}}} is unknown for {facts.name}",
                "set version (and architecture), or name the file …<release>-<date>.<arch>.raw",
            )
    return template.format(**values).strip()


def ami_tags(
    facts: ImageFacts, ami_name: str, source: str, identity: str, extra: Mapping[str, str]
) -> dict[str, str]:
    """The tags of the AMI and its snapshot: imgpub's, then the user's."""
    tags = {
        TAG_NAME: ami_name,
        TAG_VERSION: facts.version,
        TAG_ARCH: facts.arch_tag,
        TAG_SOURCE: source[:256],
        TAG_MANAGED_BY: "imgpub",
    }
    if identity:
        tags[TAG_IDENTITY] = identity
    tags.update(extra)
    return {k: v for k, v in tags.items() if v != ""}
