"""What apply did, per target: the blob, each image definition, each image version.

Plain frozen values, one per target, in the states of the results document; apply returns
them all at the end and records nothing on the way, so a result is complete or absent,
never half-recorded. :mod:`imgpub.gallery.report` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgpub.azure.gallery import VersionTarget
from imgpub.azure.pageblob import PageBlobResult
from imgpub.gallery.plan import BlobPlan, DefinitionPlan, GalleryPlan
from imgpub.results import TargetState


@dataclass(frozen=True)
class BlobOutcome:
    plan: BlobPlan
    state: TargetState
    url: str
    upload: PageBlobResult | None = None
    error: str | None = None
    remedy: str | None = None
    deleted: bool = False
    """A corrupt source: the partial blob this run created was removed."""
    resumable: bool = False
    """An incomplete blob of this source is in place; the next run sends only what is missing."""

    @property
    def ready(self) -> bool:
        """Complete: versions can be made from it."""
        return self.state in ("created", "existed")


@dataclass(frozen=True)
class DefinitionOutcome:
    plan: DefinitionPlan
    state: TargetState
    error: str | None = None
    remedy: str | None = None


@dataclass(frozen=True)
class VersionOutcome:
    target: VersionTarget
    state: TargetState
    id: str | None = None
    regions: tuple[str, ...] = ()
    """As Azure reports them (API names); empty when it has not (planned, failed early)."""
    error: str | None = None
    remedy: str | None = None

    @property
    def region_names(self) -> tuple[str, ...]:
        return self.regions or self.target.region_names


@dataclass(frozen=True)
class GalleryResult:
    plan: GalleryPlan
    blob: BlobOutcome | None
    definitions: tuple[DefinitionOutcome, ...]
    versions: tuple[VersionOutcome, ...]
    seconds: float
