"""Every name a release gets — blob, gallery, definitions, versions, regions — with no Azure.

:func:`plan_names` turns a parsed image name, the naming rules and the options into the
blob to write and the image versions to exist: deterministic, so a re-run computes the
same names and finds what the first run made, and checkable without Azure, so a dry run
prints it even offline. Which of those exist already is discovery's business
(:mod:`imgpub.gallery.discover`); what to do about them, the plan's (:mod:`imgpub.gallery.plan`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from imgpub.azure.gallery import TargetRegion, VersionTarget
from imgpub.azure.image_names import azure_names
from imgpub.azure.naming import AzureNames, DefinitionName, ImageName, NamingRules
from imgpub.azure.resource_names import (
    check_gallery_name,
    check_identifier_part,
    check_resource_group,
)
from imgpub.errors import InputError

DEFAULT_REGIONS = ("eastus", "germanywestcentral", "westus2", "southeastasia", "southcentralus")
STORAGE_ACCOUNT_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS")
MAX_REPLICAS = 100
"""Azure's per-region replica limit for an image version."""


@dataclass(frozen=True)
class PublishOptions:
    """What the user chose; names left ``None`` come from the naming rules."""

    regions: tuple[str, ...] = DEFAULT_REGIONS
    replica_count: int = 1
    storage_account_type: str = "Standard_LRS"
    exclude_from_latest: bool = False
    end_of_life_date: dt.date | None = None
    public: bool = False
    gallery: str | None = None
    public_gallery: str | None = None
    resource_group: str | None = None
    storage_account: str | None = None
    container: str | None = None
    index: int | None = None
    publisher: str | None = None
    offer: str | None = None
    security_type: str | None = None
    """Overrides the naming file's security type on Gen2 definitions (create-definitions)."""
    generations: tuple[str, ...] = ()
    """Only definitions of these Hyper-V generations (empty: all the naming rules give)."""


@dataclass(frozen=True)
class PublishNames:
    """Everything the release is called, at one blob index: the plan before discovery."""

    image: ImageName
    names: AzureNames
    resource_group: str
    storage_account: str
    container: str
    blob_name: str
    gallery: str
    public: bool
    versions: tuple[VersionTarget, ...]
    notes: tuple[str, ...] = ()

    @property
    def index(self) -> int:
        return self.names.index

    def lines(self) -> list[str]:
        """The names as log lines (one per blob and version, with regions)."""
        out = [
            f"{self.image.release} {self.image.datestamp} {self.image.image_type}"
            f" ({self.image.filename})",
            f"blob: {self.storage_account}/{self.container}/{self.blob_name}",
        ]
        for t in self.versions:
            regions = ", ".join(f"{r.name} x{r.replicas}" for r in t.regions)
            out.append(
                f"version: {t.path} ({t.definition.generation}, {t.definition.architecture})"
                f" → {regions}"
            )
        out.extend(f"note: {n}" for n in self.notes)
        return out


def check_options(options: PublishOptions) -> None:
    """Validate options that need no Azure; bad values → ``InputError`` naming the input."""
    if not 1 <= options.replica_count <= MAX_REPLICAS:
        raise InputError(
            "replica-count",
            f"{options.replica_count} is outside 1..{MAX_REPLICAS}",
            "give a replica count per region between 1 and 100",
        )
    if options.storage_account_type not in STORAGE_ACCOUNT_TYPES:
        raise InputError(
            "storage-account-type",
            f"unknown storage account type {options.storage_account_type!r}",
            f"use one of {', '.join(STORAGE_ACCOUNT_TYPES)}",
        )
    if not options.regions:
        raise InputError("target-regions", "no region given", "name at least one region")
    if options.gallery is not None:
        check_gallery_name(options.gallery, "gallery")
    if options.public_gallery is not None:
        check_gallery_name(options.public_gallery, "public-gallery")
    if options.resource_group is not None:
        check_resource_group(options.resource_group, "resource-group")
    if options.publisher is not None:
        check_identifier_part(options.publisher, "publisher", "publisher")
    if options.offer is not None:
        check_identifier_part(options.offer, "offer", "offer")
    if (
        options.end_of_life_date is not None
        and options.end_of_life_date <= dt.datetime.now(dt.UTC).date()
    ):
        raise InputError(
            "end-of-life-date",
            f"{options.end_of_life_date.isoformat()} is not in the future",
            "give a future date (YYYY-MM-DD) or leave it empty",
        )


def plan_names(image: ImageName, rules: NamingRules, options: PublishOptions) -> PublishNames:
    """The names of one image at ``options.index`` (default: the file's): pure, no Azure.

    Routing: the public gallery only when asked for *and* the naming rules allow it for
    this release and image type (the anchor forces 10.x, Kitten and 9 arm64-64k to the CI
    gallery); otherwise the CI gallery, with a note saying why.
    """
    check_options(options)
    names = azure_names(image, rules, index=options.index)
    notes: list[str] = []
    ci_gallery = options.gallery or rules.ci_gallery
    public = options.public and names.public_allowed
    if options.public and not names.public_allowed:
        notes.append(
            f"{image.release} {image.image_type} goes to the CI gallery {ci_gallery}:"
            f" the naming rules ({rules.source}) do not allow the public gallery for it"
        )
    gallery = (options.public_gallery or rules.public_gallery) if public else ci_gallery
    resource_group = options.resource_group or rules.resource_group
    regions = tuple(
        TargetRegion(r, options.replica_count, options.storage_account_type)
        for r in dict.fromkeys(options.regions)
    )
    targets: dict[tuple[str, str, str, str], VersionTarget] = {}
    definitions = _of_generations(names.definitions, options.generations, image, rules)
    for definition in definitions:
        d = definition
        if options.publisher or options.offer:
            d = replace(
                d, publisher=options.publisher or d.publisher, offer=options.offer or d.offer
            )
        if options.security_type and d.generation == "V2":
            d = replace(d, security_type=options.security_type)
        target = VersionTarget(
            resource_group=resource_group,
            gallery=gallery,
            definition=d,
            version=names.gallery_version,
            regions=regions,
            storage_account_type=options.storage_account_type,
            exclude_from_latest=options.exclude_from_latest,
            end_of_life_date=options.end_of_life_date,
        )
        targets.setdefault(target.key, target)
    return PublishNames(
        image=image,
        names=names,
        resource_group=resource_group,
        storage_account=options.storage_account or rules.storage_account,
        container=options.container or names.container,
        blob_name=names.blob_name,
        gallery=gallery,
        public=public,
        versions=tuple(targets.values()),
        notes=tuple(notes),
    )


def _of_generations(
    definitions: tuple[DefinitionName, ...],
    generations: tuple[str, ...],
    image: ImageName,
    rules: NamingRules,
) -> tuple[DefinitionName, ...]:
    """The definitions of the generations asked for; none left is a bad input, not a no-op."""
    if not generations:
        return definitions
    kept = tuple(d for d in definitions if d.generation in generations)
    if not kept:
        offered = ", ".join(sorted({d.generation for d in definitions})) or "none"
        raise InputError(
            "generations",
            f"the naming rules ({rules.source}) give {image.release} {image.arch} "
            f"only {offered}, not {', '.join(generations)}",
            f"ask for {offered} or leave generations empty",
        )
    return kept
