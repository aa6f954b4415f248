"""What a mirror-ami run did, per (source AMI, region) and per SSM parameter.

The stage turns this into results-document targets, tables, the job summary and the
``amis`` output; nothing here is re-parsed from logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from imgpub.mirror.tables import PublishedImage, ami_map


class TargetState(StrEnum):
    COPIED = "copied"  # this run started the copy
    EXISTED = "existed"  # found from an earlier run (or the source itself), repaired if needed
    FAILED = "failed"


class ParameterState(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    EXISTED = "existed"
    FAILED = "failed"


@dataclass(frozen=True)
class TargetOutcome:
    source_ami: str
    region: str
    state: TargetState
    image_id: str | None = None
    public: bool = False
    is_source: bool = False
    snapshot_ids: tuple[str, ...] = ()
    error: str = ""
    name: str = ""
    architecture: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    changes: tuple[str, ...] = ()  # what this run changed here: "copy", "tags", "share", ...


@dataclass(frozen=True)
class ParameterOutcome:
    region: str
    name: str
    value: str
    state: ParameterState
    source_ami: str = ""
    error: str = ""


@dataclass(frozen=True)
class MirrorResult:
    targets: tuple[TargetOutcome, ...]
    parameters: tuple[ParameterOutcome, ...] = ()
    notices: tuple[str, ...] = ()
    unblocked_regions: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[TargetOutcome, ...]:
        return tuple(t for t in self.targets if t.state is TargetState.FAILED)

    @property
    def failed_parameters(self) -> tuple[ParameterOutcome, ...]:
        return tuple(p for p in self.parameters if p.state is ParameterState.FAILED)

    @property
    def succeeded(self) -> tuple[TargetOutcome, ...]:
        return tuple(t for t in self.targets if t.state is not TargetState.FAILED)

    def published_images(self) -> list[PublishedImage]:
        """The rows of the tables and the ``amis`` map: everything that succeeded."""
        return [
            PublishedImage(
                source_ami=t.source_ami,
                region=t.region,
                ami_id=t.image_id,
                name=t.name,
                tags=t.tags,
                ec2_architecture=t.architecture,
            )
            for t in self.succeeded
            if t.image_id
        ]

    def ami_map(self) -> dict[str, dict[str, str]]:
        return ami_map(self.published_images())
