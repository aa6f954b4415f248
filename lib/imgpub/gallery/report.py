"""The plan and the result as the stage flow wants them: targets, outputs, data, summary.

:class:`PlannedRelease` is what ``prepare`` returns (the answer of a dry run);
:class:`ReleaseResult` what ``apply`` returns. Both render from the same pieces, so a
version reads the same in the plan, the results document, the ``image-versions`` output
and the summary: gallery/definition/version, API region names, an ARM ID where one is
known or predictable. The job summary itself is :mod:`imgpub.gallery.summary`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imgpub.azure.gallery import VersionTarget, version_id
from imgpub.azure.session import AzureSession
from imgpub.diskimage.streams import DiskSource
from imgpub.gallery import summary as summary_of
from imgpub.gallery.plan import (
    BlobAction,
    BlobPlan,
    DefinitionAction,
    DefinitionPlan,
    GalleryPlan,
    VersionAction,
    VersionPlan,
)
from imgpub.gallery.result import BlobOutcome, DefinitionOutcome, GalleryResult, VersionOutcome
from imgpub.gha import Summary
from imgpub.results import Target, TargetState
from imgpub.stage import json_output


def planned_version(v: VersionPlan) -> VersionOutcome:
    """A version of the plan in the words of a result (nothing has happened to it yet)."""
    state = v.state
    if v.action is VersionAction.EXISTS and state is not None:
        return VersionOutcome(v.target, "existed", state.id, state.regions)
    if v.action is VersionAction.REFUSED:
        return VersionOutcome(
            v.target, "failed", state.id if state else None, (), v.error, v.remedy
        )
    return VersionOutcome(v.target, "planned", state.id if state else None)


def planned_definition(d: DefinitionPlan) -> DefinitionOutcome | None:
    if d.action is DefinitionAction.UNCHECKED:
        return None
    if d.action is DefinitionAction.EXISTS:
        return DefinitionOutcome(d, "existed")
    if d.action is DefinitionAction.CREATE:
        return DefinitionOutcome(d, "planned")
    error = d.problem or f"image definition {d.name} is missing"
    return DefinitionOutcome(d, "failed", error, "the run would stop before any change")


def planned_blob(b: BlobPlan) -> BlobOutcome:
    state: TargetState = "existed" if b.action is BlobAction.REUSE else "planned"
    return BlobOutcome(b, state, b.url)


def _version_target(plan: GalleryPlan, o: VersionOutcome) -> Target:
    t = o.target
    regions = list(o.region_names)
    return Target(
        kind="gallery-image-version",
        key=f"version:{t.path}",
        state=o.state,
        region=", ".join(regions),
        resource_id=_version_id(plan, o),
        source=plan.source.uri or None,
        error=o.error,
        remedy=o.remedy,
        details={
            "gallery": t.gallery,
            "definition": t.definition.name,
            "version": t.version,
            "generation": t.definition.generation,
            "architecture": t.definition.architecture,
            "regions": regions,
            "replicas": t.regions[0].replicas if t.regions else 0,
            "exclude_from_latest": t.exclude_from_latest,
        },
    )


def _definition_target(o: DefinitionOutcome) -> Target:
    d = o.plan.target.definition
    return Target(
        kind="gallery-image-definition",
        key=f"definition:{o.plan.name}",
        state=o.state,
        error=o.error,
        remedy=o.remedy,
        details={"generation": d.generation, "architecture": d.architecture, "sku": d.sku},
    )


def _blob_target(plan: GalleryPlan, o: BlobOutcome) -> Target:
    b = o.plan
    details: dict[str, Any] = {
        "container": b.container,
        "blob": b.name,
        "storage_account": b.account,
        "index": b.index,
        "found": b.found,
    }
    if o.upload is not None:
        u = o.upload
        details.update(
            outcome=str(u.outcome),
            bytes_sent=u.bytes_sent,
            pages_sent=u.pages_sent,
            blob_size=u.blob_size,
            content_md5=u.content_md5.hex() if u.content_md5 else None,
        )
    if o.state in ("failed", "cancelled"):
        details.update(deleted=o.deleted, resumable=o.resumable)
    return Target(
        kind="page-blob",
        key=f"blob:{b.container}/{b.name}",
        state=o.state,
        resource_id=o.url,
        source=plan.image,
        error=o.error,
        remedy=o.remedy,
        details=details,
    )


def _version_id(plan: GalleryPlan, o: VersionOutcome) -> str | None:
    if o.id:
        return o.id
    return version_id(plan.subscription, o.target) if plan.subscription else None


def _entry(plan: GalleryPlan, o: VersionOutcome) -> dict[str, Any]:
    t: VersionTarget = o.target
    return {
        "gallery": t.gallery,
        "definition": t.definition.name,
        "version": t.version,
        "id": _version_id(plan, o),
        "regions": list(o.region_names),
        "state": o.state,
        "generation": t.definition.generation,
    }


@dataclass(frozen=True)
class _Rendered:
    """The common rendering of a plan or a result, from outcomes."""

    plan: GalleryPlan
    blob: BlobOutcome | None
    definitions: tuple[DefinitionOutcome, ...]
    versions: tuple[VersionOutcome, ...]

    def targets(self) -> Sequence[Target]:
        out = [_blob_target(self.plan, self.blob)] if self.blob is not None else []
        out += [_definition_target(d) for d in self.definitions]
        out += [_version_target(self.plan, v) for v in self.versions]
        return out

    def outputs(self) -> Mapping[str, str]:
        url = self.blob.url if self.blob is not None else self.plan.source.uri
        versions = [_entry(self.plan, v) for v in self.versions]
        return {"blob-url": url, "image-versions": json_output(versions)}

    def data(self) -> Mapping[str, Any]:
        image = self.plan.names.image
        return {
            "release": image.release,
            "timestamp": image.datestamp,
            "image_file": image.filename,
            "gallery": self.plan.names.gallery,
            "gallery_location": self.plan.location,
            "public": self.plan.names.public,
            "blob_index": self.plan.names.index,
            "checked_against_azure": self.plan.checked,
            "notes": [*self.plan.notes, *self.plan.changes],
        }


@dataclass(frozen=True)
class PlannedRelease(_Rendered):
    """What ``prepare`` returns: the plan, and the opened image apply will upload."""

    source: DiskSource | None = field(default=None, compare=False, repr=False)
    session: AzureSession | None = field(default=None, compare=False, repr=False)
    """The clients prepare built; apply uses the same ones (one credential per run)."""

    @classmethod
    def of(
        cls, plan: GalleryPlan, source: DiskSource | None, session: AzureSession | None = None
    ) -> PlannedRelease:
        definitions = (planned_definition(d) for d in plan.definitions)
        return cls(
            plan,
            planned_blob(plan.blob) if plan.blob is not None else None,
            tuple(d for d in definitions if d is not None),
            tuple(planned_version(v) for v in plan.versions),
            source,
            session,
        )

    def lines(self) -> Sequence[str]:
        return summary_of.plan_lines(self.plan)

    def summarize(self, summary: Summary) -> None:
        summary_of.summarize(summary, self.plan, self.blob, self.definitions, self.versions)


@dataclass(frozen=True)
class ReleaseResult(_Rendered):
    """What ``apply`` returns."""

    seconds: float = 0.0
    cancelled: str = ""

    @classmethod
    def of(cls, result: GalleryResult, cancelled: str = "") -> ReleaseResult:
        return cls(
            result.plan, result.blob, result.definitions, result.versions, result.seconds,
            cancelled,
        )  # fmt: skip

    def summarize(self, summary: Summary) -> None:
        summary_of.summarize(
            summary, self.plan, self.blob, self.definitions, self.versions,
            seconds=self.seconds, cancelled=self.cancelled, applied=True,
        )  # fmt: skip
