"""The AMIs a Marketplace release adds, and what is read from each of them.

Marketplace takes AMIs from us-east-1 only. They are named by the ``ami-id`` input —
IDs, or mirror-ami's ``amis`` output (JSON source → region → AMI), whose us-east-1 AMIs are
taken — or, when it is empty, found in the results document: mirror-ami records every
image it holds as an ``ami-source``/``ami-copy`` target with its region, build-ami records
its AMI as an ``ami`` target. What preflight reads from EC2 (name, architecture, the
``Version`` tag) becomes :class:`AmiFacts`, from which templates and product rules work.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from imgpub.errors import InputError
from imgpub.results import DONE_STATES, ResultsDocument

MARKETPLACE_REGION = "us-east-1"
AMI_ID = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
AMI_FIX = "write ami- followed by 8 or 17 lowercase hex digits, e.g. ami-0123456789abcdef0"
#: The stages whose results name AMIs, and the target kinds that do.
AMI_KINDS = {"mirror-ami": ("ami-source", "ami-copy"), "build-ami": ("ami",)}
_DATESTAMP = re.compile(r"\.\d{8}.*$")


@dataclass(frozen=True)
class AmiFacts:
    """One AMI as preflight found it in us-east-1, with its version split up."""

    image_id: str
    name: str
    architecture: str  # EC2's: x86_64 or arm64
    version: str  # the Version tag, e.g. 9.6.20250522 or 10.20250904.0
    state: str = "available"

    @property
    def os_version(self) -> str:
        """The Version tag without its date stamp: 9.6, 10.1, 10 (Kitten)."""
        return _DATESTAMP.sub("", self.version)

    @property
    def major(self) -> str:
        return self.os_version.split(".", 1)[0]

    @property
    def minor(self) -> str:
        parts = self.os_version.split(".")
        return parts[1] if len(parts) > 1 else ""

    @property
    def arch(self) -> str:
        """AlmaLinux's spelling (the Architecture tag): aarch64 for EC2's arm64."""
        return "aarch64" if self.architecture == "arm64" else self.architecture

    def variables(self) -> dict[str, str]:
        """What templates and rules may use about the AMI."""
        return {
            "ami_id": self.image_id,
            "name": self.name,
            "version": self.version,
            "os_version": self.os_version,
            "major": self.major,
            "minor": self.minor,
            "architecture": self.architecture,
            "arch": self.arch,
        }


def parse_ami_ids(text: str) -> tuple[str, ...]:
    """The ``ami-id`` input: a list of IDs, or mirror-ami's ``amis`` JSON map."""
    text = text.strip()
    if text.startswith("{"):
        return _from_mirror_map(text)
    ids = [p.strip() for p in re.split(r"[,\s]+", text) if p.strip()]
    for ami in ids:
        if not AMI_ID.match(ami):
            raise InputError("ami-id", f"{ami!r} is not an AMI ID", AMI_FIX)
    return tuple(dict.fromkeys(ids))


def _from_mirror_map(text: str) -> tuple[str, ...]:
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise InputError(
            "ami-id", f"looks like JSON but does not parse: {exc}", "pass mirror-ami's amis output"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InputError(
            "ami-id",
            "JSON must map each source AMI to {region: AMI ID}, as mirror-ami's amis output does",
            "pass needs.<mirror job>.outputs.amis, or a list of AMI IDs",
        )
    out: list[str] = []
    for source, regions in data.items():
        ami = regions.get(MARKETPLACE_REGION)
        if not isinstance(ami, str) or not AMI_ID.match(ami):
            raise InputError(
                "ami-id",
                f"the amis map has no {MARKETPLACE_REGION} AMI for {source}",
                f"Marketplace takes AMIs from {MARKETPLACE_REGION}: mirror there too",
            )
        out.append(ami)
    if not out:
        raise InputError("ami-id", "the amis map is empty", "check the mirror job's outputs")
    return tuple(dict.fromkeys(out))


def amis_from_results(previous: ResultsDocument) -> tuple[tuple[str, ...], str]:
    """The us-east-1 AMIs earlier stages recorded, and which stages they came from."""
    found: list[str] = []
    stages: list[str] = []
    elsewhere: list[str] = []
    for stage, kinds in AMI_KINDS.items():
        section = previous.section(stage)
        if section is None:
            continue
        stages.append(stage)
        for target in section.targets:
            if target.kind not in kinds or target.state not in DONE_STATES:
                continue
            if not target.resource_id or not AMI_ID.match(target.resource_id):
                continue
            if target.region == MARKETPLACE_REGION:
                found.append(target.resource_id)
            else:
                elsewhere.append(f"{target.resource_id} ({target.region})")
    if found:
        return tuple(dict.fromkeys(found)), ", ".join(stages)
    if stages:
        where = f": only {', '.join(elsewhere[:4])}" if elsewhere else ""
        raise InputError(
            "ami-id",
            f"is empty and the results of {', '.join(stages)} hold no AMI in "
            f"{MARKETPLACE_REGION}{where}",
            f"Marketplace takes AMIs from {MARKETPLACE_REGION}: mirror there, or give ami-id",
        )
    raise InputError(
        "ami-id",
        "is empty and the results document has no mirror-ami or build-ami section",
        "give the AMI IDs, or run after mirror-ami with the same results path",
    )


def read_input_file(name: str, path_text: str, builtin: str) -> tuple[str, str]:
    """(where it comes from, its text): the file an input names, or imgpub's ``builtin``
    (``imgpub/<path>`` inside the package) when the input is empty."""
    if not path_text:
        package, _, inner = builtin.partition("/")
        return builtin, resources.files(package).joinpath(inner).read_text("utf-8")
    path = Path(path_text)
    try:
        return str(path), path.read_text("utf-8")
    except OSError as exc:
        raise InputError(
            name, f"cannot read {path}: {exc.strerror}", "give a readable file"
        ) from None
