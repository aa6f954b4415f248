"""Compute Gallery: the pure publish planner and a narrow adapter over ``ComputeManagementClient``.

The planner turns a parsed image name, the naming rules and the options into the list of
image versions to create — the whole answer of a dry run, computed without Azure. The
adapter then discovers what exists, and creates only what is missing:

* versions are long-running operations; all of them are started at once (in threads, each
  polling its own ``LROPoller``) instead of the anchor's one-after-the-other, replication
  included;
* a target is never sent twice: targets are deduplicated (the anchor issued the same 10.x
  create twice), existing versions are reported rather than re-created, and a failed LRO is
  reported with Azure's error, not retried blindly;
* an existing version is compared with the blob we publish: same source and ``Succeeded``
  is ``existed``; a different source or a failed version is an error that says what to do.

The client is injected (built by :func:`imgpub.azure.credentials.compute_client`), so the
integration tests drive the real SDK against :mod:`imgpub.sandbox.fake_arm`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from imgpub.azure.naming import (
    AzureNames,
    DefinitionName,
    ImageName,
    NamingRules,
    azure_names,
    check_gallery_name,
)
from imgpub.errors import CloudError, ConfigError, InputError

DEFAULT_REGIONS = ("eastus", "germanywestcentral", "westus2", "southeastasia", "southcentralus")
STORAGE_ACCOUNT_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS")
MAX_REPLICAS = 100
"""Azure's per-region replica limit for an image version."""

Status = Literal["created", "existed", "failed", "planned"]


# ---------------------------------------------------------------------------------------------
# Plan (pure)


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


@dataclass(frozen=True)
class TargetRegion:
    """One replication target of a version."""

    name: str
    replicas: int
    storage_account_type: str


@dataclass(frozen=True)
class VersionTarget:
    """One image version to exist: where, from what definition, replicated where."""

    resource_group: str
    gallery: str
    definition: DefinitionName
    version: str
    regions: tuple[TargetRegion, ...]
    storage_account_type: str
    exclude_from_latest: bool
    end_of_life_date: dt.date | None

    @property
    def path(self) -> str:
        """``gallery/definition/version``, as the anchor's summary lines print it."""
        return f"{self.gallery}/{self.definition.name}/{self.version}"

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity for deduplication (ARM names are case-insensitive)."""
        return (
            self.resource_group.lower(),
            self.gallery.lower(),
            self.definition.name.lower(),
            self.version.lower(),
        )


@dataclass(frozen=True)
class GalleryPlan:
    """Everything the publish would create; printed as the dry run's answer."""

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

    def lines(self) -> list[str]:
        """The plan as log lines (one per blob and version, with regions)."""
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
    if (
        options.end_of_life_date is not None
        and options.end_of_life_date <= dt.datetime.now(dt.UTC).date()
    ):
        raise InputError(
            "end-of-life-date",
            f"{options.end_of_life_date.isoformat()} is not in the future",
            "give a future date (YYYY-MM-DD) or leave it empty",
        )


def plan_publish(image: ImageName, rules: NamingRules, options: PublishOptions) -> GalleryPlan:
    """The versions to create for one image: pure, deterministic, no Azure needed.

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
    for definition in names.definitions:
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
    return GalleryPlan(
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


@dataclass(frozen=True)
class VersionSource:
    """The blob an image version is made from."""

    uri: str
    storage_account_id: str | None = None


def storage_account_id(subscription_id: str, resource_group: str, account: str) -> str:
    """The ARM ID of a storage account (Azure wants it next to the source blob URI)."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Storage/storageAccounts/{account}"
    )


def same_source(a: str | None, b: str | None) -> bool:
    """Blob URIs compared without SAS query strings, host case-insensitively."""
    if not a or not b:
        return False
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.netloc.lower(), pa.path) == (pb.scheme, pb.netloc.lower(), pb.path)


def version_body(target: VersionTarget, source: VersionSource, location: str) -> dict[str, Any]:
    """The REST body of an image version PUT (cloud-apis.md §3.1), built purely."""
    profile: dict[str, Any] = {
        "targetRegions": [
            {
                "name": r.name,
                "regionalReplicaCount": r.replicas,
                "storageAccountType": r.storage_account_type,
                "excludeFromLatest": target.exclude_from_latest,
            }
            for r in target.regions
        ],
        "replicaCount": max((r.replicas for r in target.regions), default=1),
        "excludeFromLatest": target.exclude_from_latest,
        "storageAccountType": target.storage_account_type,
    }
    if target.end_of_life_date is not None:
        profile["endOfLifeDate"] = f"{target.end_of_life_date.isoformat()}T00:00:00Z"
    disk_source: dict[str, Any] = {"uri": source.uri}
    if source.storage_account_id:
        disk_source["storageAccountId"] = source.storage_account_id
    return {
        "location": location,
        "properties": {
            "publishingProfile": profile,
            "storageProfile": {"osDiskImage": {"hostCaching": "ReadOnly", "source": disk_source}},
        },
    }


def definition_body(definition: DefinitionName, location: str) -> dict[str, Any]:
    """The REST body of an image definition PUT (only with create-definitions)."""
    props: dict[str, Any] = {
        "osType": "Linux",
        "osState": "Generalized",
        "hyperVGeneration": definition.generation,
        "architecture": definition.architecture,
        "identifier": {
            "publisher": definition.publisher,
            "offer": definition.offer,
            "sku": definition.sku,
        },
    }
    if definition.security_type:
        props["features"] = [{"name": "SecurityType", "value": definition.security_type}]
    return {"location": location, "properties": props}


# ---------------------------------------------------------------------------------------------
# Discovery results and outcomes


@dataclass(frozen=True)
class DefinitionState:
    """An image definition as Azure has it."""

    name: str
    generation: str | None
    architecture: str | None
    provisioning_state: str | None


@dataclass(frozen=True)
class VersionState:
    """An image version as Azure has it."""

    id: str
    provisioning_state: str
    source_uri: str | None
    regions: tuple[str, ...]


@dataclass(frozen=True)
class VersionOutcome:
    """What happened to one target; the stage records it in the results section."""

    target: VersionTarget
    status: Status
    id: str | None = None
    regions: tuple[str, ...] = ()
    error: str | None = None
    remedy: str | None = None


@dataclass(frozen=True)
class PublishReport:
    """All outcomes, in plan order, and the definitions created on the way."""

    outcomes: tuple[VersionOutcome, ...]
    created_definitions: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[VersionOutcome, ...]:
        """The outcomes with status ``failed``."""
        return tuple(o for o in self.outcomes if o.status == "failed")


def classify(
    target: VersionTarget, state: VersionState | None, source: VersionSource
) -> VersionOutcome | None:
    """Decide from an existing version what to report; None means "create it".

    Pure, so the rules of idempotency are unit-tested without a server.
    """
    if state is None:
        return None
    regions = state.regions
    if state.provisioning_state == "Succeeded":
        if same_source(state.source_uri, source.uri):
            return VersionOutcome(target, "existed", state.id, regions)
        return VersionOutcome(
            target,
            "failed",
            state.id,
            regions,
            error=f"image version {target.path} already exists from another blob"
            f" ({state.source_uri or 'unknown source'})",
            remedy="publish under the next index (a new version) or delete that version first",
        )
    if state.provisioning_state == "Failed":
        return VersionOutcome(
            target,
            "failed",
            state.id,
            regions,
            error=f"image version {target.path} exists in state Failed",
            remedy=f"delete it (az sig image-version delete -g {target.resource_group}"
            f" -r {target.gallery} -i {target.definition.name} -e {target.version}) and re-run",
        )
    return VersionOutcome(
        target,
        "failed",
        state.id,
        regions,
        error=f"image version {target.path} is {state.provisioning_state}",
        remedy="wait for the operation in progress to finish, then re-run",
    )


# ---------------------------------------------------------------------------------------------
# Adapter


def _rest(obj: Any) -> dict[str, Any]:
    """SDK models (typespec hybrid models) as their REST JSON."""
    if isinstance(obj, dict):
        return obj
    data = obj.as_dict()
    return data if isinstance(data, dict) else {}


def _http_error(exc: Exception) -> tuple[int | None, str]:
    """Status and a one-line ``(Code) message`` from an azure-core error."""
    status = getattr(exc, "status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or str(exc).strip().splitlines()[0]
    text = f"({code}) {message}" if code else message
    return status, " ".join(str(text).split())


def _is_not_found(exc: Exception) -> bool:
    return type(exc).__name__ == "ResourceNotFoundError" or getattr(exc, "status_code", 0) == 404


def _version_state(data: dict[str, Any]) -> VersionState:
    props = data.get("properties") or {}
    source = ((props.get("storageProfile") or {}).get("osDiskImage") or {}).get("source") or {}
    regions = tuple(
        str(r.get("name"))
        for r in (props.get("publishingProfile") or {}).get("targetRegions") or []
    )
    return VersionState(
        id=str(data.get("id", "")),
        provisioning_state=str(props.get("provisioningState") or "Unknown"),
        source_uri=source.get("uri"),
        regions=regions,
    )


@dataclass
class GalleryAdapter:
    """Narrow interface over an injected ``ComputeManagementClient``.

    ``workers`` bounds how many long-running creates run at once; ``timeout`` (seconds)
    bounds the wait for each (``None``: wait until Azure reports a terminal state).
    ``log`` receives one line per step (the stage passes ``ctx.gha.info``).
    """

    client: Any
    workers: int = 8
    timeout: float | None = None
    wait_interval: float = 15.0
    log: Callable[[str], None] = field(default=lambda _line: None)

    # -- reads --------------------------------------------------------------------------

    def gallery_location(self, resource_group: str, gallery: str) -> str:
        """The gallery's region (versions and definitions are created there)."""
        try:
            return str(_rest(self.client.galleries.get(resource_group, gallery))["location"])
        except Exception as exc:
            if _is_not_found(exc):
                raise ConfigError(
                    f"gallery {gallery} not found in resource group {resource_group}",
                    remedy="create the gallery, or fix the gallery/resource-group inputs",
                ) from None
            raise self._cloud_error(f"reading gallery {resource_group}/{gallery}", exc) from exc

    def get_definition(
        self, resource_group: str, gallery: str, name: str
    ) -> DefinitionState | None:
        """An image definition, or None if it does not exist."""
        try:
            data = _rest(self.client.gallery_images.get(resource_group, gallery, name))
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise self._cloud_error(f"reading image definition {gallery}/{name}", exc) from exc
        props = data.get("properties") or {}
        return DefinitionState(
            name=str(data.get("name", name)),
            generation=props.get("hyperVGeneration"),
            architecture=props.get("architecture"),
            provisioning_state=props.get("provisioningState"),
        )

    def get_version(
        self, resource_group: str, gallery: str, definition: str, version: str
    ) -> VersionState | None:
        """An image version with its source blob and state, or None if it does not exist."""
        try:
            data = _rest(
                self.client.gallery_image_versions.get(resource_group, gallery, definition, version)
            )
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise self._cloud_error(
                f"reading image version {gallery}/{definition}/{version}", exc
            ) from exc
        return _version_state(data)

    def missing_definitions(self, targets: Iterable[VersionTarget]) -> tuple[VersionTarget, ...]:
        """One target per image definition that does not exist yet (read-only)."""
        seen: dict[tuple[str, str, str], VersionTarget] = {}
        for t in targets:
            seen.setdefault(t.key[:3], t)
        return tuple(
            t
            for t in seen.values()
            if self.get_definition(t.resource_group, t.gallery, t.definition.name) is None
        )

    def discover(self, targets: Iterable[VersionTarget]) -> dict[str, VersionState | None]:
        """Existing versions for the targets, keyed by ``target.path`` (read-only)."""
        return {
            t.path: self.get_version(t.resource_group, t.gallery, t.definition.name, t.version)
            for t in _unique(targets)
        }

    # -- writes -------------------------------------------------------------------------

    def create_definitions(
        self, targets: Sequence[VersionTarget], location: str
    ) -> tuple[str, ...]:
        """Create the targets' image definitions (in parallel); returns their names."""
        if not targets:
            return ()

        def create(t: VersionTarget) -> str:
            self.log(f"creating image definition {t.gallery}/{t.definition.name}")
            try:
                poller = self.client.gallery_images.begin_create_or_update(
                    t.resource_group,
                    t.gallery,
                    t.definition.name,
                    definition_body(t.definition, location),
                )
                poller.result()
            except Exception as exc:
                raise self._cloud_error(
                    f"creating image definition {t.gallery}/{t.definition.name}", exc
                ) from exc
            return t.definition.name

        with ThreadPoolExecutor(max_workers=self._pool(len(targets))) as pool:
            return tuple(pool.map(create, targets))

    def publish(
        self,
        targets: Sequence[VersionTarget],
        source: VersionSource,
        *,
        create_definitions: bool = False,
    ) -> PublishReport:
        """Make every target exist from ``source``: discover, then create what is missing.

        Missing definitions stop everything before any write (``ConfigError`` naming them)
        unless ``create_definitions``; per-version failures are reported, not raised, so the
        other versions still finish.
        """
        unique = _unique(targets)
        if not unique:
            return PublishReport(())
        galleries = {(t.resource_group.lower(), t.gallery.lower()): t for t in unique}
        locations = {
            key: self.gallery_location(t.resource_group, t.gallery) for key, t in galleries.items()
        }
        missing = self.missing_definitions(unique)
        created_defs: tuple[str, ...] = ()
        if missing and not create_definitions:
            names = ", ".join(f"{t.gallery}/{t.definition.name}" for t in missing)
            raise ConfigError(
                f"image definition(s) missing: {names}",
                remedy="create them, or set create-definitions to true",
            )
        for (rg, gallery), location in locations.items():
            group = [
                t for t in missing if (t.resource_group.lower(), t.gallery.lower()) == (rg, gallery)
            ]
            created_defs += self.create_definitions(group, location)

        outcomes: dict[str, VersionOutcome] = {}
        to_create: list[VersionTarget] = []
        for t in unique:
            state = self.get_version(t.resource_group, t.gallery, t.definition.name, t.version)
            if state is not None and state.provisioning_state in ("Creating", "Updating"):
                self.log(f"{t.path} is {state.provisioning_state}; waiting for it")
                state = self._wait_version(t)
            outcome = classify(t, state, source)
            if outcome is None:
                to_create.append(t)
            else:
                self.log(f"{t.path}: {outcome.status}")
                outcomes[t.path] = outcome

        def create(t: VersionTarget) -> VersionOutcome:
            location = locations[(t.resource_group.lower(), t.gallery.lower())]
            return self._create_version(t, source, location)

        if to_create:
            with ThreadPoolExecutor(max_workers=self._pool(len(to_create))) as pool:
                for outcome in pool.map(create, to_create):
                    outcomes[outcome.target.path] = outcome
        return PublishReport(tuple(outcomes[t.path] for t in unique), created_defs)

    def delete_version(self, target: VersionTarget) -> None:
        """Delete one version (only when an input asks for it; never implicitly)."""
        try:
            self.client.gallery_image_versions.begin_delete(
                target.resource_group, target.gallery, target.definition.name, target.version
            ).result()
        except Exception as exc:
            if not _is_not_found(exc):
                raise self._cloud_error(f"deleting image version {target.path}", exc) from exc

    # -- internals ----------------------------------------------------------------------

    def _create_version(
        self, target: VersionTarget, source: VersionSource, location: str
    ) -> VersionOutcome:
        self.log(f"creating image version {target.path}")
        try:
            poller = self.client.gallery_image_versions.begin_create_or_update(
                target.resource_group,
                target.gallery,
                target.definition.name,
                target.version,
                version_body(target, source, location),
            )
            result = poller.result(timeout=self.timeout)
            if not poller.done():
                return VersionOutcome(
                    target,
                    "failed",
                    error=f"image version {target.path} still {poller.status()} after"
                    f" {self.timeout:g} s",
                    remedy="re-run later: the next run waits for it and reports it",
                )
        except Exception as exc:
            _, text = _http_error(exc)
            self.log(f"{target.path}: failed: {text}")
            return VersionOutcome(
                target,
                "failed",
                error=f"creating image version {target.path} failed: {text}",
                remedy=f"fix the cause, delete the failed version (az sig image-version delete"
                f" -g {target.resource_group} -r {target.gallery} -i {target.definition.name}"
                f" -e {target.version}) and re-run",
            )
        state = _version_state(_rest(result))
        self.log(f"{target.path}: created ({state.provisioning_state})")
        if state.provisioning_state not in ("Succeeded", "Unknown"):
            return classify(target, state, source) or VersionOutcome(target, "failed")
        return VersionOutcome(target, "created", state.id, state.regions)

    def _wait_version(self, target: VersionTarget) -> VersionState | None:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            state = self.get_version(
                target.resource_group, target.gallery, target.definition.name, target.version
            )
            if state is None or state.provisioning_state not in ("Creating", "Updating"):
                return state
            if deadline is not None and time.monotonic() >= deadline:
                return state
            time.sleep(self.wait_interval)

    def _pool(self, n: int) -> int:
        return max(1, min(self.workers, n))

    @staticmethod
    def _cloud_error(action: str, exc: Exception) -> CloudError:
        status, text = _http_error(exc)
        remedy = "check the Azure role assignments of the workflow's identity"
        if status in (401, 403):
            return CloudError(f"{action}: access denied {text}", remedy=remedy)
        return CloudError(f"{action}: {text}", remedy="re-run; the run resumes where it stopped")


def _unique(targets: Iterable[VersionTarget]) -> tuple[VersionTarget, ...]:
    seen: dict[tuple[str, str, str, str], VersionTarget] = {}
    for t in targets:
        seen.setdefault(t.key, t)
    return tuple(seen.values())
