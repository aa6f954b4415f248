"""Compute Gallery through an injected ``ComputeManagementClient``: reads, and one create at a time.

The adapter speaks ARM and nothing else: what a gallery, a definition or a version looks
like (as small value objects), the REST bodies of the two PUTs imgpub sends, and one call
per method. Deciding what to create, and how many at once, is the gallery engine's
(:mod:`imgpub.gallery`): it discovers with the reads here, plans purely, and fans the
creates out with :func:`imgpub.fanout.fan_out`.

Azure answers a version's target regions with display names (``East US``); every region
leaving this module is an API name (``eastus``), so that results never change shape.

The client is injected (built once by :class:`imgpub.azure.session.AzureSession`), so the
integration tests drive the real SDK against :mod:`imgpub.sandbox.fake_arm`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from imgpub.azure import remedies
from imgpub.azure.naming import DefinitionName
from imgpub.cancel import NEVER, Cancellation, Cancelled
from imgpub.errors import CloudError, ConfigError
from imgpub.text import first_line

BUSY_STATES = ("Creating", "Updating")
POLL_STEP = 0.5
"""How often a create's wait looks at the cancel flag (the SDK polls on its own thread)."""


def api_region(name: str) -> str:
    """``East US 2`` → ``eastus2``: Azure's API name of a region given by either spelling."""
    return "".join(name.split()).lower()


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
    def definition_name(self) -> str:
        return self.definition.name

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity for deduplication (ARM names are case-insensitive)."""
        return (
            self.resource_group.lower(),
            self.gallery.lower(),
            self.definition.name.lower(),
            self.version.lower(),
        )

    @property
    def region_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regions)

    def replicated_first_in(self, location: str) -> VersionTarget:
        """This target with ``location`` as its first region (Azure requires the gallery's)."""
        if location in self.region_names:
            return self
        first = self.regions[0] if self.regions else None
        region = TargetRegion(
            location,
            first.replicas if first else 1,
            first.storage_account_type if first else self.storage_account_type,
        )
        return replace(self, regions=(region, *self.regions))


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


def version_id(subscription_id: str, target: VersionTarget) -> str:
    """The ARM ID an image version has (or will have)."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{target.resource_group}"
        f"/providers/Microsoft.Compute/galleries/{target.gallery}"
        f"/images/{target.definition.name}/versions/{target.version}"
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


@dataclass(frozen=True)
class DefinitionState:
    """An image definition as Azure has it."""

    name: str
    generation: str | None
    architecture: str | None
    provisioning_state: str | None


@dataclass(frozen=True)
class VersionState:
    """An image version as Azure has it (regions as API names)."""

    id: str
    provisioning_state: str
    source_uri: str | None
    regions: tuple[str, ...]

    @property
    def busy(self) -> bool:
        return self.provisioning_state in BUSY_STATES


def _rest(obj: Any) -> dict[str, Any]:
    """SDK models (typespec hybrid models) as their REST JSON."""
    if isinstance(obj, dict):
        return obj
    data = obj.as_dict()
    return data if isinstance(data, dict) else {}


def http_error(exc: BaseException) -> tuple[int | None, str]:
    """Status and a one-line ``(Code) message`` from an azure-core error."""
    status = getattr(exc, "status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or first_line(exc)
    text = f"({code}) {message}" if code else message
    return status, " ".join(str(text).split())


def _is_not_found(exc: Exception) -> bool:
    return type(exc).__name__ == "ResourceNotFoundError" or getattr(exc, "status_code", 0) == 404


def _version_state(data: dict[str, Any]) -> VersionState:
    props = data.get("properties") or {}
    source = ((props.get("storageProfile") or {}).get("osDiskImage") or {}).get("source") or {}
    regions = tuple(
        api_region(str(r.get("name")))
        for r in (props.get("publishingProfile") or {}).get("targetRegions") or []
    )
    return VersionState(
        id=str(data.get("id", "")),
        provisioning_state=str(props.get("provisioningState") or "Unknown"),
        source_uri=source.get("uri"),
        regions=regions,
    )


def cloud_error(action: str, exc: BaseException) -> CloudError:
    """An ARM failure as one line with Azure's code, and what to do about it."""
    status, text = http_error(exc)
    if status in (401, 403):
        return CloudError(f"{action}: access denied {text}", remedy=remedies.arm_error(status))
    return CloudError(f"{action}: {text}", remedy=remedies.arm_error(status))


@dataclass
class GalleryAdapter:
    """Narrow interface over an injected ``ComputeManagementClient``.

    ``timeout`` (seconds) bounds the wait for each create (``None``: until Azure reports a
    terminal state); ``wait_interval`` is the pause between reads while waiting for a
    version another run is creating. ``log`` receives one line per step.
    """

    client: Any
    timeout: float | None = None
    wait_interval: float = 15.0
    log: Callable[[str], None] = field(default=lambda _line: None)

    # -- reads --------------------------------------------------------------------------

    def gallery_location(self, resource_group: str, gallery: str) -> str:
        """The gallery's region, as an API name (versions and definitions are made there)."""
        try:
            data = _rest(self.client.galleries.get(resource_group, gallery))
        except Exception as exc:
            if _is_not_found(exc):
                raise ConfigError(
                    f"gallery {gallery} not found in resource group {resource_group}",
                    remedy=remedies.missing_gallery(),
                ) from None
            raise cloud_error(f"reading gallery {resource_group}/{gallery}", exc) from exc
        return api_region(str(data["location"]))

    def get_definition(
        self, resource_group: str, gallery: str, name: str
    ) -> DefinitionState | None:
        """An image definition, or None if it does not exist."""
        try:
            data = _rest(self.client.gallery_images.get(resource_group, gallery, name))
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise cloud_error(f"reading image definition {gallery}/{name}", exc) from exc
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
            raise cloud_error(
                f"reading image version {gallery}/{definition}/{version}", exc
            ) from exc
        return _version_state(data)

    def get_target(self, target: VersionTarget) -> VersionState | None:
        return self.get_version(
            target.resource_group, target.gallery, target.definition.name, target.version
        )

    # -- writes -------------------------------------------------------------------------

    def create_definition(self, target: VersionTarget, location: str) -> str:
        """Create the target's image definition; its name, or ``CloudError``."""
        name = f"{target.gallery}/{target.definition.name}"
        self.log(f"creating image definition {name}")
        try:
            self.client.gallery_images.begin_create_or_update(
                target.resource_group,
                target.gallery,
                target.definition.name,
                definition_body(target.definition, location),
            ).result()
        except Exception as exc:
            raise cloud_error(f"creating image definition {name}", exc) from exc
        return target.definition.name

    def create_version(
        self,
        target: VersionTarget,
        source: VersionSource,
        location: str,
        *,
        cancel: Cancellation = NEVER,
    ) -> VersionState:
        """PUT the version and wait for its long-running operation.

        Raises ``CloudError`` with Azure's one-line error (the PUT refused or the operation
        ended Failed, or ``timeout`` passed) and :class:`~imgpub.cancel.Cancelled` when the
        run is cancelled while waiting; Azure then goes on creating the version, and the
        next run waits for it instead of sending it again.
        """
        self.log(f"creating image version {target.path}")
        try:
            poller = self.client.gallery_image_versions.begin_create_or_update(
                target.resource_group,
                target.gallery,
                target.definition.name,
                target.version,
                version_body(target, source, location),
            )
            deadline = None if self.timeout is None else time.monotonic() + self.timeout
            while not poller.done():
                cancel.check()
                if deadline is not None and time.monotonic() >= deadline:
                    raise CloudError(
                        f"image version {target.path} still {poller.status()} after"
                        f" {self.timeout:g} s",
                        remedy=remedies.still_running(),
                    )
                poller.wait(POLL_STEP)
            result = poller.result()
        except (Cancelled, CloudError):
            raise
        except Exception as exc:
            _, text = http_error(exc)
            self.log(f"{target.path}: failed: {text}")
            raise CloudError(
                f"creating image version {target.path} failed: {text}",
                remedy=remedies.failed_create(target),
            ) from exc
        state = _version_state(_rest(result))
        self.log(f"{target.path}: created ({state.provisioning_state})")
        return state

    def wait_version(
        self, target: VersionTarget, *, cancel: Cancellation = NEVER
    ) -> VersionState | None:
        """Read the version until it is no longer Creating/Updating (or timeout, or cancel)."""
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            state = self.get_target(target)
            if state is None or not state.busy:
                return state
            if deadline is not None and time.monotonic() >= deadline:
                return state
            if cancel.sleep(self.wait_interval):
                raise Cancelled(cancel.reason)

    def delete_version(self, target: VersionTarget) -> None:
        """Delete one version (only when an input asks for it; never implicitly)."""
        try:
            self.client.gallery_image_versions.begin_delete(
                target.resource_group, target.gallery, target.definition.name, target.version
            ).result()
        except Exception as exc:
            if not _is_not_found(exc):
                raise cloud_error(f"deleting image version {target.path}", exc) from exc
